package event

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// LIFSpikes is the differentiable event-based LIF layer: the output spikes
// of Simulate, whose times carry the exact EventProp gradient with respect
// to the weights (wIn, and wRec when not nil) and to the input spike times,
// so that layers stack. See Simulate for the shapes; overflow is [batch]
// int32, the spikes that did not fit in cfg.Capacity.
func LIFSpikes(in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) (out snn.Spikes, overflow *Node) {
	out, overflow = Simulate(in, wIn, wRec, cfg)
	perNeuron := 0
	if wRec == nil {
		perNeuron = cfg.Capacity / wIn.Shape().Dim(1)
	}
	out.Time = attachEventGradient(out, in, wIn, wRec, cfg.Neuron, perNeuron)
	return out, overflow
}

// attachEventGradient returns out.Time unchanged in value, with the exact
// gradient of every spike time attached.
//
// Spike k (neuron n_k, time t_k) satisfies F_k = 0 with the membrane written
// by superposition, after the neuron's previous spike ("last", reset then
// clamped until s_k = t_last + refractory):
//
//	F_k = Vf(t_k) + (v_reset - Vf(s_k)) exp(-(t_k - s_k)/tau_mem) - ϑ,
//	Vf(t) = leak + Σ_i W_in[m_i, n_k] K(t - τ_i) + Σ_k' W_rec[n_k', n_k] K(t - t_k'),
//
// sums over the input spikes i and layer spikes k' strictly before t, K the
// PSP kernel (the reset term is absent for a neuron's first spike). F_k
// depends on t_k and on earlier spike times only, so J = ∂F/∂t is lower
// triangular, and the implicit function theorem gives dt = -J⁻¹ ∂F/∂θ dθ for
// θ = (W_in, W_rec, τ). The times are re-attached as
//
//	t = sg(t) - J⁻¹ (F(sg(t); θ) - sg(F(sg(t); θ))),
//
// with J⁻¹ applied by forward substitution; reverse-mode autodiff through
// the substitution is the backward substitution with Jᵀ, i.e. the adjoint
// of EventProp (Wunderlich & Pehle 2021, "Event-based backpropagation can
// compute exact gradients for spiking neural networks", Sci. Rep. 11),
// integrated over the recorded events only: memory O(capacity²) per sample,
// independent of the simulated duration. Because the gradient reaches the
// input times, stacked layers get exact gradients too.
//
// In a feed-forward layer (perNeuron > 0: the neuron-major layout of
// simulateFeedForward, perNeuron slots per neuron) a spike depends only on
// the previous spike of its own neuron: J is bidiagonal within each neuron
// and the substitution takes perNeuron steps, all neurons at once. A
// recurrent layer's J is dense lower triangular, solved by blocks
// (blockSolve).
//
// A spike whose crossing is tangential (J_kk <= 0) gets no gradient.
func attachEventGradient(out, in snn.Spikes, wIn, wRec *Node, p snn.LIF, perNeuron int) *Node {
	g := out.Time.Graph()
	dtype := out.Time.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	batch, capacity := out.Time.Shape().Dim(0), out.Time.Shape().Dim(1)

	tOut := StopGradient(out.Time)
	valid := IsFinite(tOut)
	// Spike times enter F only through J (stopped): autodiff must not walk
	// back into them, or it would build gradients of the slices below.
	tk := StopGradient(Where(valid, tOut, ZerosLike(tOut)))
	nOut := ConvertDType(out.Neuron, dtypes.Int32)
	if perNeuron == 0 {
		// A recurrent spike list ends a chain of I + K selects of the event
		// loop, which XLA would otherwise recompute per element of every
		// [B, K, K] term below. (Feed-forward lists come from a few rounds;
		// there the barrier only cost time: 0.46 vs 0.44 s per Yin-Yang epoch.)
		m := snngraph.Materialize(tk, ConvertDType(valid, dtype), ConvertDType(out.Neuron, dtype))
		tk = StopGradient(m[0])
		valid = GreaterThan(m[1], c(0.5))
		nOut = ConvertDType(m[2], dtypes.Int32)
	}

	// The previous spike of the same neuron: its slot (or -1) and time.
	// With one slot per neuron there is none, and the reset terms drop out
	// of F (they would be masked to zero at the cost of a second set of
	// [B, S, K] pair terms).
	resets := perNeuron != 1
	slots := Iota(g, shapes.Make(dtypes.Int32, capacity), 0)
	var lastIdx, hasLast, tLast *Node
	switch {
	case !resets:
	case perNeuron > 0:
		// Slot k-1, unless k opens its neuron's block; a block fills in order.
		hasLast = LogicalAnd(valid, InsertAxes(NotEqual(ModScalar(slots, float64(perNeuron)), Const(g, int32(0))), 0))
		shifted := ZerosLike(tk) // one slot: no previous spike
		if capacity > 1 {
			shifted = Concatenate([]*Node{ZerosLike(Slice(tk, AxisRange(), AxisRange(0, 1))), Slice(tk, AxisRange(), AxisRange(0, capacity-1))}, 1)
		}
		tLast = StopGradient(Where(hasLast, shifted, ZerosLike(tk)))
	default:
		earlier := LessThan(InsertAxes(slots, 1), InsertAxes(slots, 0)) // [K', K]: k' < k
		pairValid := LogicalAnd(InsertAxes(valid, 1), InsertAxes(valid, 2))
		same := LogicalAnd(Equal(InsertAxes(nOut, 1), InsertAxes(nOut, 2)), pairValid)              // [B, K', K]
		same = LogicalAnd(same, BroadcastToDims(InsertAxes(earlier, 0), batch, capacity, capacity)) // k' before k
		slotsKK := BroadcastToDims(Reshape(slots, 1, capacity, 1), batch, capacity, capacity)
		lastIdx = ReduceMax(Where(same, slotsKK, Const(g, int32(-1))), 1) // [B, K]
		hasLast = GreaterOrEqual(lastIdx, Const(g, int32(0)))
		lastOH := Equal(InsertAxes(slots, 0, 0), InsertAxes(lastIdx, 2)) // [B, K, K']
		tLast = StopGradient(ReduceSum(Where(lastOH, BroadcastToDims(InsertAxes(tk, 1), batch, capacity, capacity), ZerosLike(ConvertDType(lastOH, dtype))), 2))
	}
	var sk, decay *Node // end of the last clamp, exp(-(t_k - s_k)/tau_mem)
	if resets {
		sk = StopGradient(Where(hasLast, AddScalar(tLast, p.Refractory), ZerosLike(tk)))
		decay = Where(hasLast, Exp(DivScalar(Sub(tk, sk), -p.TauMem)), ZerosLike(tk))
	}

	// Pair terms: kernel values and slopes at t_k and s_k for a source at
	// time src [B, S] (S inputs or K' layer spikes) onto spike k, masked by
	// strict causality. Returns the differentiable kernel difference
	// K(t_k - src) - decay_k K(s_k - src) and the stopped slopes.
	type pairTerms struct{ kernel, slopeT, valueS, slopeS *Node }
	// The kernel and its slope share their exponentials (decays).
	kernelAndSlope := func(d, causal, zero *Node) (kernel, slope *Node) {
		d = Where(causal, d, zero)
		mem, syn := decays(d, p)
		kernel = Where(causal, pspOf(d, mem, syn, p), zero)
		slope = Where(causal, pspSlopeOf(StopGradient(d), StopGradient(mem), StopGradient(syn), p), zero)
		return kernel, slope
	}
	pairs := func(src, srcValid *Node) pairTerms {
		num := src.Shape().Dim(1)
		srcC := Where(srcValid, src, ZerosLike(src))
		dT := Sub(InsertAxes(tk, 1), InsertAxes(srcC, 2)) // [B, S, K]
		both := LogicalAnd(InsertAxes(srcValid, 2), InsertAxes(valid, 1))
		causalT := LogicalAnd(both, GreaterThan(StopGradient(dT), c(0)))
		zero := ZerosLike(dT)
		kT, slopeT := kernelAndSlope(dT, causalT, zero)
		if !resets {
			return pairTerms{kernel: kT, slopeT: slopeT, valueS: zero, slopeS: zero}
		}
		dS := Sub(InsertAxes(sk, 1), InsertAxes(srcC, 2))
		causalS := LogicalAnd(LogicalAnd(both, InsertAxes(hasLast, 1)), GreaterThan(StopGradient(dS), c(0)))
		kS, slopeS := kernelAndSlope(dS, causalS, zero)
		decayB := BroadcastToDims(InsertAxes(decay, 1), batch, num, capacity)
		return pairTerms{
			kernel: Sub(kT, Mul(decayB, kS)),
			slopeT: slopeT,
			valueS: StopGradient(kS),
			slopeS: slopeS,
		}
	}
	// weightsAt gathers w[src neuron, n_k] as [B, S, K].
	weightsAt := func(w, srcNeurons *Node) *Node {
		num := srcNeurons.Shape().Dim(1)
		if perNeuron > 0 {
			// Slot k belongs to neuron k/perNeuron: whole rows of w, whose
			// gradient scatters B S rows instead of B S K elements.
			rows := Gather(w, InsertAxes(ConvertDType(srcNeurons, dtypes.Int32), -1)) // [B, S, N]
			if perNeuron == 1 {
				return rows
			}
			numOut := capacity / perNeuron
			return Reshape(BroadcastToDims(InsertAxes(rows, -1), batch, num, numOut, perNeuron), batch, num, capacity)
		}
		idx := Stack([]*Node{
			BroadcastToDims(InsertAxes(ConvertDType(srcNeurons, dtypes.Int32), 2), batch, num, capacity),
			BroadcastToDims(InsertAxes(nOut, 1), batch, num, capacity),
		}, -1)
		// GoMLX v0.26 rejects index tensors of rank > operand rank + 1
		// (shapeinference checks indexVectorAxis against the operand): gather
		// from a flat index list.
		return Reshape(Gather(w, Reshape(idx, batch*num*capacity, 2)), batch, num, capacity)
	}

	inValid := IsFinite(StopGradient(in.Time))
	wi := weightsAt(wIn, in.Neuron)
	pi := pairs(in.Time, inValid)
	swi := StopGradient(wi)
	f := ReduceSum(Mul(wi, pi.kernel), 1) // F up to constants, [B, K]
	vDotT := ReduceSum(Mul(swi, pi.slopeT), 1)
	var vS, vDotS *Node
	if resets {
		vS = AddScalar(ReduceSum(Mul(swi, pi.valueS), 1), p.Leak)
		vDotS = ReduceSum(Mul(swi, pi.slopeS), 1)
	}
	var swr *Node    // w_rec[n_k', n_k], [B, K', K]
	var pr pairTerms // the layer's own earlier spikes as sources
	if wRec != nil {
		wr := weightsAt(wRec, nOut)
		pr = pairs(tk, valid)
		swr = StopGradient(wr)
		f = Add(f, ReduceSum(Mul(wr, pr.kernel), 1))
		vDotT = Add(vDotT, ReduceSum(Mul(swr, pr.slopeT), 1))
		vS = Add(vS, ReduceSum(Mul(swr, pr.valueS), 1))
		vDotS = Add(vDotS, ReduceSum(Mul(swr, pr.slopeS), 1))
	}
	diag, lastCoef := vDotT, ZerosLike(vDotT) // lastCoef: ∂F_k/∂t_last
	if resets {
		gap := Sub(c(p.Reset), vS) // v_reset - Vf(s_k)
		diag = Sub(vDotT, Where(hasLast, DivScalar(Mul(gap, decay), p.TauMem), ZerosLike(gap)))
		lastCoef = Where(hasLast, Mul(decay, Sub(DivScalar(gap, p.TauMem), vDotS)), ZerosLike(gap))
	}
	usable := StopGradient(LogicalAnd(valid, GreaterThan(diag, c(0))))
	safeDiag := StopGradient(Where(usable, diag, OnesLike(diag)))
	u := Sub(f, StopGradient(f)) // zero in value, ∂F/∂θ in gradient

	var x *Node
	if perNeuron > 0 {
		x = chainSolve(u, StopGradient(lastCoef), safeDiag, usable, perNeuron)
	} else {
		// J below the diagonal, [B, K, K']: moving an earlier spike k' later
		// lowers K(t_k - t_k') at rate K' and, through Vf(s_k), raises the
		// reset term; the previous spike of the same neuron adds lastCoef.
		decayB := BroadcastToDims(InsertAxes(decay, 1), batch, capacity, capacity)
		offDiag := TransposeAllDims(Mul(swr, Sub(Mul(decayB, pr.slopeS), pr.slopeT)), 0, 2, 1)
		lastOH := Equal(InsertAxes(slots, 0, 0), InsertAxes(lastIdx, 2))
		offDiag = Add(offDiag, Where(lastOH, BroadcastToDims(InsertAxes(lastCoef, 2), batch, capacity, capacity), ZerosLike(offDiag)))
		x = blockSolve(u, StopGradient(offDiag), safeDiag, usable)
	}
	return Where(valid, Sub(tk, x), Infinity(g, dtype, 1))
}

