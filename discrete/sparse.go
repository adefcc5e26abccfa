package discrete

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	snngraph "github.com/gosnn/gosnn/graph"
)

// CompactSpikes lists, for each sample of spikes [batch, n], the first k
// active neurons (s > 0) in ascending order, as graphcore_snn's
// compute_sparse_spikes: indices [batch, k] int32 (0 in unused slots),
// valid [batch, k] bool (slot holds a spike), and count [batch] int32 (all
// active neurons, also those beyond k). No sort is needed: a neuron's slot
// is its rank among the active ones (a log-step prefix count), and a
// scatter writes each neuron's index into its slot.
func CompactSpikes(spikes *Node, k int) (indices, valid, count *Node) {
	if spikes.Rank() != 2 {
		panicf("CompactSpikes: spikes must be [batch, neurons], got %s", spikes.Shape())
	}
	if k < 1 {
		panicf("CompactSpikes: capacity k must be >= 1, got %d", k)
	}
	g := spikes.Graph()
	batch, n := spikes.Shape().Dim(0), spikes.Shape().Dim(1)
	active := GreaterThan(StopGradient(spikes), ZerosLike(spikes))
	ones := ConvertDType(active, dtypes.Int32)
	rank := snngraph.PrefixSum(ones, 1) // 1-based rank of each active neuron
	count = ReduceSum(ones, 1)
	// Active neurons of rank <= k go to slot rank-1; all others to a spare
	// slot k that is dropped afterwards.
	kept := LogicalAnd(active, LessOrEqual(rank, Scalar(g, dtypes.Int32, k)))
	slot := Where(kept, AddScalar(rank, -1), Scalar(g, dtypes.Int32, k))
	shape := shapes.Make(dtypes.Int32, batch, n)
	where := Stack([]*Node{Iota(g, shape, 0), slot}, -1)
	table := ScatterSum(Zeros(g, shapes.Make(dtypes.Int32, batch, k+1)), where, Iota(g, shape, 1), false, false)
	indices = Slice(table, AxisRange(), AxisRange(0, k))
	valid = LessThan(Iota(g, shapes.Make(dtypes.Int32, batch, k), 1), InsertAxes(count, -1))
	return indices, valid, count
}

// SparseMatMul returns spikes [batch, in] times weights [in, out], summing
// only the weight rows of the first k active spikes of each sample (the
// rows are gathered), and the overflow [batch] int32: active spikes beyond
// k, which the product leaves out. With no overflow it equals
// MatMul(spikes, weights) (graphcore_snn's dyn_dense_binary_sparse_matmul),
// also in its gradients: the weights' gradient is scattered into the
// gathered rows, and the spikes get the dense gradient v Wᵀ, because a
// surrogate gradient reaches silent neurons too.
func SparseMatMul(spikes, weights *Node, k int) (out, overflow *Node) {
	return sparseMatMul(spikes, weights, k, true)
}

// sparseMatMul is SparseMatMul; without inputGradient the spikes get no
// gradient (they are data), which saves the dense v Wᵀ.
func sparseMatMul(spikes, weights *Node, k int, inputGradient bool) (out, overflow *Node) {
	if weights.Rank() != 2 || spikes.Rank() != 2 || spikes.Shape().Dim(1) != weights.Shape().Dim(0) {
		panicf("SparseMatMul: spikes %s and weights %s do not multiply", spikes.Shape(), weights.Shape())
	}
	g := spikes.Graph()
	batch, nIn, nOut := spikes.Shape().Dim(0), spikes.Shape().Dim(1), weights.Shape().Dim(1)
	indices, valid, count := CompactSpikes(spikes, k)
	sampleIdx := Iota(g, shapes.Make(dtypes.Int32, batch, k), 0)
	values := Gather(StopGradient(spikes), Stack([]*Node{sampleIdx, indices}, -1))
	values = Where(valid, values, ZerosLike(values))
	rows := Gather(weights, InsertAxes(indices, -1)) // [batch, k, out]
	out = Einsum("bk,bko->bo", values, rows)
	overflow = Max(AddScalar(count, float64(-k)), ZerosLike(count))
	if !inputGradient {
		return out, overflow
	}
	// Route the spikes' gradient around the gather: one identity over the
	// flattened spikes and product carries the custom gradient (the
	// multi-input custom VJP of reference/GOMLX.md); the product is read
	// back with Gather, whose gradient the pure-Go backend has (Slice's it
	// has not).
	flat := Concatenate([]*Node{Reshape(spikes, batch*nIn), Reshape(out, batch*nOut)}, 0)
	flat = IdentityWithCustomGradient(flat, func(_, v *Node) *Node {
		vOut := Reshape(Slice(v, AxisRange(batch*nIn, batch*(nIn+nOut))), batch, nOut)
		vIn := MatMul(vOut, Transpose(weights, 0, 1))
		return Concatenate([]*Node{Reshape(vIn, batch*nIn), Reshape(vOut, batch*nOut)}, 0)
	})
	outIdx := AddScalar(Iota(g, shapes.Make(dtypes.Int32, batch*nOut, 1), 0), float64(batch*nIn))
	return Reshape(Gather(flat, outIdx, true), batch, nOut), overflow
}

// overflowShape is the per-sample overflow count's shape for input x.
func overflowShape(x *Node) shapes.Shape { return shapes.Make(dtypes.Int32, x.Shape().Dim(0)) }

// weightShape is the [inputs, n] weight shape of a projection of x.
func weightShape(x *Node, n int) shapes.Shape {
	return shapes.Make(x.DType(), x.Shape().Dim(x.Rank()-1), n)
}

func panicf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }
