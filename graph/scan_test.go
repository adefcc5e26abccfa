package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// columnCase draws an [n, cols] matrix with many ties and some infinities.
func columnCase(rng *rand.Rand, n, cols int) []float64 {
	x := make([]float64, n*cols)
	for i := range x {
		x[i] = math.Round(16*rng.Float64()) / 4
		switch u := rng.Float64(); {
		case u < 0.08:
			x[i] = math.Inf(1)
		case u < 0.12:
			x[i] = math.Inf(-1)
		case u < 0.2:
			x[i] = -x[i]
		}
	}
	return x
}

func column(x []float64, n, cols, c int) []float64 {
	out := make([]float64, n)
	for r := range n {
		out[r] = x[r*cols+c]
	}
	return out
}

func TestSortColumnValuesAndCountLess(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 5, 8, 13, 64, 121} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			const cols, probes = 4, 7
			x := columnCase(rng, n, cols)
			v := columnCase(rng, probes, cols)
			copy(v, x[:min(len(v), len(x))]) // probes equal to entries, too
			exec, err := NewExec(backend, func(x, v *Node) []*Node {
				s := SortColumnValues(x)
				return []*Node{s, CountLess(s, v), CountLess(s, x)}
			})
			require.NoError(t, err)
			outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, n, cols), tensors.FromFlatDataAndDimensions(v, probes, cols))
			require.NoError(t, err)
			sorted := tensors.MustCopyFlatData[float64](outs[0])
			countV := tensors.MustCopyFlatData[int32](outs[1])
			countX := tensors.MustCopyFlatData[int32](outs[2])
			less := func(col []float64, value float64) int32 {
				k := int32(0)
				for _, e := range col {
					if e < value {
						k++
					}
				}
				return k
			}
			for c := range cols {
				want := column(x, n, cols, c)
				sort.Float64s(want)
				require.Equal(t, want, column(sorted, n, cols, c), "column %d", c)
				for r := range probes {
					require.Equal(t, less(want, v[r*cols+c]), countV[r*cols+c], "probe %d column %d (%g)", r, c, v[r*cols+c])
				}
				for r := range n {
					require.Equal(t, less(want, x[r*cols+c]), countX[r*cols+c], "entry %d column %d (%g)", r, c, x[r*cols+c])
				}
			}
		})
	}
}

func TestPrefixSum(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dims := range [][]int{{1}, {7}, {3, 1, 2}, {3, 9, 2}, {2, 16}, {4, 121, 3}} {
		for axis := range dims {
			t.Run(fmt.Sprintf("%v/axis=%d", dims, axis), func(t *testing.T) {
				size := 1
				for _, d := range dims {
					size *= d
				}
				x := make([]float64, size)
				for i := range x {
					x[i] = rng.NormFloat64()
				}
				exec, err := NewExec(backend, func(x *Node) *Node { return PrefixSum(x, axis) })
				require.NoError(t, err)
				got := tensors.MustCopyFlatData[float64](exec.MustExec(tensors.FromFlatDataAndDimensions(x, dims...))[0])
				inner := 1
				for _, d := range dims[axis+1:] {
					inner *= d
				}
				n := dims[axis]
				for i := range x {
					k := (i / inner) % n
					want := 0.0
					for r := 0; r <= k; r++ {
						want += x[i-(k-r)*inner]
					}
					require.InDelta(t, want, got[i], 1e-12, "element %d", i)
				}
			})
		}
	}
}
