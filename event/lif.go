package event

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// The three pieces of an event-based LIF neuron, as jaxsnn splits them:
// where the free trajectory next crosses the threshold (NextCrossing), how
// the state evolves between events (Evolve), and the jumps at events
// (applied by Simulate: an input spike adds its weight to the synaptic
// current, an output spike sets the membrane to the reset potential and
// clamps it there for the refractory period). They are pure functions of
// graph nodes, element-wise over any shape.

// Evolve advances the LIF state (membrane v, synaptic current i) by dt >= 0
// without events: with C = g_leak tau_mem,
//
//	v(dt) = leak + (v - leak) exp(-dt/tau_mem) + i PSP(dt),   i(dt) = i exp(-dt/tau_syn),
//
// where PSP is the membrane response to a unit current jump (see snn.LIF).
func Evolve(v, i, dt *Node, p snn.LIF) (vNext, iNext *Node) {
	decayM, decayS := decays(dt, p)
	vNext = AddScalar(Add(Mul(AddScalar(v, -p.Leak), decayM), Mul(i, pspOf(dt, decayM, decayS, p))), p.Leak)
	return vNext, Mul(i, decayS)
}

// crossingBisections and crossingNewtonSteps fix the work of the numeric
// root solve used when tau_mem/tau_syn has no closed form: bisection shrinks
// the bracket [0, peak] by 2^-30, then safeguarded Newton steps reach
// float64 round-off on the monotone rising flank.
const (
	crossingBisections  = 30
	crossingNewtonSteps = 4
)

// NextCrossing returns the time s >= 0 after which the free trajectory that
// starts from membrane v and synaptic current i first reaches the
// threshold, element-wise; +Inf where it never does. A state already at or
// above threshold crosses at s = 0.
//
// Without input, v(s) - leak is a sum of exp(-s/tau_mem) and
// exp(-s/tau_syn) terms, with at most one maximum, so the first crossing is
// the root on its rising flank:
//   - tau_mem = tau_syn = tau: (a + b s) exp(-s/tau) = ϑ', b = i/C, solved by
//     s = -tau W0(-(ϑ'/(b tau)) exp(-a/(b tau))) - a/b (Lambert W);
//   - tau_mem = 2 tau_syn: with x = exp(-s/tau_mem) the equation is the
//     quadratic b' x² - (a + b') x + ϑ' = 0, b' = 2 tau_syn i/C, whose larger
//     root is the first crossing;
//   - otherwise: bisection on [0, time of the maximum] followed by Newton
//     steps kept inside the bracket, a fixed number of each.
//
// Here a = v - leak and ϑ' = threshold - leak.
func NextCrossing(v, i *Node, p snn.LIF) *Node {
	g := v.Graph()
	dtype := v.DType()
	c := func(x float64) *Node { return Scalar(g, dtype, x) }
	theta := p.Threshold - p.Leak
	capInv := 1 / p.Capacitance()
	a := AddScalar(v, -p.Leak)
	var s, ok *Node
	switch p.Ratio() {
	case snn.RatioEqual:
		tau := p.TauSyn
		b := MulScalar(i, capInv)
		rising := GreaterThan(b, c(0))
		safeB := Where(rising, b, c(1))
		aOverB := Div(a, safeB)
		z := Mul(Div(c(-theta/tau), safeB), Exp(DivScalar(aOverB, -tau)))
		w0 := snngraph.LambertW0(z)
		ok = LogicalAnd(rising, LogicalNot(IsNaN(w0)))
		s = Sub(MulScalar(Where(ok, w0, c(0)), -tau), aOverB)
	case snn.RatioDouble:
		bp := MulScalar(i, 2*p.TauSyn*capInv)
		apb := Add(a, bp)
		disc := Sub(Square(apb), MulScalar(bp, 4*theta))
		ok = LogicalAnd(LogicalAnd(GreaterThan(bp, c(0)), GreaterOrEqual(disc, c(0))), GreaterThan(apb, c(0)))
		safeBp := Where(ok, bp, c(1))
		den := Where(ok, Add(apb, Sqrt(Max(disc, c(0)))), c(1))
		s = MulScalar(Log(Div(MulScalar(safeBp, 2), den)), p.TauMem) // one logarithm, not two (pure Go: 4 % of a step)
	default:
		s, ok = bracketedCrossing(a, i, p)
	}
	// Rejections are written so that NaN fails them.
	ok = LogicalAnd(ok, GreaterOrEqual(s, c(0)))
	s = Where(ok, s, Infinity(g, dtype, 1))
	return Where(GreaterOrEqual(a, c(theta)), ZerosLike(s), s)
}

// bracketedCrossing solves v(s) = threshold for any tau_mem != tau_syn.
// v(s) - leak = (a + k) exp(-s/tau_mem) - k exp(-s/tau_syn) with
// k = i/C tau_mem tau_syn/(tau_mem - tau_syn) has one extremum, where
// exp(s (1/tau_syn - 1/tau_mem)) = k tau_mem / (tau_syn (a + k)).
func bracketedCrossing(a, i *Node, p snn.LIF) (s, ok *Node) {
	g := a.Graph()
	dtype := a.DType()
	c := func(x float64) *Node { return Scalar(g, dtype, x) }
	tm, ts := p.TauMem, p.TauSyn
	theta := p.Threshold - p.Leak
	k := MulScalar(i, tm*ts/(tm-ts)/p.Capacitance())
	apk := Add(a, k)
	f := func(s *Node) *Node { // v(s) - leak - ϑ'
		return AddScalar(Sub(Mul(apk, Exp(DivScalar(s, -tm))), Mul(k, Exp(DivScalar(s, -ts)))), -theta)
	}
	df := func(s *Node) *Node {
		return Sub(Mul(k, DivScalar(Exp(DivScalar(s, -ts)), ts)), Mul(apk, DivScalar(Exp(DivScalar(s, -tm)), tm)))
	}
	ratio := Div(MulScalar(k, tm/ts), Where(Equal(apk, c(0)), c(1), apk))
	hasPeak := LogicalAnd(GreaterThan(ratio, c(0)), LogicalNot(Equal(apk, c(0))))
	peak := DivScalar(Log(Where(hasPeak, ratio, c(1))), 1/ts-1/tm)
	top := Where(hasPeak, Max(peak, c(0)), c(0))
	ok = GreaterOrEqual(f(top), c(0))
	// A maximum at top >= 0 above threshold means v rises monotonically on
	// [0, top] (the only extremum is the maximum): the root is bracketed.
	lo, hi := ZerosLike(top), Where(ok, top, ZerosLike(top))
	for range crossingBisections {
		mid := DivScalar(Add(lo, hi), 2)
		above := GreaterOrEqual(f(mid), c(0))
		lo, hi = Where(above, lo, mid), Where(above, mid, hi)
	}
	s = DivScalar(Add(lo, hi), 2)
	for range crossingNewtonSteps {
		slope := df(s)
		step := Div(f(s), Where(GreaterThan(slope, c(0)), slope, c(1)))
		s = Min(Max(Sub(s, Where(GreaterThan(slope, c(0)), step, ZerosLike(step))), lo), hi)
	}
	return s, ok
}
