package discrete

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// lowerNet is the description of netCase's network, fed by features
// spatio-temporally encoded plus a bias spike at t = 0: input+bias -> in ->
// hid (recurrent through rec when c.recurrent) -> mid -> hid2 -> out -> ro.
func lowerNet(c netCase, dt, tLate float64) topology.Network {
	lif := &topology.Euler{Decays: []float64{c.decays.Mem, c.decays.Syn}, Leak: c.leak, Threshold: c.threshold, Reset: c.vReset,
		ResetMode: map[ResetMode]string{ResetZero: "zero", ResetSubtract: "subtract"}[c.mode]}
	init := &topology.Init{Mean: 0, Std: 1}
	net := topology.Network{DT: dt, Steps: c.steps, Output: "ro", Nodes: []topology.Node{
		{Name: "input", Kind: topology.KindInput, Size: c.nIn - 1, Encoding: &snn.Encoding{Kind: snn.EncodingSpatioTemporal, SpatioTemporal: snn.SpatioTemporal{TLate: tLate, Duplication: 1}}},
		{Name: "bias", Kind: topology.KindBias, Times: []float64{0}},
		{Name: "in", Kind: topology.KindLinear, Init: init},
		{Name: "hid", Kind: topology.KindDiscreteLIF, Size: c.n1, Euler: lif},
		{Name: "mid", Kind: topology.KindLinear, Init: init},
		{Name: "hid2", Kind: topology.KindDiscreteLIF, Size: c.n2, Euler: lif},
		{Name: "out", Kind: topology.KindLinear, Init: init},
		{Name: "ro", Kind: topology.KindDiscreteLI, Size: c.classes, Euler: &topology.Euler{Decays: []float64{c.decays.Mem, c.decays.Syn}, Leak: c.leak}},
	}, Edges: []topology.Edge{{From: "input", To: "in"}, {From: "bias", To: "in"}, {From: "in", To: "hid"}, {From: "hid", To: "mid"}, {From: "mid", To: "hid2"}, {From: "hid2", To: "out"}, {From: "out", To: "ro"}}}
	if c.recurrent {
		net.Nodes = append(net.Nodes, topology.Node{Name: "rec", Kind: topology.KindLinear, Init: init})
		net.Edges = append(net.Edges, topology.Edge{From: "hid", To: "rec"}, topology.Edge{From: "rec", To: "hid"})
	}
	return net
}

