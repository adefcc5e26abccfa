package discrete

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"
)

// TestCompactSpikes checks the index lists against a plain loop, with and
// without overflow.
func TestCompactSpikes(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		batch, n, k int
		density     float64
	}{{5, 37, 40, 0.3}, {5, 37, 8, 0.3}, {3, 64, 1, 0.05}, {4, 16, 16, 1}, {2, 9, 3, 0}} {
		name := fmt.Sprintf("n=%d k=%d density=%g", c.n, c.k, c.density)
		s := randSpikes(rng, c.batch, 1, c.n, c.density)
		exec, err := NewExec(backend, func(s *Node) []*Node {
			idx, valid, count := CompactSpikes(s, c.k)
			return []*Node{idx, valid, count}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten3(s), c.batch, c.n))
		require.NoError(t, err)
		idx, valid := tensors.MustCopyFlatData[int32](outs[0]), tensors.MustCopyFlatData[bool](outs[1])
		count := tensors.MustCopyFlatData[int32](outs[2])
		for b := range c.batch {
			var active []int32
			for j, x := range s[b][0] {
				if x > 0 {
					active = append(active, int32(j))
				}
			}
			require.Equal(t, int32(len(active)), count[b], name)
			for m := range c.k {
				require.Equal(t, m < len(active), valid[b*c.k+m], "%s: slot %d", name, m)
				if m < len(active) {
					require.Equal(t, active[m], idx[b*c.k+m], "%s: slot %d", name, m)
				}
			}
		}
	}
}

// TestSparseMatMulMatchesDense checks outputs and gradients (for the
// weights and, through a surrogate spike, for the membrane of every
// neuron, silent ones included) of the sparse against the dense product;
// with too small a capacity, the product keeps the first k spikes and the
// overflow counts the rest.
func TestSparseMatMulMatchesDense(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const batch, nIn, nOut = 4, 50, 6
	v := randMatrix(rng, batch, nIn, -0.3, 0.5)
	w := randMatrix(rng, nIn, nOut, 0, 1)
	coef := randMatrix(rng, batch, nOut, 0, 1)
	active := make([][]int, batch)
	maxCount := 0
	for b := range v {
		for j, x := range v[b] {
			if x > 0 {
				active[b] = append(active[b], j)
			}
		}
		maxCount = max(maxCount, len(active[b]))
	}
	require.Greater(t, maxCount, 5)
	run := func(k int) [][]float64 {
		exec, err := NewExec(backend, func(v, w, coef *Node) []*Node {
			s := SuperSpike(3).Spike(v)
			dense := MatMul(s, w)
			sparse, overflow := SparseMatMul(s, w, k)
			gDense := Gradient(ReduceAllSum(Mul(dense, coef)), v, w)
			gSparse := Gradient(ReduceAllSum(Mul(sparse, coef)), v, w)
			return []*Node{dense, sparse, ConvertDType(overflow, v.DType()), gDense[0], gSparse[0], gDense[1], gSparse[1]}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten2(v), batch, nIn),
			tensors.FromFlatDataAndDimensions(flatten2(w), nIn, nOut), tensors.FromFlatDataAndDimensions(flatten2(coef), batch, nOut))
		require.NoError(t, err)
		var res [][]float64
		for _, o := range outs {
			res = append(res, tensors.MustCopyFlatData[float64](o))
		}
		return res
	}
	t.Run("capacity enough", func(t *testing.T) {
		r := run(maxCount)
		require.InDeltaSlice(t, r[0], r[1], 1e-12, "outputs")
		require.Equal(t, make([]float64, batch), r[2], "overflow")
		require.InDeltaSlice(t, r[3], r[4], 1e-12, "membrane gradients")
		require.InDeltaSlice(t, r[5], r[6], 1e-12, "weight gradients")
	})
	t.Run("overflow", func(t *testing.T) {
		const k = 3
		r := run(k)
		for b := range batch {
			require.Equal(t, float64(len(active[b])-k), r[2][b], "overflow of sample %d", b)
			for o := range nOut {
				want := 0.0
				for _, j := range active[b][:k] {
					want += w[j][o]
				}
				require.InDelta(t, want, r[1][b*nOut+o], 1e-12, "sample %d output %d", b, o)
			}
		}
	})
}

// TestSparseDenseLayer runs one network twice, with its hidden projection
// dense and sparse, and requires equal outputs and weight gradients, and
// the overflow reported by the Result.
func TestSparseDenseLayer(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const batch, steps, nIn, nHidden = 3, 12, 8, 20
	inputs := randSpikes(rng, batch, steps, nIn, 0.4)
	labels := []int32{0, 1, 1}
	run := func(k int) (loss float64, overflow []int32, grads [][]float64) {
		hidden := NewDense(2)
		first := NewDense(nHidden).WithInit(0.5, 0.5)
		if k > 0 {
			hidden.WithSparse(k)
			first.WithSparse(k).WithoutInputGradient()
		}
		model := NewSequential(first, NewLIF().WithDecays(0.9, 0.8).Done(), hidden, NewLI().Done())
		ctx := context.New()
		require.NoError(t, ctx.SetRNGStateFromSeed(42))
		exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x, y *Node) []*Node {
			r := model.Run(ctx, x)
			l := MaxOverTimeNLL(r.Output(), y)
			w1 := ctx.In("0_" + first.Kind()).In("dense").GetVariable("weights").ValueGraph(x.Graph())
			w2 := ctx.In("2_" + hidden.Kind()).In("dense").GetVariable("weights").ValueGraph(x.Graph())
			outs := []*Node{l}
			if of := r.Overflow(); of != nil {
				outs = append(outs, of)
			} else {
				outs = append(outs, ZerosLike(ConvertDType(y, y.DType())))
			}
			return append(outs, Gradient(l, w1, w2)...)
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten3(inputs), batch, steps, nIn), labels)
		require.NoError(t, err)
		loss = tensors.MustCopyFlatData[float64](outs[0])[0]
		overflow = tensors.MustCopyFlatData[int32](outs[1])
		for _, o := range outs[2:] {
			grads = append(grads, tensors.MustCopyFlatData[float64](o))
		}
		return
	}
	lossDense, _, gradsDense := run(0)
	lossSparse, overflow, gradsSparse := run(nHidden)
	require.InDelta(t, lossDense, lossSparse, 1e-12)
	require.Equal(t, []int32{0, 0, 0}, overflow)
	for i := range gradsDense {
		require.InDeltaSlice(t, gradsDense[i], gradsSparse[i], 1e-12, "weights %d", i)
	}
	_, overflow, _ = run(2)
	require.Greater(t, overflow[0]+overflow[1]+overflow[2], int32(0), "capacity 2 must overflow")
}
