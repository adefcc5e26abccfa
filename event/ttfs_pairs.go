package event

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// The pair-tensor form of the TTFS layer: for every input k the causal set
// {i : t_i <= t_k} as [batch, K, K] masks, and the gradient by implicit
// differentiation through autodiff. FirstSpikeTimes uses it on the xla
// backend: XLA fuses it well and compiles it in a third of the time the
// sorted form takes (9 vs 26 s for the Yin-Yang network), and GoMLX's
// AutoSharding partitions it correctly over several devices (the sorted
// form's scatter into sorted positions gave wrong losses with 4 CPU host
// devices, TestDataParallelMatchesOneDevice). The pure-Go backend runs the
// sorted form, 1.6x faster there.

// firstCrossingPairs is the forward pass of FirstSpikeTimes, without gradient.
func firstCrossingPairs(inputTimes, weights *Node, cfg TTFS) *Node {
	times := StopGradient(inputTimes)
	w := StopGradient(weights)
	g := times.Graph()
	dtype := times.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := times.Shape().Dim(0), times.Shape().Dim(1), w.Shape().Dim(1)

	ref, finite := perSampleReference(times)
	rel := Sub(times, ref)
	active := LogicalAnd(finite, LessOrEqual(rel, c(cfg.horizon())))
	rel = Where(active, rel, c(0))

	// before[b,k,i]: input i belongs to the causal set that ends at input k.
	// Inactive inputs sit at a far time, so they are never before an active
	// input k (inactive k give no valid candidate anyway) and never "next".
	far := c(farTime)
	relFar := Where(active, rel, far)
	relK := BroadcastToDims(InsertAxes(relFar, 2), batch, numIn, numIn)
	relI := BroadcastToDims(InsertAxes(relFar, 1), batch, numIn, numIn)
	before := LessOrEqual(relI, relK)
	next := ReduceMin(Where(before, far, relI), 2) // [B, K]: earliest later input, or far

	// Two sums over each causal set, as one batched matmul.
	f1, f2 := kernelFactors(rel, active, p)
	wB := InsertAxes(w, 0)
	features := Concatenate([]*Node{Mul(InsertAxes(f1, 2), wB), Mul(InsertAxes(f2, 2), wB)}, 2) // [B, I, 2J]
	sums := Einsum("bki,bif->bkf", ConvertDType(before, dtype), features)                       // [B, K, 2J]
	s1 := Slice(sums, AxisRange(), AxisRange(), AxisRange(0, numOut))
	s2 := Slice(sums, AxisRange(), AxisRange(), AxisRange(numOut, 2*numOut))

	candidate, solvable := pairCandidates(s1, s2, p)
	relKJ := InsertAxes(rel, 2)
	valid := LogicalAnd(solvable, InsertAxes(active, 2))
	valid = LogicalAnd(valid, GreaterOrEqual(candidate, relKJ))
	valid = LogicalAnd(valid, LessThan(candidate, InsertAxes(next, 2)))
	first := ReduceMin(Where(valid, candidate, inf), 1) // [B, J]
	first = Where(LessOrEqual(first, c(cfg.horizon())), first, inf)
	return Add(first, ref)
}

// pairCandidates returns, element-wise for the sums s1, s2 of causal sets
// (Σ w e^{t/tau_syn} and Σ w t/tau_syn e^{t/tau_syn} for tau_mem = tau_syn;
// Σ w e^{t/tau_syn} and Σ w e^{t/tau_mem} for tau_mem = 2 tau_syn), the
// threshold crossing of each set's free trajectory (relative to the
// sample's reference time) and whether it exists.
func pairCandidates(s1, s2 *Node, p snn.LIF) (candidate, solvable *Node) {
	g := s1.Graph()
	dtype := s1.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	tauS, tauM := p.TauSyn, p.TauMem
	switch p.Ratio() {
	case snn.RatioEqual:
		// e^{-s}(A s - B) = ϑ' with s = t/tau: s = B/A - W0(-(ϑ'/A) e^{B/A}).
		cc := (p.Threshold - p.Leak) * p.Capacitance() / tauS
		a, b := s1, s2
		posA := GreaterThan(a, c(0))
		safeA := Where(posA, a, c(1))
		ratio := Div(b, safeA)
		z := Neg(Mul(Div(c(cc), safeA), Exp(ratio)))
		w0 := snngraph.LambertW0(z)
		solvable = LogicalAnd(posA, LogicalNot(IsNaN(w0)))
		candidate = MulScalar(Sub(ratio, Where(solvable, w0, c(0))), tauS)
	case snn.RatioDouble:
		// (2 tau_s / C)(a2 x - a1 x²) = ϑ' with x = e^{-t/tau_m}: the first
		// crossing is the larger root x = (a2 + √D) / (2 a1).
		cc := (p.Threshold - p.Leak) * p.Capacitance() / (2 * tauS)
		a1, a2 := s1, s2
		disc := Sub(Square(a2), Mul(c(4*cc), a1))
		den := Add(a2, Sqrt(Max(disc, c(0))))
		solvable = LogicalAnd(LogicalAnd(GreaterThan(a1, c(0)), GreaterOrEqual(disc, c(0))), GreaterThan(den, c(0)))
		safeDen := Where(solvable, den, c(1))
		safeA1 := Where(solvable, a1, c(1))
		candidate = MulScalar(Log(Div(Mul(c(2), safeA1), safeDen)), tauM)
	}
	return candidate, solvable
}

