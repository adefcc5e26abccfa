package graph

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// CustomVJP returns value unchanged, differentiable with respect to inputs
// through vjp: given the cotangent of the result (value's shape), vjp
// returns the cotangent of every input (each of its input's shape). value's
// own graph gets no gradient (it is wrapped in StopGradient), and vjp is
// only called when a gradient is built, so a forward-only graph does none of
// its work. All nodes must share one float dtype.
//
// GoMLX's only public custom-gradient hook, IdentityWithCustomGradient, has
// one input. So the inputs are flattened into the rows of one matrix whose
// last row is a zero "carrier" of value's size (reference/GOMLX.md, the
// carrier trick): the hook on the matrix reads the cotangent of the carrier
// and hands back vjp's results in the input rows, and value + (carrier -
// StopGradient(carrier)) connects the result to it. The carrier is picked
// out with Where and ReduceSum, not Slice, because the pure-Go backend
// cannot differentiate Slice (its gradient needs Pad); Where also keeps the
// inputs' infinities away from the sum.
func CustomVJP(value *Node, inputs []*Node, vjp func(cotangent *Node) []*Node) *Node {
	g := value.Graph()
	dtype := value.DType()
	if !dtype.IsFloat() {
		panic(fmt.Errorf("CustomVJP: value must be of a float dtype, got %s", value.Shape()))
	}
	n := value.Shape().Size()
	flat := make([]*Node, 0, len(inputs)+2)
	size := 0
	for i, x := range inputs {
		if x.DType() != dtype {
			panic(fmt.Errorf("CustomVJP: input %d is %s, want dtype %s like value", i, x.Shape(), dtype))
		}
		flat = append(flat, Reshape(x, x.Shape().Size()))
		size += x.Shape().Size()
	}
	if OnXLA(g) {
		return customVJPBySlice(value, inputs, flat, size, vjp)
	}
	rows := (size + n - 1) / n
	if pad := rows*n - size; pad > 0 {
		flat = append(flat, Zeros(g, shapes.Make(dtype, pad)))
	}
	flat = append(flat, Zeros(g, shapes.Make(dtype, n)))
	isCarrier := make([]bool, (rows+1)*n)
	for k := rows * n; k < len(isCarrier); k++ {
		isCarrier[k] = true
	}
	mask := Reshape(Const(g, isCarrier), rows+1, n)
	packed := IdentityWithCustomGradient(Reshape(Concatenate(flat, 0), rows+1, n), func(_, v *Node) *Node {
		// Only the carrier row was used: v is zero elsewhere.
		cotangent := Reshape(ReduceSum(Where(mask, v, ZerosLike(v)), 0), value.Shape().Dimensions...)
		grads := vjp(cotangent)
		out := flatGrads(grads, inputs)
		out = append(out, Zeros(g, shapes.Make(dtype, (rows+1)*n-size)))
		return Reshape(Concatenate(out, 0), rows+1, n)
	})
	carrier := Reshape(ReduceSum(Where(mask, packed, ZerosLike(packed)), 0), value.Shape().Dimensions...)
	return Add(StopGradient(value), Sub(carrier, StopGradient(carrier)))
}

// customVJPBySlice is CustomVJP's carrier trick for backends that
// differentiate Slice (XLA): the inputs flattened, then the carrier, in one
// vector, the carrier read back by Slice. XLA folds the forward's carrier
// away (a slice of zeros), where the rows picked out by Where and
// ReduceSum were passes over [2, value's size] in the forward and in the
// backward pass: with the discrete Yin-Yang network's traces (472320
// values per batch) those kernels took about a third of the CPU time of a
// training step on xla:cpu (`perf record` on `gosnn bench --compile`, the
// JIT kernels named with gdb's `x/i`).
func customVJPBySlice(value *Node, inputs, flat []*Node, size int, vjp func(cotangent *Node) []*Node) *Node {
	g, dtype := value.Graph(), value.DType()
	n := value.Shape().Size()
	flat = append(flat, Zeros(g, shapes.Make(dtype, n)))
	packed := IdentityWithCustomGradient(Concatenate(flat, 0), func(_, v *Node) *Node {
		grads := vjp(Reshape(Slice(v, AxisRange(size, size+n)), value.Shape().Dimensions...))
		out := flatGrads(grads, inputs)
		out = append(out, Zeros(g, shapes.Make(dtype, n)))
		return Concatenate(out, 0)
	})
	carrier := Reshape(Slice(packed, AxisRange(size, size+n)), value.Shape().Dimensions...)
	return Add(StopGradient(value), Sub(carrier, StopGradient(carrier)))
}

// flatGrads checks vjp's cotangents against the inputs and flattens them.
func flatGrads(grads, inputs []*Node) []*Node {
	if len(grads) != len(inputs) {
		panic(fmt.Errorf("CustomVJP: vjp returned %d cotangents for %d inputs", len(grads), len(inputs)))
	}
	out := make([]*Node, 0, len(grads)+1)
	for i, gr := range grads {
		if !gr.Shape().Equal(inputs[i].Shape()) {
			panic(fmt.Errorf("CustomVJP: cotangent %d is %s, want input's shape %s", i, gr.Shape(), inputs[i].Shape()))
		}
		out = append(out, Reshape(gr, gr.Shape().Size()))
	}
	return out
}
