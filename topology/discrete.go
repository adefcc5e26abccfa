package topology

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The node kinds of the discrete-time (Euler, surrogate-gradient) family,
// lowered by discrete.Lower.
const (
	// KindDiscreteLIF is a population of Euler-step current-based LIF
	// neurons (jaxsnn.discrete's LIF), spikes with a surrogate derivative.
	KindDiscreteLIF = "discrete_lif"
	// KindDiscreteLI is a population of Euler-step leaky integrators
	// (jaxsnn.discrete's LI), the read-out: its output is the membrane.
	KindDiscreteLI = "discrete_li"
)

// The simulation families; every population kind belongs to one, and a
// network's populations all belong to the same one (Network.Family).
const (
	FamilyEvent    = "event"
	FamilyDiscrete = "discrete"
)

// kindFamily maps the population kinds to their families.
var kindFamily = map[string]string{
	KindTTFS: FamilyEvent, KindLIF: FamilyEvent,
	KindDiscreteLIF: FamilyDiscrete, KindDiscreteLI: FamilyDiscrete,
}

// IsDiscrete reports whether a node kind is a discrete-time population.
func IsDiscrete(kind string) bool { return kindFamily[kind] == FamilyDiscrete }

// Family is the simulation family of the network's populations
// (FamilyEvent when it has none of another family). Validate refuses a
// network that mixes families.
func (n *Network) Family() string {
	for _, node := range n.Nodes {
		if f, ok := kindFamily[node.Kind]; ok {
			return f
		}
	}
	return FamilyEvent
}

