package discrete

import (
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/topology"
)

// The lowered network's time loop with a hand-written backward pass
// (back-propagation through time), for networks of linear projections and
// fixed decays.
//
// Why: differentiated by GoMLX, the unrolled loop multiplies three times
// per projection and step (forward, input and weight gradients), and the
// weight gradient is a sum of one product per step. Here the weight
// gradient of a projection is one product over all steps, ΔW = Xᵀ·C with
// X [steps·batch, inputs] its inputs and C the cotangents of its currents
// at every step, and a projection whose sources lie in earlier layers (or
// are data) multiplies all steps at once, forward and backward: only the
// projections inside a recurrent layer multiply step by step. The
// populations are simulated layer by layer (a layer's sources are data,
// earlier layers or itself: topology.Network.Layers), which gives the
// values of Lower's step-major loop.
//
// The backward pass of one LIF step, for the cotangents v̄', ī' of the new
// state and s̄ of the spikes (LIFStep's equations, z = v₁ - v_th, v₁ the
// membrane before the reset):
//
//	reset to zero:  v̄₁ = v̄'(1 - s),  r̄ = v̄'(v_reset - v₁)
//	by subtraction: v̄₁ = v̄',         r̄ = -v̄'(v_th - v_reset)
//	v̄₁ += (s̄ + r̄) g(z)        (r̄ = 0 with a detached reset)
//	v̄ = α v̄₁,  ī = (1 - α) v̄₁ + β ī',  x̄ = ī'
//
// A leaky integrator (linear, never recurrent) runs all steps at once,
// forward and backward (liOverTime).
//
// TestLowerMatchesSequential checks the result against GoMLX's
// differentiation of Sequential, itself checked against finite
// differences.

// bpttEnabled reports whether Lower may use the hand-written backward pass;
// GOSNN_DISCRETE_BPTT=0 turns it off (to compare with GoMLX's).
var bpttEnabled = os.Getenv("GOSNN_DISCRETE_BPTT") != "0"

// bpttOnGo lets the pure-Go backend use it too (tests do). It does not by
// default: there it ran slower than GoMLX's differentiation of the
// step-major loop (a training step of jaxsnn_yinyang_discrete 0.30 against
// 0.23 s, `gosnn bench --compile --backends go`), the price of reading the
// outputs back by Gather and of the custom gradient's carrier, which XLA
// folds away.
var bpttOnGo = false

// bpttApplies reports whether the graph runs on XLA (see bpttOnGo), a
// gradient may be taken (a values-only graph, topology.ValuesOnlyParam, is
// cheaper without the custom gradient's plumbing: an evaluation batch of
// 736 took 2-3x longer through it), every projection is plain (linear,
// dense, without pooling, dropout or layer normalisation) and every decay
// fixed: the networks lowerBPTT handles.
func bpttApplies(ctx *context.Context, g *Graph, order []*lowerPop, incoming map[string][]lowerProj) bool {
	if !bpttEnabled || topology.ValuesOnly(ctx, g) || !(snngraph.OnXLA(g) || bpttOnGo) {
		return false
	}
	for _, projs := range incoming {
		for _, p := range projs {
			if !p.plain() {
				return false
			}
		}
	}
	for _, p := range order {
		if p.learnable {
			return false
		}
	}
	return true
}

// bpttEntry is one source of a population's stacked weights.
type bpttEntry struct {
	source     string
	start, end int  // its rows in the stacked weights
	prev       bool // inside the layer: the source's output of the previous step
	data       bool // data or bias spikes: no cotangent
}

// bpttPop is a population's part of the loop.
type bpttPop struct {
	*lowerPop
	ext, inner []bpttEntry // sources outside the layer (multiplied over all steps at once), inside it (step by step)
	wExt, wIn  *Node       // the entries' rows of the stopped stacked weights (nil: none)
	xe         *Node       // external inputs of all steps [steps·batch, rows], time-major
	extCur     *Node       // their currents [steps·batch, size]
	closed     bool        // a leaky integrator (never recurrent: topology.Validate): all steps at once (liOverTime)
	v1, s      []*Node     // LIF, per step: the membrane before the reset, the spikes
	outs       []*Node     // per step: the output [batch, size]
	tm         *Node       // the outputs of all steps [steps·batch, size], time-major
}

