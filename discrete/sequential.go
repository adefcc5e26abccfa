package discrete

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	snngraph "github.com/gosnn/gosnn/graph"
)

// Sequential chains layers (spiking and GoMLX ones) into one model run
// over time, like snnax's snn.Sequential: at every step the input passes
// through all layers in order. Layer i's variables live in the scope
// "<i>_<kind>" of the context.
type Sequential struct {
	layers       []Layer
	names        []string
	barrierEvery int
}

// NewSequential chains the layers.
func NewSequential(layers ...Layer) *Sequential {
	s := &Sequential{layers: layers, barrierEvery: 1}
	for i, l := range layers {
		s.names = append(s.names, fmt.Sprintf("%d_%s", i, l.Kind()))
	}
	return s
}

// WithFusionBarrier materialises the layers' states every `every` steps
// (graph.Materialize; 0 turns it off). Why: the membrane and current
// chains of an unrolled loop are element-wise from the first step to the
// last, and XLA fuses such chains into their consumers and recomputes
// them there, so the work grows faster than T. Measured on xla:cpu (a
// loaded 2-core machine) for jaxsnn's Yin-Yang network 5-120(recurrent)-3,
// batch 64, T = 60, forward+gradient: without a barrier 59 s per batch and
// 6.8 min to compile; every 4 steps 2.7 s and 68 s; every step 0.76 s and
// 35 s. Other backends ignore it. The default is 1 (every step).
func (s *Sequential) WithFusionBarrier(every int) *Sequential { s.barrierEvery = every; return s }

// Names are the layers' scope names, in order.
func (s *Sequential) Names() []string { return s.names }

// Layers are the layers, in order.
func (s *Sequential) Layers() []Layer { return s.layers }

// Step advances every layer by one time step. states == nil starts from
// each layer's Init (the first step); the context is used as given, so
// from the second step on pass ctx.Reuse() (Run does).
func (s *Sequential) Step(ctx *context.Context, states []State, x *Node) ([]State, []*Node) {
	first := states == nil
	next := make([]State, len(s.layers))
	outs := make([]*Node, len(s.layers))
	for i := range s.layers {
		var st State
		if !first {
			st = states[i]
		}
		next[i], x = s.stepLayer(ctx, i, first, st, x)
		outs[i] = x
	}
	return next, outs
}

// stepLayer steps layer i; a panic while building it (a shape that does
// not fit, a bad parameter) is re-raised naming the layer, the layer it
// reads from and the input shape.
func (s *Sequential) stepLayer(ctx *context.Context, i int, first bool, st State, x *Node) (next State, out *Node) {
	defer func() {
		if r := recover(); r != nil {
			from := "the input"
			if i > 0 {
				from = fmt.Sprintf("layer %q", s.names[i-1])
			}
			err, ok := r.(error)
			if !ok {
				err = fmt.Errorf("%v", r)
			}
			panic(fmt.Errorf("discrete.Sequential: layer %q, reading %s of shape %s: %w", s.names[i], from, x.Shape(), err))
		}
	}()
	lctx := ctx.In(s.names[i])
	if first {
		st = s.layers[i].Init(lctx, x)
	}
	return s.layers[i].Step(lctx, st, x)
}

// Run simulates inputs [batch, T, features...] for T steps (a Go loop
// unrolled into the graph: GoMLX has no while loop). The inputs are sliced
// per step, so they get no gradient (on the pure-Go backend Slice has none);
// use RunSteps for inputs that need one.
func (s *Sequential) Run(ctx *context.Context, inputs *Node) *Result {
	if inputs.Rank() < 3 {
		panicf("Sequential.Run: inputs must be [batch, time, features...], got %s", inputs.Shape())
	}
	steps := make([]*Node, inputs.Shape().Dim(1))
	for t := range steps {
		specs := make([]SliceAxisSpec, inputs.Rank())
		for i := range specs {
			specs[i] = AxisRange()
		}
		specs[1] = AxisElem(t)
		steps[t] = Squeeze(Slice(inputs, specs...), 1)
	}
	return s.RunSteps(ctx, steps)
}

