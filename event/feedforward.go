package event

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// simulateFeedForward is Simulate for a feed-forward layer. Instead of
// stepping through the inputs one by one, it uses two facts:
//
//   - the membrane driven by inputs alone is a sum of separable kernels,
//     Vin(t) = Σ_i w_i K(t - τ_i), so with the inputs sorted by time its
//     value and the synaptic current at any t follow from prefix sums of
//     w_i exp(τ_i/tau) over the inputs before t;
//   - a reset (to v_reset, clamped for the refractory period until s) erases
//     the membrane's history: after it, V(t) = Vin(t) + (v_reset - Vin(s))
//     exp(-(t - s)/tau_mem), whatever came before.
//
// So one round finds every neuron's next spike after its last one: in each
// interval between consecutive input times it starts from the exact state at
// the interval's start and takes the free trajectory's first threshold
// crossing (NextCrossing); the earliest crossing inside its interval is the
// spike. capacity/neurons rounds record the spikes, one more detects
// overflow. Inputs at one instant enter the prefix sums together, and the
// empty intervals between them have no crossing.
func simulateFeedForward(in snn.Spikes, wIn *Node, cfg LIFConfig) (out snn.Spikes, overflow *Node) {
	g := in.Time.Graph()
	dtype := in.Time.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := in.Time.Shape().Dim(0), in.Time.Shape().Dim(1), wIn.Shape().Dim(1)
	if cfg.Capacity%numOut != 0 {
		panicf("event LIF layer: a feed-forward layer's capacity (%d) must be a multiple of its number of neurons (%d): each neuron keeps capacity/neurons spikes",
			cfg.Capacity, numOut)
	}
	perNeuron := cfg.Capacity / numOut

	// Times relative to each sample's first input keep the exponentials
	// below exp(horizon/tau_syn); inputs past the horizon sort last.
	start, _, inTimes, active := inputSchedule(StopGradient(in.Time), cfg)
	horizon := cfg.horizon()
	rel := Where(active, Sub(inTimes, InsertAxes(start, 1)), inTimes)
	sorted, order := snngraph.SortRows(rel) // [B, I]
	isInput := LessOrEqual(sorted, c(horizon))
	ids := Reshape(Gather(Reshape(ConvertDType(in.Neuron, dtypes.Int32), batch*numIn, 1),
		Reshape(Add(order, InsertAxes(MulScalar(Iota(g, shapes.Make(dtypes.Int32, batch), 0), float64(numIn)), 1)), batch*numIn, 1)),
		batch, numIn)
	rows := Gather(StopGradient(wIn), InsertAxes(ids, -1)) // [B, I, N]
	rows = Where(BroadcastToDims(InsertAxes(isInput, 2), batch, numIn, numOut), rows, ZerosLike(rows))
	tSafe := Where(isInput, sorted, ZerosLike(sorted))
	next := Concatenate([]*Node{Slice(sorted, AxisRange(), AxisRange(1, numIn)), BroadcastToDims(c(farTime), batch, 1)}, 1) // end of each interval

	// Prefix sums (inclusive) of the separable input terms, [B, I, N] each:
	// es = Σ w exp(τ/tau_syn); em = Σ w exp(τ/tau_mem); et = Σ w τ exp(τ/tau).
	prefix := func(f *Node) *Node {
		return snngraph.PrefixSum(Mul(rows, InsertAxes(Where(isInput, f, ZerosLike(f)), 2)), 1)
	}
	es := prefix(Exp(DivScalar(tSafe, p.TauSyn)))
	var em, et *Node
	equal := p.Ratio() == snn.RatioEqual
	if equal {
		et = prefix(Mul(tSafe, Exp(DivScalar(tSafe, p.TauSyn))))
	} else {
		em = prefix(Exp(DivScalar(tSafe, p.TauMem)))
	}
	kc := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) / p.Capacitance()
	// inputState returns Vin - leak and the current at times t, from the
	// prefix sums taken at each t's interval (given as sums).
	inputState := func(t, sumS, sumM, sumT *Node) (v, i *Node) {
		decayS := Exp(DivScalar(t, -p.TauSyn))
		i = Mul(decayS, sumS)
		if equal {
			v = DivScalar(Mul(decayS, Sub(Mul(t, sumS), sumT)), p.Capacitance())
		} else {
			v = MulScalar(Sub(Mul(Exp(DivScalar(t, -p.TauMem)), sumM), Mul(decayS, sumS)), kc)
		}
		return v, i
	}
	toBNI := func(x *Node) *Node {
		if x == nil {
			return nil
		}
		return TransposeAllDims(x, 0, 2, 1)
	}
	esN, emN, etN := toBNI(es), toBNI(em), toBNI(et)
	intervalStart := BroadcastToDims(InsertAxes(sorted, 1), batch, numOut, numIn)
	intervalEnd := BroadcastToDims(InsertAxes(next, 1), batch, numOut, numIn)
	usable := BroadcastToDims(InsertAxes(isInput, 1), batch, numOut, numIn)

	// sumsBefore gathers the prefix sums over the inputs strictly before
	// s [B, N] (zero when there are none).
	bIdx := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, batch), 0), batch, 1), batch, numOut)
	nIdx := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, numOut), 0), 1, numOut), batch, numOut)
	sumsBefore := func(s *Node) (sumS, sumM, sumT *Node) {
		count := ReduceSum(ConvertDType(LessThan(intervalStart, InsertAxes(s, 2)), dtypes.Int32), 2) // [B, N]
		pos := Max(Sub(count, OnesLike(count)), ZerosLike(count))
		has := GreaterThan(count, ZerosLike(count))
		at := func(x *Node) *Node {
			if x == nil {
				return nil
			}
			v := Gather(x, Stack([]*Node{bIdx, pos, nIdx}, -1))
			return Where(has, v, ZerosLike(v))
		}
		return at(es), at(em), at(et)
	}

	leak := func(x *Node) *Node { return AddScalar(x, p.Leak) }
	lastEnd := BroadcastToDims(c(-farTime), batch, numOut) // end of the last clamp; -far: none yet
	alive := BroadcastToDims(Const(g, true), batch, numOut)
	var spikes []*Node
	overflowBN := ZerosLike(ConvertDType(lastEnd, dtypes.Int32))
	for round := range perNeuron + 1 {
		hasLast := GreaterThan(lastEnd, c(-farTime/2))
		// Membrane offset left by the last reset: (v_reset - Vin(s)) at s.
		sS, sM, sT := sumsBefore(lastEnd)
		vAtS, _ := inputState(Where(hasLast, lastEnd, ZerosLike(lastEnd)), sS, sM, sT)
		offset := Where(hasLast, Sub(c(p.Reset), leak(vAtS)), ZerosLike(vAtS))
		s3 := BroadcastToDims(InsertAxes(lastEnd, 2), batch, numOut, numIn)
		t0 := Max(intervalStart, s3)
		t0 = Where(usable, t0, ZerosLike(t0))
		vIn, iIn := inputState(t0, esN, emN, etN)
		decay := Exp(DivScalar(Sub(t0, Where(BroadcastToDims(InsertAxes(hasLast, 2), batch, numOut, numIn), s3, t0)), -p.TauMem))
		v0 := leak(Add(vIn, Mul(InsertAxes(offset, 2), decay)))
		candidate := Add(t0, NextCrossing(v0, iIn, p))
		valid := LogicalAnd(usable, LessThan(candidate, intervalEnd))
		valid = LogicalAnd(valid, GreaterThan(intervalEnd, s3))
		valid = LogicalAnd(valid, LessOrEqual(candidate, c(horizon)))
		valid = LogicalAnd(valid, BroadcastToDims(InsertAxes(alive, 2), batch, numOut, numIn))
		spike := ReduceMin(Where(valid, candidate, inf), 2) // [B, N]
		fired := IsFinite(spike)
		if round < perNeuron {
			spikes = append(spikes, Where(fired, Add(spike, InsertAxes(start, 1)), inf))
		} else {
			overflowBN = ConvertDType(fired, dtypes.Int32)
		}
		alive = fired
		lastEnd = Where(fired, AddScalar(spike, p.Refractory), lastEnd)
	}
	times := Stack(spikes, 2) // [B, N, perNeuron]
	neurons := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, numOut), 0), 1, numOut, 1), batch, numOut, perNeuron)
	return snn.Spikes{
		Time:   Reshape(times, batch, numOut*perNeuron),
		Neuron: Reshape(neurons, batch, numOut*perNeuron),
	}, ReduceSum(overflowBN, 1)
}
