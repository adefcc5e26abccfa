package graph

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// SortRows sorts each row of x [rows, n] in ascending order, with a
// bitonic sorting network (Batcher 1968, "Sorting networks and their
// applications"): GoMLX has no sort op, and the network's compare-and-swap
// stages are a fixed sequence of element-wise ops, log2(m)(log2(m)+1)/2
// stages for m = n rounded up to a power of two. It returns the sorted rows
// and, for each sorted position, the column it came from (int32). Equal
// values keep their column order (the sort is stable). NaN is not allowed. Not
// differentiable: use the returned indices to gather what needs gradients.
func SortRows(x *Node) (sorted, index *Node) {
	if x.Rank() != 2 {
		panic(fmt.Errorf("SortRows: x must be [rows, n], got %s", x.Shape()))
	}
	g := x.Graph()
	rows, n := x.Shape().Dim(0), x.Shape().Dim(1)
	m := 1
	for m < n {
		m *= 2
	}
	keys := StopGradient(x)
	index = BroadcastToDims(InsertAxes(Iota(g, shapes.Make(dtypes.Int32, n), 0), 0), rows, n)
	if m > n {
		keys = Concatenate([]*Node{keys, BroadcastToDims(Infinity(g, x.DType(), 1), rows, m-n)}, 1)
		index = Concatenate([]*Node{index, BroadcastToDims(Const(g, int32(n)), rows, m-n)}, 1)
	}
	for k := 2; k <= m; k *= 2 {
		for j := k / 2; j >= 1; j /= 2 {
			// Pairs (i, i+j) inside blocks of 2j; a block sorts ascending
			// when its start has bit k clear.
			blocks := m / (2 * j)
			ascending := make([]bool, blocks)
			for q := range ascending {
				ascending[q] = (q*2*j)&k == 0
			}
			asc := BroadcastToDims(Reshape(Const(g, ascending), 1, blocks, 1), rows, blocks, j)
			split := func(v *Node) (*Node, *Node) {
				v = Reshape(v, rows, blocks, 2, j)
				return Reshape(Slice(v, AxisRange(), AxisRange(), AxisElem(0), AxisRange()), rows, blocks, j),
					Reshape(Slice(v, AxisRange(), AxisRange(), AxisElem(1), AxisRange()), rows, blocks, j)
			}
			join := func(a, b *Node) *Node {
				return Reshape(Concatenate([]*Node{InsertAxes(a, 2), InsertAxes(b, 2)}, 2), rows, m)
			}
			ka, kb := split(keys)
			ia, ib := split(index)
			// Order by (value, column): ties keep their column order, and
			// the padding (column n) goes after real +Inf entries.
			aAfter := LogicalOr(GreaterThan(ka, kb), LogicalAnd(Equal(ka, kb), GreaterThan(ia, ib)))
			swap := Where(asc, aAfter, LogicalNot(aAfter))
			keys = join(Where(swap, kb, ka), Where(swap, ka, kb))
			index = join(Where(swap, ib, ia), Where(swap, ia, ib))
		}
	}
	if m > n {
		keys = Slice(keys, AxisRange(), AxisRange(0, n))
		index = Slice(index, AxisRange(), AxisRange(0, n))
	}
	return keys, index
}
