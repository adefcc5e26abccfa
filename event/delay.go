package event

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// Delays (DelGrad: Göltz, Weber, Kriener et al., "DelGrad: exact
// event-based gradients for training delays and weights on spiking
// neuromorphic hardware", Nat. Commun. 2025). A delay d_ij makes the spike
// of input i reach neuron j at t_i + d_ij. The layers are time-invariant,
// so the three kinds cost differently:
//
//   - axonal (d_ij = d_i): the input times shift, t_i + d_i; the layer's
//     input-time gradient is the delay gradient, dL/dd_i = Σ_b dL/dt_bi;
//   - dendritic (d_ij = d_j, every input of neuron j): neuron j's spikes
//     all shift by d_j, so dL/dd_j = Σ_b Σ_spikes of j dL/dt;
//   - synaptic: each input spike is a different event for each target; the
//     layers take one arrival time per (input, target) pair, and their
//     exact input-time gradient per pair is the delay gradient.
//
// Autodiff through t_i + d_ij (and its broadcasts) sums each pair's
// gradient into the right delay; the layers only need the per-pair form.

// firstSpikeTimesPerSynapse is FirstSpikeTimes for arrival times [B, I, J].
func firstSpikeTimesPerSynapse(inputTimes, weights *Node, cfg TTFS) *Node {
	var tStar *Node
	if snngraph.OnXLA(inputTimes.Graph()) {
		tStar = firstCrossingPairsPerSynapse(inputTimes, weights, cfg)
		return attachCrossingGradientPairs(tStar, inputTimes, weights, cfg.Neuron, cfg.MaxGradNorm)
	}
	tStar = firstCrossingPerSynapse(inputTimes, weights, cfg)
	return AttachCrossingGradient(tStar, inputTimes, weights, cfg.Neuron, cfg.MaxGradNorm)
}

// firstCrossingPerSynapse is the sorted form of FirstCrossing for arrival
// times [B, I, J]: each (sample, neuron) pair sorts its own inputs. The
// layout puts the B*J pairs as columns [I, B*J] and solves them as one
// neuron each, so the work is that of FirstCrossing with B*J samples of
// one neuron (the sort is J times larger; the sums keep their size).
func firstCrossingPerSynapse(inputTimes, weights *Node, cfg TTFS) *Node {
	times := StopGradient(inputTimes)
	w := StopGradient(weights)
	g := times.Graph()
	dtype := times.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := times.Shape().Dim(0), times.Shape().Dim(1), times.Shape().Dim(2)
	cols := batch * numOut

	ref, finite := perSampleReference(times)
	toColumns := func(x *Node) *Node { return Reshape(TransposeAllDims(x, 1, 0, 2), numIn, cols) } // [I, B*J]
	rel := toColumns(Sub(times, ref))
	active := LogicalAnd(toColumns(finite), LessOrEqual(rel, c(cfg.horizon())))
	rel = Where(active, rel, c(0))

	far := c(farTime)
	relFar := Where(active, rel, far)
	starts, pos, next := sortedIntervals(relFar, far) // [K, B*J], [I, B*J], [K, B*J]

	f1, f2 := kernelFactors(rel, active, p)
	wCols := Reshape(BroadcastToDims(InsertAxes(w, 1), numIn, batch, numOut), numIn, cols)
	terms := Stack([]*Node{Mul(f1, wCols), Mul(f2, wCols)}, 2) // [I, B*J, 2]
	col := Iota(g, shapes.Make(dtypes.Int32, numIn, cols), 1)
	at := Stack([]*Node{pos, col}, 2)
	sums := ScatterSum(Zeros(g, shapes.Make(dtype, numIn, cols, 2)), at, terms, false, false)
	sums = snngraph.PrefixSum(sums, 0) // [K, B*J, 2]
	s1 := Reshape(Slice(sums, AxisRange(), AxisRange(), AxisElem(0)), 1, numIn, cols)
	s2 := Reshape(Slice(sums, AxisRange(), AxisRange(), AxisElem(1)), 1, numIn, cols)
	intervals := crossingIntervals{start: starts, end: next, horizon: cfg.horizon(), neurons: 1}

	var first *Node // [1, B*J]
	switch p.Ratio() {
	case snn.RatioEqual:
		first = firstCrossingEqual(s1, s2, intervals, p)
	case snn.RatioDouble:
		first = firstCrossingDouble(s1, s2, intervals, p)
	}
	first = Where(LessOrEqual(first, c(cfg.horizon())), first, inf)
	return Add(Reshape(first, batch, numOut), Reshape(ref, batch, 1))
}

