package bss2

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// ReadWeights reads a network's weights from the variables event.Lower
// created in ctx (a feed-forward population: its projections' "weights",
// concatenated in edge order; a recurrent layer: "weights" and
// "recurrent_weights" in the scope of its populations joined by '+',
// masked to the projections that exist, as Lower masks them).
func ReadWeights(ctx *mlctx.Context, m *Mapping) (Weights, error) {
	read := func(scope, name string, rows, cols int) ([]float64, error) {
		v := ctx.GetVariableByScopeAndName("/"+scope, name)
		if v == nil {
			return nil, fmt.Errorf("bss2 weights: no variable /%s/%s (has the network been built?)", scope, name)
		}
		if s := v.Shape(); s.Rank() != 2 || s.Dim(0) != rows || s.Dim(1) != cols {
			return nil, fmt.Errorf("bss2 weights: variable /%s/%s is %s, the mapping needs [%d, %d]", scope, name, s, rows, cols)
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("bss2 weights: /%s/%s: %w", scope, name, err)
		}
		return floats(t)
	}
	w := make(Weights, len(m.Layers))
	for i, l := range m.Layers {
		n := l.Neurons()
		if !l.Recurrent {
			// One variable per projection; its rows are consecutive blocks.
			w[i].In = make([]float64, 0, l.InputRows()*n)
			seen := map[string]bool{}
			for _, pb := range l.Projections {
				if seen[pb.Projection] {
					continue
				}
				seen[pb.Projection] = true
				rows := 0
				for _, q := range l.Projections {
					if q.Projection == pb.Projection {
						rows += q.Rows
					}
				}
				vals, err := read(pb.Projection, "weights", rows, n)
				if err != nil {
					return nil, err
				}
				w[i].In = append(w[i].In, vals...)
			}
			continue
		}
		in, err := read(l.Name(), "weights", l.InputRows(), n)
		if err != nil {
			return nil, err
		}
		rec, err := read(l.Name(), "recurrent_weights", n, n)
		if err != nil {
			return nil, err
		}
		maskIn, maskRec := make([]float64, len(in)), make([]float64, len(rec))
		for _, pb := range l.Projections {
			mask := maskIn
			if pb.Recurrent {
				mask = maskRec
			}
			for r := pb.Row; r < pb.Row+pb.Rows; r++ {
				for c := pb.Col; c < pb.Col+pb.Cols; c++ {
					mask[r*n+c] = 1
				}
			}
		}
		for j := range in {
			in[j] *= maskIn[j]
		}
		for j := range rec {
			rec[j] *= maskRec[j]
		}
		w[i] = LayerWeights{In: in, Rec: rec}
	}
	return w, nil
}

// floats copies a float32 or float64 tensor.
func floats(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float64:
		return tensors.CopyFlatData[float64](t)
	case dtypes.Float32:
		f, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(f))
		for i, x := range f {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("bss2 weights: tensor of dtype %s, want float32 or float64", t.DType())
}

// HasWeights reports whether every weight variable of the mapping exists
// in ctx with a value (ReadWeights would succeed).
func HasWeights(ctx *mlctx.Context, m *Mapping) bool {
	_, err := ReadWeights(ctx, m)
	return err == nil
}
