package discrete

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// bpttNets are networks that exercise every path of lowerBPTT: a recurrent
// layer of two LIF populations with feedback and a self-loop (sources of
// the same and of the previous step), reset to zero and by subtraction
// with a detached reset, their LI read-out fed by data and by one
// projection from both; and jaxsnn's layout, a recurrent LIF layer and an
// LI read-out fed by it and, directly, by the data.
func bpttNets() []struct {
	name string
	net  topology.Network
} {
	st := &snn.Encoding{Kind: snn.EncodingSpatioTemporal, SpatioTemporal: snn.SpatioTemporal{TLate: 8, Duplication: 1}}
	lin := func(name string, mean, std float64) topology.Node {
		return topology.Node{Name: name, Kind: topology.KindLinear, Init: &topology.Init{Mean: mean, Std: std}}
	}
	edges := func(pairs ...string) []topology.Edge {
		var e []topology.Edge
		for k := 0; k < len(pairs); k += 2 {
			e = append(e, topology.Edge{From: pairs[k], To: pairs[k+1]})
		}
		return e
	}
	return []struct {
		name string
		net  topology.Network
	}{
		{"recurrent pair with feedback", topology.Network{DT: 0.5, Steps: 30, Output: "c", Nodes: []topology.Node{
			{Name: "input", Kind: topology.KindInput, Size: 3, Encoding: st},
			{Name: "bias", Kind: topology.KindBias, Times: []float64{0}},
			lin("pa", 1.5, 1.5), lin("ab", 0.8, 0.8), lin("ba", 0, 0.6), lin("aa", 0, 0.4),
			lin("ic", 0, 0.5), lin("abc", 0, 0.5),
			{Name: "a", Kind: topology.KindDiscreteLIF, Size: 5, Euler: &topology.Euler{TauMem: 4, TauSyn: 2, Threshold: 0.3, Leak: 0.05, Surrogate: &topology.SurrogateSpec{Kind: "arctan"}}},
			{Name: "b", Kind: topology.KindDiscreteLIF, Size: 4, Euler: &topology.Euler{Decays: []float64{0.8, 0.6}, Threshold: 0.2, Reset: -0.1, ResetMode: "subtract", DetachReset: true}},
			{Name: "c", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{TauMem: 5, TauSyn: 2.5, Leak: 0.1}},
		}, Edges: edges("input", "pa", "bias", "pa", "pa", "a", "a", "ab", "ab", "b", "b", "ba", "ba", "a", "a", "aa", "aa", "a",
			"input", "ic", "ic", "c", "a", "abc", "b", "abc", "abc", "c")}},
		{"jaxsnn's layout, read-out over all steps", topology.Network{DT: 0.5, Steps: 30, Output: "o", Nodes: []topology.Node{
			{Name: "input", Kind: topology.KindInput, Size: 3, Encoding: st},
			{Name: "bias", Kind: topology.KindBias, Times: []float64{0}},
			lin("ih", 1.5, 1.5), lin("hh", 0, 0.4), lin("ho", 0, 0.5), lin("io", 0, 0.5),
			{Name: "h", Kind: topology.KindDiscreteLIF, Size: 6, Euler: &topology.Euler{TauMem: 4, TauSyn: 2, Threshold: 0.3, Surrogate: &topology.SurrogateSpec{Kind: "triangle"}}},
			{Name: "o", Kind: topology.KindDiscreteLI, Size: 3, Euler: &topology.Euler{TauMem: 5, TauSyn: 2.5, Leak: 0.1}},
		}, Edges: edges("input", "ih", "bias", "ih", "ih", "h", "h", "hh", "hh", "h", "h", "ho", "ho", "o", "input", "io", "io", "o")}},
	}
}

// TestBPTTMatchesAutodiff requires lowerBPTT's outputs and hand-written
// gradients to equal those of GoMLX's differentiation of the step-major
// loop (bpttEnabled false) to 1e-9 in float64, for a loss that weighs
// every output at every step differently, on the pure-Go backend and, with
// the CPU plugin, on XLA.
func TestBPTTMatchesAutodiff(t *testing.T) {
	bpttOnGo = true
	defer func() { bpttOnGo, bpttEnabled = false, true }()
	named := []struct {
		name    string
		backend backends.Backend
	}{{"go", testBackend(t)}}
	if snngraph.HasCPUPlugin() {
		xla, _, err := snngraph.NewBackend("xla:cpu")
		require.NoError(t, err)
		named = append(named, struct {
			name    string
			backend backends.Backend
		}{"xla:cpu", xla})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const batch = 6
	features := make([]float64, batch*3)
	for k := range features {
		features[k] = rng.Float64()
	}
	for _, tc := range bpttNets() {
		require.NoError(t, tc.net.Validate(""), tc.name)
		for _, nb := range named {
			t.Run(tc.name+"/"+nb.name, func(t *testing.T) {
				ctx := context.New()
				require.NoError(t, ctx.SetRNGStateFromSeed(5))
				var vars []*context.Variable
				run := func(hand bool, ctx *context.Context) [][]float64 {
					bpttEnabled = hand
					exec, err := context.NewExec(nb.backend, ctx, func(ctx *context.Context, x *Node) []*Node {
						low := topology.Lower(ctx, &tc.net, x)
						outs := []*Node{low.Readout}
						for _, p := range low.Populations {
							outs = append(outs, p.Spikes)
						}
						// Every output value gets its own weight in the loss.
						wr := rand.New(rand.NewPCG(11, 12))
						loss := ScalarZero(x.Graph(), x.DType())
						for _, o := range outs {
							w := make([]float64, o.Shape().Size())
							for k := range w {
								w[k] = wr.NormFloat64()
							}
							c := Const(x.Graph(), tensors.FromFlatDataAndDimensions(w, o.Shape().Dimensions...))
							loss = Add(loss, ReduceAllSum(Add(Mul(c, o), Mul(MulScalar(c, 0.3), Square(o)))))
						}
						if vars == nil {
							for v := range ctx.IterVariables() {
								if v.Shape().DType.IsFloat() { // not the random generator's state
									vars = append(vars, v)
								}
							}
						}
						wNodes := make([]*Node, len(vars))
						for k, v := range vars {
							wNodes[k] = v.ValueGraph(x.Graph())
						}
						return append(append(outs, loss), Gradient(loss, wNodes...)...)
					})
					require.NoError(t, err)
					res, err := exec.Exec(tensors.FromFlatDataAndDimensions(features, batch, 3))
					require.NoError(t, err)
					out := make([][]float64, len(res))
					for k, r := range res {
						out[k] = tensors.MustCopyFlatData[float64](r)
					}
					return out
				}
				want := run(false, ctx)
				got := run(true, ctx.Reuse())
				require.Len(t, got, len(want))
				for k := range want {
					require.InDeltaSlice(t, want[k], got[k], 1e-9, "output %d", k)
				}
				// Outputs: read-out, each LIF population's spikes, loss, gradients.
				pops := 0
				for _, n := range tc.net.Nodes {
					if n.Kind == topology.KindDiscreteLIF {
						pops++
					}
				}
				for k := 1; k <= pops; k++ {
					spikes := 0.0
					for _, s := range want[k] {
						spikes += s
					}
					require.Greater(t, spikes, 5.0, "population %d must spike", k)
				}
				for k, gr := range got[pops+2:] {
					norm := 0.0
					for _, v := range gr {
						norm += v * v
					}
					require.Positive(t, norm, "gradient %d vanishes", k)
				}
			})
		}
	}
}
