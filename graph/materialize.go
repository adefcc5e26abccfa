package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Materialize returns the nodes unchanged in value, each computed once into
// its own buffer on the XLA backend. All must be [batch, n] and of one
// float dtype, and finite (they pass through a product with the identity,
// where 0·Inf would give NaN). Gradients pass through unchanged.
//
// Why: XLA fuses chains of cheap element-wise ops (select, compare, add)
// into each consumer and recomputes them there. An unrolled event loop
// leaves its outputs at the end of such a chain, one link per step, so a
// consumer that broadcasts them to [batch, n, n] re-runs the whole loop
// chain per element: O(n³) instead of O(n²) work (the recurrent EventProp
// layer at n = 123 took 2.2 s instead of 0.1 s per batch). XLA does not fuse
// element-wise producers into a dot, so a product with the identity is a
// fusion barrier; GoMLX v0.26 exposes no OptimizationBarrier. Other backends
// (the pure-Go one) do not fuse and get the nodes back as they are.
func Materialize(nodes ...*Node) []*Node {
	return materialize(nodes, true)
}

// Barrier is Materialize for values only: no gradient passes through its
// results (they are not differentiable), and it adds none of
// Materialize's gradient plumbing to the forward pass. For graphs that
// build their own backward pass (discrete.Lower's BPTT).
func Barrier(nodes ...*Node) []*Node {
	return materialize(nodes, false)
}

func materialize(nodes []*Node, differentiable bool) []*Node {
	if len(nodes) == 0 {
		return nil
	}
	g := nodes[0].Graph()
	dtype := nodes[0].DType()
	batch := nodes[0].Shape().Dim(0)
	widths := make([]int, len(nodes))
	total := 0
	for i, x := range nodes {
		if x.Rank() != 2 || x.Shape().Dim(0) != batch || x.DType() != dtype || !dtype.IsFloat() {
			panic(fmt.Sprintf("graph.Materialize/Barrier: node %d is %s, want [%d, n] of float dtype %s", i, x.Shape(), batch, dtype))
		}
		widths[i] = x.Shape().Dim(1)
		total += widths[i]
	}
	if !OnXLA(g) {
		return nodes
	}
	all := nodes[0]
	if len(nodes) > 1 {
		all = Concatenate(nodes, 1)
	}
	// The gradient passes straight through (the product is the identity):
	// GoMLX would differentiate the product by broadcasting to [batch,
	// total, total], which for the discrete Yin-Yang network's states (246
	// values, a barrier every 10 of 60 steps) made a training step 1.6x
	// slower (33 against 20 ms on xla:cpu, `gosnn bench --compile --configs
	// jaxsnn_yinyang_discrete`).
	product := identityProduct(StopGradient(all))
	if differentiable {
		all = CustomVJP(product, []*Node{all}, func(v *Node) []*Node { return []*Node{v} })
	} else {
		all = product
	}
	out := make([]*Node, len(nodes))
	start := 0
	for i, w := range widths {
		out[i] = Slice(all, AxisRange(), AxisRange(start, start+w))
		start += w
	}
	return out
}

// SumBarrier returns x unchanged in value, computed once into its own
// buffer on the XLA backend: it is x + 0, summed over a new axis of size 2
// whose second entry is zero. XLA's CPU compiler turns that into a
// pad-and-reduce loop kernel whose result its consumers read, instead of
// fusing x's element-wise producers into each of them. Unlike Barrier it
// needs no product with the identity, no concatenation of its inputs and
// no copies of their slices: one kernel instead of three. x may have any
// shape; -0 becomes +0, and subnormals flush to zero as in XLA's other
// CPU kernels. No gradient passes through, on any backend (for graphs that
// build their own backward pass); other backends get x back otherwise as
// it is.
//
// The forward loop of discrete.Lower's hand-written BPTT passes its states
// through it at every step: a training step of jaxsnn_yinyang_discrete on
// xla:cpu took 8.7 ms against 9.8 ms with Barrier every second step
// (interleaved in one process, 150 calls each, medians; 2-core machine,
// 2026-12-03). Its backward loop stays with Barrier: there the sum was
// slower (10.3 against 9.2 ms).
func SumBarrier(x *Node) *Node {
	x = StopGradient(x)
	if !OnXLA(x.Graph()) {
		return x
	}
	x = InsertAxes(x, 0)
	return ReduceSum(Concatenate([]*Node{x, ZerosLike(x)}, 0), 0)
}

// barrierWidth is the width k of the identity in identityProduct. A
// product with the whole width n, [batch, n]·[n, n], cost as much as a step
// of the network it isolates; with k = 8 a barrier every step made the
// discrete Yin-Yang network's training step 1.9x faster (lowerBPTT), and
// left the EventProp layers' steps as they were or faster (`gosnn bench
// --compile`, xla:cpu).
const barrierWidth = 8

// identityProduct returns x [batch, n] as a matrix product with an
// identity: its rows of k values times the k×k identity, 2k multiply-adds
// per value. (A very tall product is slow on XLA's CPU runtime: 35 ms for
// [736, 7380] at k = 8, so barriers are for states, not whole traces.)
func identityProduct(x *Node) *Node {
	g, dtype := x.Graph(), x.DType()
	batch, n := x.Shape().Dim(0), x.Shape().Dim(1)
	k := min(barrierWidth, n)
	for (batch*n)%k != 0 {
		k--
	}
	eye := ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, k, k), 0), Iota(g, shapes.Make(dtypes.Int32, k, k), 1)), dtype)
	return Reshape(Dot(Reshape(x, batch*n/k, k), eye), batch, n)
}
