package discrete

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/stretchr/testify/require"
)

// convFrames draws event frames [batch, T, 8, 8, 2] whose events fall in
// the left (label 0) or right (label 1) half.
func convFrames(rng *rand.Rand, batch, steps int) ([]float32, []int32) {
	const side, channels = 8, 2
	x := make([]float32, batch*steps*side*side*channels)
	labels := make([]int32, batch)
	for b := range batch {
		labels[b] = int32(b % 2)
		for t := range steps {
			for range 6 {
				row, col := rng.IntN(side), rng.IntN(side/2)+int(labels[b])*side/2
				x[(((b*steps+t)*side+row)*side+col)*channels+rng.IntN(channels)] = 1
			}
		}
	}
	return x, labels
}

// TestConvSequentialTrains builds snnax's README network (Conv2d -> LIF ->
// flatten -> Linear -> LIF) with pooling, dropout and layer normalisation
// in between, checks every layer's trace shape, and trains it for a few
// Adam steps on the spike-count cross-entropy: the loss must fall.
func TestConvSequentialTrains(t *testing.T) {
	backend := testBackend(t)
	const batch, steps = 8, 8
	model := NewSequential(
		Conv2D(4, 3, 1),
		NewLIF().WithDecays(0.9, 0.8).WithLearnableDecays().WithThreshold(0.5).WithReset(ResetSubtract, 0).Done(),
		MaxPool2D(2),
		Flatten(),
		Dropout(0.1),
		LayerNorm(),
		NewDense(2).WithBias(),
		NewLIF().WithDecays(0.9, 0.8).WithThreshold(0.5).WithSurrogate(Surrogate{Kind: ArcTan, Scale: 2}).Done(),
	)
	require.Equal(t, []string{"0_conv", "1_lif", "2_max_pool", "3_flatten", "4_dropout", "5_layer_norm", "6_dense", "7_lif"}, model.Names())
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(1))
	opt := optimizers.Adam().LearningRate(0.02).Done()
	var shapes [][]int
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x, y *Node) *Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		r := model.Run(ctx, x)
		shapes = nil
		for _, s := range r.Spikes() {
			shapes = append(shapes, s.Shape().Dimensions)
		}
		loss := SpikeCountCrossEntropy(r.Output(), y)
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(11, 12))
	var losses []float32
	for range 30 {
		x, y := convFrames(rng, batch, steps)
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, batch, steps, 8, 8, 2), y)
		require.NoError(t, err)
		require.Equal(t, dtypes.Float32, out[0].DType())
		losses = append(losses, tensors.MustCopyFlatData[float32](out[0])[0])
	}
	require.Equal(t, [][]int{{batch, steps, 6, 6, 4}, {batch, steps, 2}}, shapes)
	first, last := mean32(losses[:5]), mean32(losses[len(losses)-5:])
	t.Logf("spike-count cross-entropy: first 5 steps %.3f, last 5 steps %.3f", first, last)
	require.Less(t, last, 0.7*first)
}

func mean32(x []float32) float32 {
	s := float32(0)
	for _, v := range x {
		s += v
	}
	return s / float32(len(x))
}

// TestConvPatchesMatchConvolve checks the gathered-patch convolution
// against GoMLX's Convolve (forward only, which the pure-Go backend has).
func TestConvPatchesMatchConvolve(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ h, w, k, stride int }{{7, 9, 3, 1}, {8, 8, 3, 2}, {5, 6, 1, 1}, {7, 7, 7, 1}} {
		const batch, cin, cout = 2, 3, 4
		x := flatten2(randMatrix(rng, 1, batch*c.h*c.w*cin, 0, 1))
		kernel := flatten2(randMatrix(rng, 1, c.k*c.k*cin*cout, 0, 1))
		exec, err := NewExec(backend, func(x, kernel *Node) []*Node {
			want := Convolve(x, kernel).Strides(c.stride).NoPadding().Done()
			got := Einsum("bhwp,po->bhwo", convPatches(x, c.k, c.stride), Reshape(kernel, c.k*c.k*cin, cout))
			return []*Node{want, got}
		})
		require.NoError(t, err)
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, batch, c.h, c.w, cin),
			tensors.FromFlatDataAndDimensions(kernel, c.k, c.k, cin, cout))
		require.NoError(t, err)
		require.Equal(t, outs[0].Shape(), outs[1].Shape())
		require.InDeltaSlice(t, tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1]), 1e-12, "%+v", c)
	}
}

// TestDenseMatchesLayersDense checks the Dense layer (any input rank, with
// bias) against GoMLX's layers.Dense on the same variables: equal outputs
// and gradients for the input, weights and biases.
func TestDenseMatchesLayersDense(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(15, 16))
	x := flatten2(randMatrix(rng, 1, 2*3*4, 0, 1))
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(3))
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
		_, ours := NewDense(5).WithBias().WithInit(0, 1).Step(ctx.In("a"), nil, x)
		ref := layers.Dense(ctx.Reuse().In("a"), x, true, 5)
		w := ctx.In("a").In("dense").GetVariable("weights").ValueGraph(x.Graph())
		b := ctx.In("a").In("dense").GetVariable("biases").ValueGraph(x.Graph())
		loss := func(y *Node) *Node { return ReduceAllSum(Square(y)) }
		return append(append([]*Node{ours, ref}, Gradient(loss(ours), x, w, b)...), Gradient(loss(ref), x, w, b)...)
	})
	require.NoError(t, err)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 2, 3, 4))
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 5}, outs[0].Shape().Dimensions)
	for i, name := range []string{"output", "input gradient", "weight gradient", "bias gradient"} {
		a, b := outs[2*i], outs[2*i+1]
		if i > 0 {
			a, b = outs[1+i], outs[4+i]
		}
		require.InDeltaSlice(t, tensors.MustCopyFlatData[float64](b), tensors.MustCopyFlatData[float64](a), 1e-12, name)
	}
}
