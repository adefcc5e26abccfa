package graph

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

func TestResolveBackend(t *testing.T) {
	t.Setenv(BackendEnvVar, "")
	c, err := ResolveBackend("")
	require.NoError(t, err)
	require.Equal(t, BackendChoice{Config: "go:" + simplegoDefaultConfig, Source: "default"}, c)

	c, err = ResolveBackend("go:ops_sequential")
	require.NoError(t, err)
	require.Equal(t, BackendChoice{Config: "go:ops_sequential", Source: "flag"}, c)

	t.Setenv(BackendEnvVar, "go")
	c, err = ResolveBackend("")
	require.NoError(t, err)
	require.Equal(t, "env", c.Source)
	require.Equal(t, "go", c.Name())

	_, err = ResolveBackend("tpu")
	require.ErrorContains(t, err, `unknown backend "tpu"`)
	t.Setenv(BackendEnvVar, "nope:x")
	_, err = ResolveBackend("")
	require.ErrorContains(t, err, "$GOMLX_BACKEND")
}

// lambertW0Reference solves w e^w = z by bisection in float64.
func lambertW0Reference(z float64) float64 {
	lo, hi := -1.0, math.Max(1, math.Log1p(z))
	for range 200 {
		mid := (lo + hi) / 2
		if mid*math.Exp(mid) < z {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func TestLambertW0(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	zs := []float64{-1 / math.E, -0.3678, -0.36, -0.3, -0.25, -0.2, -0.1, -1e-3, -1e-8, 0, 1e-3, 0.5, 1, 3}
	for i := range 200 {
		zs = append(zs, -1/math.E+float64(i)*(1/math.E)/200)
	}
	for _, tc := range []struct {
		name string
		in   any
		tol  float64
	}{
		{"float64", zs, 1e-12},
		{"float32", func() []float32 {
			out := make([]float32, len(zs))
			for i, z := range zs {
				out[i] = float32(z)
			}
			return out
		}(), 2e-3}, // near the branch point float32 rounding of z itself moves W by ~sqrt(eps)
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MustExecOnce(backend, LambertW0, tc.in)
			var vals []float64
			got.ConstFlatData(func(flat any) {
				switch f := flat.(type) {
				case []float64:
					vals = f
				case []float32:
					for _, v := range f {
						vals = append(vals, float64(v))
					}
				}
			})
			for i, z := range zs {
				want := lambertW0Reference(z)
				if tc.name == "float32" {
					want = lambertW0Reference(float64(float32(z)))
				}
				require.InDeltaf(t, want, vals[i], tc.tol, "W0(%g)", z)
			}
		})
	}
	below := MustExecOnce(backend, LambertW0, []float64{-0.5, -1})
	for _, v := range tensors.MustCopyFlatData[float64](below) {
		require.True(t, math.IsNaN(v), "no real W0 below -1/e")
	}
}

func TestSortRows(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 8, 13, 64} {
		const rows = 3
		x := make([]float64, rows*n)
		for i := range x {
			x[i] = math.Round(4*rng.Float64()*4) / 4 // many ties
			if rng.Float64() < 0.1 {
				x[i] = math.Inf(1)
			}
		}
		exec, err := NewExec(backend, func(x *Node) []*Node {
			s, idx := SortRows(x)
			return []*Node{s, idx}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, rows, n))
		require.NoError(t, err)
		sorted := tensors.MustCopyFlatData[float64](outs[0])
		idx := tensors.MustCopyFlatData[int32](outs[1])
		for r := range rows {
			row := append([]float64(nil), x[r*n:(r+1)*n]...)
			want := append([]float64(nil), row...)
			sort.Float64s(want)
			require.Equal(t, want, sorted[r*n:(r+1)*n], "n=%d row %d", n, r)
			seen := map[int32]bool{}
			for k := range n {
				i := idx[r*n+k]
				require.False(t, seen[i], "index %d twice", i)
				seen[i] = true
				require.Equal(t, row[i], sorted[r*n+k])
			}
		}
	}
}

// TestSortRowsPacked compares the packed float32 sort with the bitonic
// network on values that stress the packing: ties, zeros, subnormals,
// negatives, the largest float32, ±Inf and neighbouring float32 values, up
// to the largest row it takes.
func TestSortRowsPacked(t *testing.T) {
	backend, _, err := NewBackend(DefaultBackend)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 2 * math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), 1, math.Nextafter32(1, 2),
		math.Nextafter32(1, 0), -1, math.Nextafter32(-1, 0), 0x1p-126, math.Nextafter32(0x1p-126, 0), 1e-30, -3.5e20}
	for _, n := range []int{1, 7, 100, sortRowsPackedMaxColumns - 1} {
		const rows = 4
		x := make([]float32, rows*n)
		for i := range x {
			switch r := rng.Float64(); {
			case r < 0.4:
				x[i] = special[rng.IntN(len(special))]
			case r < 0.7:
				x[i] = float32(rng.IntN(5)) * 0.25 // ties
			default:
				x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
			}
		}
		exec, err := NewExec(backend, func(x *Node) []*Node {
			s, i := sortRowsPacked(x)
			sb, ib := sortRowsBitonic(x)
			return []*Node{s, i, sb, ib}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, rows, n))
		require.NoError(t, err)
		require.Equal(t, tensors.MustCopyFlatData[float32](outs[2]), tensors.MustCopyFlatData[float32](outs[0]), "n=%d: values", n)
		require.Equal(t, tensors.MustCopyFlatData[int32](outs[3]), tensors.MustCopyFlatData[int32](outs[1]), "n=%d: columns", n)
	}
}
