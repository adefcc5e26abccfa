package topology

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/ml/context"
)

// The delay kinds of a projection (fastAndDeep's DelayAxonal,
// DelaySynaptic, DelayDendritic layers; Göltz, Weber, Kriener et al.,
// "DelGrad: exact event-based gradients for training delays and weights on
// spiking neuromorphic hardware", Nat. Commun. 2025).
const (
	// DelayAxonal: one delay per presynaptic neuron (row of the weights),
	// shared by all its synapses.
	DelayAxonal = "axonal"
	// DelaySynaptic: one delay per synapse (entry of the weights).
	DelaySynaptic = "synaptic"
	// DelayDendritic: one delay per postsynaptic neuron (column of the
	// weights), shared by all its incoming synapses of the projection.
	DelayDendritic = "dendritic"
)

// DelayKinds lists the known delay kinds.
var DelayKinds = []string{DelayAxonal, DelaySynaptic, DelayDendritic}

// The positivity functions that turn a delay parameter into a delay >= 0.
const (
	// PositivitySigmoid: d = shift + scale σ(p) (fastAndDeep's sigmoid).
	PositivitySigmoid = "sigmoid"
	// PositivityClamp: d = p, with p set to max(p, 0) at initialisation and
	// after every optimizer step (fastAndDeep's clip).
	PositivityClamp = "clamp"
)

// PositivityFunctions lists the known positivity functions.
var PositivityFunctions = []string{PositivitySigmoid, PositivityClamp}

// Delay makes a projection's spikes arrive later at their targets: a
// spike of source neuron i reaches target neuron j at t_i + d_ij, where
// d_ij depends on i only (axonal), on j only (dendritic) or on both
// (synaptic). The delays are trainable: their parameters p are the
// variable "delays" in the projection's scope, of shape [rows, 1]
// (axonal), [rows, cols] (synaptic) or [1, cols] (dendritic), drawn from
// N(Init.Mean, Init.Std²), and d = Positivity(p).
//
// SharePre > 1 lets groups of source neurons share delay parameters, and
// SharePost > 1 groups of target neurons (fastAndDeep's
// presyn_sharing_factor and postsyn_sharing_factor): the parameters have
// rows/SharePre rows (cols/SharePost columns), tiled over the neurons, so
// neuron i uses parameter i mod (rows/SharePre). The sizes must divide.
type Delay struct {
	Kind       string     `json:"kind" yaml:"kind"`
	Init       *Init      `json:"init" yaml:"init"`
	Positivity Positivity `json:"positivity" yaml:"positivity"`
	// LearningRate of the delay parameters (0: the config's learning rate);
	// it follows the same schedule.
	LearningRate float64 `json:"learning_rate,omitempty" yaml:"learning_rate,omitempty"`
	SharePre     int     `json:"share_pre,omitempty" yaml:"share_pre,omitempty"`
	SharePost    int     `json:"share_post,omitempty" yaml:"share_post,omitempty"`
	// Trainable, set to false, holds the delay parameters at their initial
	// (or checkpointed) values: no optimizer step (nil or true: trained).
	Trainable *bool `json:"trainable,omitempty" yaml:"trainable,omitempty"`
}

// Frozen reports whether the delays are held fixed (trainable: false).
func (d *Delay) Frozen() bool { return d.Trainable != nil && !*d.Trainable }

// Positivity maps a delay parameter to a delay >= 0.
type Positivity struct {
	// Function is one of PositivityFunctions.
	Function string `json:"function" yaml:"function"`
	// Scale and Shift of the sigmoid: d = Shift + Scale σ(p); Scale 0
	// means 1 (fastAndDeep's default).
	Scale float64 `json:"scale,omitempty" yaml:"scale,omitempty"`
	Shift float64 `json:"shift,omitempty" yaml:"shift,omitempty"`
}

// SigmoidScale is Scale, 1 when unset.
func (p Positivity) SigmoidScale() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// Apply returns the delay of parameter x (float64, for plots and tests).
func (p Positivity) Apply(x float64) float64 {
	if p.Function == PositivitySigmoid {
		return p.Shift + p.SigmoidScale()/(1+math.Exp(-x))
	}
	return math.Max(x, 0)
}

