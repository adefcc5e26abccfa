package bss2

import (
	"math"

	"github.com/gosnn/gosnn/snn"
)

// neuron is the exact event-driven state of one current-based LIF neuron
// with its own parameters (the mock's per-neuron variation):
//
//	C dV/dt = -g_leak (V - leak) + I,   tau_syn dI/dt = -I,
//
// the model of snn.LIF. Between events the free trajectory is
//
//	V(s) = leak + (V - leak) e^{-s/tau_mem} + I e^{-s/tau_mem} h(s) / C,
//	h(s) = (1 - e^{-s d}) / d,  d = 1/tau_syn - 1/tau_mem  (h = s for d = 0),
//
// written with expm1 so that nearly equal time constants stay accurate.
// V - leak is a sum of two exponentials with at most one extremum, so the
// first threshold crossing lies on a rising flank before the maximum and is
// bracketed; it is found by safeguarded Newton steps to float64 round-off.
// Two clamps hold V: at reset for the refractory period after a spike, and
// at the floor of the membrane's dynamic range (when set) until the
// inhibitory current has decayed enough for V to rise again.
type neuron struct {
	tauM, tauS, c, d        float64
	leak, theta, reset, ref float64
	floor                   float64 // -Inf: no floor

	v, i     float64
	clampEnd float64 // the refractory clamp holds V at reset until this time (absolute)
	atFloor  bool
	t        float64 // time of the state
	spikes   int
}

func newNeuron(p snn.LIF, floor float64) neuron {
	return neuron{tauM: p.TauMem, tauS: p.TauSyn, c: p.GLeak * p.TauMem, d: 1/p.TauSyn - 1/p.TauMem,
		leak: p.Leak, theta: p.Threshold, reset: p.Reset, ref: p.Refractory, floor: floor,
		v: p.Leak, clampEnd: math.Inf(-1)}
}

// h is (1 - e^{-s d}) / d.
func (n *neuron) h(s float64) float64 {
	if n.d == 0 {
		return s
	}
	return -math.Expm1(-s*n.d) / n.d
}

// free returns the free trajectory's membrane and current after s from
// (v, i).
func (n *neuron) free(v, i, s float64) (float64, float64) {
	em := math.Exp(-s / n.tauM)
	return n.leak + (v-n.leak)*em + i*em*n.h(s)/n.c, i * math.Exp(-s/n.tauS)
}

// slope is dV/dt at (v, i).
func (n *neuron) slope(v, i float64) float64 { return -(v-n.leak)/n.tauM + i/n.c }

// peak returns the time s > 0 of the free trajectory's maximum from a
// rising state (v, i), +Inf when it rises for ever (towards leak).
func (n *neuron) peak(v, i float64) float64 {
	a := v - n.leak
	if n.d == 0 {
		b := i / n.c
		if b <= 0 {
			return math.Inf(1)
		}
		return n.tauS - a/b
	}
	// V - leak = (a + k) e^{-s/tau_mem} - k e^{-s/tau_syn}, k = i/(C d).
	k := i / (n.c * n.d)
	r := k * n.tauM / (n.tauS * (a + k))
	if !(r > 0) || math.IsInf(r, 0) {
		return math.Inf(1)
	}
	s := math.Log(r) / n.d
	if !(s > 0) {
		return math.Inf(1)
	}
	return s
}

// root finds s in [lo, hi] with V(s) = level on a monotone piece of the free
// trajectory from (v, i), where V(lo) and V(hi) lie on either side of level.
func (n *neuron) root(v, i, level, lo, hi float64) float64 {
	flo, _ := n.free(v, i, lo)
	rising := flo < level
	s := 0.5 * (lo + hi)
	for range 200 {
		vs, is := n.free(v, i, s)
		f := vs - level
		if f == 0 {
			return s
		}
		if (f < 0) == rising {
			lo = s
		} else {
			hi = s
		}
		next := s - f/n.slope(vs, is)
		if !(next > lo && next < hi) {
			next = 0.5 * (lo + hi)
		}
		if math.Abs(next-s) <= 1e-16*math.Max(1, math.Abs(s)) || hi-lo <= 1e-16*math.Max(1, hi) {
			return next
		}
		s = next
	}
	return s
}

