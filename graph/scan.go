package graph

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// PrefixSum is the inclusive cumulative sum of x along axis: out[.., k, ..]
// = Σ_{r <= k} x[.., r, ..]. It takes ceil(log2(n)) rounds of "add the
// copy shifted by 2^s" (Hillis & Steele 1986, "Data parallel algorithms"):
// O(n log n) work instead of the O(n²) window sum that GoMLX's CumSum
// becomes on the pure-Go backend. Differentiable (shifts are Slice and
// Concatenate with zeros).
func PrefixSum(x *Node, axis int) *Node {
	if axis < 0 {
		axis += x.Rank()
	}
	if axis < 0 || axis >= x.Rank() {
		panic(fmt.Errorf("PrefixSum: axis out of range for %s", x.Shape()))
	}
	n := x.Shape().Dim(axis)
	for by := 1; by < n; by *= 2 {
		x = Add(x, shiftForward(x, axis, by))
	}
	return x
}

// shiftForward moves x by `by` positions towards higher indices along axis,
// filling with zeros.
func shiftForward(x *Node, axis, by int) *Node {
	n := x.Shape().Dim(axis)
	ranges := make([]SliceAxisSpec, x.Rank())
	for k := range ranges {
		ranges[k] = AxisRange()
	}
	ranges[axis] = AxisRange(0, n-by)
	pad := x.Shape().Clone()
	pad.Dimensions[axis] = by
	return Concatenate([]*Node{Zeros(x.Graph(), pad), Slice(x, ranges...)}, axis)
}