// solveBlock is the block size of blockSolve: the substitution runs K/8
// sequential steps, each inverting an 8x8 triangular block by three
// doubling products.
const solveBlock = 8

// blockSolve solves the lower-triangular system (diag + lower) x = u by
// block forward substitution: for each block of rows, subtract what the
// earlier blocks contribute (one batched matrix-vector product) and apply
// the block's inverse, (I + N)⁻¹ = (I - N)(I + N²)(I + N⁴) for the strictly
// lower N = lower/diag within the block (nilpotent, so the product is
// exact). Rows that are not usable get x = 0. Compared with one step per
// row, the graph is ~K/8 steps long, which keeps XLA's compile time and
// memory small. u carries the gradient and is never sliced: blocks are
// taken out with one-hot products.
func blockSolve(u, lower, diag, usable *Node) *Node {
	g := u.Graph()
	dtype := u.DType()
	capacity := u.Shape().Dim(1)
	keep := ConvertDType(usable, dtype)
	// Unusable rows: no coupling, zero right-hand side.
	scaled := StopGradient(Div(Mul(lower, InsertAxes(keep, 2)), InsertAxes(diag, 2))) // N, all blocks at once
	invDiag := StopGradient(Div(keep, diag))
	// Slices of stopped tensors must be stopped again, or autodiff would
	// differentiate the Slice (Pad, missing on the pure-Go backend).
	block := func(x *Node, ranges ...SliceAxisSpec) *Node { return StopGradient(Slice(x, ranges...)) }
	slots := Iota(g, shapes.Make(dtypes.Int32, capacity), 0)
	var blocks []*Node // solved x of each block, [B, m]
	for a := 0; a < capacity; a += solveBlock {
		b := min(a+solveBlock, capacity)
		m := b - a
		sel := ConvertDType(Equal(InsertAxes(slots, 1), InsertAxes(AddScalar(Iota(g, shapes.Make(dtypes.Int32, m), 0), float64(a)), 0)), dtype) // [K, m]
		rhs := Mul(Einsum("bk,km->bm", u, sel), block(invDiag, AxisRange(), AxisRange(a, b)))
		if a > 0 {
			earlier := Concatenate(blocks, 1) // x of rows [0, a)
			coupling := block(scaled, AxisRange(), AxisRange(a, b), AxisRange(0, a))
			rhs = Sub(rhs, Einsum("bma,ba->bm", coupling, earlier))
		}
		q := StopGradient(Neg(block(scaled, AxisRange(), AxisRange(a, b), AxisRange(a, b)))) // -N of the block
		for span := 1; span < m; span *= 2 {
			rhs = Add(rhs, Einsum("bij,bj->bi", q, rhs))
			q = StopGradient(Einsum("bij,bjk->bik", q, q))
		}
		blocks = append(blocks, rhs)
	}
	return Concatenate(blocks, 1)
}

