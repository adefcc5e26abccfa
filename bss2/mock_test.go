package bss2

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/event"
	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// testNetworks are small networks of every kind the mapping handles.
func testNetworks(t *testing.T) map[string]topology.Network {
	t.Helper()
	lif := func(tauMem, reset, refractory float64) snn.LIF {
		return snn.LIF{TauSyn: 1, TauMem: tauMem, GLeak: 1, Threshold: 1, Reset: reset, Refractory: refractory}
	}
	enc := snn.Latency{Early: 0.15, Late: 2}
	build := func(b *topology.Builder) topology.Network {
		net, err := b.Done()
		require.NoError(t, err)
		return net
	}
	return map[string]topology.Network{
		// Two spikes per hidden neuron (reset to 0 after a refractory
		// period), tau_mem/tau_syn without a closed form.
		"lif-multispike": build(topology.New().Input("input", 4, enc).Bias("bias", 0.9).
			LIF("hidden", 30, 60, lif(1.7, 0, 0.3)).Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
			LIF("output", 3, 3, lif(1.7, -1000, 0)).Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
			Output("output")),
		"ttfs": build(topology.New().Input("input", 4, enc).Bias("bias", 0.9).
			TTFS("hidden", 30, lif(1, 0, 0)).Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
			TTFS("output", 3, lif(1, 0, 0)).Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
			Output("output")),
		"recurrent": build(topology.New().Input("input", 4, enc).Bias("bias", 0.9).
			LIF("hidden", 20, 20, lif(2, -1000, 0)).Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
			LIF("output", 3, 3, lif(2, -1000, 0)).Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
			Group("hidden", "output").Output("output")),
	}
}

// software runs event.Lower in float64 on the pure-Go backend and returns
// every population's first-spike times and the context holding the
// initialised weights.
func software(t *testing.T, net *topology.Network, features [][]float64, seed int64) (map[string][][]float64, *mlctx.Context) {
	t.Helper()
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	ctx := mlctx.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(seed))
	var names []string
	exec, err := mlctx.NewExec(backend, ctx, func(ctx *mlctx.Context, x *Node) []*Node {
		low := event.Lower(ctx, net, x)
		names = names[:0]
		var out []*Node
		for _, p := range low.Populations {
			names = append(names, p.Name)
			out = append(out, p.FirstTimes)
		}
		return out
	})
	require.NoError(t, err)
	flat := make([]float64, 0, len(features)*len(features[0]))
	for _, row := range features {
		flat = append(flat, row...)
	}
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flat, len(features), len(features[0])))
	require.NoError(t, err)
	res := map[string][][]float64{}
	for i, o := range outs {
		require.Equal(t, dtypes.Float64, o.DType())
		vals := tensors.MustCopyFlatData[float64](o)
		n := o.Shape().Dim(1)
		rows := make([][]float64, len(features))
		for b := range rows {
			rows[b] = vals[b*n : (b+1)*n]
		}
		res[names[i]] = rows
	}
	return res, ctx
}

func randomFeatures(n, size int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, size)
		for j := range out[i] {
			out[i][j] = rng.Float64()
		}
	}
	return out
}

// runMock maps net, configures a mock with the weights in ctx and runs it.
func runMock(t *testing.T, net *topology.Network, ctx *mlctx.Context, features [][]float64, cfg MockConfig) (*Result, *Mapping) {
	t.Helper()
	m, err := Map(net, ChipLimits(), "")
	require.NoError(t, err)
	w, err := ReadWeights(ctx, m)
	require.NoError(t, err)
	res := runWeights(t, m, w, features, cfg)
	return res, m
}

// With every artifact off, the mock's spikes are the software network's.
func TestIdealMockEqualsSoftware(t *testing.T) {
	features := randomFeatures(48, 4, 7)
	for name, net := range testNetworks(t) {
		t.Run(name, func(t *testing.T) {
			want, ctx := software(t, &net, features, 3)
			res, m := runMock(t, &net, ctx, features, IdealMock())
			spiking := 0
			for _, l := range m.Layers {
				for _, p := range l.Populations {
					got := res.Spikes[p.Name].FirstTimes(p.Size)
					for b := range features {
						for j := range p.Size {
							w, g := want[p.Name][b][j], got[b][j]
							if math.IsInf(w, 1) {
								require.Truef(t, math.IsInf(g, 1), "%s sample %d neuron %d: software silent, mock %g", p.Name, b, j, g)
								continue
							}
							spiking++
							require.InDeltaf(t, w, g, 1e-9*math.Max(1, math.Abs(w)), "%s sample %d neuron %d", p.Name, b, j)
						}
					}
				}
			}
			t.Logf("%d spiking (sample, neuron) pairs compared; %d hidden spikes", spiking, res.Spikes["hidden"].Count())
			// The comparison means something only if neurons spike.
			require.Greater(t, spiking, len(features)*10)
		})
	}
}
