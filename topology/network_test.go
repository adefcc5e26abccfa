package topology

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// yinYang is the two-layer Yin-Yang network with lif populations.
func yinYang() *Builder {
	n := snn.FastAndDeepLIF()
	return New().
		Input("input", 4, snn.Latency{Early: 0.15, Late: 2}).
		Bias("bias", 0.9).
		LIF("hidden", 10, 10, n).WithMaxMissing(0.3).
		Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
		LIF("output", 3, 3, n).
		Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
		Output("output")
}

func TestLayers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func() *Builder
		want  []Layer
	}{
		{"feed-forward", yinYang, []Layer{{Populations: []string{"hidden"}}, {Populations: []string{"output"}}}},
		{"declared group", func() *Builder { return yinYang().Group("hidden", "output") },
			[]Layer{{Populations: []string{"hidden", "output"}}}},
		{"self loop", func() *Builder {
			return yinYang().Projection("hidden_rec", 0, 0.1, "hidden", "hidden")
		}, []Layer{{Populations: []string{"hidden"}, SelfLoop: true}, {Populations: []string{"output"}}}},
		{"cycle between populations", func() *Builder {
			return yinYang().Projection("feedback", 0, 0.1, "hidden", "output")
		}, []Layer{{Populations: []string{"hidden", "output"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, err := tc.build().Done()
			require.NoError(t, err)
			layers, err := net.Layers()
			require.NoError(t, err)
			require.Equal(t, tc.want, layers)
		})
	}
}

// TestLayersOrder puts the output population before the hidden one in the
// node list: layers still come in dependency order.
func TestLayersOrder(t *testing.T) {
	n := snn.FastAndDeepLIF()
	net, err := New().
		Input("input", 2, snn.Latency{Early: 0, Late: 1}).
		TTFS("out", 3, n).
		Projection("p2", 0.5, 0.1, "out", "mid").
		TTFS("mid", 5, n).
		Projection("p1", 1, 0.1, "mid", "input").
		Output("out").Done()
	require.NoError(t, err)
	layers, err := net.Layers()
	require.NoError(t, err)
	require.Equal(t, []Layer{{Populations: []string{"mid"}}, {Populations: []string{"out"}}}, layers)
}

func TestValidateNamesNodeAndField(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Network)
		want string
	}{
		{"negative size", func(n *Network) { n.Node("hidden").Size = -1 }, "nodes[2] (hidden).size: must be >= 1, got -1"},
		{"unknown kind", func(n *Network) { n.Node("hidden").Kind = "conv9d" }, `nodes[2] (hidden).kind: unknown node kind "conv9d"`},
		{"edge to a missing node", func(n *Network) { n.Edges[0].To = "ghost" }, `edges[0]: edge [input, ghost]: no node named "ghost"`},
		{"duplicate name", func(n *Network) { n.Node("output").Name = "hidden" }, `nodes[4].name: node "hidden" is already defined by nodes[2]`},
		{"missing output", func(n *Network) { n.Output = "" }, "output: names the read-out population; missing"},
		{"output not a population", func(n *Network) { n.Output = "bias" }, `output: must name a population, "bias" is a bias node`},
		{"population fed directly", func(n *Network) { n.Edges = append(n.Edges, Edge{"input", "output"}) }, "a population receives edges only from projections"},
		{"field of another kind", func(n *Network) { n.Node("bias").Capacity = 3 }, "nodes[1] (bias).capacity: not used by a bias node"},
		{"zero capacity", func(n *Network) { n.Node("output").Capacity = 0 }, "nodes[4] (output).capacity: must be >= 1, got 0"},
		{"bad neuron", func(n *Network) { p := *n.Node("hidden").Neuron; p.TauSyn = -1; n.Node("hidden").Neuron = &p }, "nodes[2] (hidden).neuron: LIF parameters: tau_syn must be a positive finite number"},
		{"projection without target", func(n *Network) { n.Edges = n.Edges[:len(n.Edges)-1] }, `projection "to_output" must lead to exactly one population, has 0 targets`},
		{"group of a ttfs population", func(n *Network) {
			n.Node("hidden").Kind = KindTTFS
			n.Node("hidden").Capacity = 0
			n.Groups = [][]string{{"hidden", "output"}}
		}, `groups[0][0]: a recurrent group holds lif populations, "hidden" is a ttfs node`},
		{"ttfs fed repeated input spikes", func(n *Network) {
			n.Node("hidden").Kind = KindTTFS
			n.Node("hidden").Capacity = 0
			n.Node("input").Encoding = &snn.Encoding{Kind: snn.EncodingSpatioTemporal, SpatioTemporal: snn.SpatioTemporal{TLate: 2, Duplication: 5}}
		}, `nodes[2] (hidden): ttfs population "hidden" receives "input", which repeats every spike (duplication 5)`},
		{"ttfs fed a repeated bias", func(n *Network) {
			n.Node("hidden").Kind = KindTTFS
			n.Node("hidden").Capacity = 0
			n.Node("bias").Duplication = 3
		}, `ttfs population "hidden" receives "bias", which repeats every spike (duplication 3)`},
		{"bad encoding", func(n *Network) {
			n.Node("input").Encoding = &snn.Encoding{Kind: snn.EncodingSpatioTemporal, SpatioTemporal: snn.SpatioTemporal{TLate: 2}}
		}, "nodes[0] (input).encoding: spatio-temporal encoding: duplication must be >= 1"},
		{"duplication off a bias", func(n *Network) { n.Node("hidden").Duplication = 2 }, "nodes[2] (hidden).duplication: not used by a lif node"},
		{"negative horizon", func(n *Network) { n.Node("hidden").Horizon = -1 }, "nodes[2] (hidden).horizon: must be >= 0"},
		{"horizon off a population", func(n *Network) { n.Node("bias").Horizon = 4 }, "nodes[1] (bias).horizon: not used by a bias node"},
		{"recurrent ttfs", func(n *Network) {
			n.Node("hidden").Kind = KindTTFS
			n.Node("hidden").Capacity = 0
			n.Nodes = append(n.Nodes, Node{Name: "rec", Kind: KindLinear, Init: &Init{0, 1}})
			n.Edges = append(n.Edges, Edge{"hidden", "rec"}, Edge{"rec", "hidden"})
		}, "nodes[2] (hidden): is part of a recurrent loop; only lif and discrete_lif populations can be recurrent, not ttfs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, err := yinYang().Done()
			require.NoError(t, err)
			tc.edit(&net)
			err = net.Validate("")
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestValidateDelays(t *testing.T) {
	sig := Positivity{Function: PositivitySigmoid, Scale: 1}
	off := false
	for _, tc := range []struct {
		name string
		edit func(*Network)
		want string
	}{
		{"negative delay std", func(n *Network) {
			n.Node("to_hidden").Delay = &Delay{Kind: DelaySynaptic, Init: &Init{Mean: 0, Std: -0.25}, Positivity: sig}
		}, "nodes[3] (to_hidden).delay.init.std: must be >= 0 and finite, got -0.25"},
		{"unknown positivity function", func(n *Network) {
			n.Node("to_hidden").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: Positivity{Function: "softplus"}}
		}, `nodes[3] (to_hidden).delay.positivity.function: unknown positivity function "softplus"; one of [sigmoid clamp]`},
		{"unknown delay kind", func(n *Network) {
			n.Node("to_output").Delay = &Delay{Kind: "somatic", Init: &Init{Std: 0.25}, Positivity: sig}
		}, `nodes[5] (to_output).delay.kind: unknown delay kind "somatic"`},
		{"incompatible sizes (shared sources)", func(n *Network) {
			n.Node("to_hidden").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: sig, SharePre: 2}
		}, "nodes[3] (to_hidden).delay.share_pre: the projection's 5 source neurons are not divisible by share_pre 2"},
		{"incompatible sizes (shared targets)", func(n *Network) {
			n.Node("to_output").Delay = &Delay{Kind: DelayDendritic, Init: &Init{Std: 0.25}, Positivity: sig, SharePost: 2}
		}, `nodes[5] (to_output).delay.share_post: the 3 neurons of target "output" are not divisible by share_post 2`},
		{"delay off a projection", func(n *Network) {
			n.Node("hidden").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: sig}
		}, "nodes[2] (hidden).delay: not used by a lif node"},
		{"clamp with a scale", func(n *Network) {
			n.Node("to_hidden").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: Positivity{Function: PositivityClamp, Scale: 2}}
		}, "nodes[3] (to_hidden).delay.positivity: scale and shift belong to the sigmoid"},
		{"delay into a recurrent layer", func(n *Network) {
			n.Groups = [][]string{{"hidden", "output"}}
			n.Node("to_output").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: sig}
		}, "nodes[5] (to_output).delay: delays on a projection into the recurrent layer [hidden output] are not supported"},
		{"negative learning rate", func(n *Network) { n.Node("to_hidden").LearningRate = -1 }, "nodes[3] (to_hidden).learning_rate: must be >= 0"},
		{"trainable off a projection", func(n *Network) { n.Node("hidden").Trainable = &off }, "nodes[2] (hidden).trainable: not used by a lif node"},
		{"monitor off a projection", func(n *Network) { n.Node("output").Monitor = true }, "nodes[4] (output).monitor: not used by a lif node"},
		{"frozen weights with a learning rate", func(n *Network) {
			n.Node("to_hidden").Trainable, n.Node("to_hidden").LearningRate = &off, 0.01
		}, "nodes[3] (to_hidden).learning_rate: the weights are held fixed (trainable: false)"},
		{"frozen delays with a learning rate", func(n *Network) {
			n.Node("to_hidden").Delay = &Delay{Kind: DelayAxonal, Init: &Init{Std: 0.25}, Positivity: sig, LearningRate: 0.01, Trainable: &off}
		}, "nodes[3] (to_hidden).delay.learning_rate: the delays are held fixed (trainable: false)"},
		{"frozen weights into a recurrent event layer", func(n *Network) {
			n.Groups = [][]string{{"hidden", "output"}}
			n.Node("to_output").Trainable = &off
		}, "nodes[5] (to_output).trainable: the recurrent layer [hidden output] keeps all its projections in one variable"},
		{"monitored weights into a recurrent event layer", func(n *Network) {
			n.Groups = [][]string{{"hidden", "output"}}
			n.Node("to_hidden").Monitor = true
		}, "nodes[3] (to_hidden).monitor: the recurrent layer [hidden output] keeps all its projections in one variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, err := yinYang().Done()
			require.NoError(t, err)
			tc.edit(&net)
			err = net.Validate("")
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
		})
	}
	// A valid delay passes, and its parameters have the kind's shape.
	net, err := yinYang().Done()
	require.NoError(t, err)
	d := &Delay{Kind: DelaySynaptic, Init: &Init{Std: 0.25}, Positivity: sig, SharePre: 5}
	net.Node("to_hidden").Delay = d
	require.NoError(t, net.Validate(""))
	r, c := d.Shape(5, 10)
	require.Equal(t, [2]int{1, 10}, [2]int{r, c})
	// Frozen weights and delays and a monitor flag on projections pass.
	net, err = yinYang().Frozen().Monitored().Done()
	require.NoError(t, err)
	require.True(t, net.Node("to_output").Frozen() && net.Node("to_output").Monitor)
	require.False(t, net.Node("to_hidden").Frozen())
	d.Trainable = &off
	net.Node("to_hidden").Delay = d
	require.NoError(t, net.Validate(""))
	require.True(t, d.Frozen())
}
