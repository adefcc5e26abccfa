package event

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// simulateFeedForward is Simulate for a feed-forward layer. Instead of
// stepping through the inputs one by one, it uses two facts:
//
//   - the state driven by inputs alone (membrane Vin, current) after each
//     input follows from a parallel scan over the time-sorted inputs (see
//     scanInputs), and from it the state at any later time by Evolve;
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

	// Times relative to each sample's first input keep float32 precision
	// for late events; inputs past the horizon sort last.
	start, _, inTimes, active := inputSchedule(StopGradient(in.Time), cfg)
	horizon := cfg.horizon()
	rel := Where(active, Sub(inTimes, InsertAxes(start, 1)), inTimes)
	sorted, order := snngraph.SortRows(rel) // [B, I]
	isInput := LessOrEqual(sorted, c(horizon))
	ids := Reshape(Gather(Reshape(ConvertDType(in.Neuron, dtypes.Int32), batch*numIn, 1),
		Reshape(Add(order, InsertAxes(MulScalar(Iota(g, shapes.Make(dtypes.Int32, batch), 0), float64(numIn)), 1)), batch*numIn, 1)),
		batch, numIn)
	tSafe := Where(isInput, sorted, ZerosLike(sorted))
	// shiftLeft/shiftRight move a [B, I] row by one input, filling with fill.
	fillColumn := func(fill *Node) *Node { return BroadcastToDims(fill, batch, 1) }
	shiftLeft := func(x, fill *Node) *Node {
		if numIn == 1 {
			return fillColumn(fill)
		}
		return Concatenate([]*Node{Slice(x, AxisRange(), AxisRange(1, numIn)), fillColumn(fill)}, 1)
	}
	shiftRight := func(x, fill *Node) *Node {
		if numIn == 1 {
			return fillColumn(fill)
		}
		return Concatenate([]*Node{fillColumn(fill), Slice(x, AxisRange(), AxisRange(0, numIn-1))}, 1)
	}
	next := shiftLeft(sorted, c(farTime)) // end of each interval

	// The state (v - leak, current) just after each input, from rest: the
	// inputs form a linear recurrence state_r = A(τ_r - τ_(r-1)) state_(r-1) +
	// (0, w_r), where A(Δ) is the free evolution (Evolve) over Δ, upper
	// triangular [[exp(-Δ/tau_mem), PSP(Δ)], [0, exp(-Δ/tau_syn)]]. A
	// log-step scan of these affine maps computes every state at once, with
	// only decaying exponentials: any simulated duration stays finite.
	gap := Sub(tSafe, shiftRight(tSafe, c(0)))
	gap = Where(LogicalAnd(isInput, shiftRight(isInput, Const(g, false))), gap, ZerosLike(gap)) // 0 for the first input
	// The states after each input, [B, N, I]. The state is linear in the
	// weights: with fewer source neurons M than neurons N it is cheaper to
	// scan each source's unit response ([M, B, I]) and weigh the responses
	// by W_in than to scan the N weighted sums. (A batched product: the
	// pure-Go backend pads an unbatched one's contracted axis of size M to
	// its block size, 3 ms per call.)
	var stateVN, stateIN *Node
	numSrc := wIn.Shape().Dim(0)
	toBatchMajor := func(x *Node) *Node { return TransposeAllDims(x, 1, 0, 2) }
	if numSrc < numOut {
		srcIDs := Iota(g, shapes.Make(dtypes.Int32, 1, 1, numSrc), 2)
		unit := ConvertDType(LogicalAnd(Equal(InsertAxes(ids, -1), srcIDs), InsertAxes(isInput, -1)), dtype) // [B, I, M]
		unitV, unitI := scanInputs(gap, unit, p)
		w := BroadcastToDims(InsertAxes(StopGradient(wIn), 0), batch, numSrc, numOut)
		weigh := func(x *Node) *Node { return Einsum("bmn,bmi->bni", w, toBatchMajor(x)) }
		stateVN, stateIN = weigh(unitV), weigh(unitI)
	} else {
		rows := Gather(StopGradient(wIn), InsertAxes(ids, -1)) // [B, I, N]
		rows = Where(BroadcastToDims(InsertAxes(isInput, 2), batch, numIn, numOut), rows, ZerosLike(rows))
		stateV, stateI := scanInputs(gap, rows, p)
		stateVN, stateIN = toBatchMajor(stateV), toBatchMajor(stateI)
	}
	intervalStart := BroadcastToDims(InsertAxes(sorted, 1), batch, numOut, numIn)
	// A crossing counts when it comes before the interval's end and at or
	// before the horizon, in an interval that starts at an input: one
	// comparison with the end capped at the horizon's next float (-Inf for
	// the intervals past the horizon).
	endCap := Where(isInput, Min(next, c(nextUp(dtype, horizon))), Infinity(g, dtype, -1))
	intervalEnd := BroadcastToDims(InsertAxes(endCap, 1), batch, numOut, numIn)
	usable := BroadcastToDims(InsertAxes(isInput, 1), batch, numOut, numIn)
	// inputState returns v - leak and the current at times t >= the input
	// times at, from the states after those inputs.
	inputState := func(t, at, v, i *Node) (*Node, *Node) {
		vt, it := Evolve(AddScalar(v, p.Leak), i, Sub(t, at), p)
		return AddScalar(vt, -p.Leak), it
	}

	// stateAt gives the input-driven state at times s [B, N]: evolved from the
	// last input strictly before s (rest when there is none).
	bIdx := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, batch), 0), batch, 1), batch, numOut)
	nIdx := BroadcastToDims(Reshape(Iota(g, shapes.Make(dtypes.Int32, numOut), 0), 1, numOut), batch, numOut)
	stateAt := func(s *Node) *Node {
		count := ReduceSum(ConvertDType(LessThan(intervalStart, InsertAxes(s, 2)), dtypes.Int32), 2) // [B, N]
		pos := Max(Sub(count, OnesLike(count)), ZerosLike(count))
		has := GreaterThan(count, ZerosLike(count))
		v := Gather(stateVN, Stack([]*Node{bIdx, nIdx, pos}, -1))
		i := Gather(stateIN, Stack([]*Node{bIdx, nIdx, pos}, -1))
		at := Gather(tSafe, Stack([]*Node{bIdx, pos}, -1))
		vs, _ := inputState(Where(has, s, at), at, v, i)
		return Where(has, vs, ZerosLike(vs))
	}

	leak := func(x *Node) *Node { return AddScalar(x, p.Leak) }
	lastEnd := BroadcastToDims(c(-farTime), batch, numOut) // end of the last clamp; -far: none yet
	alive := BroadcastToDims(Const(g, true), batch, numOut)
	var spikes []*Node
	overflowBN := ZerosLike(ConvertDType(lastEnd, dtypes.Int32))
	for round := range perNeuron + 1 {
		// Each interval starts from the exact state at t0, its start or the
		// end of the last clamp.
		t0, v0, iIn := intervalStart, leak(stateVN), stateIN
		// No neuron has fired before round 0: every interval starts at its
		// input with the input-driven state (evolving it by 0 and adding a
		// zero reset offset would give the same values).
		if round > 0 {
			hasLast := GreaterThan(lastEnd, c(-farTime/2))
			// Membrane offset left by the last reset: (v_reset - Vin(s)) at s.
			vAtS := stateAt(Where(hasLast, lastEnd, ZerosLike(lastEnd)))
			offset := Where(hasLast, Sub(c(p.Reset), leak(vAtS)), ZerosLike(vAtS))
			s3 := BroadcastToDims(InsertAxes(lastEnd, 2), batch, numOut, numIn)
			// An interval that ends before s3 gets t0 >= its end, so no
			// crossing in it counts.
			t0 = Where(usable, Max(intervalStart, s3), intervalStart)
			vIn, iAt := inputState(t0, intervalStart, stateVN, stateIN)
			// Without a last reset s3 is -far: the decay underflows to 0 and
			// multiplies a zero offset (no [B, N, I] mask per round).
			decay := Exp(DivScalar(Sub(t0, s3), -p.TauMem))
			v0, iIn = leak(Add(vIn, Mul(InsertAxes(offset, 2), decay))), iAt
		}
		candidate := Add(t0, NextCrossing(v0, iIn, p))
		valid := LessThan(candidate, intervalEnd)
		// A neuron that did not fire in the last round fires no more.
		spike := Where(alive, ReduceMin(Where(valid, candidate, inf), 2), BroadcastToDims(inf, batch, numOut)) // [B, N]
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

// scanInputs returns the state (v - leak, current) [N, B, I] right after
// each of I time-sorted inputs with weight rows [B, I, N], starting from
// rest; gap [B, I] is the time since the previous input (0 for the first).
// The affine maps (A_r, b_r), state_r = A_r state_(r-1) + b_r, are composed
// by the log-step scan of Hillis & Steele (1986): log2(I) rounds of
// (A, b) <- (A A', A b' + b) with the map r - d, identity before the start.
// The neurons lead the layout so that A, shared by all neurons, reaches
// them by tiling whole [B, I] blocks (tileLeading) instead of broadcasting
// (on the pure-Go backend, 15 % of an EventProp training step).
func scanInputs(gap, rows *Node, p snn.LIF) (v, i *Node) {
	g := gap.Graph()
	numIn, numOut := gap.Shape().Dim(1), rows.Shape().Dim(2)
	// A = [[a, b], [0, d]].
	a, d := decays(gap, p)
	b := pspOf(gap, a, d, p)
	i = TransposeAllDims(rows, 2, 0, 1)
	v = ZerosLike(i)
	// shift moves x by `by` inputs along its last axis (the inputs),
	// filling with fill.
	shift := func(x *Node, by int, fill float64) *Node {
		last := x.Rank() - 1
		pad := x.Shape().Clone()
		pad.Dimensions[last] = by
		ranges := make([]SliceAxisSpec, x.Rank())
		for k := range ranges {
			ranges[k] = AxisRange()
		}
		ranges[last] = AxisRange(0, numIn-by)
		return Concatenate([]*Node{BroadcastToShape(Scalar(g, x.DType(), fill), pad), Slice(x, ranges...)}, last)
	}
	tile := func(x *Node) *Node { return tileLeading(x, numOut) }
	for by := 1; by < numIn; by *= 2 {
		pa, pb, pd := shift(a, by, 1), shift(b, by, 0), shift(d, by, 1)
		pv, pi := shift(v, by, 0), shift(i, by, 0)
		v = Add(Add(Mul(tile(a), pv), Mul(tile(b), pi)), v)
		i = Add(Mul(tile(d), pi), i)
		a, b, d = Mul(a, pa), Add(Mul(a, pb), Mul(b, pd)), Mul(d, pd)
	}
	return v, i
}

// neuronMajorFirstTimes is out.FirstTimes(numNeurons) for spikes in
// simulateFeedForward's layout (neuron n in slots [n p, (n+1) p), in time
// order): the minimum over each neuron's p slots, without the [B, K, N]
// matching of the general list.
func neuronMajorFirstTimes(out snn.Spikes, numNeurons int) *Node {
	batch, capacity := out.Time.Shape().Dim(0), out.Time.Shape().Dim(1)
	perNeuron := capacity / numNeurons
	if perNeuron == 1 {
		return out.Time
	}
	return ReduceMin(Reshape(out.Time, batch, numNeurons, perNeuron), 2)
}

// nextUp is the smallest value of dtype above v: x <= v is x < nextUp(v).
func nextUp(dtype dtypes.DType, v float64) float64 {
	if dtype == dtypes.Float32 {
		return float64(math.Nextafter32(float32(v), float32(math.Inf(1))))
	}
	return math.Nextafter(v, math.Inf(1))
}
