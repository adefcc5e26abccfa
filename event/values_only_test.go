package event

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// TestValuesOnlyLowerSameTimes lowers feed-forward and recurrent (grouped)
// lif networks with and without topology.ValuesOnlyParam and requires the same
// readout and overflow, bit for bit: the EventProp terms that the
// values-only graph leaves out must be zero in value (the full graph's
// weight gradient must not be, or they were not built at all).
func TestValuesOnlyLowerSameTimes(t *testing.T) {
	p := lifKinds[1]
	build := func(grouped bool) topology.Network {
		b := topology.New().
			Input("input", 3, snn.Latency{Early: 0.15, Late: 2}).
			Bias("bias", 0.9).
			LIF("hidden", 6, 12, p).
			Projection("to_hidden", 1.5, 0.5, "hidden", "input", "bias").
			LIF("output", 3, 6, p).
			Projection("to_output", 1.0, 0.5, "output", "hidden", "bias")
		if grouped {
			b = b.Group("hidden", "output")
		}
		net, err := b.Output("output").Done()
		require.NoError(t, err)
		return net
	}
	const batch = 5
	rng := rand.New(rand.NewPCG(4, 5))
	features := make([]float64, batch*3)
	for i := range features {
		features[i] = rng.Float64()
	}
	for _, tc := range []struct {
		name    string
		grouped bool
	}{{"feed-forward", false}, {"recurrent", true}} {
		t.Run(tc.name, func(t *testing.T) {
			net := build(tc.grouped)
			run := func(valuesOnly bool) (readout []float64, overflow, gradNorm float64) {
				ctx := context.New()
				require.NoError(t, ctx.SetRNGStateFromSeed(3))
				exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, x *Node) []*Node {
					if valuesOnly {
						topology.SetValuesOnly(ctx, x.Graph())
					}
					out := Lower(ctx, &net, x)
					finite := IsFinite(out.Readout)
					loss := ReduceAllSum(Where(finite, out.Readout, ZerosLike(out.Readout)))
					var vars []*Node
					for v := range ctx.IterVariables() {
						if v.Trainable {
							vars = append(vars, v.ValueGraph(x.Graph()))
						}
					}
					norm := ScalarZero(x.Graph(), x.DType())
					if valuesOnly { // no gradient is taken of a values-only graph
						return []*Node{out.Readout, out.Overflow, norm}
					}
					for _, g := range Gradient(loss, vars...) {
						norm = Add(norm, ReduceAllSum(Square(g)))
					}
					return []*Node{out.Readout, out.Overflow, norm}
				})
				require.NoError(t, err)
				outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(features, batch, 3))
				require.NoError(t, err)
				return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])[0], tensors.MustCopyFlatData[float64](outs[2])[0]
			}
			full, overflowFull, normFull := run(false)
			values, overflowValues, _ := run(true)
			require.Equal(t, full, values, "readout")
			require.Equal(t, overflowFull, overflowValues, "overflow")
			require.Positive(t, countSpikes(full), "some output neuron must spike for the test to mean anything")
			require.Positive(t, normFull, "the full graph's weight gradient")
		})
	}
}

// TestLowerGroupKeepsPopulationCapacities: in a recurrent group each
// population keeps its own capacity: a hidden population that spikes more
// than its 2 slots is cut there (its lost spikes counted as overflow) and
// the output population, which spikes after it, still has its own slots.
func TestLowerGroupKeepsPopulationCapacities(t *testing.T) {
	p := lifKinds[1]
	net, err := topology.New().
		Input("input", 3, snn.Latency{Early: 0.15, Late: 2}).
		Bias("bias", 0.9).
		LIF("hidden", 6, 2, p).
		Projection("to_hidden", 1.5, 0.5, "hidden", "input", "bias").
		LIF("output", 3, 3, p).
		Projection("to_output", 2.0, 0.5, "output", "hidden", "bias").
		Group("hidden", "output").Output("output").Done()
	require.NoError(t, err)
	const batch = 5
	rng := rand.New(rand.NewPCG(4, 5))
	features := make([]float64, batch*3)
	for i := range features {
		features[i] = rng.Float64()
	}
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(3))
	exec, err := context.NewExec(testBackend(t), ctx, func(ctx *context.Context, x *Node) []*Node {
		out := Lower(ctx, &net, x)
		return []*Node{out.Populations[0].FirstTimes, out.Readout, out.Overflow}
	})
	require.NoError(t, err)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(features, batch, 3))
	require.NoError(t, err)
	hidden, readout := tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
	for b := range batch {
		require.LessOrEqualf(t, countSpikes(hidden[b*6:(b+1)*6]), 2, "sample %d: hidden spikes beyond its capacity", b)
		require.Positivef(t, countSpikes(readout[b*3:(b+1)*3]), "sample %d: the output must keep its slots", b)
	}
	require.Positive(t, tensors.MustCopyFlatData[float64](outs[2])[0], "the hidden spikes held back must count as overflow")
}