// Shape is the shape of the delay parameters of a projection with rows
// source neurons onto cols target neurons.
func (d *Delay) Shape(rows, cols int) (r, c int) {
	pre, post := max(d.SharePre, 1), max(d.SharePost, 1)
	switch d.Kind {
	case DelayAxonal:
		return rows / pre, 1
	case DelayDendritic:
		return 1, cols / post
	}
	return rows / pre, cols / post
}

// validateDelays checks the delay and learning-rate fields of every node;
// at records a problem at a path (relative to the network).
func (n *Network) validateDelays(at func(path, format string, args ...any)) {
	for i, node := range n.Nodes {
		p := fmt.Sprintf("nodes[%d] (%s)", i, node.Name)
		if node.Kind != KindLinear {
			if node.Delay != nil {
				at(p+".delay", "not used by a %s node (delays belong to projections, kind linear)", node.Kind)
			}
			if node.LearningRate != 0 {
				at(p+".learning_rate", "not used by a %s node", node.Kind)
			}
			if node.Trainable != nil {
				at(p+".trainable", "not used by a %s node (it holds a projection's weights fixed, kind linear)", node.Kind)
			}
			if node.Monitor {
				at(p+".monitor", "not used by a %s node (it records a projection's weights and delays, kind linear)", node.Kind)
			}
			continue
		}
		if !(node.LearningRate >= 0) || math.IsInf(node.LearningRate, 0) {
			at(p+".learning_rate", "must be >= 0 and finite (0: the config's), got %g", node.LearningRate)
		}
		if node.Frozen() && node.LearningRate != 0 {
			at(p+".learning_rate", "the weights are held fixed (trainable: false); drop one of the two")
		}
		d := node.Delay
		if d == nil {
			continue
		}
		p += ".delay"
		if !slices.Contains(DelayKinds, d.Kind) {
			at(p+".kind", "unknown delay kind %q; one of %v", d.Kind, DelayKinds)
		}
		if d.Init == nil {
			at(p+".init", "a delay needs an init (mean, std) of its parameters")
		} else {
			if math.IsNaN(d.Init.Mean) || math.IsInf(d.Init.Mean, 0) {
				at(p+".init.mean", "must be finite, got %g", d.Init.Mean)
			}
			if !(d.Init.Std >= 0) || math.IsInf(d.Init.Std, 0) {
				at(p+".init.std", "must be >= 0 and finite, got %g", d.Init.Std)
			}
		}
		pos := d.Positivity
		switch pos.Function {
		case PositivitySigmoid:
			if !(pos.Scale >= 0) || math.IsInf(pos.Scale, 0) {
				at(p+".positivity.scale", "must be > 0 and finite (0: 1), got %g", pos.Scale)
			}
			if !(pos.Shift >= 0) || math.IsInf(pos.Shift, 0) {
				at(p+".positivity.shift", "must be >= 0 and finite (delays are never negative), got %g", pos.Shift)
			}
		case PositivityClamp:
			if pos.Scale != 0 || pos.Shift != 0 {
				at(p+".positivity", "scale and shift belong to the sigmoid, not to clamp")
			}
		default:
			at(p+".positivity.function", "unknown positivity function %q; one of %v", pos.Function, PositivityFunctions)
		}
		if !(d.LearningRate >= 0) || math.IsInf(d.LearningRate, 0) {
			at(p+".learning_rate", "must be >= 0 and finite (0: the config's), got %g", d.LearningRate)
		}
		if d.Frozen() && d.LearningRate != 0 {
			at(p+".learning_rate", "the delays are held fixed (trainable: false); drop one of the two")
		}
		if d.SharePre < 0 {
			at(p+".share_pre", "must be >= 0, got %d", d.SharePre)
		}
		if d.SharePost < 0 {
			at(p+".share_post", "must be >= 0, got %d", d.SharePost)
		}
		if d.Kind == DelayAxonal && d.SharePost > 1 {
			at(p+".share_post", "an axonal delay has one parameter per source neuron; share_post applies to synaptic and dendritic delays")
		}
		if d.Kind == DelayDendritic && d.SharePre > 1 {
			at(p+".share_pre", "a dendritic delay has one parameter per target neuron; share_pre applies to synaptic and axonal delays")
		}
		// Sizes: the rows are the sources' neurons, the columns the target's.
		rows := 0
		for _, s := range n.Sources(node.Name) {
			if src := n.Node(s); src != nil {
				rows += src.NumSources()
			}
		}
		targets := n.Targets(node.Name)
		if len(targets) != 1 || n.Node(targets[0]) == nil {
			continue // reported elsewhere
		}
		target := n.Node(targets[0])
		cols := target.Size
		if d.SharePre > 1 && rows%d.SharePre != 0 {
			at(p+".share_pre", "the projection's %d source neurons are not divisible by share_pre %d", rows, d.SharePre)
		}
		if d.SharePost > 1 && cols%d.SharePost != 0 {
			at(p+".share_post", "the %d neurons of target %q are not divisible by share_post %d", cols, target.Name, d.SharePost)
		}
	}
}

