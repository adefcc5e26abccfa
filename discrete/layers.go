package discrete

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// State is a layer's state between time steps (nil for stateless layers);
// each layer knows its own concrete type (LIFState, LIState, ...).
type State any

// Layer is one stage of a Sequential network, stepped once per time step.
// Step is called T times while one graph is built; its variables live in
// ctx's current scope (Sequential gives each layer its own scope and marks
// ctx for reuse after the first step).
type Layer interface {
	// Kind names the layer type ("lif", "li", "dense", ...).
	Kind() string
	// Init returns the state before the first step, given the layer's input
	// at the first step (states take its shape).
	Init(ctx *context.Context, x *Node) State
	// Step advances one time step: it maps the input x to the output.
	Step(ctx *context.Context, state State, x *Node) (State, *Node)
}

// spiking marks layers whose outputs are spikes.
type spiking interface{ spikes() }

// LIF is a layer of Euler-step LIF neurons (LIFStep) over an input current
// of any shape [batch, neurons...], created by NewLIF.
type LIF struct {
	decays                 Decays
	learnable              bool
	leak, threshold, reset float64
	resetMode              ResetMode
	detachReset            bool
	surrogate              Surrogate
	recurrent              bool
	recMean, recStd        float64
	err                    error
}

// NewLIF starts the configuration of a LIF layer; set options with the
// With... methods and call Done. Defaults are jaxsnn.discrete's: decays of
// tau_mem = 10 ms, tau_syn = 5 ms at dt = 0.5 ms (0.95, 0.9), threshold 0.6,
// leak and reset 0, reset to zero, SuperSpike with alpha = 80, fixed decays,
// feed-forward.
func NewLIF() *LIF {
	return &LIF{decays: Decays{Mem: 0.95, Syn: 0.9}, threshold: 0.6, resetMode: ResetZero, surrogate: DefaultSurrogate()}
}

// WithDecays sets the membrane and synaptic decay factors, like snnax's
// LIF(shape, [mem, syn]).
func (l *LIF) WithDecays(mem, syn float64) *LIF { l.decays = Decays{Mem: mem, Syn: syn}; return l }

// WithTau derives the decays from time constants and the step (DecaysFromTau).
func (l *LIF) WithTau(dt, tauMem, tauSyn float64) *LIF {
	d, err := DecaysFromTau(dt, tauMem, tauSyn)
	if err != nil {
		l.err = err
	}
	l.decays = d
	return l
}

// WithLearnableDecays makes the decays per-neuron variables "mem_decay" and
// "syn_decay" (of the neurons' shape, initialised to the decays set, clipped
// to [0, 1] when used).
func (l *LIF) WithLearnableDecays() *LIF { l.learnable = true; return l }

// WithThreshold sets the threshold potential.
func (l *LIF) WithThreshold(v float64) *LIF { l.threshold = v; return l }

// WithLeak sets the leak potential.
func (l *LIF) WithLeak(v float64) *LIF { l.leak = v; return l }

// WithReset sets the reset mode and potential.
func (l *LIF) WithReset(mode ResetMode, potential float64) *LIF {
	l.resetMode, l.reset = mode, potential
	return l
}

// WithDetachReset stops the gradient through the reset (see LIFParams).
func (l *LIF) WithDetachReset() *LIF { l.detachReset = true; return l }

// WithSurrogate sets the spike function.
func (l *LIF) WithSurrogate(s Surrogate) *LIF { l.surrogate = s; return l }

// WithRecurrent adds all-to-all recurrent weights "recurrent_weights"
// [neurons, neurons] initialised N(mean, std²) (jaxsnn's Yin-Yang example
// uses 0, 0.2); the input must then be [batch, neurons].
func (l *LIF) WithRecurrent(mean, std float64) *LIF {
	l.recurrent, l.recMean, l.recStd = true, mean, std
	return l
}

// Done validates the configuration and returns the layer; bad parameters
// panic with an error naming them.
func (l *LIF) Done() *LIF {
	if err := l.validate(); err != nil {
		panic(err)
	}
	return l
}

func (l *LIF) validate() error {
	if l.err != nil {
		return l.err
	}
	if err := l.decays.Validate(); err != nil {
		return fmt.Errorf("LIF layer: %w", err)
	}
	if err := l.surrogate.Validate(); err != nil {
		return fmt.Errorf("LIF layer: %w", err)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"threshold", l.threshold}, {"leak", l.leak}, {"reset", l.reset}, {"recurrent mean", l.recMean}} {
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) {
			return fmt.Errorf("LIF layer: %s must be finite, got %g", c.name, c.v)
		}
	}
	if !(l.threshold > l.reset) {
		return fmt.Errorf("LIF layer: threshold (%g) must be above reset (%g)", l.threshold, l.reset)
	}
	if l.recurrent && (!(l.recStd >= 0) || math.IsInf(l.recStd, 0)) {
		return fmt.Errorf("LIF layer: recurrent std must be >= 0 and finite, got %g", l.recStd)
	}
	return nil
}

// Kind implements Layer.
func (l *LIF) Kind() string { return "lif" }

func (l *LIF) spikes() {}

