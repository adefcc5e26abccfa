package graph

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// TestCustomVJP gives y = a·b (a [2, 3] times b [3], broadcast) a
// hand-written VJP and requires the value and the gradients of autodiff,
// through a second differentiable op and with an infinite input, on the
// pure-Go backend (the carrier picked out by Where) and, with the CPU
// plugin, on XLA (a carrier of the value's own, CustomVJPs).
func TestCustomVJP(t *testing.T) {
	forBackends(t, testCustomVJP)
}

// forBackends runs test on the pure-Go backend and, with the CPU plugin,
// on xla:cpu.
func forBackends(t *testing.T, test func(t *testing.T, backend backends.Backend)) {
	names := []string{DefaultBackend}
	if HasCPUPlugin() {
		names = append(names, "xla:cpu")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			backend, _, err := NewBackend(name)
			require.NoError(t, err)
			test(t, backend)
		})
	}
}

func testCustomVJP(t *testing.T, backend backends.Backend) {
	a := []float64{1, 2, 3, 4, math.Inf(1), 6}
	b := []float64{0.5, -1, 2}
	build := func(custom bool) func(a, b *Node) []*Node {
		return func(a, b *Node) []*Node {
			safeA := Where(IsFinite(a), a, ZerosLike(a))
			y := Mul(safeA, InsertAxes(b, 0))
			if custom {
				y = CustomVJP(StopGradient(y), []*Node{a, b}, func(ct *Node) []*Node {
					da := Mul(ct, InsertAxes(b, 0))
					return []*Node{Where(IsFinite(a), da, ZerosLike(da)), ReduceSum(Mul(ct, safeA), 0)}
				})
			}
			loss := ReduceAllSum(Mul(y, Exp(y)))
			return append([]*Node{y}, Gradient(loss, a, b)...)
		}
	}
	args := []any{tensors.FromFlatDataAndDimensions(a, 2, 3), tensors.FromFlatDataAndDimensions(b, 3)}
	want := MustExecOnceN(backend, build(false), args...)
	got := MustExecOnceN(backend, build(true), args...)
	for k := range want {
		w, gt := tensors.MustCopyFlatData[float64](want[k]), tensors.MustCopyFlatData[float64](got[k])
		require.InDeltaSlice(t, w, gt, 1e-12, "output %d", k)
	}
	require.NotZero(t, tensors.MustCopyFlatData[float64](got[2])[0], "gradient reaches b")

	// Without a gradient the vjp is never built.
	called := false
	y := MustExecOnce(backend, func(a *Node) *Node {
		return CustomVJP(Exp(a), []*Node{a}, func(ct *Node) []*Node { called = true; return []*Node{ct} })
	}, tensors.FromFlatDataAndDimensions([]float64{0, 1}, 2))
	require.InDeltaSlice(t, []float64{1, math.E}, tensors.MustCopyFlatData[float64](y), 1e-15)
	require.False(t, called)
}

// TestCustomVJPs gives three values of a and b (a·b, a², and b + 1, which
// the loss does not use) one hand-written VJP and requires the values and
// the gradients of autodiff, with an infinite input, on the pure-Go
// backend and, with the CPU plugin, on XLA (the carriers of their own).
func TestCustomVJPs(t *testing.T) {
	a := []float64{1, 2, 3, 4, math.Inf(1), 6}
	b := []float64{0.5, -1, 2}
	forBackends(t, func(t *testing.T, backend backends.Backend) {
		build := func(custom bool) func(a, b *Node) []*Node {
			return func(a, b *Node) []*Node {
				safeA := Where(IsFinite(a), a, ZerosLike(a))
				ys := []*Node{Mul(safeA, InsertAxes(b, 0)), Square(safeA), AddScalar(b, 1)}
				if custom {
					ys = CustomVJPs([]*Node{StopGradient(ys[0]), StopGradient(ys[1]), StopGradient(ys[2])}, []*Node{a, b}, func(cts []*Node) []*Node {
						require.Len(t, cts, 3)
						da := Add(Mul(cts[0], InsertAxes(b, 0)), Mul(MulScalar(safeA, 2), cts[1]))
						return []*Node{Where(IsFinite(a), da, ZerosLike(da)), Add(ReduceSum(Mul(cts[0], safeA), 0), cts[2])}
					})
					require.Len(t, ys, 3)
				}
				loss := Add(ReduceAllSum(Mul(ys[0], Exp(ys[0]))), ReduceAllSum(Mul(ys[1], ys[0])))
				return append(ys, Gradient(loss, a, b)...)
			}
		}
		args := []any{tensors.FromFlatDataAndDimensions(a, 2, 3), tensors.FromFlatDataAndDimensions(b, 3)}
		want := MustExecOnceN(backend, build(false), args...)
		got := MustExecOnceN(backend, build(true), args...)
		require.Len(t, got, len(want))
		for k := range want {
			w, gt := tensors.MustCopyFlatData[float64](want[k]), tensors.MustCopyFlatData[float64](got[k])
			require.InDeltaSlice(t, w, gt, 1e-12, "output %d", k)
		}
		require.NotZero(t, tensors.MustCopyFlatData[float64](got[4])[0], "gradient reaches b")
	})
}
