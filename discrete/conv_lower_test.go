package discrete

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/topology"
)

// TestConvGeometryMatchesLoops checks a lowered conv2d (padding, stride)
// against the convolution written out as loops over channels-last frames.
func TestConvGeometryMatchesLoops(t *testing.T) {
	backend := testBackend(t)
	const batch, c, h, w, out, k, stride, pad = 2, 2, 6, 5, 3, 3, 2, 1
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, batch*h*w*c)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	wt := make([]float64, k*k*c*out)
	for i := range wt {
		wt[i] = rng.NormFloat64()
	}
	geo := &convGeometry{in: []int{c, h, w}, kernel: k, stride: stride, padding: pad}
	ho, wo := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	got := MustExecOnce(backend, func(x, wt *Node) *Node { return geo.apply(x, wt) },
		tensors.FromFlatDataAndDimensions(x, batch, h*w*c), tensors.FromFlatDataAndDimensions(wt, k*k*c, out))
	require.Equal(t, []int{batch, ho * wo * out}, got.Shape().Dimensions)
	want := make([]float64, batch*ho*wo*out)
	for b := range batch {
		for r := range ho {
			for q := range wo {
				for o := range out {
					sum := 0.0
					for i := range k {
						for j := range k {
							y, xx := r*stride+i-pad, q*stride+j-pad
							if y < 0 || y >= h || xx < 0 || xx >= w {
								continue
							}
							for ch := range c {
								sum += x[((b*h+y)*w+xx)*c+ch] * wt[((i*k+j)*c+ch)*out+o]
							}
						}
					}
					want[((b*ho+r)*wo+q)*out+o] = sum
				}
			}
		}
	}
	require.InDeltaSlice(t, want, tensors.MustCopyFlatData[float64](got), 1e-12)
}

// TestLowerConvNetwork lowers input frames -> conv2d -> discrete_lif ->
// linear -> discrete_li and requires the read-out's shape and a gradient
// reaching the convolution's weights.
func TestLowerConvNetwork(t *testing.T) {
	backend := testBackend(t)
	const batch, steps = 3, 4
	lif := &topology.Euler{Decays: []float64{0.9, 0.8}, Threshold: 0.2}
	net := topology.Network{DT: 1, Steps: steps, Output: "out", Nodes: []topology.Node{
		{Name: "input", Kind: topology.KindInput, Size: 2 * 6 * 6, Shape: []int{2, 6, 6}},
		{Name: "conv", Kind: topology.KindConv2D, Channels: 4, Kernel: 3, Stride: 1, Padding: 1, Init: &topology.Init{Std: 1}},
		{Name: "hidden", Kind: topology.KindDiscreteLIF, Size: 4 * 6 * 6, Euler: lif},
		{Name: "fc", Kind: topology.KindLinear, Init: &topology.Init{Std: 0.5}},
		{Name: "out", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{Decays: []float64{0.9, 0.8}}},
	}, Edges: []topology.Edge{{From: "input", To: "conv"}, {From: "conv", To: "hidden"}, {From: "hidden", To: "fc"}, {From: "fc", To: "out"}}}
	require.NoError(t, net.Validate(""))
	rng := rand.New(rand.NewPCG(7, 8))
	frames := make([]float64, batch*steps*net.Nodes[0].Size)
	for i := range frames {
		if rng.IntN(4) == 0 {
			frames[i] = 1
		}
	}
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(1))
	var convVar *context.Variable
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
		low := topology.Lower(ctx, &net, x)
		convVar = ctx.In("conv").GetVariable("weights")
		require.NotNil(t, convVar)
		loss := ReduceAllSum(Square(low.Readout))
		spikes := ReduceAllSum(low.Populations[0].Spikes)
		return []*Node{low.Readout, spikes, Gradient(loss, convVar.ValueGraph(x.Graph()))[0]}
	})
	require.NoError(t, err)
	res, err := exec.Exec(tensors.FromFlatDataAndDimensions(frames, batch, steps*net.Nodes[0].Size))
	require.NoError(t, err)
	require.Equal(t, []int{batch, steps, 3}, res[0].Shape().Dimensions)
	require.Equal(t, []int{3 * 3 * 2, 4}, convVar.Shape().Dimensions)
	require.Greater(t, tensors.MustCopyFlatData[float64](res[1])[0], 0.0, "the hidden layer must spike")
	norm := 0.0
	for _, g := range tensors.MustCopyFlatData[float64](res[2]) {
		norm += g * g
	}
	require.Greater(t, norm, 0.0, "no gradient reaches the conv2d weights")
}
