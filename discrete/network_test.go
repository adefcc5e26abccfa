package discrete

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"
)

// netCase is a network input -> dense -> LIF -> dense -> LIF -> dense -> LI
// with given weights, run on both the graph and the float64 reference.
type netCase struct {
	name                 string
	batch, steps         int
	nIn, n1, n2, classes int
	density              float64 // of the input spikes
	mode                 ResetMode
	leak, vReset         float64
	threshold            float64
	recurrent            bool
	learnable            bool // per-neuron decays in the first LIF layer
	detach               bool
	surrogate            Surrogate
	decays               Decays // of the second LIF layer and the LI read-out
	seed                 uint64
}

// netParams are the case's drawn weights, decays and data.
type netParams struct {
	w1, rec, w2, w3 [][]float64
	mem1, syn1      []float64
	inputs          [][][]float64
	labels          []int32
}

func (c netCase) draw() netParams {
	rng := rand.New(rand.NewPCG(c.seed, 7))
	p := netParams{
		w1:     randMatrix(rng, c.nIn, c.n1, 0.3, 0.6),
		w2:     randMatrix(rng, c.n1, c.n2, 0.2, 0.5),
		w3:     randMatrix(rng, c.n2, c.classes, 0, 0.5),
		inputs: randSpikes(rng, c.batch, c.steps, c.nIn, c.density),
	}
	if c.recurrent {
		p.rec = randMatrix(rng, c.n1, c.n1, 0, 0.3)
	}
	p.mem1, p.syn1 = filled(c.n1, c.decays.Mem), filled(c.n1, c.decays.Syn)
	if c.learnable {
		for j := range c.n1 {
			p.mem1[j] = 0.8 + 0.15*rng.Float64()
			p.syn1[j] = 0.6 + 0.3*rng.Float64()
		}
	}
	for range c.batch {
		p.labels = append(p.labels, int32(rng.IntN(c.classes)))
	}
	return p
}

// reference builds the float64 reference network with spike function spike.
func (c netCase) reference(p netParams, spike refSpike) []refLayer {
	lif := func(mem, syn []float64, rec [][]float64) *refLIF {
		return &refLIF{mem: mem, syn: syn, leak: c.leak, th: c.threshold, vReset: c.vReset, mode: c.mode, rec: rec, spike: spike}
	}
	return []refLayer{
		&refDense{p.w1}, lif(p.mem1, p.syn1, p.rec),
		&refDense{p.w2}, lif(filled(c.n2, c.decays.Mem), filled(c.n2, c.decays.Syn), nil),
		&refDense{p.w3}, &refLI{mem: filled(c.classes, c.decays.Mem), syn: filled(c.classes, c.decays.Syn), leak: c.leak},
	}
}

// model builds the same network with the package's layers.
func (c netCase) model() *Sequential {
	lif := func() *LIF {
		return NewLIF().WithDecays(c.decays.Mem, c.decays.Syn).WithThreshold(c.threshold).WithLeak(c.leak).
			WithReset(c.mode, c.vReset).WithSurrogate(c.surrogate)
	}
	first := lif()
	if c.recurrent {
		first.WithRecurrent(0, 0.3)
	}
	if c.learnable {
		first.WithLearnableDecays()
	}
	if c.detach {
		first.WithDetachReset()
	}
	return NewSequential(NewDense(c.n1), first.Done(), NewDense(c.n2), lif().Done(),
		NewDense(c.classes), NewLI().WithDecays(c.decays.Mem, c.decays.Syn).WithLeak(c.leak).Done())
}

// netVar is one variable of the model with its value in the reference.
type netVar struct {
	name string
	v    *context.Variable
	ref  []*float64 // the reference's entries, row-major
}

// setVariables creates the model's variables in ctx with the case's values.
func (c netCase) setVariables(ctx *context.Context, p netParams) []netVar {
	var vars []netVar
	in := func(scope string) *context.Context {
		c := ctx
		for _, s := range strings.Split(scope, "/") {
			c = c.In(s)
		}
		return c
	}
	matrix := func(scope, name string, m [][]float64) {
		t := tensors.FromFlatDataAndDimensions(flatten2(m), len(m), len(m[0]))
		nv := netVar{name: scope + "/" + name, v: in(scope).VariableWithValue(name, t)}
		for i := range m {
			for j := range m[i] {
				nv.ref = append(nv.ref, &m[i][j])
			}
		}
		vars = append(vars, nv)
	}
	vector := func(scope, name string, x []float64) {
		nv := netVar{name: scope + "/" + name, v: in(scope).VariableWithValue(name, append([]float64(nil), x...))}
		for i := range x {
			nv.ref = append(nv.ref, &x[i])
		}
		vars = append(vars, nv)
	}
	matrix("0_dense/dense", "weights", p.w1)
	if c.recurrent {
		matrix("1_lif", "recurrent_weights", p.rec)
	}
	if c.learnable {
		vector("1_lif", "mem_decay", p.mem1)
		vector("1_lif", "syn_decay", p.syn1)
	}
	matrix("2_dense/dense", "weights", p.w2)
	matrix("4_dense/dense", "weights", p.w3)
	return vars
}