// TestLowerMatchesSequential lowers the description of netCase's network
// and requires the spikes and read-out of the float64 reference loop
// (forward) and the loss and gradients of Sequential (whose surrogate
// gradients TestSurrogateGradientMatchesFiniteDifferences checks against
// finite differences); Lower computes differently: projections over all
// steps at once, the LI read-out in closed form, recurrence through a
// projection node.
func TestLowerMatchesSequential(t *testing.T) {
	// The hand-written backward pass (bptt.go) here too, on the pure-Go
	// backend; TestBPTTMatchesAutodiff ties it to GoMLX's differentiation
	// of the step-major loop.
	bpttOnGo = true
	defer func() { bpttOnGo = false }()
	backend := testBackend(t)
	const dt, tLate = 0.5, 15.0
	for _, edit := range []func(*netCase){
		func(c *netCase) { c.name = "feed-forward, reset to zero"; c.mode = ResetZero },
		func(c *netCase) {
			c.name = "recurrent, subtraction, leak"
			c.recurrent, c.mode, c.leak, c.vReset, c.seed = true, ResetSubtract, 0.05, -0.1, 2
		},
	} {
		c := baseCase()
		c.steps, c.nIn = 50, 5
		edit(&c)
		t.Run(c.name, func(t *testing.T) {
			p := c.draw()
			for _, row := range p.w1 { // one spike per input: stronger weights
				for j := range row {
					row[j] *= 6
				}
			}
			rng := rand.New(rand.NewPCG(c.seed, 99))
			features := make([]float64, c.batch*(c.nIn-1))
			for b := range c.batch {
				for s := range p.inputs[b] {
					clear(p.inputs[b][s])
				}
				for f := range c.nIn - 1 {
					v := rng.Float64()
					features[b*(c.nIn-1)+f] = v
					p.inputs[b][int(math.Round(v*tLate/dt))][f] = 1
				}
				p.inputs[b][0][c.nIn-1] = 1 // the bias spike at t = 0
			}
			wantLoss, wantTraces, wantGrads, _ := runModel(t, backend, c, p)
			out := refRun(c.reference(p, refHeaviside), p.inputs)

			net := lowerNet(c, dt, tLate)
			require.NoError(t, net.Validate(""))
			ctx := context.New()
			weights := []struct {
				scope string
				m     [][]float64
			}{{"in", p.w1}, {"mid", p.w2}, {"out", p.w3}}
			if c.recurrent {
				weights = append(weights, struct {
					scope string
					m     [][]float64
				}{"rec", p.rec})
			}
			var vars []*context.Variable
			for _, w := range weights {
				vars = append(vars, ctx.In(w.scope).VariableWithValue("weights", tensors.FromFlatDataAndDimensions(flatten2(w.m), len(w.m), len(w.m[0]))))
			}
			exec, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, x, labels *Node) []*Node {
				low := topology.Lower(ctx, &net, x)
				require.Len(t, low.Populations, 2)
				s1, s2 := low.Populations[0].Spikes, low.Populations[1].Spikes
				loss := testLoss(low.Readout, s1, s2, labels)
				nodes := []*Node{loss, s1, s2, low.Readout}
				for _, v := range vars {
					nodes = append(nodes, v.ValueGraph(x.Graph()))
				}
				return append(nodes[:4], Gradient(loss, nodes[4:]...)...)
			})
			require.NoError(t, err)
			res, err := exec.Exec(tensors.FromFlatDataAndDimensions(features, c.batch, c.nIn-1), p.labels)
			require.NoError(t, err)
			require.Equal(t, flatten3(out[1]), tensors.MustCopyFlatData[float64](res[1]), "first LIF layer's spikes")
			require.Equal(t, flatten3(out[3]), tensors.MustCopyFlatData[float64](res[2]), "second LIF layer's spikes")
			require.InDeltaSlice(t, flatten3(out[5]), tensors.MustCopyFlatData[float64](res[3]), 1e-9, "read-out membrane")
			require.Equal(t, wantTraces[0], tensors.MustCopyFlatData[float64](res[1]))
			require.InDelta(t, wantLoss, tensors.MustCopyFlatData[float64](res[0])[0], 1e-9)
			// Sequential's variables: 0_dense, [1_lif recurrent], 2_dense, 4_dense.
			order := []int{0, 1, 2}
			if c.recurrent {
				order = []int{0, 2, 3, 1}
			}
			spikes := 0.0
			for _, s := range flatten3(out[1]) {
				spikes += s
			}
			require.Greater(t, spikes, 10.0, "the case must make neurons spike")
			for i, k := range order {
				got := tensors.MustCopyFlatData[float64](res[4+i])
				require.InDeltaSlice(t, wantGrads[k], got, 1e-9, "gradient of %s", weights[i].scope)
				norm := 0.0
				for _, g := range got {
					norm += g * g
				}
				require.Greater(t, norm, 0.0, "gradient of %s vanishes", weights[i].scope)
			}
		})
	}
}

// TestLowerValidation checks the description's errors for discrete nodes:
// each a *topology.FieldError naming the node and key.
func TestLowerValidation(t *testing.T) {
	c := baseCase()
	c.nIn, c.recurrent = 5, true
	for _, tc := range []struct {
		name  string
		edit  func(*topology.Network)
		path  string
		parts []string
	}{
		{"dt >= tau", func(n *topology.Network) {
			n.Nodes[3].Euler = &topology.Euler{TauMem: 0.4, TauSyn: 5, Threshold: 0.6}
		}, "nodes[3] (hid).euler.tau_mem", []string{"dt (0.5)", "tau_mem (0.4)"}},
		{"no steps", func(n *topology.Network) { n.Steps = 0 }, "steps", []string{"steps >= 1"}},
		{"unknown surrogate", func(n *topology.Network) {
			n.Nodes[3].Euler = &topology.Euler{TauMem: 10, TauSyn: 5, Threshold: 0.6, Surrogate: &topology.SurrogateSpec{Kind: "erf"}}
		}, "nodes[3] (hid).euler.surrogate.kind", []string{`"erf"`, "fast_sigmoid"}},
		{"threshold on li", func(n *topology.Network) { n.Nodes[7].Euler.Threshold = 1 }, "nodes[7] (ro).euler.threshold", []string{"does not spike"}},
		{"event population in a discrete network", func(n *topology.Network) {
			n.Nodes[5] = topology.Node{Name: "hid2", Kind: topology.KindLIF, Size: 3, Capacity: 3, Neuron: &snn.LIF{TauSyn: 1, TauMem: 1, GLeak: 1, Threshold: 1}}
		}, "nodes", []string{"mixes event populations"}},
		{"negative sparse", func(n *topology.Network) { n.Nodes[2].Sparse = -1 }, "nodes[2] (in).sparse", []string{"must be >= 0", "-1"}},
		{"sparse population", func(n *topology.Network) { n.Nodes[3].Sparse = 4 }, "nodes[3] (hid).sparse", []string{"only linear projections", "discrete_lif"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := lowerNet(c, 0.5, 15)
			tc.edit(&net)
			err := net.Validate("")
			require.Error(t, err)
			var found bool
			for _, e := range unjoinAll(err) {
				var fe *topology.FieldError
				if errors.As(e, &fe) && fe.Path == tc.path {
					found = true
					for _, p := range tc.parts {
						require.Contains(t, fe.Msg, p)
					}
				}
			}
			require.True(t, found, "no error at %s in:\n%v", tc.path, err)
		})
	}
}

func unjoinAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestBin checks the binning of spike times into steps: rounding, the
// clamp to the last step, no spike for +Inf or negative times, and the
// value of repeated spikes.
func TestBin(t *testing.T) {
	backend := testBackend(t)
	exec, err := NewExec(backend, func(times *Node) *Node { return Bin(times, 4, 0.5, 2) })
	require.NoError(t, err)
	res, err := exec.Exec([][]float64{{0, 0.26, 1.4, 100, math.Inf(1), -1}})
	require.NoError(t, err)
	got := tensors.MustCopyFlatData[float64](res[0]) // [1, 4, 6]
	want := make([]float64, 24)
	for n, step := range []int{0, 1, 3, 3, -1, -1} {
		if step >= 0 {
			want[step*6+n] = 2
		}
	}
	require.Equal(t, want, got, strings.Repeat("-", 1))
}

// TestLowerSparseMatchesDense lowers netCase's recurrent network with every
// linear projection marked sparse (topology.Node.Sparse) and requires, with
// a capacity that holds every spike, the dense network's spikes, read-out,
// loss and gradients and no overflow; with a capacity of one active source
// per sample and step the left-out spikes are counted.
func TestLowerSparseMatchesDense(t *testing.T) {
	backend := testBackend(t)
	const dt, tLate = 0.5, 15.0
	c := baseCase()
	c.steps, c.nIn, c.recurrent, c.mode = 30, 5, true, ResetSubtract
	p := c.draw()
	rng := rand.New(rand.NewPCG(7, 8))
	features := make([]float64, c.batch*(c.nIn-1))
	for i := range features {
		features[i] = rng.Float64()
	}
	run := func(sparse int) (loss float64, outs [][]float64, overflow float64) {
		net := lowerNet(c, dt, tLate)
		for i := range net.Nodes {
			if net.Nodes[i].Kind == topology.KindLinear {
				net.Nodes[i].Sparse = sparse
			}
		}
		require.NoError(t, net.Validate(""))
		ctx := context.New()
		var vars []*context.Variable
		for _, w := range []struct {
			scope string
			m     [][]float64
		}{{"in", p.w1}, {"mid", p.w2}, {"out", p.w3}, {"rec", p.rec}} {
			m := w.m
			if w.scope == "in" { // one spike per input: stronger weights
				m = make([][]float64, len(w.m))
				for i, row := range w.m {
					for _, v := range row {
						m[i] = append(m[i], 6*v)
					}
				}
			}
			vars = append(vars, ctx.In(w.scope).VariableWithValue("weights", tensors.FromFlatDataAndDimensions(flatten2(m), len(m), len(m[0]))))
		}
		exec, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, x, labels *Node) []*Node {
			low := topology.Lower(ctx, &net, x)
			s1, s2 := low.Populations[0].Spikes, low.Populations[1].Spikes
			loss := testLoss(low.Readout, s1, s2, labels)
			ws := make([]*Node, len(vars))
			for i, v := range vars {
				ws[i] = v.ValueGraph(x.Graph())
			}
			return append([]*Node{loss, low.Overflow, s1, s2, low.Readout}, Gradient(loss, ws...)...)
		})
		require.NoError(t, err)
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(features, c.batch, c.nIn-1), p.labels)
		require.NoError(t, err)
		for _, r := range res[2:] {
			outs = append(outs, tensors.MustCopyFlatData[float64](r))
		}
		return tensors.MustCopyFlatData[float64](res[0])[0], outs, tensors.MustCopyFlatData[float64](res[1])[0]
	}
	wantLoss, want, noOverflow := run(0)
	require.Zero(t, noOverflow)
	spikes := 0.0
	for _, s := range want[0] {
		spikes += s
	}
	require.Greater(t, spikes, 10.0, "the case must make neurons spike")
	gotLoss, got, overflow := run(max(c.nIn, c.n1, c.n2))
	require.Zero(t, overflow, "a capacity of every source drops nothing")
	require.InDelta(t, wantLoss, gotLoss, 1e-9)
	names := []string{"first layer's spikes", "second layer's spikes", "read-out", "gradient of in", "gradient of mid", "gradient of out", "gradient of rec"}
	for i := range want {
		require.InDeltaSlice(t, want[i], got[i], 1e-9, names[i])
	}
	_, _, overflow = run(1)
	require.Greater(t, overflow, 0.0, "spikes beyond one active source per step must be counted")
}
