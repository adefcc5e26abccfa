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
//
// Off XLA (the pure-Go backend runs every op apart), float32 rows of fewer
// than 1024 columns are sorted as packed float64 keys instead
// (sortRowsPacked): the same results (-0 comes back as +0) from a network
// of three ops per stage, 2.5x faster for [64, 100].
func SortRows(x *Node) (sorted, index *Node) {
	if x.Rank() != 2 {
		panic(fmt.Errorf("SortRows: x must be [rows, n], got %s", x.Shape()))
	}
	if x.DType() == dtypes.Float32 && x.Shape().Dim(1) < sortRowsPackedMaxColumns && !OnXLA(x.Graph()) {
		return sortRowsPacked(x)
	}
	return sortRowsBitonic(x)
}

// sortRowsBitonic is SortRows by a bitonic network on the rows as they are.
func sortRowsBitonic(x *Node) (sorted, index *Node) {
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

// SortColumnValues returns x [n, cols] with each column sorted in ascending
// order: values only, without the permutation (see CountLess for where each
// value went). NaN is not allowed.
//
// It is a bitonic network like SortRows', arranged for the pure-Go backend:
// columns put the two halves of every compare-and-swap stage in contiguous
// memory, each stage is one ReduceMin and one ReduceMax over the pair axis,
// and the blocks that a merge level sorts in descending order are negated
// for that level instead of being selected with Where (a descending sort of
// x is an ascending sort of -x). Three ops per stage instead of SortRows'
// twenty.
func SortColumnValues(x *Node) *Node {
	if x.Rank() != 2 {
		panic(fmt.Errorf("SortColumnValues: x must be [n, cols], got %s", x.Shape()))
	}
	g := x.Graph()
	n, cols := x.Shape().Dim(0), x.Shape().Dim(1)
	dtype := x.DType()
	m := 1
	for m < n {
		m *= 2
	}
	keys := StopGradient(x)
	if m > n {
		keys = Concatenate([]*Node{keys, BroadcastToDims(Infinity(g, dtype, 1), m-n, cols)}, 0)
	}
	// sign(k) is -1 on the rows whose block of merge level k sorts
	// descending; switching from level k to 2k multiplies by both.
	sign := func(k int) []float64 {
		s := make([]float64, m)
		for p := range s {
			s[p] = 1
			if k < m && p&k != 0 {
				s[p] = -1
			}
		}
		return s
	}
	flip := func(s []float64) {
		full := make([]float64, m*cols)
		for p, v := range s {
			for c := range cols {
				full[p*cols+c] = v
			}
		}
		keys = Mul(keys, ConvertDType(Reshape(Const(g, full), m, cols), dtype))
	}
	prev := make([]float64, m)
	for p := range prev {
		prev[p] = 1
	}
	for k := 2; k <= m; k *= 2 {
		cur := sign(k)
		change := make([]float64, m)
		needed := false
		for p := range change {
			change[p] = prev[p] * cur[p]
			needed = needed || change[p] < 0
		}
		if needed {
			flip(change)
		}
		prev = cur
		for j := k / 2; j >= 1; j /= 2 {
			pairs := Reshape(keys, m/(2*j), 2, j*cols)
			lo, hi := ReduceMin(pairs, 1), ReduceMax(pairs, 1)
			keys = Reshape(Concatenate([]*Node{InsertAxes(lo, 1), InsertAxes(hi, 1)}, 1), m, cols)
		}
	}
	if m > n {
		keys = Slice(keys, AxisRange(0, n))
	}
	return keys
}

// CountLess returns, for each v[r, c], the number of entries of column c of
// sorted [n, cols] (ascending, as from SortColumnValues) that are smaller
// than v[r, c] (int32 [r, cols]): the position v would take in the column,
// before any equal entries. It is a branch-free binary search: ceil(log2(n+1))
// steps, each one Gather. NaN is not allowed.
func CountLess(sorted, v *Node) *Node {
	if sorted.Rank() != 2 || v.Rank() != 2 || sorted.Shape().Dim(1) != v.Shape().Dim(1) || sorted.DType() != v.DType() {
		panic(fmt.Errorf("CountLess: sorted must be [n, cols] and v [r, cols] of one dtype, got %s and %s", sorted.Shape(), v.Shape()))
	}
	g := sorted.Graph()
	n, cols := sorted.Shape().Dim(0), sorted.Shape().Dim(1)
	rows := v.Shape().Dim(0)
	sorted, v = StopGradient(sorted), StopGradient(v)
	step := 1
	for step*2 <= n {
		step *= 2
	}
	flat := Reshape(sorted, n*cols, 1)
	column := Iota(g, shapes.Make(dtypes.Int32, rows, cols), 1)
	count := Zeros(g, shapes.Make(dtypes.Int32, rows, cols))
	for ; step >= 1; step /= 2 {
		// Invariant: the first count entries are < v. Probe entry
		// count+step-1; beyond the column's end counts as not smaller.
		probe := AddScalar(count, float64(step-1))
		inside := LessThan(probe, Scalar(g, dtypes.Int32, n))
		at := Add(Mul(Min(probe, Scalar(g, dtypes.Int32, n-1)), Scalar(g, dtypes.Int32, cols)), column)
		entry := Reshape(Gather(flat, Reshape(at, rows, cols, 1)), rows, cols)
		count = Where(LogicalAnd(inside, LessThan(entry, v)), AddScalar(count, float64(step)), count)
	}
	return count
}
