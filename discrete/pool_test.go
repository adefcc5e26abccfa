package discrete

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/topology"
)

// TestPoolGeometryMatchesLoops checks max and mean pooling of
// channels-last frames against loops over the windows.
func TestPoolGeometryMatchesLoops(t *testing.T) {
	backend := testBackend(t)
	const batch, c, h, w, k = 2, 3, 6, 4, 2
	rng := rand.New(rand.NewPCG(9, 10))
	x := make([]float64, batch*h*w*c)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for _, max := range []bool{true, false} {
		geo := &poolGeometry{in: []int{c, h, w}, size: k, max: max}
		got := MustExecOnce(backend, func(x *Node) *Node { return geo.apply(x) }, tensors.FromFlatDataAndDimensions(x, batch, h*w*c))
		ho, wo := h/k, w/k
		want := make([]float64, batch*ho*wo*c)
		for b := range batch {
			for y := range ho {
				for xo := range wo {
					for ch := range c {
						acc := math.Inf(-1)
						if !max {
							acc = 0
						}
						for dy := range k {
							for dx := range k {
								v := x[b*h*w*c+((y*k+dy)*w+xo*k+dx)*c+ch]
								if max {
									acc = math.Max(acc, v)
								} else {
									acc += v / (k * k)
								}
							}
						}
						want[b*ho*wo*c+(y*wo+xo)*c+ch] = acc
					}
				}
			}
		}
		require.InDeltaSlice(t, want, tensors.MustCopyFlatData[float64](got), 1e-12, "max %v", max)
	}
}

// poolNet is input frames [2, 6, 6] -> conv2d (3x3, padding 1) -> LIF
// [4, 6, 6] -> linear pooling by 2 -> LI read-out (snnax's Conv2d -> LIF ->
// MaxPool2d -> flatten -> Linear -> LI).
func poolNet(kind string) topology.Network {
	lif := &topology.Euler{Decays: []float64{0.9, 0.8}, Threshold: 0.2}
	return topology.Network{DT: 1, Steps: 4, Output: "out", Nodes: []topology.Node{
		{Name: "input", Kind: topology.KindInput, Size: 2 * 6 * 6, Shape: []int{2, 6, 6}},
		{Name: "conv", Kind: topology.KindConv2D, Channels: 4, Kernel: 3, Stride: 1, Padding: 1, Init: &topology.Init{Std: 1}},
		{Name: "hidden", Kind: topology.KindDiscreteLIF, Size: 4 * 6 * 6, Euler: lif},
		{Name: "fc", Kind: topology.KindLinear, Init: &topology.Init{Std: 0.5}, Pool: &topology.Pool{Kind: kind, Size: 2}},
		{Name: "out", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{Decays: []float64{0.9, 0.8}}},
	}, Edges: []topology.Edge{{From: "input", To: "conv"}, {From: "conv", To: "hidden"}, {From: "hidden", To: "fc"}, {From: "fc", To: "out"}}}
}

// TestLowerPoolNetwork lowers poolNet with max and mean pooling: the
// pooling projection's weights have the pooled frames' rows, the read-out
// is the LI integration of the pooled spikes through them (checked against
// the same network without pooling, fed the spikes pooled by hand), and a
// surrogate gradient reaches the convolution through the pooling.
func TestLowerPoolNetwork(t *testing.T) {
	backend := testBackend(t)
	const batch, steps = 3, 4
	rng := rand.New(rand.NewPCG(11, 12))
	frames := make([]float64, batch*steps*2*6*6)
	for i := range frames {
		if rng.IntN(3) == 0 {
			frames[i] = 1
		}
	}
	for _, kind := range []string{topology.PoolMax, topology.PoolAvg} {
		t.Run(kind, func(t *testing.T) {
			net := poolNet(kind)
			require.NoError(t, net.Validate(""))
			ctx := context.New()
			require.NoError(t, ctx.SetRNGStateFromSeed(1))
			var fcVar, convVar *context.Variable
			exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
				low := topology.Lower(ctx, &net, x)
				fcVar, convVar = ctx.In("fc").GetVariable("weights"), ctx.In("conv").GetVariable("weights")
				loss := ReduceAllSum(Square(low.Readout))
				spikes := low.Populations[0].Spikes // [batch, steps, 144]
				return []*Node{low.Readout, spikes, Gradient(loss, convVar.ValueGraph(x.Graph()))[0]}
			})
			require.NoError(t, err)
			res, err := exec.Exec(tensors.FromFlatDataAndDimensions(frames, batch, steps*2*6*6))
			require.NoError(t, err)
			require.Equal(t, []int{4 * 3 * 3, 3}, fcVar.Shape().Dimensions)
			require.Equal(t, []int{batch, steps, 3}, res[0].Shape().Dimensions)
			norm := 0.0
			for _, g := range tensors.MustCopyFlatData[float64](res[2]) {
				norm += g * g
			}
			require.Greater(t, norm, 0.0, "no gradient reaches the conv2d weights through the pooling")

			// The hidden spikes pooled by hand, as frames [4, 3, 3] of a
			// network input -> fc -> out with fc's weights.
			spikes := tensors.MustCopyFlatData[float64](res[1])
			require.Greater(t, floatsSum(spikes), 0.0, "the hidden layer must spike")
			geo := &poolGeometry{in: []int{4, 6, 6}, size: 2, max: kind == topology.PoolMax}
			pooled := MustExecOnce(backend, func(x *Node) *Node { return geo.apply(x) },
				tensors.FromFlatDataAndDimensions(spikes, batch*steps, 4*6*6))
			plain := topology.Network{DT: 1, Steps: steps, Output: "out", Nodes: []topology.Node{
				{Name: "input", Kind: topology.KindInput, Size: 4 * 3 * 3, Shape: []int{4, 3, 3}},
				{Name: "fc", Kind: topology.KindLinear, Init: &topology.Init{Std: 0.5}},
				{Name: "out", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{Decays: []float64{0.9, 0.8}}},
			}, Edges: []topology.Edge{{From: "input", To: "fc"}, {From: "fc", To: "out"}}}
			require.NoError(t, plain.Validate(""))
			fcWeights, err := fcVar.MustValue().Clone()
			require.NoError(t, err)
			ctx2 := context.New()
			ctx2.In("fc").VariableWithValue("weights", fcWeights)
			exec2, err := context.NewExec(backend, ctx2.Checked(false), func(ctx *context.Context, x *Node) *Node {
				return topology.Lower(ctx, &plain, x).Readout
			})
			require.NoError(t, err)
			want, err := exec2.Exec1(tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float64](pooled), batch, steps*4*3*3))
			require.NoError(t, err)
			require.InDeltaSlice(t, tensors.MustCopyFlatData[float64](want), tensors.MustCopyFlatData[float64](res[0]), 1e-12)
		})
	}
}