// bpttWeights is one projection's weights: rows [start, end) of its
// target's stacked weights.
type bpttWeights struct {
	pop        *bpttPop
	start, end int
}

// bpttLoop holds what the backward pass needs of the forward one.
type bpttLoop struct {
	g            *Graph
	dtype        dtypes.DType
	layers       [][]*bpttPop
	pops         map[string]*bpttPop
	weights      []bpttWeights
	size         func(string) int
	batch, steps int
	index        map[string]int // a population's place among the values
}

// lowerBPTT runs Lower's time loop (same values) with the backward pass
// above, for the data sources' spikes over time series [batch, steps, n],
// and returns every population's output over time [batch, steps, size],
// and the same time-major, [steps, batch, size].
func lowerBPTT(g *Graph, dtype dtypes.DType, layers []topology.Layer, order []*lowerPop, incoming map[string][]lowerProj, series map[string]*Node, size func(string) int, batch, steps int) (traces, timeMajors map[string]*Node) {
	lp := &bpttLoop{g: g, dtype: dtype, size: size, batch: batch, steps: steps, index: map[string]int{}}
	byName := map[string]*bpttPop{}
	for _, p := range order {
		byName[p.node.Name] = &bpttPop{lowerPop: p}
	}
	lp.pops = byName
	layerOf, position := map[string]int{}, map[string]int{}
	for l, layer := range layers {
		var pops []*bpttPop
		for k, name := range layer.Populations {
			layerOf[name], position[name] = l, k
			pops = append(pops, byName[name])
		}
		lp.layers = append(lp.layers, pops)
	}

	// Each population's sources in the rows of its stacked weights; every
	// projection's weights are one input of the custom gradient.
	var weights []*Node
	for _, p := range order {
		bp := byName[p.node.Name]
		row := 0
		var ws []*Node
		for _, proj := range incoming[p.node.Name] {
			start := row
			for _, s := range proj.sources {
				e := bpttEntry{source: s, start: row, end: row + size(s)}
				row = e.end
				l, isPop := layerOf[s]
				switch {
				case !isPop:
					e.data = true
					bp.ext = append(bp.ext, e)
				case l < layerOf[p.node.Name]:
					bp.ext = append(bp.ext, e)
				default:
					e.prev = position[s] >= position[p.node.Name]
					bp.inner = append(bp.inner, e)
				}
			}
			lp.weights = append(lp.weights, bpttWeights{pop: bp, start: start, end: row})
			weights = append(weights, proj.w)
			ws = append(ws, proj.w)
		}
		if len(ws) > 0 {
			w := StopGradient(concatOrOne(ws, 0))
			bp.wExt, bp.wIn = entryRows(w, bp.ext), entryRows(w, bp.inner)
		}
		if _, isLI := bp.state.(LIState); isLI {
			if len(bp.inner) > 0 {
				panicf("discrete.Lower: leaky integrator %q is part of a recurrent layer", p.node.Name)
			}
			bp.closed = true
		}
	}

	// Forward, layer by layer. timeMajor is a source's output of all steps
	// [steps·batch, n].
	timeMajor := func(name string) *Node {
		if bp, ok := byName[name]; ok {
			return bp.tm
		}
		x := series[name]
		return Reshape(TransposeAllAxes(x, 1, 0, 2), steps*batch, x.Shape().Dim(2))
	}
	outs := map[string][]*Node{}
	for _, pops := range lp.layers {
		for _, bp := range pops {
			if len(bp.ext) > 0 {
				parts := make([]*Node, len(bp.ext))
				for k, e := range bp.ext {
					parts[k] = timeMajor(e.source)
				}
				bp.xe = concatOrOne(parts, 1)
				bp.extCur = Dot(bp.xe, bp.wExt)
			}
			if bp.closed {
				x := bp.extCur
				if x == nil {
					x = Zeros(g, shapes.Make(dtype, steps*batch, bp.node.Size))
				}
				bp.tm = liOverTime(x, bp.decays, bp.li.Leak, steps, false)
				continue
			}
			bp.outs = make([]*Node, steps)
			outs[bp.node.Name] = bp.outs
			bp.v1, bp.s = make([]*Node, steps), make([]*Node, steps)
		}
		for t := range steps {
			var states []State
			for _, bp := range pops {
				if bp.closed {
					continue
				}
				x := Zeros(g, shapes.Make(dtype, batch, bp.node.Size))
				if bp.extCur != nil {
					x = Slice(bp.extCur, AxisRange(t*batch, (t+1)*batch))
				}
				if len(bp.inner) > 0 {
					x = Add(x, Dot(lp.inputs(bp.inner, outs, t), bp.wIn))
				}
				st := bp.state.(LIFState)
				v1, i := lifIntegrate(st, x, bp.lif)
				s := bp.lif.Surrogate.value(AddScalar(v1, -bp.lif.Threshold))
				bp.state = LIFState{V: lifReset(v1, s, bp.lif), I: i, S: s}
				bp.v1[t], bp.s[t], bp.outs[t] = v1, s, s
				states = append(states, bp.state)
			}
			if len(states) > 0 && bpttBarrierEvery > 0 && t+1 < steps {
				for _, bp := range pops {
					if st, ok := bp.state.(LIFState); ok {
						st.V, st.I = pairSumBarrier(st.V, st.I)
						bp.state = st
					}
				}
			}
		}
		for _, bp := range pops {
			if !bp.closed {
				bp.tm = Concatenate(bp.outs, 0)
			}
		}
	}

	// The values: every population's outputs, time-major, in Lower's order.
	values := make([]*Node, len(order))
	for k, p := range order {
		lp.index[p.node.Name] = k
		values[k] = byName[p.node.Name].tm
	}
	if len(weights) > 0 {
		values = snngraph.CustomVJPs(values, weights, lp.backward)
	}
	traces, timeMajors = map[string]*Node{}, map[string]*Node{}
	for k, p := range order {
		timeMajors[p.node.Name] = Reshape(values[k], steps, batch, p.node.Size)
		traces[p.node.Name] = TransposeAllAxes(timeMajors[p.node.Name], 1, 0, 2)
	}
	return traces, timeMajors
}