// firstCrossingPairsPerSynapse is the pair form of the forward pass
// (firstCrossingPairs) for arrival times [B, I, J]: the causal-set masks
// are [B, J, K, I], one set of I x I masks per (sample, neuron).
func firstCrossingPairsPerSynapse(inputTimes, weights *Node, cfg TTFS) *Node {
	times := StopGradient(inputTimes)
	w := StopGradient(weights)
	g := times.Graph()
	dtype := times.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := times.Shape().Dim(0), times.Shape().Dim(1), times.Shape().Dim(2)

	ref, finite := perSampleReference(times)
	rel := TransposeAllDims(Sub(times, ref), 0, 2, 1) // [B, J, I]
	active := LogicalAnd(TransposeAllDims(finite, 0, 2, 1), LessOrEqual(rel, c(cfg.horizon())))
	rel = Where(active, rel, c(0))

	far := c(farTime)
	relFar := Where(active, rel, far)
	relK := BroadcastToDims(InsertAxes(relFar, 3), batch, numOut, numIn, numIn)
	relI := BroadcastToDims(InsertAxes(relFar, 2), batch, numOut, numIn, numIn)
	before := LessOrEqual(relI, relK)              // [B, J, K, I]
	next := ReduceMin(Where(before, far, relI), 3) // [B, J, K]

	f1, f2 := kernelFactors(rel, active, p)
	wT := InsertAxes(Transpose(w, 0, 1), 0) // [1, J, I]
	beforeF := ConvertDType(before, dtype)
	s1 := ReduceSum(Mul(beforeF, InsertAxes(Mul(f1, wT), 2)), 3) // [B, J, K]
	s2 := ReduceSum(Mul(beforeF, InsertAxes(Mul(f2, wT), 2)), 3)

	candidate, solvable := pairCandidates(s1, s2, p)
	valid := LogicalAnd(solvable, active)
	valid = LogicalAnd(valid, GreaterOrEqual(candidate, rel))
	valid = LogicalAnd(valid, LessThan(candidate, next))
	first := ReduceMin(Where(valid, candidate, inf), 2) // [B, J]
	first = Where(LessOrEqual(first, c(cfg.horizon())), first, inf)
	return Add(first, Reshape(ref, batch, 1))
}

// LIFSpikesPerSynapse is LIFSpikes for a feed-forward layer whose input
// spikes reach each neuron at its own time: arrival [batch, S, N] is the
// time spike s of the list in reaches neuron n (synaptic delays). The
// output is LIFSpikes' feed-forward layout (cfg.Capacity/N slots per
// neuron, neuron by neuron) with the exact EventProp gradient with respect
// to wIn and to every arrival time.
//
// Feed-forward neurons do not interact, so each (sample, neuron) pair is
// simulated as a sample of its own with one neuron: its inputs are the S
// spikes at their arrival times, input s coming from the virtual input
// row in[s]*N + n of wIn reshaped to [I*N, 1], whose only entry is
// wIn[in[s], n]. The work is that of LIFSpikes over the same [B, S, N]
// pairs; only the sorts of the inputs are N times more.
func LIFSpikesPerSynapse(in snn.Spikes, arrival, wIn *Node, cfg LIFConfig) (out snn.Spikes, overflow *Node) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	checkLayerShapes(in, wIn, nil, cfg)
	batch, numSpikes := in.Time.Shape().Dim(0), in.Time.Shape().Dim(1)
	numIn, numOut := wIn.Shape().Dim(0), wIn.Shape().Dim(1)
	if !arrival.Shape().Equal(shapes.Make(in.Time.DType(), batch, numSpikes, numOut)) {
		panicf("event LIF layer: arrival times must be [batch %d, spikes %d, neurons %d] of dtype %s, got %s",
			batch, numSpikes, numOut, in.Time.DType(), arrival.Shape())
	}
	if cfg.Capacity%numOut != 0 {
		panicf("event LIF layer: a feed-forward layer's capacity (%d) must be a multiple of its number of neurons (%d): each neuron keeps capacity/neurons spikes",
			cfg.Capacity, numOut)
	}
	g := in.Time.Graph()
	perNeuron := cfg.Capacity / numOut
	pairs := batch * numOut
	times := Reshape(TransposeAllDims(arrival, 0, 2, 1), pairs, numSpikes) // [(b, n), S]
	ids := ConvertDType(in.Neuron, dtypes.Int32)
	virtual := Add(MulScalar(InsertAxes(ids, 1), float64(numOut)),
		Reshape(Iota(g, shapes.Make(dtypes.Int32, numOut), 0), 1, numOut, 1)) // [B, N, S]
	virtualIn := snn.Spikes{Time: times, Neuron: ConvertDType(Reshape(virtual, pairs, numSpikes), in.Neuron.DType())}
	one := cfg
	one.Capacity = perNeuron
	o, over := LIFSpikes(virtualIn, Reshape(wIn, numIn*numOut, 1), nil, one)
	neurons := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, numOut), 0), 1, numOut, 1), batch, numOut, perNeuron)
	return snn.Spikes{
		Time:   Reshape(o.Time, batch, numOut*perNeuron),
		Neuron: ConvertDType(Reshape(neurons, batch, numOut*perNeuron), o.Neuron.DType()),
	}, ReduceSum(Reshape(over, batch, numOut), 1)
}

