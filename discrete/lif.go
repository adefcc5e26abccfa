package discrete

import (
	"errors"
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	snngraph "github.com/gosnn/gosnn/graph"
)

// Decays are the per-step decay factors of the Euler-discretised LIF and LI
// neurons: Mem = 1 - dt/tau_mem (membrane) and Syn = 1 - dt/tau_syn
// (synaptic current), snnax's decay_constants [alpha, beta].
type Decays struct {
	Mem float64 `json:"mem" yaml:"mem"`
	Syn float64 `json:"syn" yaml:"syn"`
}

// DecaysFromTau returns the Euler decays 1 - dt/tau for a step dt. It refuses
// dt >= tau (the Euler step would overshoot the leak potential), naming
// both values.
func DecaysFromTau(dt, tauMem, tauSyn float64) (Decays, error) {
	if !(dt > 0) || math.IsInf(dt, 0) {
		return Decays{}, fmt.Errorf("discrete decays: dt must be a positive finite number, got %g", dt)
	}
	var errs []error
	for _, c := range []struct {
		name string
		tau  float64
	}{{"tau_mem", tauMem}, {"tau_syn", tauSyn}} {
		if !(dt < c.tau) || math.IsInf(c.tau, 0) {
			errs = append(errs, fmt.Errorf("dt (%g) must be below %s (%g)", dt, c.name, c.tau))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Decays{}, fmt.Errorf("discrete decays: %w", err)
	}
	return Decays{Mem: 1 - dt/tauMem, Syn: 1 - dt/tauSyn}, nil
}

// Validate requires both decays in [0, 1].
func (d Decays) Validate() error {
	for _, c := range []struct {
		name string
		v    float64
	}{{"mem", d.Mem}, {"syn", d.Syn}} {
		if !(c.v >= 0 && c.v <= 1) {
			return fmt.Errorf("discrete decays: %s decay must lie in [0, 1], got %g", c.name, c.v)
		}
	}
	return nil
}

// ResetMode says what a spike does to the membrane.
type ResetMode int

const (
	// ResetSubtract lowers the membrane by threshold - reset:
	// v ← v - s (v_th - v_reset), keeping the excess over threshold.
	ResetSubtract ResetMode = iota
	// ResetZero sets the membrane to the reset potential (0 by default),
	// as jaxsnn's lif_step: v ← (1 - s) v + s v_reset.
	ResetZero
)

// String implements fmt.Stringer.
func (m ResetMode) String() string {
	switch m {
	case ResetSubtract:
		return "subtract"
	case ResetZero:
		return "zero"
	}
	return fmt.Sprintf("ResetMode(%d)", int(m))
}

// LIFState is the state of a population of LIF neurons, each tensor of the
// shape of the input current ([batch, neurons...]): membrane V, synaptic
// current I and the spikes S of the last step (for recurrent weights).
type LIFState struct{ V, I, S *Node }

// ZeroLIFState is the resting state (V = I = 0, no spike) for currents of
// x's shape and dtype.
func ZeroLIFState(x *Node) LIFState {
	return LIFState{V: ZerosLike(x), I: ZerosLike(x), S: ZerosLike(x)}
}

// LIFParams are the parameters of one LIFStep.
type LIFParams struct {
	// MemDecay and SynDecay are the decays (see Decays): scalars, or of the
	// neurons' shape (learnable per-neuron decays); they broadcast against
	// the state.
	MemDecay, SynDecay *Node
	// Leak, Threshold and Reset are the leak, threshold and reset potentials.
	Leak, Threshold, Reset float64
	// ResetMode chooses reset by subtraction or to the reset potential.
	ResetMode ResetMode
	// DetachReset stops the gradient through the spike in the reset term
	// (Zenke & Vogels 2021 found it helps training); jaxsnn does not.
	DetachReset bool
	// Surrogate is the spike function.
	Surrogate Surrogate
	// Recurrent are optional weights [neurons, neurons] from the population's
	// spikes of the previous step back to its own current (rank-2 state only).
	Recurrent *Node
}

// LIFStep advances a current-based LIF population by one Euler step, as
// jaxsnn.discrete's lif_step (norse's and DESIGN.md's equations):
//
//	v' = v + dt/tau_mem (v_leak - v + i) = α v + (1 - α)(v_leak + i)
//	i' = i - dt/tau_syn i + x            = β i + x,   x = W s_in (+ W_rec s)
//	s' = H(v' - v_th)                                  (surrogate gradient)
//	v' ← v' - s' (v_th - v_reset)   or   v' ← (1 - s') v' + s' v_reset,
//
// with α = MemDecay, β = SynDecay. The input current x = W s_in[t] reaches
// the membrane one step later, through i. It returns the new state and the
// spikes s'. Pure: the state goes in and out explicitly.
func LIFStep(state LIFState, x *Node, p LIFParams) (LIFState, *Node) {
	if p.Recurrent != nil {
		x = Add(x, snngraph.MatMulFastGrad(state.S, p.Recurrent))
	}
	v, i := lifIntegrate(state, x, p)
	s := p.Surrogate.Spike(AddScalar(v, -p.Threshold))
	r := s
	if p.DetachReset {
		r = StopGradient(s)
	}
	return LIFState{V: lifReset(v, r, p), I: i, S: s}, s
}

// lifIntegrate is the Euler step of LIFStep before the threshold: the
// membrane v₁ and the new current.
func lifIntegrate(state LIFState, x *Node, p LIFParams) (v1, i *Node) {
	v1 = Add(Mul(p.MemDecay, state.V), Mul(OneMinus(p.MemDecay), AddScalar(state.I, p.Leak)))
	return v1, Add(Mul(p.SynDecay, state.I), x)
}

// lifReset applies the reset r (the spikes, or their stopped value) to the
// membrane v₁.
func lifReset(v1, r *Node, p LIFParams) *Node {
	if p.ResetMode == ResetZero {
		return Add(Mul(OneMinus(r), v1), MulScalar(r, p.Reset))
	}
	return Sub(v1, MulScalar(r, p.Threshold-p.Reset))
}

// LIState is the state of a leaky-integrator read-out: membrane V and
// synaptic current I.
type LIState struct{ V, I *Node }

// ZeroLIState is the resting state for currents of x's shape and dtype.
func ZeroLIState(x *Node) LIState { return LIState{V: ZerosLike(x), I: ZerosLike(x)} }

// LIParams are the parameters of one LIStep.
type LIParams struct {
	// MemDecay and SynDecay are as in LIFParams.
	MemDecay, SynDecay *Node
	// Leak is the leak potential.
	Leak float64
}

// LIStep advances a leaky integrator (an LIF neuron without threshold) by
// one Euler step, as jaxsnn.discrete's li_step: the input current enters
// the synapse before the membrane integrates it, so the read-out adds no
// step of delay:
//
//	j  = i + x
//	v' = α v + (1 - α)(v_leak + j)
//	i' = β j.
//
// It returns the new state and the membrane v'.
func LIStep(state LIState, x *Node, p LIParams) (LIState, *Node) {
	j := Add(state.I, x)
	v := Add(Mul(p.MemDecay, state.V), Mul(OneMinus(p.MemDecay), AddScalar(j, p.Leak)))
	return LIState{V: v, I: Mul(p.SynDecay, j)}, v
}
