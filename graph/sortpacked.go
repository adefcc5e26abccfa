package graph

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Keys of sortRowsPacked: a float32 value v at column c becomes the float64
//
//	v + (c+1) s(v),   s(v) = (|v| + packTiny) packStep,
//
// which stays within half a float32 ulp of v (so float32(key) = v, and keys
// of distinct values keep their order) and orders equal values by column;
// ±Inf become ±packHuge (1 + …) in column order. The column comes back from
// the key's offset.
const (
	packStep = 0x1p-40  // per column: 2^-40 |v|; columns < 2^10 stay below 2^-30 |v|, under half a float32 ulp
	packTiny = 0x1p-160 // offsets for zero and subnormals, below float32's smallest step 2^-149
	packHuge = 0x1p1000 // beyond every finite float32
)

// sortRowsPackedMaxColumns bounds the columns that sortRowsPacked can tell
// apart: (c+1) 2^-40 < 2^-30 for c + 1 <= 2^10 (see packStep).
const sortRowsPackedMaxColumns = 1 << 10

// sortRowsPacked is SortRows for float32 x: each value and its column are
// packed into one float64 key, and the keys are sorted by SortColumnValues'
// network (three ops per stage instead of twenty), then unpacked. The
// results equal sortRowsBitonic's, except that -0 comes back as +0. NaN is
// not allowed.
func sortRowsPacked(x *Node) (sorted, index *Node) {
	g := x.Graph()
	rows, n := x.Shape().Dim(0), x.Shape().Dim(1)
	c := func(v float64) *Node { return Scalar(g, dtypes.Float64, v) }
	v := ConvertDType(StopGradient(x), dtypes.Float64)
	col := ConvertDType(Iota(g, shapes.Make(dtypes.Int32, rows, n), 1), dtypes.Float64)
	step := MulScalar(AddScalar(Abs(v), packTiny), packStep)
	key := Add(v, Mul(AddScalar(col, 1), step))
	posInf, negInf := Equal(v, Infinity(g, dtypes.Float64, 1)), Equal(v, Infinity(g, dtypes.Float64, -1))
	key = Where(posInf, MulScalar(AddScalar(MulScalar(AddScalar(col, 1), packStep), 1), packHuge), key)
	key = Where(negInf, MulScalar(AddScalar(MulScalar(Sub(c(float64(n+1)), col), packStep), 1), -packHuge), key)

	key = Transpose(SortColumnValues(Transpose(key, 0, 1)), 0, 1) // [rows, n]

	value := ConvertDType(ConvertDType(key, dtypes.Float32), dtypes.Float64)
	huge, negHuge := GreaterOrEqual(key, c(packHuge)), LessOrEqual(key, c(-packHuge))
	safe := Where(LogicalOr(huge, negHuge), ZerosLike(value), value)
	finiteCol := Sub(Round(Div(Sub(key, safe), MulScalar(AddScalar(Abs(safe), packTiny), packStep))), c(1))
	hugeCol := Sub(Round(MulScalar(AddScalar(DivScalar(key, packHuge), -1), 1/packStep)), c(1))
	negHugeCol := Sub(c(float64(n+1)), Round(MulScalar(AddScalar(DivScalar(key, -packHuge), -1), 1/packStep)))
	column := Where(huge, hugeCol, Where(negHuge, negHugeCol, finiteCol))
	inf := Infinity(g, dtypes.Float64, 1)
	value = Where(huge, inf, Where(negHuge, Neg(inf), value))
	return ConvertDType(value, x.DType()), ConvertDType(column, dtypes.Int32)
}
