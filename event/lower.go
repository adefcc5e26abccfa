package event

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// Lower builds the forward pass of an event-based network (ttfs and lif
// populations) for the features [batch, size of the input node] in [0, 1].
//
// Layers are built in dependency order (topology.Network.Layers):
//   - a feed-forward ttfs population is FirstSpikeTimes over the
//     concatenated first-spike times of its projections' sources;
//   - a feed-forward lif population is LIFSpikes over their concatenated
//     spike lists;
//   - a recurrent layer (a strongly connected set of lif populations, or a
//     declared group) is one LIFSpikes with input weights from the sources
//     outside the layer and recurrent weights inside it, masked to the
//     projections that exist; each of its populations keeps its own
//     capacity (LIFConfig.Populations).
//
// A projection's weights are the variable "weights" in the scope named
// after it; a recurrent layer's are "weights" and "recurrent_weights" in
// the scope named after its populations joined by '+'. Every variable is
// initialised block by block from its projections' Init. An invalid
// network panics with the validation error (GoMLX's Exec returns it).
func Lower(ctx *context.Context, net *topology.Network, features *Node) topology.Lowered {
	return lower(ctx, net, features, nil)
}

func lower(ctx *context.Context, net *topology.Network, features *Node, observed map[string]snn.Spikes) topology.Lowered {
	if err := net.Validate(""); err != nil {
		panic(fmt.Errorf("network description: %w", err))
	}
	layers, _ := net.Layers() // Validate checked the error
	l := &lowering{ctx: ctx, net: net, g: features.Graph(), dtype: features.DType(),
		batch: features.Shape().Dim(0), spikes: map[string]snn.Spikes{}, first: map[string]*Node{}, observed: observed,
		valuesOnly: topology.ValuesOnly(ctx, features.Graph())}
	for _, node := range net.Nodes {
		switch node.Kind {
		case topology.KindInput:
			if features.Rank() != 2 || features.Shape().Dim(1) != node.Size {
				panicf("network input %q has size %d, the features are %s", node.Name, node.Size, features.Shape())
			}
			// Each neuron's time is its first spike (all copies of a
			// repeated spike share it); lif layers get the whole list.
			l.first[node.Name], l.spikes[node.Name] = node.Encoding.Encode(features)
		case topology.KindBias:
			bias := ConvertDType(Const(l.g, node.Times), l.dtype)
			l.setTimes(node.Name, BroadcastToDims(InsertAxes(bias, 0), l.batch, len(node.Times)))
			if k := node.Copies(); k > 1 {
				l.spikes[node.Name] = l.spikes[node.Name].Repeat(k)
			}
		}
	}
	out := topology.Lowered{Overflow: ScalarZero(l.g, l.dtype)}
	for _, layer := range layers {
		pops, overflow := l.layer(layer)
		out.Populations = append(out.Populations, pops...)
		if overflow != nil {
			out.Overflow = Add(out.Overflow, ConvertDType(ReduceAllSum(overflow), l.dtype))
		}
	}
	out.Readout = l.first[net.Output]
	out.Tuned = l.tuned
	return out
}

type lowering struct {
	ctx    *context.Context
	net    *topology.Network
	g      *Graph
	dtype  dtypes.DType
	batch  int
	spikes map[string]snn.Spikes // each node's output spike list
	first  map[string]*Node      // each node's first-spike times [batch, size]
	// observed holds spikes recorded elsewhere (LowerObserved), by
	// population or recurrent layer name.
	observed map[string]snn.Spikes
	// tuned collects the variables with their own learning rate or clamp.
	tuned []topology.TunedVariable
	// valuesOnly: no gradient is taken (topology.ValuesOnlyParam).
	valuesOnly bool
}

// lifSpikes is LIFSpikes, or Simulate when the graph needs values only.
func (l *lowering) lifSpikes(in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) (snn.Spikes, *Node) {
	if l.valuesOnly {
		return Simulate(in, wIn, wRec, cfg)
	}
	return LIFSpikes(in, wIn, wRec, cfg)
}