// ShiftSpikes delays every spike of a list by its neuron's delay d [n]
// (dendritic delays on a layer's output, axonal ones on its input).
// Padding stays at +Inf.
func ShiftSpikes(s snn.Spikes, d *Node) snn.Spikes {
	batch, k := s.Time.Shape().Dim(0), s.Time.Shape().Dim(1)
	// A flat index list: GoMLX rejects index tensors of rank > operand rank + 1.
	shift := Reshape(Gather(d, Reshape(ConvertDType(s.Neuron, dtypes.Int32), batch*k, 1)), batch, k)
	return snn.Spikes{Time: Add(s.Time, shift), Neuron: s.Neuron}
}

// projectionDelay is one projection's part of a population's delays: rows
// source neurons and, when the projection has delays, their kind and the
// delays d (>= 0) as [rows, 1] (axonal), [rows, cols] (synaptic) or
// [1, cols] (dendritic).
type projectionDelay struct {
	rows int
	kind string
	d    *Node
}

// delays creates a projection's delay parameters (the variable "delays" in
// its scope) and returns its effective delays; a projection without
// delays gives only its rows.
func (l *lowering) delays(proj *topology.Node, rows, cols int) projectionDelay {
	d := proj.Delay
	if d == nil {
		return projectionDelay{rows: rows}
	}
	r, c := d.Shape(rows, cols)
	ctx := l.ctx.In(proj.Name)
	init := normalInit(ctx, d.Init.Mean, d.Init.Std)
	clamp := d.Positivity.Function == topology.PositivityClamp
	if clamp {
		// fastAndDeep rectifies the delays once at construction.
		normal := init
		init = func(g *Graph, shape shapes.Shape) *Node { return Max(normal(g, shape), ScalarZero(g, shape.DType)) }
	}
	v := ctx.WithInitializer(init).VariableWithShape("delays", shapes.Make(l.dtype, r, c))
	if d.LearningRate > 0 || clamp || d.Frozen() {
		l.tuned = append(l.tuned, topology.TunedVariable{Variable: v, LearningRate: d.LearningRate, NonNegative: clamp, Frozen: d.Frozen()})
	}
	eff := EffectiveDelays(v.ValueGraph(l.g), d.Positivity)
	// Shared parameters are tiled over the neurons (torch's repeat).
	tile := func(x *Node, axis, times int) *Node {
		if times <= 1 {
			return x
		}
		copies := make([]*Node, times)
		for i := range copies {
			copies[i] = x
		}
		return Concatenate(copies, axis)
	}
	if d.Kind != topology.DelayDendritic {
		eff = tile(eff, 0, d.SharePre)
	}
	if d.Kind != topology.DelayAxonal {
		eff = tile(eff, 1, d.SharePost)
	}
	return projectionDelay{rows: rows, kind: d.Kind, d: eff}
}

// EffectiveDelays maps delay parameters to delays >= 0: shift + scale
// σ(p) for the sigmoid; the parameters themselves for clamp (the trainer
// keeps them >= 0).
func EffectiveDelays(params *Node, pos topology.Positivity) *Node {
	if pos.Function == topology.PositivitySigmoid {
		return AddScalar(MulScalar(Sigmoid(params), pos.SigmoidScale()), pos.Shift)
	}
	return params
}

// delayPlan is how a population's inputs are delayed: not at all (kind
// ""), by a shift per input row (axonal, delays [I]), by a shift of the
// outputs (dendritic, delays [J]: only when the population's one
// projection has dendritic delays), or per synapse (synaptic, delays
// [I, J]: every other mix).
type delayPlan struct {
	kind   string
	delays *Node
}

// planDelays picks the cheapest form that is exact for the population's
// projections.
func planDelays(parts []projectionDelay, cols int) delayPlan {
	axonalOnly, delayed := true, false
	for _, p := range parts {
		if p.kind != "" {
			delayed = true
			axonalOnly = axonalOnly && p.kind == topology.DelayAxonal
		}
	}
	if !delayed {
		return delayPlan{}
	}
	if len(parts) == 1 && parts[0].kind == topology.DelayDendritic {
		return delayPlan{kind: topology.DelayDendritic, delays: Reshape(parts[0].d, cols)}
	}
	var d *Node
	for _, p := range parts {
		if p.kind != "" {
			d = p.d
			break
		}
	}
	g, dtype := d.Graph(), d.DType()
	var blocks []*Node
	for _, p := range parts {
		switch {
		case axonalOnly && p.kind == "":
			blocks = append(blocks, Zeros(g, shapes.Make(dtype, p.rows)))
		case axonalOnly:
			blocks = append(blocks, Reshape(p.d, p.rows))
		case p.kind == "":
			blocks = append(blocks, Zeros(g, shapes.Make(dtype, p.rows, cols)))
		default:
			blocks = append(blocks, BroadcastToDims(p.d, p.rows, cols))
		}
	}
	kind := topology.DelaySynaptic
	if axonalOnly {
		kind = topology.DelayAxonal
	}
	return delayPlan{kind: kind, delays: concat(blocks, 0)}
}
