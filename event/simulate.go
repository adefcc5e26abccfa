package event

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// LIFConfig configures an event-based layer of LIF neurons that may spike
// many times (feed-forward or recurrent).
type LIFConfig struct {
	// Neuron holds the LIF parameters, any tau_mem/tau_syn ratio.
	Neuron snn.LIF
	// Capacity is the number of output spikes per sample the layer records
	// (jaxsnn's n_spikes). Spikes beyond it are counted as overflow, never
	// dropped silently.
	Capacity int
	// Horizon in units of tau_syn after a sample's earliest input; events
	// later than that are not simulated. 0 means DefaultHorizon.
	Horizon float64
	// Populations, for a recurrent layer only, splits the neurons into
	// consecutive ranges with their own slots (nil: one budget of Capacity
	// slots shared by all neurons). Capacity must then be the sum of their
	// capacities. A neuron whose population has used all its slots spikes
	// no more: it is left out of the search for the next crossing, so the
	// simulated layer is the one its recorded spikes describe and the
	// EventProp gradient stays exact. Each such neuron whose membrane still
	// reaches the threshold within the horizon counts one overflow spike
	// (a lower bound on the spikes it lost). Without the split the first
	// spikes of the layer take every slot whichever population fires them:
	// an early, busy population crowds a later one out.
	Populations []PopulationCapacity
}

// PopulationCapacity is the slot budget of one range of a recurrent
// layer's neurons: the next Neurons neurons (after the ranges before it)
// record at most Capacity spikes per sample together.
type PopulationCapacity struct {
	Neurons, Capacity int
}

// Validate reports unusable parameters, naming the field at fault.
func (c LIFConfig) Validate() error {
	var errs []error
	if err := c.Neuron.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Capacity < 1 {
		errs = append(errs, fmt.Errorf("capacity must be >= 1, got %d", c.Capacity))
	}
	if !(c.Horizon >= 0) || math.IsInf(c.Horizon, 0) {
		errs = append(errs, fmt.Errorf("horizon must be >= 0 and finite, got %g", c.Horizon))
	}
	if len(c.Populations) > 0 {
		sum := 0
		for i, pc := range c.Populations {
			if pc.Neurons < 1 || pc.Capacity < 1 {
				errs = append(errs, fmt.Errorf("populations[%d]: neurons and capacity must be >= 1, got %d and %d", i, pc.Neurons, pc.Capacity))
			}
			sum += pc.Capacity
		}
		if sum != c.Capacity {
			errs = append(errs, fmt.Errorf("capacity (%d) must be the sum of the populations' capacities (%d)", c.Capacity, sum))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("event LIF layer: %w", err)
	}
	return nil
}

func (c LIFConfig) horizon() float64 {
	if c.Horizon == 0 {
		return DefaultHorizon * c.Neuron.TauSyn
	}
	return c.Horizon * c.Neuron.TauSyn
}

// checkLayerShapes panics with a message naming the shapes at fault.
func checkLayerShapes(in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) {
	if in.Time.Rank() != 2 || in.Neuron.Rank() != 2 || !in.Time.Shape().Equal(shapes.Make(in.Time.DType(), in.Neuron.Shape().Dimensions...)) {
		panicf("event LIF layer: input spike times %s and neurons %s must both be [batch, K]", in.Time.Shape(), in.Neuron.Shape())
	}
	if !in.Neuron.DType().IsInt() {
		panicf("event LIF layer: input spike neurons must be integers, got %s", in.Neuron.DType())
	}
	if wIn.Rank() != 2 || wIn.DType() != in.Time.DType() {
		panicf("event LIF layer: input weights must be [inputs, neurons] of dtype %s, got %s", in.Time.DType(), wIn.Shape())
	}
	if wRec != nil {
		n := wIn.Shape().Dim(1)
		if !wRec.Shape().Equal(shapes.Make(wIn.DType(), n, n)) {
			panicf("event LIF layer: recurrent weights must be [%d, %d] of dtype %s, got %s", n, n, wIn.DType(), wRec.Shape())
		}
	}
	if len(cfg.Populations) > 0 {
		if wRec == nil {
			panicf("event LIF layer: populations with their own capacities need a recurrent layer")
		}
		n := 0
		for _, pc := range cfg.Populations {
			n += pc.Neurons
		}
		if n != wIn.Shape().Dim(1) {
			panicf("event LIF layer: the populations hold %d neurons, the layer has %d", n, wIn.Shape().Dim(1))
		}
	}
}

// Simulate runs a layer of LIF neurons over its input spikes and returns its
// output spikes, padded with +Inf to cfg.Capacity slots, and the number of
// spikes per sample that did not fit ([batch] int32; a lower bound when the
// capacity overflows early). It computes values only: no gradient flows
// through it (see LIFSpikes for the differentiable layer).
//
// in lists input spikes (times [batch, I], +Inf padding; neuron indices
// into the rows of wIn [inputs, neurons]); inputs need not be sorted. wRec
// [neurons, neurons] holds recurrent weights from each neuron (row) to each
// neuron (column), nil for a feed-forward layer.
//
// The loop is jaxsnn's step function with a fixed number of steps, unrolled
// in the graph. Each step finds the next threshold crossing (NextCrossing)
// and the next input time, advances to the earlier of the two (Evolve) and
// applies that event: all input spikes at that instant together (so exact
// ties are exact), or a spike (reset, refractory clamp, recurrent current).
//
//   - Recurrent layers share one clock: each step handles the layer's
//     earliest event, I + capacity steps; the output is time-sorted. With
//     cfg.Populations each population keeps its own slots (the output is
//     still one time-sorted list of capacity slots).
//   - Feed-forward neurons do not interact, and only a neuron's last reset
//     matters for its membrane: each of capacity/neurons rounds finds every
//     neuron's next spike in all inter-input intervals at once (see
//     simulateFeedForward). Each neuron keeps capacity/neurons slots (the
//     capacity must be a multiple of the number of neurons); the output
//     lists neuron 0's spikes in time order, then neuron 1's, and so on.
func Simulate(in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) (out snn.Spikes, overflow *Node) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	checkLayerShapes(in, wIn, wRec, cfg)
	if wRec == nil {
		return simulateFeedForward(in, wIn, cfg)
	}
	return simulateRecurrent(in, wIn, wRec, cfg)
}

