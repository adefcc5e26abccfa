package discrete

import (
	"fmt"
	"math"
	"os"
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
// An input with a shape takes frames instead: the features are net.Steps
// frames of its size, frame t being the input's spikes at step t. A
// conv2d projection convolves its source's output, seen as frames
// [height, width, channels] (topology/conv.go), with the weights
// [kernel·kernel·source channels, channels] (no bias), as Conv2D does.
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

	// The sources' spikes at every step, and over all steps [batch, steps, n].
	frames := map[string][]*Node{}
	series := map[string]*Node{}
	for _, node := range net.Nodes {
		switch node.Kind {
		case topology.KindInput:
			if features.Rank() != 2 || features.Shape().Dim(1) != net.InputFeatures() {
				panicf("network input %q takes %d features, the features are %s", node.Name, net.InputFeatures(), features.Shape())
			}
			if node.Shape != nil {
				// Frames: the data's own spikes (counts) at every step.
				series[node.Name] = StopGradient(Reshape(features, batch, steps, node.Size))
				frames[node.Name] = unstackData(series[node.Name])
				continue
			}
			times, _ := node.Encoding.Encode(features)
			series[node.Name] = Bin(times, steps, net.DT, float64(node.Copies()))
			frames[node.Name] = unstackData(series[node.Name])
		case topology.KindBias:
			series[node.Name] = biasFrames(g, dtype, batch, node.Times, steps, net.DT)
			frames[node.Name] = unstackData(series[node.Name])
		}
	}
	size := func(name string) int {
		n := net.Node(name)
		if n.Kind == topology.KindBias {
			return len(n.Times)
		}
		return n.Size
	}

	// Weights of every projection, and each population's parameters.
	incoming := map[string][]lowerProj{}
	var frozen []topology.TunedVariable
	for _, node := range net.Nodes {
		if !topology.IsProjection(node.Kind) {
			continue
		}
		target := net.Node(net.Targets(node.Name)[0])
		p := lowerProj{name: node.Name, sources: net.Sources(node.Name), sparse: node.Sparse, data: true,
			dropout: node.Dropout, layerNorm: node.LayerNorm}
		for _, s := range p.sources {
			p.data = p.data && !topology.IsPopulation(net.Node(s).Kind)
		}
		rows, cols := 0, target.Size
		for _, s := range p.sources {
			rows += size(s)
		}
		if in, out := net.PoolOf(node.Name); in != nil {
			p.pool = &poolGeometry{in: in, size: node.Pool.Size, max: node.Pool.Kind == topology.PoolMax}
			rows = out[0] * out[1] * out[2]
		}
		if node.Kind == topology.KindConv2D {
			c := net.ConvOf(node.Name)
			p.conv = &convGeometry{in: c.In, kernel: node.Kernel, stride: node.ConvStride(), padding: node.Padding}
			rows, cols = node.Kernel*node.Kernel*c.In[0], node.Channels
		}
		pctx := ctx.In(node.Name).WithInitializer(normalInit(ctx.In(node.Name), node.Init.Mean, node.Init.Std))
		p.v = pctx.VariableWithShape("weights", shapes.Make(dtype, rows, cols))
		p.w = p.v.ValueGraph(g)
		incoming[target.Name] = append(incoming[target.Name], p)
		if node.Frozen() {
			frozen = append(frozen, topology.TunedVariable{Variable: p.v, Frozen: true})
		}
	}
	var order []*lowerPop

	for _, layer := range layers {
		for _, name := range layer.Populations {
			node := net.Node(name)
			p := &lowerPop{node: node, learnable: node.Euler.LearnableDecays}
			zero := Zeros(g, shapes.Make(dtype, batch, node.Size))
			pctx := ctx.In(name)
			switch node.Kind {
			case topology.KindDiscreteLIF:
				l := lifLayer(node, net.DT)
				p.lif = l.Params(pctx, zero)
				p.state = ZeroLIFState(zero)
			case topology.KindDiscreteLI:
				l := liLayer(node, net.DT)
				p.li = l.Params(pctx, zero)
				p.decays = l.decays
				p.state = ZeroLIState(zero)
			default:
				panicf("discrete family: cannot lower node %q of kind %s", name, node.Kind)
			}
			order = append(order, p)
		}
	}

	traces := map[string]*Node{}
	var timeMajor map[string]*Node   // the traces as [steps, batch, size], where at hand
	sparseLost := Const(g, int32(0)) // active spikes the sparse projections left out
	if bpttApplies(ctx, g, order, incoming) {
		traces, timeMajor = lowerBPTT(g, dtype, layers, order, incoming, series, size, batch, steps)
	} else {
		// The time loop, unrolled. prev holds the populations' outputs of the
		// previous step (zeros before the first).
		prev := map[string]*Node{}
		for _, p := range order {
			prev[p.node.Name] = Zeros(g, shapes.Make(dtype, batch, p.node.Size))
		}
		// A population's linear projections are summed at every step: one
		// product of their sources side by side with their weights stacked
		// (once, before the loop) is one matrix product per step instead of
		// one per projection (7 % faster steps of the discrete Yin-Yang
		// network on xla:cpu: input and recurrent weights). Populations fed by
		// a convolution sum their projections one by one.
		stackedWeights := map[string]*Node{}
		for name, projs := range incoming {
			ws := make([]*Node, len(projs))
			for i, proj := range projs {
				if !proj.plain() {
					ws = nil
					break
				}
				ws[i] = proj.w
			}
			switch len(ws) {
			case 0:
			case 1:
				stackedWeights[name] = ws[0]
			default:
				stackedWeights[name] = Concatenate(ws, 0)
			}
		}
		for t := range steps {
			now := map[string]*Node{}
			for name, f := range frames {
				now[name] = f[t]
			}
			for _, p := range order {
				// A source's output of this step when computed, else of the last.
				inputs := func(proj lowerProj) *Node {
					parts := make([]*Node, len(proj.sources))
					for i, s := range proj.sources {
						if v, ok := now[s]; ok {
							parts[i] = v
						} else {
							parts[i] = prev[s]
						}
					}
					if len(parts) == 1 {
						return parts[0]
					}
					return Concatenate(parts, 1)
				}
				var x *Node
				if w, ok := stackedWeights[p.node.Name]; ok {
					parts := make([]*Node, len(incoming[p.node.Name]))
					for i, proj := range incoming[p.node.Name] {
						parts[i] = inputs(proj)
					}
					in := parts[0]
					if len(parts) > 1 {
						in = Concatenate(parts, 1)
					}
					x = snngraph.MatMulFastGrad(in, w)
				} else {
					for _, proj := range incoming[p.node.Name] {
						in := inputs(proj)
						if proj.pool != nil {
							in = proj.pool.apply(in)
						}
						if proj.dropout > 0 {
							_, in = Dropout(proj.dropout).Step(ctx.In(proj.name), nil, in)
						}
						var y *Node
						switch {
						case proj.conv != nil:
							y = proj.conv.apply(in, proj.w)
						case proj.sparse > 0:
							var lost *Node
							y, lost = sparseMatMul(in, proj.w, proj.sparse, !proj.data)
							sparseLost = Add(sparseLost, ReduceAllSum(lost))
						default:
							y = snngraph.MatMulFastGrad(in, proj.w)
						}
						if proj.layerNorm {
							// One gain and offset for all steps: created at the
							// first, reused after.
							_, y = LayerNorm().Step(ctx.In(proj.name).In("layer_norm").Checked(false), nil, y)
						}
						if x == nil {
							x = y
						} else {
							x = Add(x, y)
						}
					}
				}
				var out *Node
				switch st := p.state.(type) {
				case LIFState:
					p.state, out = LIFStep(st, x, p.lif)
				case LIState:
					p.state, out = LIStep(st, x, p.li)
				}
				now[p.node.Name] = out
				p.out = append(p.out, out)
			}
			if barrierEvery > 0 && (t+1)%barrierEvery == 0 && t+1 < steps {
				states := make([]State, len(order))
				for i, p := range order {
					states[i] = p.state
				}
				states = materialize(states, snngraph.Materialize)
				for i, p := range order {
					p.state = states[i]
				}
			}
			for _, p := range order {
				prev[p.node.Name] = now[p.node.Name]
			}
		}
		for _, p := range order {
			traces[p.node.Name] = Stack(p.out, 1)
		}
	}

	out := topology.Lowered{Overflow: ConvertDType(sparseLost, dtype), Tuned: frozen}
	for _, p := range order {
		trace := traces[p.node.Name] // [batch, steps, size]
		if p.node.Name == net.Output {
			out.Readout = trace
		}
		if p.node.Kind != topology.KindDiscreteLIF {
			continue
		}
		// The first spike's time: the step's end, t dt with t = 1, 2, ...
		// (the spike of step t is emitted after t steps).
		// Read from the time-major trace where there is one: XLA copied the
		// transposed trace for the reduction (5 % of the compiled kernels'
		// time of a BPTT training step of jaxsnn_yinyang_discrete).
		var first *Node
		if tm, ok := timeMajor[p.node.Name]; ok {
			first = firstSpikeTimes(tm, 0, net.DT)
		} else {
			first = firstSpikeTimes(trace, 1, net.DT)
		}
		lp := topology.LoweredPopulation{Name: p.node.Name, FirstTimes: first, Spikes: trace, MaxMissing: p.node.MaxMissing}
		for _, proj := range incoming[p.node.Name] {
			if proj.conv != nil {
				continue // its columns are channels, shared by many neurons: no per-neuron bumping
			}
			lp.Incoming = append(lp.Incoming, topology.WeightColumns{Variable: proj.v})
		}
		out.Populations = append(out.Populations, lp)
	}
	return out
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

// unstackData splits data spikes [batch, steps, n] (no gradient) into
// their steps.
func unstackData(x *Node) []*Node {
	out := make([]*Node, x.Shape().Dim(1))
	for t := range out {
		out[t] = Squeeze(Slice(x, AxisRange(), AxisElem(t), AxisRange()), 1)
	}
	return out
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

// plain reports whether a projection is a dense linear product of its
// sources as they are: the projections that share a stacked product and
// that lowerBPTT handles.
func (p lowerProj) plain() bool {
	return p.conv == nil && p.sparse == 0 && p.pool == nil && p.dropout == 0 && !p.layerNorm
}

// poolGeometry is a projection's pooling (topology.Pool) of frames in
// [channels, height, width], stored channels-last.
type poolGeometry struct {
	in   []int
	size int
	max  bool // max pooling, else the mean
}

// apply pools x [batch, h·w·c] (channels-last) to [batch, (h/k)·(w/k)·c],
// as Sequential's MaxPool2D and MeanPool2D do.
func (p *poolGeometry) apply(x *Node) *Node {
	c, h, w := p.in[0], p.in[1], p.in[2]
	batch := x.Shape().Dim(0)
	return Reshape(pool2D(Reshape(x, batch, h, w, c), p.size, p.max), batch, -1)
}

// convGeometry is a conv2d projection of a lowered network.
type convGeometry struct {
	in                      []int // [channels, height, width]
	kernel, stride, padding int
}

// apply convolves x [batch, h·w·c] (channels-last) with w [k·k·c, out]:
// [batch, h'·w'·out].
func (c *convGeometry) apply(x, w *Node) *Node {
	batch := x.Shape().Dim(0)
	frames := Reshape(x, batch, c.in[1], c.in[2], c.in[0])
	if c.padding > 0 {
		frames = zeroPad(frames, c.padding)
	}
	y := snngraph.MatMulFastGrad(Reshape(convPatches(frames, c.kernel, c.stride), -1, w.Shape().Dim(0)), w)
	return Reshape(y, batch, -1)
}

// zeroPad pads the height and width of x [batch, h, w, c] with p zeros on
// each side (by concatenation, which every backend differentiates).
func zeroPad(x *Node, p int) *Node {
	d := x.Shape().Dimensions
	rows := Zeros(x.Graph(), shapes.Make(x.DType(), d[0], p, d[2], d[3]))
	x = Concatenate([]*Node{rows, x, rows}, 1)
	cols := Zeros(x.Graph(), shapes.Make(x.DType(), d[0], d[1]+2*p, p, d[3]))
	return Concatenate([]*Node{cols, x, cols}, 2)
}

// lowerProj is a projection of a lowered network.
type lowerProj struct {
	name    string
	sources []string
	w       *Node
	v       *context.Variable
	conv    *convGeometry // nil: linear
	pool    *poolGeometry // nil: the source's output as it is
	dropout float64       // topology.Node.Dropout
	// layerNorm normalises the projection's output (topology.Node.LayerNorm).
	layerNorm bool
	sparse    int  // linear, > 0: sparse propagation keeping this many active sources (topology.Node.Sparse)
	data      bool // every source is data (inputs, bias): no gradient to them
}

// lowerPop is a population of a lowered network.
type lowerPop struct {
	node      *topology.Node
	lif       LIFParams
	li        LIParams
	learnable bool   // decays are variables
	decays    Decays // an LI population's, when fixed
	state     State
	out       []*Node
}

// firstSpikeTimes are the times of the first spikes of a trace over steps
// of dt along axis time (of a trace [batch, steps, n] or [steps, batch,
// n]), [batch, n]: the step's end, t dt with t = 1, 2, ... (the spike of
// step t is emitted after t steps), +Inf for a neuron that never spikes.
func firstSpikeTimes(trace *Node, time int, dt float64) *Node {
	g, dims := trace.Graph(), trace.Shape().Dimensions
	at := AddScalar(MulScalar(Iota(g, shapes.Make(trace.DType(), dims...), time), dt), dt)
	return ReduceMin(Where(GreaterThan(StopGradient(trace), ZerosLike(trace)), at, Infinity(g, trace.DType(), 1)), time)
}