// Init implements Layer: the resting state.
func (l *LIF) Init(_ *context.Context, x *Node) State {
	if l.recurrent && x.Rank() != 2 {
		panic(fmt.Errorf("recurrent LIF layer: input must be [batch, neurons], got %s", x.Shape()))
	}
	return ZeroLIFState(x)
}

// Params returns the parameters of LIFStep for inputs shaped like x,
// creating or reading the layer's variables in ctx's scope.
func (l *LIF) Params(ctx *context.Context, x *Node) LIFParams {
	mem, syn := decayNodes(ctx, x, l.decays, l.learnable)
	p := LIFParams{
		MemDecay: mem, SynDecay: syn,
		Leak: l.leak, Threshold: l.threshold, Reset: l.reset,
		ResetMode: l.resetMode, DetachReset: l.detachReset, Surrogate: l.surrogate,
	}
	if l.recurrent {
		n := x.Shape().Dim(1)
		p.Recurrent = ctx.WithInitializer(normalInit(ctx, l.recMean, l.recStd)).
			VariableWithShape("recurrent_weights", shapes.Make(x.DType(), n, n)).ValueGraph(x.Graph())
	}
	return p
}

// Step implements Layer with LIFStep.
func (l *LIF) Step(ctx *context.Context, state State, x *Node) (State, *Node) {
	return LIFStep(state.(LIFState), x, l.Params(ctx, x))
}

// LI is a leaky-integrator read-out layer (LIStep), created by NewLI; its
// output is the membrane potential.
type LI struct {
	decays    Decays
	learnable bool
	leak      float64
	err       error
}

// NewLI starts the configuration of an LI layer; defaults as NewLIF's
// (decays 0.95, 0.9, leak 0, fixed decays).
func NewLI() *LI { return &LI{decays: Decays{Mem: 0.95, Syn: 0.9}} }

// WithDecays sets the membrane and synaptic decay factors.
func (l *LI) WithDecays(mem, syn float64) *LI { l.decays = Decays{Mem: mem, Syn: syn}; return l }

// WithTau derives the decays from time constants and the step.
func (l *LI) WithTau(dt, tauMem, tauSyn float64) *LI {
	d, err := DecaysFromTau(dt, tauMem, tauSyn)
	if err != nil {
		l.err = err
	}
	l.decays = d
	return l
}

// WithLearnableDecays makes the decays per-neuron variables (as LIF's).
func (l *LI) WithLearnableDecays() *LI { l.learnable = true; return l }

// WithLeak sets the leak potential.
func (l *LI) WithLeak(v float64) *LI { l.leak = v; return l }

// Done validates the configuration and returns the layer (panics naming
// the bad parameter).
func (l *LI) Done() *LI {
	err := l.err
	if err == nil {
		err = l.decays.Validate()
	}
	if err == nil && (math.IsNaN(l.leak) || math.IsInf(l.leak, 0)) {
		err = fmt.Errorf("leak must be finite, got %g", l.leak)
	}
	if err != nil {
		panic(fmt.Errorf("LI layer: %w", err))
	}
	return l
}

// Kind implements Layer.
func (l *LI) Kind() string { return "li" }

// Init implements Layer: the resting state.
func (l *LI) Init(_ *context.Context, x *Node) State { return ZeroLIState(x) }

// Params returns the parameters of LIStep for inputs shaped like x.
func (l *LI) Params(ctx *context.Context, x *Node) LIParams {
	mem, syn := decayNodes(ctx, x, l.decays, l.learnable)
	return LIParams{MemDecay: mem, SynDecay: syn, Leak: l.leak}
}

// Step implements Layer with LIStep.
func (l *LI) Step(ctx *context.Context, state State, x *Node) (State, *Node) {
	return LIStep(state.(LIState), x, l.Params(ctx, x))
}

// decayNodes returns the decays as scalars, or as learnable variables of
// the neurons' shape reshaped to [1, neurons...] so they broadcast over the
// batch.
func decayNodes(ctx *context.Context, x *Node, d Decays, learnable bool) (mem, syn *Node) {
	g, dtype := x.Graph(), x.DType()
	if !learnable {
		return Scalar(g, dtype, d.Mem), Scalar(g, dtype, d.Syn)
	}
	dims := x.Shape().Dimensions[1:]
	variable := func(name string, init float64) *Node {
		constant := func(g *Graph, shape shapes.Shape) *Node {
			return BroadcastToDims(Scalar(g, shape.DType, init), shape.Dimensions...)
		}
		v := ctx.WithInitializer(constant).VariableWithShape(name, shapes.Make(dtype, dims...)).ValueGraph(g)
		return ClipScalar(InsertAxes(v, 0), 0, 1)
	}
	return variable("mem_decay", d.Mem), variable("syn_decay", d.Syn)
}

// normalInit draws initial weights from N(mean, std²) with ctx's random
// number generator.
func normalInit(ctx *context.Context, mean, std float64) func(*Graph, shapes.Shape) *Node {
	return func(g *Graph, shape shapes.Shape) *Node {
		return AddScalar(MulScalar(ctx.RandomNormal(g, shape), std), mean)
	}
}