// inputSchedule prepares a layer's inputs for the event loop: the time of
// each sample's first input (the clock's start), the end of the simulated
// horizon, the input times with those beyond the horizon moved to farTime,
// and which inputs are to be applied.
func inputSchedule(inTimes *Node, cfg LIFConfig) (start, end, times, pending *Node) {
	g := inTimes.Graph()
	dtype := inTimes.DType()
	inf := Infinity(g, dtype, 1)
	finite := IsFinite(inTimes)
	start = ReduceMin(Where(finite, inTimes, inf), 1)
	start = Where(IsFinite(start), start, ZerosLike(start))
	end = AddScalar(start, cfg.horizon())
	pending = LogicalAnd(finite, LessOrEqual(inTimes, InsertAxes(end, 1)))
	times = Where(pending, inTimes, BroadcastToShape(Scalar(g, dtype, farTime), inTimes.Shape()))
	return start, end, times, pending
}

// simulateRecurrent is Simulate for a recurrent layer: one clock.
func simulateRecurrent(in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) (out snn.Spikes, overflow *Node) {
	g := in.Time.Graph()
	dtype := in.Time.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	far := c(farTime)
	batch, numIn, numOut, capacity := in.Time.Shape().Dim(0), in.Time.Shape().Dim(1), wIn.Shape().Dim(1), cfg.Capacity

	rowsIn := Gather(StopGradient(wIn), InsertAxes(ConvertDType(in.Neuron, dtypes.Int32), -1)) // [B, I, N]
	rec := StopGradient(wRec)
	start, end, inTimes, pending := inputSchedule(StopGradient(in.Time), cfg)

	t := start
	v := BroadcastToDims(c(p.Leak), batch, numOut)
	cur := ZerosLike(v)
	// Without a refractory period no neuron is ever clamped: the clamp's
	// per-neuron waits (and their exponentials) are left out of every step,
	// and the decays between events are per sample.
	var refractoryEnd *Node
	if p.Refractory > 0 {
		refractoryEnd = BroadcastToDims(Neg(far), batch, numOut)
	}
	count := ZerosLike(ConvertDType(start, dtypes.Int32))
	overflow = count
	// Each step's crossing time, spiker and whether it spiked; the output
	// slots are filled once, after the loop (collectSlots).
	var stepTimes, stepSpikers, stepSpikes []*Node
	neurons := Iota(g, shapes.Make(dtypes.Int32, numOut), 0)

	// Populations with their own slots: which neurons each holds, how many
	// slots each has used, and which neurons were held back from a spike.
	var members, used []*Node // [1, N] bool and [B] int32 per population
	var firstOf []int         // each population's first neuron
	var lost *Node            // [B, N]
	if len(cfg.Populations) > 0 {
		o := 0
		for _, pc := range cfg.Populations {
			members = append(members, InsertAxes(LogicalAnd(GreaterOrEqual(neurons, Const(g, int32(o))), LessThan(neurons, Const(g, int32(o+pc.Neurons)))), 0))
			used = append(used, ZerosLike(count))
			firstOf = append(firstOf, o)
			o += pc.Neurons
		}
		lost = BroadcastToDims(Const(g, false), batch, numOut)
	}
	// held marks the neurons of full populations [B, N] (nil without
	// populations).
	held := func() *Node {
		var h *Node
		for p, pc := range cfg.Populations {
			full := InsertAxes(GreaterOrEqual(used[p], Const(g, int32(pc.Capacity))), 1)
			hp := LogicalAnd(full, members[p])
			if h == nil {
				h = hp
			} else {
				h = LogicalOr(h, hp)
			}
		}
		return h
	}

	// nextCrossing returns each neuron's crossing time (absolute, +Inf past
	// the horizon); a neuron still clamped starts from the reset potential
	// at the end of its refractory period.
	nextCrossing := func(t, v, cur, refractoryEnd *Node) *Node {
		if refractoryEnd == nil {
			tc := Add(NextCrossing(v, cur, p), InsertAxes(t, 1))
			return Where(LessOrEqual(tc, InsertAxes(end, 1)), tc, inf)
		}
		wait := Max(Sub(refractoryEnd, InsertAxes(t, 1)), c(0))
		clamped := GreaterThan(wait, c(0))
		v0 := Where(clamped, BroadcastToDims(c(p.Reset), batch, numOut), v)
		i0 := Mul(cur, Exp(DivScalar(wait, -p.TauSyn)))
		tc := Add(Add(NextCrossing(v0, i0, p), wait), InsertAxes(t, 1))
		return Where(LessOrEqual(tc, InsertAxes(end, 1)), tc, inf)
	}
	for range numIn + capacity {
		tIn := ReduceMin(Where(pending, inTimes, far), 1)
		crossings := nextCrossing(t, v, cur, refractoryEnd)
		candidates := crossings
		var heldBack *Node
		if lost != nil {
			heldBack = held()
			candidates = Where(heldBack, inf, crossings)
		}
		tCross := ReduceMin(candidates, 1)
		spiker := ArgMin(candidates, 1, dtypes.Int32)
		isSpike := LogicalAnd(IsFinite(tCross), LessOrEqual(tCross, tIn))
		isInput := LogicalAnd(LogicalNot(isSpike), LessThan(tIn, far))
		tNext := Where(isSpike, tCross, Where(isInput, tIn, t))
		if lost != nil {
			// A held-back neuron reaching the threshold before the event
			// taken lost a spike.
			lost = LogicalOr(lost, LogicalAnd(heldBack, LessOrEqual(crossings, InsertAxes(tNext, 1))))
		}

		// Advance every neuron to tNext; a clamped neuron stays at reset
		// until its refractory period ends, its current decays throughout.
		dt := InsertAxes(Sub(tNext, t), 1)
		if refractoryEnd == nil {
			v, cur = Evolve(v, cur, dt, p) // decays per sample, [B, 1]
		} else {
			wait := Min(Max(Sub(refractoryEnd, InsertAxes(t, 1)), c(0)), dt)
			vFree := Where(GreaterThan(wait, c(0)), BroadcastToDims(c(p.Reset), batch, numOut), v)
			v, _ = Evolve(vFree, Mul(cur, Exp(DivScalar(wait, -p.TauSyn))), Sub(dt, wait), p)
			cur = Mul(cur, Exp(DivScalar(dt, -p.TauSyn)))
		}
		t = tNext

		// Input event: every pending input at this instant at once.
		hit := LogicalAnd(LogicalAnd(pending, Equal(inTimes, InsertAxes(tIn, 1))), InsertAxes(isInput, 1))
		cur = Add(cur, Einsum("bi,bin->bn", ConvertDType(hit, dtype), rowsIn))
		pending = LogicalAnd(pending, LogicalNot(hit))

		// Spike event: record it if there is room, reset and clamp the
		// neuron, and pass the spike on through the recurrent weights.
		fired := LogicalAnd(Equal(InsertAxes(spiker, 1), InsertAxes(neurons, 0)), InsertAxes(isSpike, 1)) // [B, N]
		room := LessThan(count, Const(g, int32(capacity)))
		stepTimes = append(stepTimes, tCross)
		stepSpikers = append(stepSpikers, spiker)
		stepSpikes = append(stepSpikes, isSpike)
		one := OnesLike(count)
		count = Add(count, Where(LogicalAnd(isSpike, room), one, ZerosLike(count)))
		overflow = Add(overflow, Where(LogicalAnd(isSpike, LogicalNot(room)), one, ZerosLike(count)))
		for p, o := range firstOf {
			mine := LogicalAnd(isSpike, LogicalAnd(GreaterOrEqual(spiker, Const(g, int32(o))), LessThan(spiker, Const(g, int32(o+cfg.Populations[p].Neurons)))))
			used[p] = Add(used[p], Where(mine, one, ZerosLike(count)))
		}
		v = Where(fired, BroadcastToDims(c(p.Reset), batch, numOut), v)
		if refractoryEnd != nil {
			refractoryEnd = Where(fired, BroadcastToDims(InsertAxes(AddScalar(tNext, p.Refractory), 1), batch, numOut), refractoryEnd)
		}
		recRow := Gather(rec, InsertAxes(spiker, 1)) // [B, N]: the spiker's outgoing weights
		cur = Add(cur, Where(BroadcastToDims(InsertAxes(isSpike, 1), batch, numOut), recRow, ZerosLike(recRow)))
	}
	if lost != nil {
		// I + capacity steps take every input and every slot: what is left
		// are the crossings of held-back neurons up to the horizon.
		ahead := IsFinite(nextCrossing(t, v, cur, refractoryEnd))
		lost = LogicalOr(lost, LogicalAnd(held(), ahead))
		overflow = Add(overflow, ReduceSum(ConvertDType(lost, dtypes.Int32), 1))
		return collectSlots(stepTimes, stepSpikers, stepSpikes, capacity), overflow
	}
	// A full layer with a crossing still ahead has lost at least that spike.
	full := GreaterOrEqual(count, Const(g, int32(capacity)))
	ahead := IsFinite(ReduceMin(nextCrossing(t, v, cur, refractoryEnd), 1))
	overflow = Add(overflow, Where(LogicalAnd(full, ahead), OnesLike(count), ZerosLike(count)))
	return collectSlots(stepTimes, stepSpikers, stepSpikes, capacity), overflow
}