func floatsSum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// identityNet is input frames [3, 1, 1] -> fc -> LI read-out of 3 neurons
// with both decays 0, whose membrane is then fc's output itself; fc's
// weights are set to the identity.
func identityNet(fc topology.Node) topology.Network {
	fc.Name, fc.Kind, fc.Init = "fc", topology.KindLinear, &topology.Init{Std: 1}
	return topology.Network{DT: 1, Steps: 10, Output: "out", Nodes: []topology.Node{
		{Name: "input", Kind: topology.KindInput, Size: 3, Shape: []int{3, 1, 1}},
		fc,
		{Name: "out", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{Decays: []float64{0, 0}}},
	}, Edges: []topology.Edge{{From: "input", To: "fc"}, {From: "fc", To: "out"}}}
}

// runIdentityNet lowers net with fc's weights w [3, 3] on features
// [batch, steps·3] and returns the read-out [batch, steps, 3], in a
// training graph or not.
func runIdentityNet(t *testing.T, net topology.Network, w, features []float64, batch int, training bool) []float64 {
	t.Helper()
	require.NoError(t, net.Validate(""))
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(3))
	ctx.In("fc").VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, 3, 3))
	exec, err := context.NewExec(testBackend(t), ctx.Checked(false), func(ctx *context.Context, x *Node) *Node {
		ctx.SetTraining(x.Graph(), training)
		return topology.Lower(ctx, &net, x).Readout
	})
	require.NoError(t, err)
	out, err := exec.Exec1(tensors.FromFlatDataAndDimensions(features, batch, net.Steps*3))
	require.NoError(t, err)
	return tensors.MustCopyFlatData[float64](out)
}

// TestLowerDropout: while training, a projection with dropout p passes
// each spike scaled by 1/(1-p) or drops it, about a fraction p of them;
// outside training it passes them all.
func TestLowerDropout(t *testing.T) {
	const batch, p = 64, 0.3
	eye := []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}
	ones := make([]float64, batch*10*3)
	for i := range ones {
		ones[i] = 1
	}
	net := identityNet(topology.Node{Dropout: p})
	require.Equal(t, ones, runIdentityNet(t, net, eye, ones, batch, false))
	got := runIdentityNet(t, net, eye, ones, batch, true)
	dropped := 0
	for _, v := range got {
		if v == 0 {
			dropped++
		} else {
			require.InDelta(t, 1/(1-p), v, 1e-6) // GoMLX's rate is a float32
		}
	}
	require.InDelta(t, p, float64(dropped)/float64(len(got)), 0.05, "fraction dropped")
}

// TestLowerLayerNorm: a projection with layer_norm gives, at every step,
// its output normalised over the target's neurons (gain 1, offset 0 at
// the start; GoMLX's epsilon 1e-3), whatever the weights' scale.
func TestLowerLayerNorm(t *testing.T) {
	const batch, steps = 4, 10
	rng := rand.New(rand.NewPCG(13, 14))
	w := make([]float64, 9)
	for i := range w {
		w[i] = 3 * rng.NormFloat64()
	}
	features := make([]float64, batch*steps*3)
	for i := range features {
		features[i] = float64(rng.IntN(2))
	}
	got := runIdentityNet(t, identityNet(topology.Node{LayerNorm: true}), w, features, batch, true)
	for r := range batch * steps {
		y := make([]float64, 3)
		for j := range 3 {
			for i := range 3 {
				y[j] += features[r*3+i] * w[i*3+j]
			}
		}
		mean := (y[0] + y[1] + y[2]) / 3
		variance := 0.0
		for _, v := range y {
			variance += (v - mean) * (v - mean) / 3
		}
		for j := range 3 {
			require.InDelta(t, (y[j]-mean)/math.Sqrt(variance+1e-3), got[r*3+j], 1e-9, "row %d neuron %d", r, j)
		}
	}
}