// chainSolve solves J x = u where, per neuron block of perNeuron slots, row
// j holds diag_j on the diagonal and lastCoef_j at column j-1: perNeuron
// steps over all neurons at once. u carries the gradient; it is never
// sliced (simplego has no gradient for Slice), slots are picked by one-hot
// sums instead.
func chainSolve(u, lastCoef, diag, usable *Node, perNeuron int) *Node {
	g := u.Graph()
	dtype := u.DType()
	batch, capacity := u.Shape().Dim(0), u.Shape().Dim(1)
	numOut := capacity / perNeuron
	u3 := Reshape(u, batch, numOut, perNeuron)
	// pick reads slot j of a stopped tensor; the StopGradient must come last,
	// or autodiff would differentiate the Slice.
	pick := func(x *Node, j int) *Node {
		return StopGradient(Reshape(Slice(Reshape(x, batch, numOut, perNeuron), AxisRange(), AxisRange(), AxisElem(j)), batch, numOut))
	}
	slots := Iota(g, shapes.Make(dtypes.Int32, perNeuron), 0)
	xs := ZerosLike(u3)
	prev := ZerosLike(pick(diag, 0))
	for j := range perNeuron {
		onehot := Reshape(ConvertDType(Equal(slots, Const(g, int32(j))), dtype), 1, 1, perNeuron)
		uj := ReduceSum(Mul(u3, onehot), 2)
		xj := Div(Sub(uj, Mul(pick(lastCoef, j), prev)), pick(diag, j))
		xj = Where(pick(usable, j), xj, ZerosLike(xj))
		xs = Add(xs, Mul(InsertAxes(xj, 2), onehot))
		prev = xj
	}
	return Reshape(xs, batch, capacity)
}
