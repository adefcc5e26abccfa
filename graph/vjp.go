package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
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
		// A carrier of the value's own: see CustomVJPs.
		return CustomVJPs([]*Node{value}, inputs, func(cots []*Node) []*Node { return vjp(cots[0]) })[0]
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

// CustomVJPs is CustomVJP for several values at once: it returns the
// values unchanged, differentiable with respect to inputs through vjp,
// which gets the cotangents of all values (each of its value's shape; a
// value the differentiated result does not depend on gets zeros) and
// returns the cotangents of the inputs. All nodes must share one float
// dtype.
//
// On XLA each value gets a carrier of its own, a custom-gradient identity
// that records its cotangent, and the inputs' identity, an ancestor of
// every carrier, calls vjp once all are recorded (reverse mode reaches a
// node only after all its consumers). So neither the values nor their
// cotangents are ever copied into one vector, and XLA folds the zero
// carriers away. With the discrete Yin-Yang network's traces (472320 values
// per batch), CustomVJP's carrier row picked out by Where and ReduceSum
// (passes over [2, 472320] forward and backward), then the flat vector of
// the values and its padded cotangent, were about a third of the compiled
// kernels' time of a training step on xla:cpu (`perf record` on `gosnn
// bench --compile`, the JIT kernels named with gdb's `x/i`). Elsewhere the
// values are concatenated and go through CustomVJP.
func CustomVJPs(values, inputs []*Node, vjp func(cotangents []*Node) []*Node) []*Node {
	if len(values) == 0 {
		panic(fmt.Errorf("CustomVJPs: no values"))
	}
	g, dtype := values[0].Graph(), values[0].DType()
	for i, v := range values {
		if v.DType() != dtype {
			panic(fmt.Errorf("CustomVJPs: value %d is %s, want dtype %s like value 0", i, v.Shape(), dtype))
		}
	}
	for i, x := range inputs {
		if x.DType() != dtype {
			panic(fmt.Errorf("CustomVJPs: input %d is %s, want dtype %s like the values", i, x.Shape(), dtype))
		}
	}
	if !OnXLA(g) {
		// starts[i] is value i's offset in the concatenation.
		starts := make([]int, len(values)+1)
		parts := make([]*Node, len(values))
		for i, v := range values {
			parts[i] = Reshape(v, v.Shape().Size())
			starts[i+1] = starts[i] + v.Shape().Size()
		}
		all := CustomVJP(Concatenate(parts, 0), inputs, func(cot *Node) []*Node {
			cots := make([]*Node, len(values))
			for i, v := range values {
				cots[i] = Reshape(Slice(cot, AxisRange(starts[i], starts[i+1])), v.Shape().Dimensions...)
			}
			return vjp(cots)
		})
		out := make([]*Node, len(values))
		for i, v := range values {
			out[i] = Reshape(TakeFlat(all, starts[i], starts[i+1]), v.Shape().Dimensions...)
		}
		return out
	}
	flat := make([]*Node, len(inputs))
	for i, x := range inputs {
		flat[i] = Reshape(x, x.Shape().Size())
	}
	recorded := make([]*Node, len(values))
	packed := IdentityWithCustomGradient(Concatenate(flat, 0), func(_, _ *Node) *Node {
		cots := make([]*Node, len(values))
		for i, v := range values {
			cots[i] = recorded[i]
			if cots[i] == nil {
				cots[i] = ZerosLike(v)
			}
		}
		return Concatenate(flatGrads(vjp(cots), inputs), 0)
	})
	// anchor ties every carrier to packed with the value 0, whatever the
	// inputs hold (a product with 0 would turn an infinite input into NaN);
	// XLA folds it away.
	anchor := Slice(packed, AxisRange(0, 1))
	out := make([]*Node, len(values))
	for i, v := range values {
		shape := v.Shape()
		always := Const(g, true)
		if !shape.IsScalar() {
			always = GreaterOrEqual(Iota(g, shapes.Make(dtypes.Int32, shape.Dimensions...), 0), Const(g, int32(0)))
		}
		zero := Where(always, ZerosLike(v), BroadcastToDims(Reshape(anchor), shape.Dimensions...))
		carrier := IdentityWithCustomGradient(zero, func(_, cot *Node) *Node {
			recorded[i] = cot
			return ZerosLike(cot)
		})
		out[i] = Add(StopGradient(v), Sub(carrier, StopGradient(carrier)))
	}
	return out
}