// setTimes records a node that spikes once per neuron.
func (l *lowering) setTimes(name string, times *Node) {
	l.first[name] = times
	l.spikes[name] = snn.SpikesFromTimes(times)
}

// size is the number of spike sources of a node.
func (l *lowering) size(name string) int {
	n := l.net.Node(name)
	if n.Kind == topology.KindBias {
		return len(n.Times)
	}
	return n.Size
}

// block is one projection's part of a weight variable: rows from a source,
// columns of a population.
type block struct {
	row, rows, col, cols int
	init                 topology.Init
}

// weightVariable creates a [rows, cols] variable whose blocks are drawn from
// their projections' inits (in one draw, so that the random numbers do not
// depend on how the network is cut into blocks) and returns its value
// masked to the blocks (or unmasked when the blocks cover it), and the
// variable.
func (l *lowering) weightVariable(scope, name string, rows, cols int, blocks []block) (*Node, *context.Variable) {
	mean, std, mask := make([]float64, rows*cols), make([]float64, rows*cols), make([]float64, rows*cols)
	covered := 0
	uniform := true
	for _, b := range blocks {
		for r := b.row; r < b.row+b.rows; r++ {
			for c := b.col; c < b.col+b.cols; c++ {
				i := r*cols + c
				mean[i], std[i], mask[i] = b.init.Mean, b.init.Std, 1
			}
		}
		covered += b.rows * b.cols
		uniform = uniform && b.init == blocks[0].init
	}
	ctx := l.ctx.In(scope)
	var init func(*Graph, shapes.Shape) *Node
	if uniform && covered == rows*cols {
		init = normalInit(ctx, blocks[0].init.Mean, blocks[0].init.Std)
	} else {
		init = func(g *Graph, shape shapes.Shape) *Node {
			m := Reshape(ConvertDType(Const(g, mean), shape.DType), rows, cols)
			s := Reshape(ConvertDType(Const(g, std), shape.DType), rows, cols)
			return Add(m, Mul(s, ctx.RandomNormal(g, shape)))
		}
	}
	v := ctx.WithInitializer(init).VariableWithShape(name, shapes.Make(l.dtype, rows, cols))
	w := v.ValueGraph(l.g)
	if covered < rows*cols {
		w = Mul(w, Reshape(ConvertDType(Const(l.g, mask), l.dtype), rows, cols))
	}
	return w, v
}

// layer lowers one layer and returns its populations and overflow count
// (nil for ttfs).
func (l *lowering) layer(layer topology.Layer) ([]topology.LoweredPopulation, *Node) {
	if !layer.Recurrent() {
		return l.feedForward(l.net.Node(layer.Populations[0]))
	}
	return l.recurrent(layer)
}

