package snn

import (
	"errors"
	"fmt"
	"math"
)

// LIF holds the parameters of a current-based leaky integrate-and-fire
// neuron with exponentially decaying synaptic current:
//
//	C dV/dt = -g_leak (V - Leak) + I,   tau_syn dI/dt = -I,
//
// where an input spike through weight w makes I jump by w, and
// C = g_leak * tau_mem. A neuron spikes when V crosses Threshold from below,
// then V is set to Reset and held there for Refractory.
//
// With these units one input spike at t=0 gives the post-synaptic potential
//
//	PSP(t) = w/C * tau_mem tau_syn / (tau_mem - tau_syn) (exp(-t/tau_mem) - exp(-t/tau_syn)),
//
// and, for tau_mem = tau_syn = tau, PSP(t) = w/g_leak (t/tau) exp(-t/tau),
// which is the neuron of Göltz et al. (2021), "Fast and energy-efficient
// neuromorphic deep learning with first-spike times", Nat. Mach. Intell.
type LIF struct {
	TauSyn     float64 `json:"tau_syn" yaml:"tau_syn"`
	TauMem     float64 `json:"tau_mem" yaml:"tau_mem"`
	GLeak      float64 `json:"g_leak" yaml:"g_leak"`
	Leak       float64 `json:"leak" yaml:"leak"`
	Threshold  float64 `json:"threshold" yaml:"threshold"`
	Reset      float64 `json:"reset" yaml:"reset"`
	Refractory float64 `json:"refractory" yaml:"refractory"`
}

// FastAndDeepLIF returns the neuron of fastAndDeep's yin_yang.yaml:
// tau_mem = tau_syn = 1, g_leak = 1, threshold 1, leak 0.
func FastAndDeepLIF() LIF {
	return LIF{TauSyn: 1, TauMem: 1, GLeak: 1, Leak: 0, Threshold: 1, Reset: 0}
}

// Capacitance is C = g_leak tau_mem.
func (p LIF) Capacitance() float64 { return p.GLeak * p.TauMem }

// Validate reports parameters that make the dynamics meaningless, naming the
// field at fault. It is called by every layer at construction, so that bad
// parameters fail early instead of producing NaNs at run time.
func (p LIF) Validate() error {
	var errs []error
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s must be a positive finite number, got %g", name, v))
		}
	}
	positive("tau_syn", p.TauSyn)
	positive("tau_mem", p.TauMem)
	positive("g_leak", p.GLeak)
	finite := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s must be finite, got %g", name, v))
		}
	}
	finite("leak", p.Leak)
	finite("threshold", p.Threshold)
	finite("reset", p.Reset)
	if !(p.Threshold > p.Leak) {
		errs = append(errs, fmt.Errorf("threshold (%g) must be above leak (%g)", p.Threshold, p.Leak))
	}
	if !(p.Threshold > p.Reset) {
		errs = append(errs, fmt.Errorf("threshold (%g) must be above reset (%g)", p.Threshold, p.Reset))
	}
	if !(p.Refractory >= 0) || math.IsInf(p.Refractory, 0) {
		errs = append(errs, fmt.Errorf("refractory must be >= 0 and finite, got %g", p.Refractory))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("LIF parameters: %w", err)
	}
	return nil
}

// Ratio classifies the time constants for the closed-form spike times.
type Ratio int

const (
	// RatioOther has no closed form: spike times need a numeric root solve.
	RatioOther Ratio = iota
	// RatioEqual is tau_mem = tau_syn: spike times via Lambert W.
	RatioEqual
	// RatioDouble is tau_mem = 2 tau_syn: spike times from a quadratic.
	RatioDouble
)

// String implements fmt.Stringer.
func (r Ratio) String() string {
	switch r {
	case RatioEqual:
		return "tau_mem=tau_syn"
	case RatioDouble:
		return "tau_mem=2*tau_syn"
	}
	return "other"
}

// ratioTolerance treats time constants that differ by rounding only as equal.
const ratioTolerance = 1e-9

// Ratio says which closed form applies to these time constants.
func (p LIF) Ratio() Ratio {
	switch {
	case math.Abs(p.TauMem-p.TauSyn) <= ratioTolerance*p.TauSyn:
		return RatioEqual
	case math.Abs(p.TauMem-2*p.TauSyn) <= ratioTolerance*p.TauSyn:
		return RatioDouble
	}
	return RatioOther
}

// PSP is the membrane potential at time s after one input spike of unit
// weight (s < 0 gives 0). It is the kernel every spike-time formula in gosnn
// inverts, written out once here in float64 for tests and host-side tools.
func (p LIF) PSP(s float64) float64 {
	if s <= 0 {
		return 0
	}
	c := p.Capacitance()
	if p.Ratio() == RatioEqual {
		return s / p.TauSyn * math.Exp(-s/p.TauSyn) * p.TauSyn / c
	}
	return p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * (math.Exp(-s/p.TauMem) - math.Exp(-s/p.TauSyn)) / c
}

// PSPDerivative is dPSP/ds.
func (p LIF) PSPDerivative(s float64) float64 {
	if s <= 0 {
		return 0
	}
	c := p.Capacitance()
	if p.Ratio() == RatioEqual {
		return (1 - s/p.TauSyn) * math.Exp(-s/p.TauSyn) / c
	}
	return p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * (math.Exp(-s/p.TauSyn)/p.TauSyn - math.Exp(-s/p.TauMem)/p.TauMem) / c
}
