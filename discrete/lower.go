package discrete

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/topology"
)

// Networks of discrete_lif and discrete_li populations lower through Lower.
func init() { topology.RegisterLowering(topology.FamilyDiscrete, Lower) }

// Lower builds the forward pass of a network of discrete populations
// (discrete_lif, discrete_li) for the features [batch, size of the input
// node] in [0, 1], over net.Steps steps of net.DT, as jaxsnn.discrete's
// Topology does:
//   - the input's encoding gives each feature a spike time (the event
//     family's code: latency, or spatio_temporal with t_late), binned to
//     the step round(t/dt) (Bin); a bias node spikes at its times, binned
//     the same way;
//   - at every step the populations are stepped in layer order
//     (topology.Network.Layers); a projection multiplies its sources'
//     outputs (concatenated in edge order) by its weights, taking a
//     source's output of this step when it has been computed, else of the
//     previous step (recurrent and feedback projections: zeros at the
//     first step);
//   - discrete_lif populations step with LIFStep, discrete_li with LIStep.
//
// A projection's weights are the variable "weights" [inputs, size] in the
// scope of its name, initialised N(mean, std²); learnable decays are
// "mem_decay" and "syn_decay" in the scope of their population. The
// read-out is the output population's output over time [batch, steps,
// size]. An invalid network panics with the validation error.
func Lower(ctx *context.Context, net *topology.Network, features *Node) topology.Lowered {
	if err := net.Validate(""); err != nil {
		panic(fmt.Errorf("network description: %w", err))
	}
	if net.Family() != topology.FamilyDiscrete {
		panicf("discrete.Lower: the network's populations are of the %s family", net.Family())
	}
	layers, _ := net.Layers() // Validate checked the error
	g, dtype := features.Graph(), features.DType()
	batch, steps := features.Shape().Dim(0), net.Steps

	// The sources' spikes at every step.
	frames := map[string]*Node{}
	for _, node := range net.Nodes {
		switch node.Kind {
		case topology.KindInput:
			if features.Rank() != 2 || features.Shape().Dim(1) != node.Size {
				panicf("network input %q has size %d, the features are %s", node.Name, node.Size, features.Shape())
			}
			times, _ := node.Encoding.Encode(features)
			frames[node.Name] = Bin(times, steps, net.DT, float64(node.Copies()))
		case topology.KindBias:
			frames[node.Name] = biasFrames(g, dtype, batch, node.Times, steps, net.DT)
		}
	}
	size := func(name string) int {
		n := net.Node(name)
		if n.Kind == topology.KindBias {
			return len(n.Times)
		}
		return n.Size
	}

	// Weights of every projection.
	type projection struct {
		sources []string
		w       *Node
		v       *context.Variable
	}
	incoming := map[string][]projection{}
	for _, node := range net.Nodes {
		if node.Kind != topology.KindLinear {
			continue
		}
		target := net.Node(net.Targets(node.Name)[0])
		p := projection{sources: net.Sources(node.Name)}
		rows := 0
		for _, s := range p.sources {
			rows += size(s)
		}
		pctx := ctx.In(node.Name).WithInitializer(normalInit(ctx.In(node.Name), node.Init.Mean, node.Init.Std))
		p.v = pctx.VariableWithShape("weights", shapes.Make(dtype, rows, target.Size))
		p.w = p.v.ValueGraph(g)
		incoming[target.Name] = append(incoming[target.Name], p)
	}

	// Layer by layer (the layers of Network.Layers only feed later ones),
	// each over all steps: a projection from earlier layers is one product
	// over all steps, a linear read-out is a closed-form filter over time,
	// and only recurrent parts and spiking neurons step through time.
	tr := &traces{steps: map[string][]*Node{}, stacked: frames, xla: g.Backend().Name() == "xla"}
	out := topology.Lowered{Overflow: ScalarZero(g, dtype)}
	stepTimes := MulScalar(Iota(g, shapes.Make(dtype, 1, steps, 1), 1), net.DT)
	for _, layer := range layers {
		inLayer := map[string]bool{}
		for _, name := range layer.Populations {
			inLayer[name] = true
		}
		type population struct {
			node     *topology.Node
			external []*Node      // input from earlier layers per step (nil: none)
			internal []projection // projections with a source in the layer
			lif      LIFParams
			li       LIParams
			state    State
			out      []*Node
		}
		var pops []*population
		for _, name := range layer.Populations {
			node := net.Node(name)
			p := &population{node: node}
			var ext *Node
			for _, proj := range incoming[name] {
				if slices.ContainsFunc(proj.sources, func(s string) bool { return inLayer[s] }) {
					p.internal = append(p.internal, proj)
					continue
				}
				parts := make([]*Node, len(proj.sources))
				for i, s := range proj.sources {
					parts[i] = tr.stack(s)
				}
				x := overTime(concatOrOne(parts, 2), proj.w)
				if ext == nil {
					ext = x
				} else {
					ext = Add(ext, x)
				}
			}
			zero := Zeros(g, shapes.Make(dtype, batch, node.Size))
			pctx := ctx.In(name)
			switch node.Kind {
			case topology.KindDiscreteLIF:
				p.lif = lifLayer(node, net.DT).Params(pctx, zero)
				p.state = ZeroLIFState(zero)
			case topology.KindDiscreteLI:
				li := liLayer(node, net.DT)
				if !layer.Recurrent() && !li.learnable && len(p.internal) == 0 {
					if ext == nil {
						ext = Zeros(g, shapes.Make(dtype, batch, steps, node.Size))
					}
					tr.stacked[name] = liFilter(ext, li.decays, li.leak)
					p = nil
					break
				}
				p.li = li.Params(pctx, zero)
				p.state = ZeroLIState(zero)
			default:
				panicf("discrete family: cannot lower node %q of kind %s", name, node.Kind)
			}
			if p == nil {
				continue
			}
			if ext != nil {
				p.external = tr.unstack(ext)
			}
			pops = append(pops, p)
		}
		// The time loop of the layer's stepped populations, unrolled.
		prev := map[string]*Node{}
		for _, p := range pops {
			prev[p.node.Name] = Zeros(g, shapes.Make(dtype, batch, p.node.Size))
		}
		for t := range steps {
			now := map[string]*Node{}
			for _, p := range pops {
				var x *Node
				if p.external != nil {
					x = p.external[t]
				}
				for _, proj := range p.internal {
					parts := make([]*Node, len(proj.sources))
					for i, s := range proj.sources {
						switch v, ok := now[s]; {
						case ok:
							parts[i] = v
						case inLayer[s]:
							parts[i] = prev[s]
						default:
							parts[i] = tr.step(s)[t]
						}
					}
					y := snngraph.MatMulFastGrad(concatOrOne(parts, 1), proj.w)
					if x == nil {
						x = y
					} else {
						x = Add(x, y)
					}
				}
				if x == nil {
					x = ZerosLike(prev[p.node.Name])
				}
				var o *Node
				switch st := p.state.(type) {
				case LIFState:
					p.state, o = LIFStep(st, x, p.lif)
				case LIState:
					p.state, o = LIStep(st, x, p.li)
				}
				now[p.node.Name] = o
				p.out = append(p.out, o)
			}
			if barrierEvery > 0 && (t+1)%barrierEvery == 0 && t+1 < steps {
				states := make([]State, len(pops))
				for i, p := range pops {
					states[i] = p.state
				}
				states = materialize(states)
				for i, p := range pops {
					p.state = states[i]
				}
			}
			for _, p := range pops {
				prev[p.node.Name] = now[p.node.Name]
			}
		}
		for _, p := range pops {
			tr.steps[p.node.Name] = p.out
		}
		for _, name := range layer.Populations {
			node := net.Node(name)
			if node.Kind != topology.KindDiscreteLIF {
				continue
			}
			trace := tr.stack(name) // [batch, steps, size]
			// The first spike's time: the end of its step, t dt with t = 1, 2, ...
			at := BroadcastToDims(AddScalar(stepTimes, net.DT), batch, steps, node.Size)
			first := ReduceMin(Where(GreaterThan(StopGradient(trace), ZerosLike(trace)), at, Infinity(g, dtype, 1)), 1)
			lp := topology.LoweredPopulation{Name: name, FirstTimes: first, Spikes: trace, MaxMissing: node.MaxMissing}
			for _, proj := range incoming[name] {
				lp.Incoming = append(lp.Incoming, topology.WeightColumns{Variable: proj.v})
			}
			out.Populations = append(out.Populations, lp)
		}
	}
	out.Readout = tr.stack(net.Output)
	return out
}