// RunSteps simulates one input per time step.
func (s *Sequential) RunSteps(ctx *context.Context, inputs []*Node) *Result {
	if len(inputs) == 0 || len(s.layers) == 0 {
		panicf("Sequential.RunSteps: need >= 1 step and >= 1 layer, got %d and %d", len(inputs), len(s.layers))
	}
	r := &Result{Names: s.names, Steps: make([][]*Node, len(s.layers))}
	for _, l := range s.layers {
		r.Kinds = append(r.Kinds, l.Kind())
		_, sp := l.(spiking)
		r.Spiking = append(r.Spiking, sp)
	}
	var states []State
	for t, x := range inputs {
		if t == 1 {
			ctx = ctx.Reuse()
		}
		var outs []*Node
		states, outs = s.Step(ctx, states, x)
		if s.barrierEvery > 0 && (t+1)%s.barrierEvery == 0 && t+1 < len(inputs) {
			states = materialize(states, snngraph.Materialize)
		}
		for i, o := range outs {
			r.Steps[i] = append(r.Steps[i], o)
		}
	}
	r.Final = states
	return r
}

// Result is what Sequential.Run returns: every layer's output at every step
// (spikes for spiking layers, membrane for LI read-outs) and the final
// states.
type Result struct {
	Names, Kinds []string
	// Spiking says which layers output spikes.
	Spiking []bool
	// Steps[i][t] is layer i's output at step t.
	Steps [][]*Node
	// Final are the layers' states after the last step.
	Final []State
}

// Trace is layer i's output over time, [batch, T, ...] (stacked when
// asked for, so unused outputs add no operations).
func (r *Result) Trace(i int) *Node { return Stack(r.Steps[i], 1) }

// Index is the position of the layer with the given scope name, or -1.
func (r *Result) Index(name string) int {
	for i, n := range r.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// Output is the last layer's trace: the read-out's membrane trace.
func (r *Result) Output() *Node { return r.Trace(len(r.Steps) - 1) }

// Spikes are the traces of the spiking layers, in order.
func (r *Result) Spikes() []*Node {
	var out []*Node
	for i, sp := range r.Spiking {
		if sp {
			out = append(out, r.Trace(i))
		}
	}
	return out
}

// Overflow is the number of spikes the sparse layers left out, per sample
// ([batch] int32, summed over layers and steps), or nil without sparse
// layers.
func (r *Result) Overflow() *Node {
	var total *Node
	for _, st := range r.Final {
		if s, ok := st.(sparseState); ok {
			if total == nil {
				total = s.overflow
			} else {
				total = Add(total, s.overflow)
			}
		}
	}
	return total
}

// materialize passes the rank-2 float LIF and LI states through one fusion
// barrier (graph.Materialize, or graph.Barrier for values only: one product
// with an identity for all); other states are left as they are.
func materialize(states []State, barrier func(...*Node) []*Node) []State {
	var nodes []*Node
	for _, st := range states {
		switch st := st.(type) {
		case LIFState:
			if st.V.Rank() == 2 {
				nodes = append(nodes, st.V, st.I)
			}
		case LIState:
			if st.V.Rank() == 2 {
				nodes = append(nodes, st.V, st.I)
			}
		}
	}
	if len(nodes) == 0 {
		return states
	}
	nodes = barrier(nodes...)
	out := make([]State, len(states))
	for i, st := range states {
		switch st := st.(type) {
		case LIFState:
			if st.V.Rank() == 2 {
				st.V, st.I, nodes = nodes[0], nodes[1], nodes[2:]
			}
			out[i] = st
		case LIState:
			if st.V.Rank() == 2 {
				st.V, st.I, nodes = nodes[0], nodes[1], nodes[2:]
			}
			out[i] = st
		default:
			out[i] = st
		}
	}
	return out
}