// validateDelayLayers rejects delays into recurrent layers (the recurrent
// event layer takes one arrival time per input spike) and frozen or
// monitored weights into recurrent event layers (their projections share
// one variable).
func (n *Network) validateDelayLayers(layers []Layer, at func(path, format string, args ...any)) {
	event := n.Family() == FamilyEvent
	for i, node := range n.Nodes {
		if node.Kind != KindLinear || (node.Delay == nil && !(event && (node.Frozen() || node.Monitor))) {
			continue
		}
		targets := n.Targets(node.Name)
		if len(targets) != 1 {
			continue
		}
		for _, l := range layers {
			if !l.Recurrent() || !slices.Contains(l.Populations, targets[0]) {
				continue
			}
			if node.Delay != nil {
				at(fmt.Sprintf("nodes[%d] (%s).delay", i, node.Name), "delays on a projection into the recurrent layer %v are not supported", l.Populations)
			}
			if event && node.Frozen() {
				at(fmt.Sprintf("nodes[%d] (%s).trainable", i, node.Name), "the recurrent layer %v keeps all its projections in one variable; its weights cannot be held fixed one projection at a time", l.Populations)
			}
			if event && node.Monitor {
				at(fmt.Sprintf("nodes[%d] (%s).monitor", i, node.Name), "the recurrent layer %v keeps all its projections in one variable; its weights cannot be monitored one projection at a time", l.Populations)
			}
		}
	}
}

// NumSources is the number of spike sources a node gives a projection:
// the size of an input or population, the number of spike times of a bias.
func (n *Node) NumSources() int {
	if n.Kind == KindBias {
		return len(n.Times)
	}
	return n.Size
}

// TunedVariable is a trainable variable trained differently from the
// config's defaults: with its own learning rate, or kept >= 0.
type TunedVariable struct {
	Variable *context.Variable
	// LearningRate replaces the config's learning rate for this variable
	// (with the same schedule); 0 keeps the config's.
	LearningRate float64
	// NonNegative clamps the variable at 0 after every update
	// (positivity clamp of delays).
	NonNegative bool
	// Frozen holds the variable at its value before every update
	// (trainable: false): the optimizer's step is undone, and weight
	// bumping leaves it alone.
	Frozen bool
}

// WithDelay delays the spikes of the projection added last (see Delay).
func (b *Builder) WithDelay(d Delay) *Builder {
	if len(b.net.Nodes) > 0 {
		b.net.Nodes[len(b.net.Nodes)-1].Delay = &d
	}
	return b
}

// Frozen holds the weights of the projection added last fixed
// (trainable: false).
func (b *Builder) Frozen() *Builder {
	if len(b.net.Nodes) > 0 {
		frozen := false
		b.net.Nodes[len(b.net.Nodes)-1].Trainable = &frozen
	}
	return b
}

// Monitored records the weight and delay statistics of the projection
// added last after every epoch (monitor: true).
func (b *Builder) Monitored() *Builder {
	if len(b.net.Nodes) > 0 {
		b.net.Nodes[len(b.net.Nodes)-1].Monitor = true
	}
	return b
}

// WithLearningRate sets the learning rate of the weights of the projection
// added last.
func (b *Builder) WithLearningRate(lr float64) *Builder {
	if len(b.net.Nodes) > 0 {
		b.net.Nodes[len(b.net.Nodes)-1].LearningRate = lr
	}
	return b
}
