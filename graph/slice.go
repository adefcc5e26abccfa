package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TakeFlat returns x[start:end] of a rank-1 x, differentiable on every
// backend: by Slice on XLA (which differentiates it by Pad, and a slice is
// cheaper than a gather there), by Gather on the pure-Go backend (which
// cannot differentiate Slice). For reading parts back out of a flattened
// value that carries a custom gradient.
func TakeFlat(x *Node, start, end int) *Node {
	if x.Rank() != 1 || start < 0 || end < start || end > x.Shape().Dim(0) {
		panic(fmt.Errorf("graph.TakeFlat: [%d:%d] of %s", start, end, x.Shape()))
	}
	if OnXLA(x.Graph()) {
		return Slice(x, AxisRange(start, end))
	}
	idx := AddScalar(Iota(x.Graph(), shapes.Make(dtypes.Int32, end-start, 1), 0), float64(start))
	return Gather(x, idx, true)
}