// collectSlots puts the spikes of the steps that spiked (their crossing
// times and spikers, [batch] each) into the output slots in step order,
// the first capacity of them: [batch, capacity], +Inf and neuron 0 in
// unused slots. At once, after the loop: a slot table updated at every
// step was, on XLA, one select chain through all steps that each of its
// consumers fused again (a fifth of the recurrent EventProp graph's machine
// code); a slot computed from the running count in the loop is such a
// chain too, hence the prefix count over the steps.
func collectSlots(times, spikers, spiked []*Node, capacity int) snn.Spikes {
	g := times[0].Graph()
	spikedAll := Stack(spiked, 1) // [batch, steps]
	fired := ConvertDType(spikedAll, dtypes.Int32)
	before := Sub(snngraph.PrefixSum(fired, 1), fired) // spikes in earlier steps
	slot := Where(LogicalAnd(spikedAll, LessThan(before, Const(g, int32(capacity)))), before, Const(g, int32(capacity)))
	hit := Equal(InsertAxes(slot, -1), Iota(g, shapes.Make(dtypes.Int32, 1, 1, capacity), 2))
	t := BroadcastToShape(InsertAxes(Stack(times, 1), -1), hit.Shape())
	n := BroadcastToShape(InsertAxes(Stack(spikers, 1), -1), hit.Shape())
	return snn.Spikes{
		Time:   ReduceMin(Where(hit, t, Infinity(g, t.DType(), 1)), 1),
		Neuron: ReduceMax(Where(hit, n, ZerosLike(n)), 1),
	}
}