// bpttBarrierEvery is how often (in steps) the cotangents of lowerBPTT's
// backward pass go through a fusion barrier on XLA (see barrierEvery):
// graph.Barrier, a product with the identity. The forward loop's states go
// through graph.SumBarrier at every step instead. $GOSNN_BPTT_BARRIER
// overrides it (0: no barrier in either loop). Every second step: XLA then fuses
// two steps' element-wise work into one kernel, and a barrier's product
// and its kernels cost more than recomputing one step. A training step of
// jaxsnn_yinyang_discrete on xla:cpu, the variants built in one process
// and timed interleaved (150 calls each, 2-core machine, 2026-12-03),
// median (minimum), with products in both loops: every step 14.1-14.9 ms
// (11.5-12.1), every 2 11.3-11.7 (8.6-8.8), every 3 12.5 (10.0); compile
// +0.3 s. The barriers' two states as separate products ([batch, n]
// each, no stacking) were slower (13.3 ms), and so was splitting the
// batch into two independent chains of steps, which XLA's CPU runtime may
// run side by side (11.8-12.8 ms). Later, with the forward loop's sums at
// every step: products every 2 steps in the backward loop 9.2 ms, every
// step 11.7; sums every step 10.9, every 2 10.3.
var bpttBarrierEvery = func() int {
	if v, err := strconv.Atoi(os.Getenv("GOSNN_BPTT_BARRIER")); err == nil {
		return v
	}
	return 2
}()