// traces holds every computed node's output over time, per step
// ([batch, n] each) and stacked ([batch, steps, n]), converting between
// the two forms when asked.
type traces struct {
	steps   map[string][]*Node
	stacked map[string]*Node
	xla     bool
}

func (tr *traces) stack(name string) *Node {
	if s, ok := tr.stacked[name]; ok {
		return s
	}
	s := Stack(tr.steps[name], 1)
	tr.stacked[name] = s
	return s
}

func (tr *traces) step(name string) []*Node {
	if s, ok := tr.steps[name]; ok {
		return s
	}
	s := tr.unstack(tr.stacked[name])
	tr.steps[name] = s
	return s
}

// unstack splits x [batch, steps, n] into its steps. On XLA by Slice; the
// pure-Go backend has no gradient for Slice (it needs Pad), so there each
// step is a Gather (gradient: a scatter-add).
func (tr *traces) unstack(x *Node) []*Node {
	steps := x.Shape().Dim(1)
	out := make([]*Node, steps)
	if tr.xla {
		for t := range out {
			out[t] = Squeeze(Slice(x, AxisRange(), AxisElem(t), AxisRange()), 1)
		}
		return out
	}
	timeMajor := TransposeAllAxes(x, 1, 0, 2)
	for t := range out {
		out[t] = Gather(timeMajor, Const(x.Graph(), []int32{int32(t)}))
	}
	return out
}