// attachCrossingGradientPairs returns tStar unchanged in value, with the exact
// gradient of a threshold crossing attached: V(t*; w, t_in) = ϑ implies
// dt*/dθ = -(∂V/∂θ)/V̇ for θ the weights [I, J] and input times [B, I]
// (or [B, I, J]: one arrival time per synapse, with synaptic delays). The
// inputs in the causal set are those spiking no later than t*. Silent
// neurons (t* = +Inf) get zero gradient; maxGradNorm > 0 drops the weight
// gradient of a sample's crossing whose largest |dL/dw_ij| exceeds it
// (fastAndDeep's max_dw_norm).
func attachCrossingGradientPairs(tStar, inputTimes, weights *Node, p snn.LIF, maxGradNorm float64) *Node {
	g := tStar.Graph()
	dtype := tStar.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	tStar = StopGradient(tStar)
	spiked := IsFinite(tStar)
	ts := Where(spiked, tStar, c(0))

	finite := IsFinite(inputTimes)
	times := Where(finite, inputTimes, ZerosLike(inputTimes))
	delay := Sub(InsertAxes(ts, 1), perPair(times)) // [B, I, J]: t* - t_i
	inSet := LogicalAnd(perPair(finite), GreaterOrEqual(StopGradient(delay), c(0)))
	inSet = LogicalAnd(inSet, InsertAxes(spiked, 1))
	zero := ZerosLike(delay)
	delay = Where(inSet, delay, zero)
	kernel := Where(inSet, PSP(delay, p), zero)
	sgWeights := InsertAxes(StopGradient(weights), 0)
	vDot := ReduceSum(Mul(sgWeights, Where(inSet, PSPDerivative(StopGradient(delay), p), zero)), 1)
	// At an upward crossing V̇ > 0; only a tangential touch gives 0, where
	// the true gradient diverges.
	usable := LogicalAnd(spiked, GreaterThan(vDot, c(0)))
	safeVDot := Where(usable, vDot, c(1))
	zeroJ := ZerosLike(vDot)
	// correction is zero in value; its gradient is that of V / V̇.
	correction := func(v *Node) *Node { return Where(usable, Div(Sub(v, StopGradient(v)), safeVDot), zeroJ) }
	// V's perturbation split into its weight and its input-time parts: their
	// gradients add up to the whole, and the weight part alone may be filtered.
	corrW := correction(ReduceSum(Mul(InsertAxes(weights, 0), StopGradient(kernel)), 1))
	corrT := correction(ReduceSum(Mul(sgWeights, kernel), 1))
	if maxGradNorm > 0 {
		// fastAndDeep's max_dw_norm acts on the weight gradient of each
		// sample, dL/dw_ij = dt_j/dw_ij dL/dt_j, and leaves the error
		// propagated to the input times alone.
		dtdw := StopGradient(Div(kernel, InsertAxes(safeVDot, 1))) // [B, I, J], up to sign
		corrW = IdentityWithCustomGradient(corrW, func(_, cotangent *Node) *Node {
			largest := ReduceMax(Abs(Mul(dtdw, InsertAxes(cotangent, 1))), 1)
			return Where(LessOrEqual(largest, c(maxGradNorm)), cotangent, ZerosLike(cotangent))
		})
	}
	return Where(spiked, Sub(Sub(tStar, corrT), corrW), Infinity(g, dtype, 1))
}

// perPair views input times [B, I] as [B, I, 1], broadcast over the
// neurons; per-synapse times [B, I, J] are already per pair.
func perPair(x *Node) *Node {
	if x.Rank() == 3 {
		return x
	}
	return InsertAxes(x, 2)
}

// PSP is the post-synaptic potential s after a unit-weight input spike,
// element-wise for s >= 0 (see snn.LIF.PSP).