// testLoss is the loss of the gradient checks: jaxsnn's NLL of the
// read-out plus the rate regulariser on both LIF layers.
func testLoss(trace, s1, s2, labels *Node) *Node {
	return Add(MaxOverTimeNLL(trace, labels), Add(RateRegularizer(s1, 1, 0.01), RateRegularizer(s2, 1, 0.01)))
}

func refLoss(out [][][][]float64, labels []int32) float64 {
	return refMaxOverTimeNLL(out[5], labels) + refRate(out[1], 1, 0.01) + refRate(out[3], 1, 0.01)
}

// runModel runs the model on the graph: it returns the loss, the traces of
// the LIF layers and the LI read-out (flattened [batch, T, n]) and the
// gradient of the loss for every variable.
func runModel(t *testing.T, backend backends.Backend, c netCase, p netParams) (loss float64, traces [3][]float64, grads [][]float64, vars []netVar) {
	t.Helper()
	ctx := context.New()
	vars = c.setVariables(ctx, p)
	model := c.model()
	exec, err := context.NewExec(backend, ctx.Reuse(), func(ctx *context.Context, inputs, labels *Node) []*Node {
		r := model.Run(ctx, inputs)
		s1, s2, v := r.Trace(1), r.Trace(3), r.Output()
		l := testLoss(v, s1, s2, labels)
		var nodes []*Node
		for _, nv := range vars {
			nodes = append(nodes, nv.v.ValueGraph(inputs.Graph()))
		}
		return append([]*Node{l, s1, s2, v}, Gradient(l, nodes...)...)
	})
	require.NoError(t, err)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten3(p.inputs), c.batch, c.steps, c.nIn), p.labels)
	require.NoError(t, err, c.name)
	loss = tensors.MustCopyFlatData[float64](outs[0])[0]
	for i := range traces {
		traces[i] = tensors.MustCopyFlatData[float64](outs[1+i])
	}
	for _, o := range outs[4:] {
		grads = append(grads, tensors.MustCopyFlatData[float64](o))
	}
	return loss, traces, grads, vars
}

func baseCase() netCase {
	return netCase{batch: 3, steps: 40, nIn: 5, n1: 7, n2: 6, classes: 3, density: 0.3,
		threshold: 0.6, decays: Decays{Mem: 0.9, Syn: 0.8}, surrogate: DefaultSurrogate(), seed: 1}
}

// TestNetworkMatchesReference checks the forward pass (Heaviside spikes)
// of the step functions inside Sequential against the float64 loop.
func TestNetworkMatchesReference(t *testing.T) {
	backend := testBackend(t)
	tau, err := DecaysFromTau(0.5, 10, 5) // jaxsnn's Yin-Yang: dt 0.5 ms, tau_mem 10 ms, tau_syn 5 ms
	require.NoError(t, err)
	cases := []func(*netCase){
		func(c *netCase) { c.name = "reset to zero"; c.mode = ResetZero },
		func(c *netCase) { c.name = "reset by subtraction"; c.mode = ResetSubtract },
		func(c *netCase) {
			c.name = "recurrent, leak, reset -0.2"
			c.recurrent, c.leak, c.vReset, c.mode = true, 0.1, -0.2, ResetZero
		},
		func(c *netCase) {
			c.name = "learnable decays, subtraction to -0.1"
			c.learnable, c.mode, c.vReset, c.seed = true, ResetSubtract, -0.1, 2
		},
		func(c *netCase) { c.name = "decays from tau"; c.decays, c.seed = tau, 3 },
		func(c *netCase) { c.name = "detached reset"; c.detach, c.recurrent, c.seed = true, true, 4 },
	}
	for _, edit := range cases {
		c := baseCase()
		edit(&c)
		t.Run(c.name, func(t *testing.T) {
			p := c.draw()
			loss, traces, _, _ := runModel(t, backend, c, p)
			out := refRun(c.reference(p, refHeaviside), p.inputs)
			spikes := 0.0
			for i, layer := range []int{1, 3, 5} {
				want := flatten3(out[layer])
				if layer == 5 {
					require.InDeltaSlice(t, want, traces[i], 1e-9, "read-out membrane")
					continue
				}
				require.Equal(t, want, traces[i], "spikes of layer %d", layer)
				for _, s := range want {
					spikes += s
				}
			}
			require.Greater(t, spikes, 20.0, "the case must make neurons spike")
			require.InDelta(t, refLoss(out, p.labels), loss, 1e-9)
		})
	}
}