// feedForward lowers a population whose projections come from earlier
// layers: every projection is its own variable [its sources' sizes, size].
func (l *lowering) feedForward(pop *topology.Node) ([]topology.LoweredPopulation, *Node) {
	lp := topology.LoweredPopulation{Name: pop.Name, MaxMissing: pop.MaxMissing}
	var weights []*Node
	var sources []string
	var delays []projectionDelay
	for _, proj := range l.net.Sources(pop.Name) {
		projNode := l.net.Node(proj)
		srcs := l.net.Sources(proj)
		rows := 0
		for _, s := range srcs {
			rows += l.size(s)
		}
		w, v := l.weightVariable(proj, "weights", rows, pop.Size, []block{{0, rows, 0, pop.Size, *projNode.Init}})
		weights = append(weights, w)
		sources = append(sources, srcs...)
		lp.Incoming = append(lp.Incoming, topology.WeightColumns{Variable: v})
		if projNode.LearningRate > 0 || projNode.Frozen() {
			l.tuned = append(l.tuned, topology.TunedVariable{Variable: v, LearningRate: projNode.LearningRate, Frozen: projNode.Frozen()})
		}
		delays = append(delays, l.delays(projNode, rows, pop.Size))
	}
	w := concat(weights, 0)
	plan := planDelays(delays, pop.Size)
	if _, ok := l.observed[pop.Name]; ok && plan.kind != "" {
		panicf("population %q: delays with observed spikes are not supported", pop.Name)
	}
	var overflow *Node
	switch pop.Kind {
	case topology.KindTTFS:
		times := make([]*Node, len(sources))
		for i, s := range sources {
			times[i] = l.first[s]
		}
		if obs, ok := l.observed[pop.Name]; ok {
			l.setTimes(pop.Name, AttachCrossingGradient(obs.Time, concat(times, 1), w, *pop.Neuron, pop.MaxGradNorm))
			break
		}
		in := concat(times, 1)
		cfg := TTFS{Neuron: *pop.Neuron, Horizon: pop.Horizon, MaxGradNorm: pop.MaxGradNorm}
		switch plan.kind {
		case topology.DelayAxonal:
			in = Add(in, InsertAxes(plan.delays, 0))
		case topology.DelaySynaptic:
			in = Add(InsertAxes(in, 2), InsertAxes(plan.delays, 0))
		}
		out := FirstSpikeTimes(in, w, cfg)
		if plan.kind == topology.DelayDendritic {
			out = Add(out, InsertAxes(plan.delays, 0))
		}
		l.setTimes(pop.Name, out)
	case topology.KindLIF:
		var out snn.Spikes
		cfg := LIFConfig{Neuron: *pop.Neuron, Capacity: pop.Capacity, Horizon: pop.Horizon}
		in := l.concatSpikes(sources)
		neuronMajor := false // out in simulateFeedForward's layout
		if obs, ok := l.observed[pop.Name]; ok {
			out = ObservedLIFSpikes(obs, in, w, nil, cfg)
		} else {
			switch plan.kind {
			case topology.DelayAxonal:
				in = ShiftSpikes(in, plan.delays)
			case topology.DelaySynaptic:
				batch, num := in.Time.Shape().Dim(0), in.Time.Shape().Dim(1)
				perSpike := Reshape(Gather(plan.delays, Reshape(ConvertDType(in.Neuron, dtypes.Int32), batch*num, 1)), batch, num, pop.Size)
				out, overflow = LIFSpikesPerSynapse(in, Add(InsertAxes(in.Time, 2), perSpike), w, cfg)
			}
			if plan.kind != topology.DelaySynaptic {
				out, overflow = l.lifSpikes(in, w, nil, cfg)
				neuronMajor = true
			}
			if plan.kind == topology.DelayDendritic {
				out = ShiftSpikes(out, plan.delays) // one delay per neuron: the layout stays
			}
		}
		l.spikes[pop.Name] = out
		if neuronMajor {
			l.first[pop.Name] = neuronMajorFirstTimes(out, pop.Size)
		} else {
			l.first[pop.Name] = out.FirstTimes(pop.Size)
		}
	default:
		panicf("event family: cannot lower node %q of kind %s", pop.Name, pop.Kind)
	}
	lp.FirstTimes = l.first[pop.Name]
	return []topology.LoweredPopulation{lp}, overflow
}