// concatOrOne concatenates nodes along axis (one node: itself).
func concatOrOne(nodes []*Node, axis int) *Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return Concatenate(nodes, axis)
}

// liFilter is LIStep over all steps in closed form, for input currents x
// [batch, steps, n] and fixed decays α (mem) and β (syn): the currents
// j[t] = β j[t-1] + x[t] and membranes v[t] = α v[t-1] + (1-α)(leak + j[t])
// are causal filters, j = K_β x and v = (1-α) K_α (j + leak) with
// K_a[t, s] = a^(t-s) for s <= t: two products over time instead of a
// stepped loop.
func liFilter(x *Node, d Decays, leak float64) *Node {
	steps := x.Shape().Dim(1)
	kernel := func(a float64) *Node {
		k := make([]float64, steps*steps)
		for t := range steps {
			for s := 0; s <= t; s++ {
				k[t*steps+s] = math.Pow(a, float64(t-s))
			}
		}
		return ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(k, steps, steps)), x.DType())
	}
	j := filterTime(kernel(d.Syn), x)
	return MulScalar(filterTime(kernel(d.Mem), AddScalar(j, leak)), 1-d.Mem)
}

// overTime is x [batch, steps, in] times w [in, n] at every step, as one
// product (graph.MatMulFastGrad: its gradient is two products; XLA CPU
// gave wrong weight gradients for the same Einsum here).
func overTime(x, w *Node) *Node {
	b, t, in := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	return Reshape(snngraph.MatMulFastGrad(Reshape(x, b*t, in), w), b, t, w.Shape().Dim(1))
}

// filterTime is Σ_s k[t, s] x[b, s, n] for a kernel k [steps, steps] and
// x [batch, steps, n], as one product over the time axis.
func filterTime(k, x *Node) *Node {
	b, t, n := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	tm := Reshape(TransposeAllAxes(x, 1, 0, 2), t, b*n)
	return TransposeAllAxes(Reshape(snngraph.MatMulFastGrad(k, tm), t, b, n), 1, 0, 2)
}

// barrierEvery is how often (in steps) the states pass a fusion barrier
// (graph.Materialize) on XLA; $GOSNN_DISCRETE_BARRIER overrides it (0:
// never). Why not every step: each barrier is a product with the
// identity, which costs more than a step of the Yin-Yang network; why not
// never: XLA then fuses the unrolled element-wise chains into their
// consumers and recomputes them. Measured on xla:cpu for
// jaxsnn_yinyang_discrete (one epoch, shared 2-core machine at load 5-10):
// every 1 step 15.4 s, 3: 7.5 s, 6: 6.0 s, 10: 3.0 s, 15: 1.9-3.4 s,
// 20: 4.6 s, 30: 2.6 s, never: 5.2 s.
var barrierEvery = func() int {
	if v, err := strconv.Atoi(os.Getenv("GOSNN_DISCRETE_BARRIER")); err == nil {
		return v
	}
	return 10
}()