// TestSurrogateGradientMatchesFiniteDifferences is the closing check of the
// issue: the gradient of a two-layer LIF network over 50 steps, with every
// surrogate's smooth forward (the Heaviside replaced by the surrogate's
// primitive), equals float64 central finite differences of the reference
// to 1e-4 relative.
func TestSurrogateGradientMatchesFiniteDifferences(t *testing.T) {
	backend := testBackend(t)
	cases := []netCase{}
	for i, s := range []Surrogate{{Kind: FastSigmoid, Scale: 5}, {Kind: ArcTan, Scale: 2}, {Kind: Triangle, Scale: 1.5}, {Kind: ScaledSigmoid, Scale: 6}} {
		c := baseCase()
		c.name, c.surrogate, c.steps, c.seed = s.Kind.String(), s.Smoothed(), 50, uint64(10+i)
		c.recurrent, c.learnable, c.leak, c.vReset = true, true, 0.05, -0.1
		c.mode = []ResetMode{ResetZero, ResetSubtract}[i%2]
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.draw()
			loss, _, grads, vars := runModel(t, backend, c, p)
			layers := c.reference(p, refPrimitive(c.surrogate))
			lossAt := func() float64 { return refLoss(refRun(layers, p.inputs), p.labels) }
			require.InDelta(t, lossAt(), loss, 1e-9)
			const h = 1e-6
			worst := 0.0
			for k, nv := range vars {
				fd := make([]float64, len(nv.ref))
				for i, x := range nv.ref {
					orig := *x
					*x = orig + h
					up := lossAt()
					*x = orig - h
					down := lossAt()
					*x = orig
					fd[i] = (up - down) / (2 * h)
				}
				scale := 0.0
				for _, g := range fd {
					scale = math.Max(scale, math.Abs(g))
				}
				require.Greater(t, scale, 1e-6, "%s: gradient must not vanish", nv.name)
				for i := range fd {
					rel := math.Abs(grads[k][i]-fd[i]) / scale
					worst = math.Max(worst, rel)
					require.LessOrEqual(t, rel, 1e-4, "%s[%d]: graph %g, finite differences %g", nv.name, i, grads[k][i], fd[i])
				}
			}
			t.Logf("%s: max |graph - FD| / max|FD| = %.2g", c.name, worst)
		})
	}
}

// TestOneStepGradient checks the surrogate gradient of one LIF step with the
// Heaviside forward against the hand-derived formula: with
// v' = α v + (1-α) i, x = v' - v_th and s = H(x),
//
//	ds/dv = α g(x),  ds/di = (1-α) g(x),
//
// and, after the reset to zero v” = (1-s) v',
//
//	dv”/dv = α (1 - s - g(x) v').
func TestOneStepGradient(t *testing.T) {
	backend := testBackend(t)
	v0 := []float64{0.1, 0.55, 0.7, -0.3, 0.61, 2}
	i0 := []float64{0.4, 0.9, 0.6, 0.2, 0.55, -1}
	const alpha, beta, th = 0.9, 0.8, 0.6
	for _, s := range []Surrogate{DefaultSurrogate(), {Kind: ArcTan, Scale: 2}, {Kind: Triangle, Scale: 3}, {Kind: ScaledSigmoid, Scale: 25}} {
		t.Run(s.Kind.String(), func(t *testing.T) {
			exec, err := NewExec(backend, func(v, i *Node) []*Node {
				g := v.Graph()
				p := LIFParams{MemDecay: Scalar(g, v.DType(), alpha), SynDecay: Scalar(g, v.DType(), beta),
					Threshold: th, ResetMode: ResetZero, Surrogate: s}
				next, spikes := LIFStep(LIFState{V: v, I: i, S: ZerosLike(v)}, ZerosLike(v), p)
				ds := Gradient(ReduceAllSum(spikes), v, i)
				dv := Gradient(ReduceAllSum(next.V), v)
				return []*Node{spikes, ds[0], ds[1], dv[0]}
			})
			require.NoError(t, err)
			outs, err := exec.Exec(v0, i0)
			require.NoError(t, err)
			spikes := tensors.MustCopyFlatData[float64](outs[0])
			dsdv, dsdi := tensors.MustCopyFlatData[float64](outs[1]), tensors.MustCopyFlatData[float64](outs[2])
			dvdv := tensors.MustCopyFlatData[float64](outs[3])
			for k := range v0 {
				vp := alpha*v0[k] + (1-alpha)*i0[k]
				x := vp - th
				g := refDerivative(s, x)
				sk := refHeaviside(x)
				name := fmt.Sprintf("v=%g i=%g", v0[k], i0[k])
				require.Equal(t, sk, spikes[k], name)
				require.InDelta(t, alpha*g, dsdv[k], 1e-12, name)
				require.InDelta(t, (1-alpha)*g, dsdi[k], 1e-12, name)
				require.InDelta(t, alpha*(1-sk-g*vp), dvdv[k], 1e-12, name)
			}
		})
	}
}