// crossing returns the time after n.t of the next threshold crossing
// without further input, if it comes no later than n.t + limit; +Inf
// otherwise. A neuron at or above threshold crosses at once.
func (n *neuron) crossing(limit float64) float64 {
	if n.atFloor {
		return math.Inf(1) // from the floor V rises towards leak only
	}
	s0, v, i := 0.0, n.v, n.i
	if n.clampEnd > n.t {
		s0 = n.clampEnd - n.t
		v, i = n.reset, n.i*math.Exp(-s0/n.tauS)
		if s0 > limit {
			return math.Inf(1)
		}
	}
	if v >= n.theta {
		return s0
	}
	if n.slope(v, i) <= 0 {
		return math.Inf(1) // falling, or a minimum: V stays below leak after it
	}
	hi := math.Min(n.peak(v, i), limit-s0)
	if math.IsInf(hi, 1) {
		// Rising for ever means rising towards leak < threshold.
		return math.Inf(1)
	}
	if vh, _ := n.free(v, i, hi); vh < n.theta {
		return math.Inf(1)
	}
	return s0 + n.root(v, i, n.theta, 0, hi)
}

// advance moves the state forward by s >= 0 without input, through the
// refractory and floor clamps.
func (n *neuron) advance(s float64) {
	end := n.t + s
	for n.t < end {
		if n.clampEnd > n.t {
			step := math.Min(n.clampEnd, end) - n.t
			n.v, n.i = n.reset, n.i*math.Exp(-step/n.tauS)
			n.t += step
			continue
		}
		if n.atFloor {
			// Held while the current pulls V below the floor:
			// I < C (floor - leak)/tau_mem.
			release := n.c * (n.floor - n.leak) / n.tauM
			wait := 0.0
			if n.i < release {
				wait = n.tauS * math.Log(n.i/release)
			}
			step := math.Min(wait, end-n.t)
			n.i *= math.Exp(-step / n.tauS)
			n.t += step
			if step >= wait {
				n.atFloor = false
			}
			continue
		}
		rest := end - n.t
		if !math.IsInf(n.floor, -1) {
			if hit := n.floorHit(rest); hit <= rest {
				_, n.i = n.free(n.v, n.i, hit)
				n.v, n.t, n.atFloor = n.floor, n.t+hit, true
				continue
			}
		}
		n.v, n.i = n.free(n.v, n.i, rest)
		n.t = end
	}
}

// floorHit is the time within [0, limit] at which the free trajectory falls
// to the floor, +Inf if it does not.
func (n *neuron) floorHit(limit float64) float64 {
	if n.v <= n.floor && n.slope(n.v, n.i) < 0 {
		return 0
	}
	// A fall to the floor ends at the minimum (or at limit); V falls there.
	hi := limit
	if n.slope(n.v, n.i) >= 0 {
		// Rising first: the maximum, then a fall towards leak > floor.
		return math.Inf(1)
	}
	if m := n.minimum(); m < hi {
		hi = m
	}
	if vh, _ := n.free(n.v, n.i, hi); vh > n.floor {
		return math.Inf(1)
	}
	return n.root(n.v, n.i, n.floor, 0, hi)
}

// minimum is the time of the free trajectory's minimum from a falling
// state, +Inf when it falls for ever (towards leak).
func (n *neuron) minimum() float64 {
	a := n.v - n.leak
	if n.d == 0 {
		b := n.i / n.c
		if b >= 0 {
			return math.Inf(1)
		}
		return n.tauS - a/b
	}
	k := n.i / (n.c * n.d)
	r := k * n.tauM / (n.tauS * (a + k))
	if !(r > 0) || math.IsInf(r, 0) {
		return math.Inf(1)
	}
	if s := math.Log(r) / n.d; s > 0 {
		return s
	}
	return math.Inf(1)
}

// fire records a spike at the current time: reset and refractory clamp.
func (n *neuron) fire() {
	n.v = n.reset
	n.atFloor = false
	n.clampEnd = n.t + n.ref
	n.spikes++
}