// Bin turns spike times [batch, n] into spikes over steps of dt,
// [batch, steps, n], of value `value` at the step round(t/dt) and 0
// elsewhere, a time beyond the last step clamped to it as
// jaxsnn.discrete's spatio_temporal_encode does; +Inf (no spike) and
// negative times never spike. value > 1 stands for repeated spikes
// through the same weight (the event family's duplication). The times
// get no gradient.
func Bin(times *Node, steps int, dt, value float64) *Node {
	if times.Rank() != 2 {
		panicf("discrete.Bin: times must be [batch, n], got %s", times.Shape())
	}
	if steps < 1 || !(dt > 0) || math.IsInf(dt, 0) {
		panicf("discrete.Bin: need steps >= 1 and a positive finite dt, got %d and %g", steps, dt)
	}
	times = StopGradient(times)
	g, dtype := times.Graph(), times.DType()
	finite := LogicalAnd(IsFinite(times), GreaterOrEqual(times, ZerosLike(times)))
	clean := Where(finite, times, ZerosLike(times))
	step := ConvertDType(ClipScalar(Round(DivScalar(clean, dt)), 0, float64(steps-1)), dtypes.Int32)
	step = Where(finite, step, Scalar(g, dtypes.Int32, steps)) // out of range: an all-zero one-hot row
	oneHot := OneHot(step, steps, dtype)                       // [batch, n, steps]
	return MulScalar(TransposeAllAxes(oneHot, 0, 2, 1), value)
}

// biasFrames are a bias node's spikes over steps, [batch, steps, n] (a
// constant, binned as Bin).
func biasFrames(g *Graph, dtype dtypes.DType, batch int, times []float64, steps int, dt float64) *Node {
	data := make([]float64, steps*len(times))
	for i, x := range times {
		if k := int(min(math.Round(x/dt), float64(steps-1))); k >= 0 {
			data[k*len(times)+i] = 1
		}
	}
	c := ConvertDType(Const(g, tensors.FromFlatDataAndDimensions(data, 1, steps, len(times))), dtype)
	return BroadcastToDims(c, batch, steps, len(times))
}

// lifLayer is the LIF layer of a discrete_lif node (validated).
func lifLayer(node *topology.Node, dt float64) *LIF {
	e := node.Euler
	l := NewLIF().WithThreshold(e.Threshold).WithLeak(e.Leak).WithSurrogate(surrogateOf(e.Surrogate))
	l.decays = decaysOf(e, dt)
	mode := ResetZero
	if e.ResetMode == "subtract" {
		mode = ResetSubtract
	}
	l.WithReset(mode, e.Reset)
	if e.DetachReset {
		l.WithDetachReset()
	}
	if e.LearnableDecays {
		l.WithLearnableDecays()
	}
	return l.Done()
}

// liLayer is the LI layer of a discrete_li node (validated).
func liLayer(node *topology.Node, dt float64) *LI {
	e := node.Euler
	l := NewLI().WithLeak(e.Leak)
	l.decays = decaysOf(e, dt)
	if e.LearnableDecays {
		l.WithLearnableDecays()
	}
	return l.Done()
}

// decaysOf are a node's decays: given, or 1 - dt/tau.
func decaysOf(e *topology.Euler, dt float64) Decays {
	if len(e.Decays) == 2 {
		return Decays{Mem: e.Decays[0], Syn: e.Decays[1]}
	}
	d, err := DecaysFromTau(dt, e.TauMem, e.TauSyn)
	if err != nil {
		panic(err)
	}
	return d
}

// surrogateOf maps a description's surrogate to a Surrogate (default
// SuperSpike with alpha 80).
func surrogateOf(s *topology.SurrogateSpec) Surrogate {
	if s == nil {
		return DefaultSurrogate()
	}
	kind := map[string]SurrogateKind{"fast_sigmoid": FastSigmoid, "superspike": FastSigmoid, "arctan": ArcTan, "triangle": Triangle, "sigmoid": ScaledSigmoid}[s.Kind]
	scale := s.Scale
	if scale == 0 {
		scale = DefaultScale(kind)
	}
	return Surrogate{Kind: kind, Scale: scale}
}
