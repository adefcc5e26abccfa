package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// The hardware-in-the-loop gradient is the software network's gradient at
// the observed times: with the ideal mock it equals the float64 central
// finite differences of the mock's own spike times, here with many exactly
// equal times (inputs on a coarse grid, so several arrive at one instant,
// and hidden neurons in identical pairs, so their spikes tie too).
func TestHardwareGradientWithTies(t *testing.T) {
	neuron := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 0.25, Threshold: 1, Reset: 0, Refractory: 5}
	net, err := topology.New().Input("input", 4, snn.Latency{Early: 0.15, Late: 2}).Bias("bias", 0.9).
		LIF("hidden", 8, 8, neuron).Projection("to_hidden", 0.6, 0.3, "hidden", "input", "bias").
		LIF("output", 3, 3, neuron).Projection("to_output", 0.3, 0.3, "output", "hidden", "bias").
		Output("output").Done()
	require.NoError(t, err)
	cfg := hardwareYinYang(t, 8)
	cfg.Network = net
	cfg.DType = "float64"
	ideal := bss2.IdealMock()
	cfg.Hardware = &HardwareConfig{Backend: "mock", Mock: &ideal}
	require.NoError(t, cfg.Validate())
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	trainer, err := NewTrainer(backend, cfg, 4, 3)
	require.NoError(t, err)
	h := trainer.hw

	// Features on a grid of 1/4: equal values give equal input times.
	const batch = 6
	rng := rand.New(rand.NewPCG(4, 5))
	feats := make([]float64, batch*4)
	for i := range feats {
		feats[i] = float64(rng.IntN(5)) / 4
	}
	bt := batch0(feats, batch)
	require.NoError(t, h.init(trainer))
	// Hidden neurons in identical pairs: columns 2k and 2k+1 equal.
	wv := trainer.ctx.GetVariableByScopeAndName("/to_hidden", "weights")
	require.NotNil(t, wv)
	val, err := wv.Value()
	require.NoError(t, err)
	w := tensors.MustCopyFlatData[float64](val)
	for r := range 5 {
		for c := 1; c < 8; c += 2 {
			w[r*8+c] = w[r*8+c-1]
		}
	}
	require.NoError(t, wv.SetValue(tensors.FromFlatDataAndDimensions(w, 5, 8)))

	obs, err := h.observe(trainer, bt)
	require.NoError(t, err)
	coef := []float64{0.7, -0.4, 1.1, 0.3, -0.9, 0.5, 0.8, -0.2, 0.6, 1.3, -0.7}
	// The loss: a fixed combination of every first-spike time present.
	loss := func(first map[string][][]float64) float64 {
		l := 0.0
		for b := range batch {
			for j, x := range append(append([]float64(nil), first["hidden"][b]...), first["output"][b]...) {
				if !math.IsInf(x, 1) {
					l += coef[j] * x
				}
			}
		}
		return l
	}
	var varNames []string
	exec, err := mlctx.NewExec(backend, trainer.ctx.Reuse(), func(ctx *mlctx.Context, x *Node) []*Node {
		low := h.lower(ctx, &trainer.cfg.Network, x)
		g := x.Graph()
		l := ScalarZero(g, dtypes.Float64)
		j := 0
		for _, p := range low.Populations {
			n := p.FirstTimes.Shape().Dim(1)
			c := Const(g, coef[j:j+n])
			j += n
			ft := p.FirstTimes
			l = Add(l, ReduceAllSum(Mul(Where(IsFinite(ft), ft, ZerosLike(ft)), InsertAxes(c, 0))))
		}
		varNames = varNames[:0]
		var vals []*Node
		for _, name := range []string{"to_hidden", "to_output"} {
			varNames = append(varNames, name)
			vals = append(vals, ctx.GetVariableByScopeAndName("/"+name, "weights").ValueGraph(g))
		}
		return append([]*Node{l}, Gradient(l, vals...)...)
	})
	require.NoError(t, err)
	outs, err := exec.Exec(obs.x)
	require.NoError(t, err)

	m := h.mapping
	weights, err := bss2.ReadWeights(trainer.ctx, m)
	require.NoError(t, err)
	in, err := bss2.EncodeInput(m, hostMatrix(bt.x))
	require.NoError(t, err)
	mockFirst := func(ws bss2.Weights) map[string][][]float64 {
		mock, err := bss2.NewMock(ideal)
		require.NoError(t, err)
		require.NoError(t, mock.Configure(m, ws))
		res, err := mock.Run(context.Background(), in)
		require.NoError(t, err)
		return map[string][][]float64{"hidden": res.Spikes["hidden"].FirstTimes(8), "output": res.Spikes["output"].FirstTimes(3)}
	}
	base := mockFirst(weights)
	require.InDelta(t, loss(base), tensors.MustCopyFlatData[float64](outs[0])[0], 1e-9, "the observed times are the mock's")
	ties := 0
	for b := range batch {
		seen := map[float64]int{}
		for _, x := range base["hidden"][b] {
			if !math.IsInf(x, 1) {
				seen[x]++
			}
		}
		for _, n := range seen {
			ties += n - 1
		}
	}
	require.Greater(t, ties, batch, "the hidden layer should have many exactly equal spike times")

	const eps = 1e-6
	checked := 0
	for li, name := range varNames {
		grad := tensors.MustCopyFlatData[float64](outs[1+li])
		for k := range weights[li].In {
			plus, minus := cloneWeights(weights), cloneWeights(weights)
			plus[li].In[k] += eps
			minus[li].In[k] -= eps
			fp, fm := mockFirst(plus), mockFirst(minus)
			if !samePattern(base, fp) || !samePattern(base, fm) {
				continue // a spike appears or vanishes: no derivative
			}
			fd := (loss(fp) - loss(fm)) / (2 * eps)
			require.False(t, math.IsNaN(grad[k]) || math.IsInf(grad[k], 0), "%s[%d] gradient %g", name, k, grad[k])
			require.InDelta(t, fd, grad[k], 1e-5*math.Max(1, math.Abs(fd)), "%s weight %d", name, k)
			if fd != 0 {
				checked++
			}
		}
	}
	t.Logf("%d exactly tied hidden spikes; %d non-zero weight gradients equal their finite differences", ties, checked)
	require.Greater(t, checked, 30)
}

func batch0(feats []float64, n int) batch {
	mask := make([]bool, n)
	for i := range mask {
		mask[i] = true
	}
	return batch{x: tensors.FromFlatDataAndDimensions(feats, n, len(feats)/n), labels: tensors.FromFlatDataAndDimensions(make([]int32, n), n),
		mask: tensors.FromFlatDataAndDimensions(mask, n), n: n}
}

func cloneWeights(w bss2.Weights) bss2.Weights {
	out := make(bss2.Weights, len(w))
	for i, l := range w {
		out[i] = bss2.LayerWeights{In: append([]float64(nil), l.In...), Rec: append([]float64(nil), l.Rec...)}
	}
	return out
}

func samePattern(a, b map[string][][]float64) bool {
	for name, rows := range a {
		for i, row := range rows {
			for j, x := range row {
				if math.IsInf(x, 1) != math.IsInf(b[name][i][j], 1) {
					return false
				}
			}
		}
	}
	return true
}