// pairBarrier passes a and b [batch, n] through one fusion barrier
// (graph.Barrier), stacked as [2, batch, n]: reading them back is then a
// view of whole blocks, where side by side ([batch, 2n]) each became a
// copy, and the stack fuses into its producers, where a concatenation was
// an XLA kernel of its own.
func pairBarrier(a, b *Node) (*Node, *Node) {
	batch, n := a.Shape().Dim(0), a.Shape().Dim(1)
	pair := snngraph.Barrier(Reshape(Stack([]*Node{a, b}, 0), 2*batch, n))[0]
	return Slice(pair, AxisRange(0, batch)), Slice(pair, AxisRange(batch, 2*batch))
}

// pairSumBarrier passes a and b [batch, n] through one graph.SumBarrier,
// stacked as [2, batch, n].
func pairSumBarrier(a, b *Node) (*Node, *Node) {
	batch, n := a.Shape().Dim(0), a.Shape().Dim(1)
	pair := snngraph.SumBarrier(Stack([]*Node{a, b}, 0))
	return Reshape(Slice(pair, AxisRange(0, 1)), batch, n), Reshape(Slice(pair, AxisRange(1, 2)), batch, n)
}

// liOverTime is LIStep over all steps at once (zero initial state, fixed
// decays α = d.Mem, β = d.Syn), for the input currents x [steps·batch, n]
// time-major: the currents j = Kβ x and the membrane v = (1 - α) Kα (j +
// v_leak), with the causal kernels K_a[t, s] = a^(t-s) for s <= t, as two
// products over the time axis. With transpose it is the backward pass
// instead: x̄ = Kβᵀ (1 - α) Kαᵀ v̄ for the membrane's cotangent v̄ (leak 0).
func liOverTime(x *Node, d Decays, leak float64, steps int, transpose bool) *Node {
	rows, n := x.Shape().Dim(0), x.Shape().Dim(1)
	kernel := func(a float64) *Node {
		k := make([]float64, steps*steps)
		for t := range steps {
			for s := 0; s <= t; s++ {
				if transpose {
					k[s*steps+t] = math.Pow(a, float64(t-s))
				} else {
					k[t*steps+s] = math.Pow(a, float64(t-s))
				}
			}
		}
		return ConvertDType(Const(x.Graph(), tensors.FromFlatDataAndDimensions(k, steps, steps)), x.DType())
	}
	x = Reshape(x, steps, rows/steps*n)
	if transpose {
		a := MulScalar(Dot(kernel(d.Mem), x), 1-d.Mem)
		return Reshape(Dot(kernel(d.Syn), a), rows, n)
	}
	j := Dot(kernel(d.Syn), x)
	return Reshape(MulScalar(Dot(kernel(d.Mem), AddScalar(j, leak)), 1-d.Mem), rows, n)
}

// inputs are the entries' sources at step t side by side: of step t, or
// of step t-1 (zeros at the first) for a previous-step source.
func (lp *bpttLoop) inputs(entries []bpttEntry, outs map[string][]*Node, t int) *Node {
	parts := make([]*Node, len(entries))
	for k, e := range entries {
		switch {
		case !e.prev:
			parts[k] = outs[e.source][t]
		case t > 0:
			parts[k] = outs[e.source][t-1]
		default:
			parts[k] = Zeros(lp.g, shapes.Make(lp.dtype, lp.batch, lp.size(e.source)))
		}
	}
	return concatOrOne(parts, 1)
}