// recurrent lowers a set of lif populations simulated as one recurrent
// layer: neurons numbered population by population, input rows source by
// source in the order they first appear.
func (l *lowering) recurrent(layer topology.Layer) ([]topology.LoweredPopulation, *Node) {
	offset := map[string]int{}
	n := 0
	var neuron *snn.LIF
	horizon := 0.0
	capacity := 0
	var caps []PopulationCapacity
	for _, name := range layer.Populations {
		pop := l.net.Node(name)
		if neuron != nil && (*pop.Neuron != *neuron || pop.Horizon != horizon) {
			panicf("recurrent layer %s: populations %q and %q have different neuron parameters or horizons; one event layer simulates one neuron model",
				strings.Join(layer.Populations, "+"), layer.Populations[0], name)
		}
		neuron, horizon = pop.Neuron, pop.Horizon
		offset[name] = n
		n += pop.Size
		capacity += pop.Capacity
		caps = append(caps, PopulationCapacity{Neurons: pop.Size, Capacity: pop.Capacity})
	}
	cfg := LIFConfig{Neuron: *neuron, Capacity: capacity, Horizon: horizon}
	if len(caps) > 1 {
		// Each population keeps its own capacity: the hidden spikes, which
		// come first, cannot take the output's slots, so the layer needs
		// only the slots of its populations' spikes (the event loop's
		// length, and XLA's compile time, grow with the sum).
		cfg.Populations = caps
	}
	var external []string
	rowOf := map[string]int{}
	rows := 0
	var inBlocks, recBlocks []block
	hasIn, hasRec := map[string]bool{}, map[string]bool{}
	for _, name := range layer.Populations {
		pop := l.net.Node(name)
		for _, proj := range l.net.Sources(name) {
			init := *l.net.Node(proj).Init
			for _, s := range l.net.Sources(proj) {
				if o, inside := offset[s]; inside {
					recBlocks = append(recBlocks, block{o, l.size(s), offset[name], pop.Size, init})
					hasRec[name] = true
					continue
				}
				if _, ok := rowOf[s]; !ok {
					rowOf[s] = rows
					rows += l.size(s)
					external = append(external, s)
				}
				inBlocks = append(inBlocks, block{rowOf[s], l.size(s), offset[name], pop.Size, init})
				hasIn[name] = true
			}
		}
	}
	scope := strings.Join(layer.Populations, "+")
	wIn, inVar := l.weightVariable(scope, "weights", rows, n, inBlocks)
	wRec, recVar := l.weightVariable(scope, "recurrent_weights", n, n, recBlocks)
	var out snn.Spikes
	var overflow *Node
	if obs, ok := l.observed[scope]; ok {
		out = ObservedLIFSpikes(obs, l.concatSpikes(external), wIn, wRec, cfg)
	} else {
		out, overflow = l.lifSpikes(l.concatSpikes(external), wIn, wRec, cfg)
	}
	var pops []topology.LoweredPopulation
	for _, name := range layer.Populations {
		pop := l.net.Node(name)
		o := offset[name]
		// The population's own spikes, renumbered from 0.
		ids := AddScalar(out.Neuron, -float64(o))
		mine := LogicalAnd(GreaterOrEqual(ids, ScalarZero(l.g, ids.DType())), LessThan(ids, Scalar(l.g, ids.DType(), pop.Size)))
		spikes := snn.Spikes{Time: Where(mine, out.Time, Infinity(l.g, l.dtype, 1)), Neuron: ids}
		l.spikes[name] = spikes
		l.first[name] = spikes.FirstTimes(pop.Size)
		lp := topology.LoweredPopulation{Name: name, FirstTimes: l.first[name], MaxMissing: pop.MaxMissing}
		if hasIn[name] {
			lp.Incoming = append(lp.Incoming, topology.WeightColumns{Variable: inVar, Offset: o})
		}
		if hasRec[name] {
			lp.Incoming = append(lp.Incoming, topology.WeightColumns{Variable: recVar, Offset: o})
		}
		pops = append(pops, lp)
	}
	return pops, overflow
}

// concatSpikes joins the spike lists of sources, numbering their neurons
// one source after the other.
func (l *lowering) concatSpikes(sources []string) snn.Spikes {
	var times, ids []*Node
	o := 0
	for _, s := range sources {
		sp := l.spikes[s]
		times = append(times, sp.Time)
		id := sp.Neuron
		if o > 0 {
			id = AddScalar(id, float64(o))
		}
		ids = append(ids, id)
		o += l.size(s)
	}
	return snn.Spikes{Time: concat(times, 1), Neuron: concat(ids, 1)}
}

// concat is Concatenate that leaves a single node alone.
func concat(nodes []*Node, axis int) *Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return Concatenate(slices.Clone(nodes), axis)
}
