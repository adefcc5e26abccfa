package graph

import (
	"math"

	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// TestMaterialize checks that Materialize leaves values (and gradients)
// unchanged on every backend at hand: the pure-Go one, and the XLA backend
// of CompareBackend (xla:cpu when its plugin is installed).
func TestMaterialize(t *testing.T) {
	configs := []string{DefaultBackend}
	if xla, skip := CompareBackend(); skip == "" {
		configs = append(configs, xla)
	}
	a := []float32{1.5, -2, 3.25, 1e30, 0, 7}
	b := []float32{4, 5.5, -6, 0.125}
	for _, config := range configs {
		backend, _, err := NewBackend(config)
		require.NoError(t, err, config)
		exec, err := NewExec(backend, func(a, b *Node) []*Node {
			m := Materialize(a, b)
			loss := Add(ReduceAllSum(Mul(m[0], m[0])), ReduceAllSum(m[1]))
			return append(m, Gradient(loss, a, b)...)
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(a, 2, 3), tensors.FromFlatDataAndDimensions(b, 2, 2))
		require.NoError(t, err, config)
		require.Equal(t, []int{2, 3}, outs[0].Shape().Dimensions, config)
		require.Equal(t, a, tensors.MustCopyFlatData[float32](outs[0]), config)
		require.Equal(t, b, tensors.MustCopyFlatData[float32](outs[1]), config)
		gradA := make([]float32, len(a))
		for i, x := range a {
			gradA[i] = 2 * x
		}
		require.Equal(t, gradA, tensors.MustCopyFlatData[float32](outs[2]), config)
		require.Equal(t, []float32{1, 1, 1, 1}, tensors.MustCopyFlatData[float32](outs[3]), config)
	}
}

func TestMaterializeBadInput(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	require.Panics(t, func() {
		g := NewGraph(backend, "bad")
		Materialize(Parameter(g, "x", tensors.FromValue([]int32{1, 2}).Shape()))
	})
}

// TestSumBarrier checks that SumBarrier leaves every value as it is (the
// largest floats, ±Inf and the smallest normal ones included) and stops
// the gradient, on every backend at hand.
func TestSumBarrier(t *testing.T) {
	configs := []string{DefaultBackend}
	if xla, skip := CompareBackend(); skip == "" {
		configs = append(configs, xla)
	}
	inf := float32(math.Inf(1))
	x := []float32{1.5, -2, 3.25, 1e30, 0, 7, inf, -inf, math.MaxFloat32, 1e-30, -1e-20, 0x1p-125}
	for _, config := range configs {
		backend, _, err := NewBackend(config)
		require.NoError(t, err, config)
		exec, err := NewExec(backend, func(x *Node) []*Node {
			y := SumBarrier(x)
			return []*Node{y, Gradient(ReduceAllSum(Mul(y, x)), x)[0]}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 2, 3, 2))
		require.NoError(t, err, config)
		require.Equal(t, []int{2, 3, 2}, outs[0].Shape().Dimensions, config)
		require.Equal(t, x, tensors.MustCopyFlatData[float32](outs[0]), config)
		// No gradient passes through the barrier: d(y·x)/dx is y alone.
		require.Equal(t, x, tensors.MustCopyFlatData[float32](outs[1]), config)
	}
}