// backward is the custom gradient: the cotangents of the populations'
// outputs over time in, the cotangents of the projections' weights out.
func (lp *bpttLoop) backward(cots []*Node) []*Node {
	steps := lp.steps
	// cotAll: each population's output cotangent [steps·batch, size], from
	// the outputs and, once their layers are done, from later layers.
	cotAll := map[string]*Node{}
	for _, pops := range lp.layers {
		for _, bp := range pops {
			cotAll[bp.node.Name] = cots[lp.index[bp.node.Name]]
		}
	}
	stackedGrad := map[*bpttPop]*Node{}
	for l := len(lp.layers) - 1; l >= 0; l-- {
		pops := lp.layers[l]
		cx := map[*bpttPop]*Node{} // cotangents of the currents, all steps
		var stepped []*bpttPop
		for _, bp := range pops {
			if bp.closed {
				cx[bp] = liOverTime(cotAll[bp.node.Name], bp.decays, 0, steps, true)
			} else {
				stepped = append(stepped, bp)
			}
		}
		if len(stepped) > 0 {
			lp.backwardSteps(stepped, cotAll, cx)
		}
		for _, bp := range pops {
			if bp.wExt == nil && bp.wIn == nil {
				continue
			}
			c := cx[bp]
			var dExt, dIn *Node
			if bp.wExt != nil {
				dExt = Dot(Transpose(bp.xe, 0, 1), c)
				ce := dotTransposed(c, bp.wExt)
				col := 0
				for _, e := range bp.ext {
					if !e.data {
						cotAll[e.source] = Add(cotAll[e.source], Slice(ce, AxisRange(), AxisRange(col, col+e.end-e.start)))
					}
					col += e.end - e.start
				}
			}
			if bp.wIn != nil {
				dIn = lp.innerGrad(bp.inner, c)
			}
			stackedGrad[bp] = stackRows(bp, dExt, dIn)
		}
	}
	grads := make([]*Node, len(lp.weights))
	for k, w := range lp.weights {
		grads[k] = Slice(stackedGrad[w.pop], AxisRange(w.start, w.end))
	}
	return grads
}

// backwardSteps runs the backward pass of a layer's step-by-step
// populations from the last step to the first, setting cx to the
// cotangents of their currents at all steps [steps·batch, size].
func (lp *bpttLoop) backwardSteps(pops []*bpttPop, cotAll map[string]*Node, cx map[*bpttPop]*Node) {
	batch, steps := lp.batch, lp.steps
	gv, gi := map[*bpttPop]*Node{}, map[*bpttPop]*Node{}
	perStep := map[*bpttPop][]*Node{}
	// pending[name][t]: cotangents of a population's output at step t from
	// its consumers inside the layer.
	pending := map[string][][]*Node{}
	for _, bp := range pops {
		zero := Zeros(lp.g, shapes.Make(lp.dtype, batch, bp.node.Size))
		gv[bp], gi[bp] = zero, zero
		perStep[bp] = make([]*Node, steps)
		pending[bp.node.Name] = make([][]*Node, steps)
	}
	for t := steps - 1; t >= 0; t-- {
		for k := len(pops) - 1; k >= 0; k-- {
			bp := pops[k]
			gout := Slice(cotAll[bp.node.Name], AxisRange(t*batch, (t+1)*batch))
			for _, c := range pending[bp.node.Name][t] {
				gout = Add(gout, c)
			}
			var gx *Node
			gv[bp], gi[bp], gx = lifBackward(bp.lif, gv[bp], gi[bp], gout, bp.v1[t], bp.s[t])
			perStep[bp][t] = gx
			if len(bp.inner) == 0 {
				continue
			}
			gin := Dot(gx, Transpose(bp.wIn, 0, 1))
			col := 0
			for _, e := range bp.inner {
				piece := Slice(gin, AxisRange(), AxisRange(col, col+e.end-e.start))
				col += e.end - e.start
				switch {
				case !e.prev:
					pending[e.source][t] = append(pending[e.source][t], piece)
				case t > 0:
					pending[e.source][t-1] = append(pending[e.source][t-1], piece)
				}
			}
		}
		if bpttBarrierEvery > 0 && t%bpttBarrierEvery == 0 && t > 0 {
			for _, bp := range pops {
				gv[bp], gi[bp] = pairBarrier(gv[bp], gi[bp])
			}
		}
	}
	for _, bp := range pops {
		cx[bp] = Concatenate(perStep[bp], 0)
	}
}

// narrowContraction is the largest contracted size for which
// dotTransposed sums outer products instead of multiplying matrices.
const narrowContraction = 8