// Euler holds the parameters of a discrete-time population (YAML key
// "euler"), stepped every Network.DT:
//
//	v[t+1] = v[t] + dt/tau_mem (leak - v[t] + i[t]),  i[t+1] = i[t] - dt/tau_syn i[t] + W s_in[t],
//	s[t+1] = H(v[t+1] - threshold)  (LIF only; reset by ResetMode).
//
// Decays, when set, give the per-step factors 1 - dt/tau directly
// (snnax's LIF((...), [mem, syn])) instead of TauMem and TauSyn.
type Euler struct {
	TauMem float64 `json:"tau_mem,omitempty" yaml:"tau_mem,omitempty"`
	TauSyn float64 `json:"tau_syn,omitempty" yaml:"tau_syn,omitempty"`
	// Decays are [mem, syn] factors in [0, 1], instead of the taus.
	Decays []float64 `json:"decays,omitempty" yaml:"decays,omitempty,flow"`
	// LearnableDecays makes the decays per-neuron trainable variables.
	LearnableDecays bool    `json:"learnable_decays,omitempty" yaml:"learnable_decays,omitempty"`
	Leak            float64 `json:"leak,omitempty" yaml:"leak,omitempty"`
	// Threshold, Reset, ResetMode, DetachReset and Surrogate apply to LIF.
	Threshold float64 `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	Reset     float64 `json:"reset,omitempty" yaml:"reset,omitempty"`
	// ResetMode is "zero" (to Reset, jaxsnn's; the default) or "subtract".
	ResetMode   string `json:"reset_mode,omitempty" yaml:"reset_mode,omitempty"`
	DetachReset bool   `json:"detach_reset,omitempty" yaml:"detach_reset,omitempty"`
	// Surrogate is the spike function's derivative (default SuperSpike,
	// i.e. fast_sigmoid, with scale 80 as in jaxsnn).
	Surrogate *SurrogateSpec `json:"surrogate,omitempty" yaml:"surrogate,omitempty"`
}

// SurrogateSpec names a surrogate derivative and its scale (0: the kind's
// customary scale).
type SurrogateSpec struct {
	Kind  string  `json:"kind" yaml:"kind"`
	Scale float64 `json:"scale,omitempty" yaml:"scale,omitempty"`
}

// SurrogateKinds are the names of the surrogate derivatives (package
// discrete); "superspike" is fast_sigmoid.
var SurrogateKinds = []string{"fast_sigmoid", "superspike", "arctan", "triangle", "sigmoid"}

// ResetModes are the values of Euler.ResetMode ("" is zero).
var ResetModes = []string{"zero", "subtract"}

// validateDiscrete checks the discrete-time parts of a network: node i's
// euler parameters against the network's dt, and the network-level dt and
// steps. at records a problem at a path relative to the network.
func (n *Network) validateDiscrete(at func(path, format string, args ...any)) {
	families := map[string]bool{}
	for _, node := range n.Nodes {
		if f, ok := kindFamily[node.Kind]; ok {
			families[f] = true
		}
	}
	discrete := families[FamilyDiscrete]
	if discrete && families[FamilyEvent] {
		at("nodes", "mixes event populations (ttfs, lif) with discrete ones (discrete_lif, discrete_li); a network is simulated by one family")
	}
	if !discrete {
		if n.DT != 0 {
			at("dt", "used only by networks of discrete populations")
		}
		if n.Steps != 0 {
			at("steps", "used only by networks of discrete populations")
		}
		for i, node := range n.Nodes {
			p := fmt.Sprintf("nodes[%d] (%s)", i, node.Name)
			if node.Euler != nil {
				at(p+".euler", "not used by a %s node", node.Kind)
			}
			if node.Kind == KindConv2D {
				at(p+".kind", "conv2d projections belong to discrete networks (discrete_lif, discrete_li populations)")
			}
			if node.Kind == KindInput && node.Shape != nil {
				at(p+".shape", "frame inputs belong to discrete networks (discrete_lif, discrete_li populations)")
			}
			if node.Sparse != 0 {
				at(p+".sparse", "sparse propagation belongs to discrete networks (discrete_lif, discrete_li populations)")
			}
			if node.Pool != nil {
				at(p+".pool", "pooling belongs to discrete networks (discrete_lif, discrete_li populations)")
			}
			if node.Dropout != 0 {
				at(p+".dropout", "dropout belongs to discrete networks (discrete_lif, discrete_li populations)")
			}
			if node.LayerNorm {
				at(p+".layer_norm", "layer normalisation belongs to discrete networks (discrete_lif, discrete_li populations)")
			}
		}
		return
	}
	dtOK := n.DT > 0 && !math.IsInf(n.DT, 0)
	if !dtOK {
		at("dt", "a discrete network needs its time step dt > 0 (finite), got %g", n.DT)
	}
	if n.Steps < 1 {
		at("steps", "a discrete network needs steps >= 1 (time steps per sample), got %d", n.Steps)
	}
	for i, node := range n.Nodes {
		p := fmt.Sprintf("nodes[%d] (%s)", i, node.Name)
		switch {
		case node.Sparse < 0:
			at(p+".sparse", "must be >= 0 (active spikes kept per sample and step; 0: dense), got %d", node.Sparse)
		case node.Sparse != 0 && node.Kind != KindLinear:
			at(p+".sparse", "only linear projections propagate sparsely, not %s", node.Kind)
		}
		switch {
		case (node.Dropout != 0 || node.LayerNorm) && !IsProjection(node.Kind):
			field := "dropout"
			if node.Dropout == 0 {
				field = "layer_norm"
			}
			at(p+"."+field, "only projections (linear, conv2d) take dropout and layer_norm, not %s", node.Kind)
		case !(node.Dropout >= 0 && node.Dropout < 1):
			at(p+".dropout", "must be in [0, 1) (the probability of dropping a spike), got %g", node.Dropout)
		}
		if node.Pool != nil {
			switch {
			case !IsProjection(node.Kind):
				at(p+".pool", "only projections (linear, conv2d) pool their source's frames, not %s", node.Kind)
			case node.Sparse != 0:
				at(p+".pool", "a pooling projection propagates densely; set sparse or pool, not both")
			default:
				validatePool(p, node.Pool, at)
			}
		}
		if !IsDiscrete(node.Kind) {
			if node.Euler != nil {
				at(p+".euler", "not used by a %s node", node.Kind)
			}
			if node.Kind == KindLinear && node.Delay != nil {
				at(p+".delay", "the discrete family does not simulate delays (event populations only)")
			}
			if IsPopulation(node.Kind) {
				continue
			}
			if node.Kind == KindBias && node.Duplication > 1 {
				at(p+".duplication", "a discrete network takes each bias spike once (set the weight instead)")
			}
			continue
		}
		if node.Size < 1 {
			at(p+".size", "must be >= 1, got %d", node.Size)
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"neuron", node.Neuron != nil}, {"capacity", node.Capacity != 0}, {"horizon", node.Horizon != 0}, {"max_grad_norm", node.MaxGradNorm != 0}} {
			if f.set {
				at(p+"."+f.name, "not used by a %s node (its parameters are under euler)", node.Kind)
			}
		}
		if !(node.MaxMissing >= 0 && node.MaxMissing <= 1) {
			at(p+".max_missing", "must be in [0, 1], got %g", node.MaxMissing)
		}
		e := node.Euler
		if e == nil {
			at(p+".euler", "a %s population needs its euler parameters (tau_mem, tau_syn or decays, threshold, ...)", node.Kind)
			continue
		}
		ep := p + ".euler"
		if len(e.Decays) > 0 {
			if e.TauMem != 0 || e.TauSyn != 0 {
				at(ep+".decays", "give either decays or tau_mem and tau_syn, not both")
			}
			if len(e.Decays) != 2 {
				at(ep+".decays", "is [mem, syn], got %d values", len(e.Decays))
			} else {
				for j, d := range e.Decays {
					if !(d >= 0 && d <= 1) {
						at(fmt.Sprintf("%s.decays[%d]", ep, j), "a decay must lie in [0, 1], got %g", d)
					}
				}
			}
		} else {
			for _, f := range []struct {
				name string
				tau  float64
			}{{"tau_mem", e.TauMem}, {"tau_syn", e.TauSyn}} {
				switch {
				case !(f.tau > 0) || math.IsInf(f.tau, 0):
					at(ep+"."+f.name, "must be a positive finite time (or give decays), got %g", f.tau)
				case dtOK && !(n.DT < f.tau):
					at(ep+"."+f.name, "dt (%g) must be below %s (%g): the Euler step would overshoot", n.DT, f.name, f.tau)
				}
			}
		}
		finite := func(name string, v float64) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				at(ep+"."+name, "must be finite, got %g", v)
			}
		}
		finite("leak", e.Leak)
		if node.Kind == KindDiscreteLI {
			for _, f := range []struct {
				name string
				set  bool
			}{{"threshold", e.Threshold != 0}, {"reset", e.Reset != 0}, {"reset_mode", e.ResetMode != ""}, {"detach_reset", e.DetachReset}, {"surrogate", e.Surrogate != nil}} {
				if f.set {
					at(ep+"."+f.name, "not used by a discrete_li population (it does not spike)")
				}
			}
			continue
		}
		finite("threshold", e.Threshold)
		finite("reset", e.Reset)
		if !(e.Threshold > e.Reset) {
			at(ep+".threshold", "must be above reset (%g), got %g", e.Reset, e.Threshold)
		}
		if e.ResetMode != "" && !slices.Contains(ResetModes, e.ResetMode) {
			at(ep+".reset_mode", "must be one of %s, got %q", strings.Join(ResetModes, ", "), e.ResetMode)
		}
		if s := e.Surrogate; s != nil {
			if !slices.Contains(SurrogateKinds, s.Kind) {
				at(ep+".surrogate.kind", "must be one of %s, got %q", strings.Join(SurrogateKinds, ", "), s.Kind)
			}
			if !(s.Scale >= 0) || math.IsInf(s.Scale, 0) {
				at(ep+".surrogate.scale", "must be >= 0 and finite (0: the kind's default), got %g", s.Scale)
			}
		}
	}
	if out := n.Node(n.Output); out != nil && IsPopulation(out.Kind) && !IsDiscrete(out.Kind) {
		at("output", "a discrete network's read-out must be a discrete population, %q is %s", n.Output, out.Kind)
	}
}
