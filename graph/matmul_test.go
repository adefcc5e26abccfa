package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// TestMatMulFastGrad checks the product and both gradients against GoMLX's
// own MatMul and float64 central finite differences of
// L = Σ c ⊙ (a·b)².
func TestMatMulFastGrad(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dims := range [][3]int{{3, 4, 5}, {1, 1, 1}, {6, 2, 7}} {
		m, k, n := dims[0], dims[1], dims[2]
		draw := func(size int) []float64 {
			x := make([]float64, size)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			return x
		}
		a, b, c := draw(m*k), draw(k*n), draw(m*n)
		exec, err := NewExec(backend, func(a, b, c *Node) []*Node {
			fast := MatMulFastGrad(a, b)
			ref := MatMul(a, b)
			gFast := Gradient(ReduceAllSum(Mul(c, Square(fast))), a, b)
			gRef := Gradient(ReduceAllSum(Mul(c, Square(ref))), a, b)
			return []*Node{fast, ref, gFast[0], gRef[0], gFast[1], gRef[1]}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(a, m, k), tensors.FromFlatDataAndDimensions(b, k, n),
			tensors.FromFlatDataAndDimensions(c, m, n))
		require.NoError(t, err)
		got := make([][]float64, len(outs))
		for i, o := range outs {
			got[i] = tensors.MustCopyFlatData[float64](o)
		}
		require.InDeltaSlice(t, got[1], got[0], 1e-12, "%v: product", dims)
		require.InDeltaSlice(t, got[3], got[2], 1e-12, "%v: gradient for a", dims)
		require.InDeltaSlice(t, got[5], got[4], 1e-12, "%v: gradient for b", dims)
		loss := func() float64 {
			total := 0.0
			for i := range m {
				for j := range n {
					p := 0.0
					for l := range k {
						p += a[i*k+l] * b[l*n+j]
					}
					total += c[i*n+j] * p * p
				}
			}
			return total
		}
		const h = 1e-6
		for x, g := range map[*[]float64][]float64{&a: got[2], &b: got[4]} {
			for i := range *x {
				orig := (*x)[i]
				(*x)[i] = orig + h
				up := loss()
				(*x)[i] = orig - h
				down := loss()
				(*x)[i] = orig
				fd := (up - down) / (2 * h)
				require.LessOrEqual(t, math.Abs(fd-g[i]), 1e-7*(1+math.Abs(fd)), "%v: entry %d", dims, i)
			}
		}
	}
}