// dotTransposed is c·wᵀ for c [rows, k] and w [n, k]. Over a narrow k (a
// read-out of a few neurons sending its cotangents back to its sources)
// it is the sum of k outer products, element-wise work that XLA fuses
// into the consumers: as a product, XLA's CPU backend ran it as a scalar
// loop over k, 15 % of the compiled kernels' time in a training step of
// jaxsnn_yinyang_discrete ([3840, 3]·[3, 120]; perf, kernels named with
// gdb).
func dotTransposed(c, w *Node) *Node {
	k := c.Shape().Dim(1)
	if k > narrowContraction {
		return Dot(c, Transpose(w, 0, 1))
	}
	var sum *Node
	for j := range k {
		term := Mul(Slice(c, AxisRange(), AxisRange(j, j+1)), Transpose(Slice(w, AxisRange(), AxisRange(j, j+1)), 0, 1))
		if sum == nil {
			sum = term
		} else {
			sum = Add(sum, term)
		}
	}
	return sum
}

// innerGrad is the gradient of the inner entries' rows of the stacked
// weights, for the cotangents c [steps·batch, size] of the currents: per
// entry Xᵀ·C, X its source's outputs over time, of the previous step for
// a previous-step source (whose first step has no input, so both sides
// lose one step). Read in place from the sources' outputs over time, where
// the inputs of every step side by side were a copy as large as the
// population's whole trace.
func (lp *bpttLoop) innerGrad(entries []bpttEntry, c *Node) *Node {
	rows := lp.batch * (lp.steps - 1)
	parts := make([]*Node, len(entries))
	for k, e := range entries {
		x, ce := lp.pops[e.source].tm, c
		if e.prev && lp.steps == 1 {
			parts[k] = Zeros(lp.g, shapes.Make(lp.dtype, e.end-e.start, c.Shape().Dim(1)))
			continue
		}
		if e.prev {
			x, ce = Slice(x, AxisRange(0, rows)), Slice(c, AxisRange(lp.batch, lp.batch+rows))
		}
		parts[k] = Dot(Transpose(x, 0, 1), ce)
	}
	return concatOrOne(parts, 0)
}

// stackRows puts the gradients of the external and inner entries' rows
// back into the rows of the stacked weights.
func stackRows(bp *bpttPop, dExt, dIn *Node) *Node {
	type piece struct {
		start int
		node  *Node
	}
	var pieces []piece
	for _, part := range []struct {
		entries []bpttEntry
		d       *Node
	}{{bp.ext, dExt}, {bp.inner, dIn}} {
		row := 0
		for _, e := range part.entries {
			pieces = append(pieces, piece{e.start, Slice(part.d, AxisRange(row, row+e.end-e.start))})
			row += e.end - e.start
		}
	}
	slices.SortFunc(pieces, func(a, b piece) int { return a.start - b.start })
	nodes := make([]*Node, len(pieces))
	for k, p := range pieces {
		nodes[k] = p.node
	}
	return concatOrOne(nodes, 0)
}

// entryRows are the entries' rows of w side by side (nil: no entries).
func entryRows(w *Node, entries []bpttEntry) *Node {
	if len(entries) == 0 {
		return nil
	}
	parts := make([]*Node, len(entries))
	for k, e := range entries {
		parts[k] = Slice(w, AxisRange(e.start, e.end))
	}
	return concatOrOne(parts, 0)
}

// lifBackward is the backward pass of one LIF step (see the top of this
// file): the cotangents of the old state and of the input current.
func lifBackward(p LIFParams, gv, gi, gs, v1, s *Node) (gvOld, giOld, gx *Node) {
	var gv1, gr *Node
	switch p.ResetMode {
	case ResetZero:
		gv1 = Mul(gv, OneMinus(s))
		gr = Mul(gv, AddScalar(Neg(v1), p.Reset))
	default:
		gv1 = gv
		gr = MulScalar(gv, p.Reset-p.Threshold)
	}
	if !p.DetachReset {
		gs = Add(gs, gr)
	}
	gv1 = Add(gv1, Mul(gs, p.Surrogate.Derivative(AddScalar(v1, -p.Threshold))))
	return Mul(p.MemDecay, gv1), Add(Mul(OneMinus(p.MemDecay), gv1), Mul(p.SynDecay, gi)), gi
}

// concatOrOne concatenates nodes along axis (one node: itself).
func concatOrOne(nodes []*Node, axis int) *Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return Concatenate(nodes, axis)
}
