package graph

import . "github.com/gomlx/gomlx/pkg/core/graph"

// PrefixSum returns the inclusive running sum of x along axis, by the
// log-step scan of Hillis & Steele (1986): log2(n) shifted additions, where
// GoMLX's CumSum on the pure-Go backend costs O(n²). Not meant for tensors
// that need gradients (it slices). The discrete package ranks active spikes
// with it.
func PrefixSum(x *Node, axis int) *Node {
	axis = AdjustAxisToOperandRank(x, axis)
	n := x.Shape().Dim(axis)
	for d := 1; d < n; d *= 2 {
		zerosShape := x.Shape().Clone()
		zerosShape.Dimensions[axis] = d
		ranges := make([]SliceAxisSpec, x.Rank())
		for i := range ranges {
			ranges[i] = AxisRange()
		}
		ranges[axis] = AxisRange(0, n-d)
		shifted := Concatenate([]*Node{Zeros(x.Graph(), zerosShape), Slice(x, ranges...)}, axis)
		x = Add(x, shifted)
	}
	return x
}
