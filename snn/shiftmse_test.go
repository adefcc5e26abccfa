package snn

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// shiftMSEReference is fastAndDeep's LossFunctionShiftInvariantMSE with
// GetLoss's infinite-loss rule, in float64.
func shiftMSEReference(delta float64, times []float64, label int32) float64 {
	sum := 0.0
	for k, t := range times {
		if math.IsInf(t, 0) {
			return SilentLoss
		}
		target := delta
		if int32(k) == label {
			target = 0
		}
		d := (t - times[label]) - target
		sum += d * d / 2
	}
	return sum
}

// TestShiftMSELoss checks the loss against the formula, its gradient
// against central differences of the formula and the hand derivative
// (d_k - [k = y] Σ_k' d_k')/batch with d_k = (t_k - t_y) - δ(1 - [k = y]),
// and that a shift of all times changes nothing.
func TestShiftMSELoss(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	l := ShiftMSELoss{DeltaT: 0.2}
	loss := ShiftMSE(l)
	require.NoError(t, loss.Validate())
	inf := math.Inf(1)
	times := [][]float64{{1.1, 1.5, 1.2}, {inf, 2.0, 2.5}, {3.3, 3.4, 3.05}, {0.9, 0.9, 0.9}}
	labels := []int32{0, 2, 1, 1}
	var flat, shifted []float64
	for _, r := range times {
		for _, v := range r {
			flat = append(flat, v)
			shifted = append(shifted, v+0.7)
		}
	}
	run := func(data []float64) (perSample, grad []float64) {
		outs := MustExecOnceN(backend, func(tm, lb *Node) (*Node, *Node) {
			return loss.PerSample(tm, lb), Gradient(loss.Loss(tm, lb), tm)[0]
		}, tensors.FromFlatDataAndDimensions(data, 4, 3), labels)
		return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
	}
	perSample, grad := run(flat)
	perShifted, _ := run(shifted)
	require.InDeltaSlice(t, perSample, perShifted, 1e-12, "shift invariance")
	n := float64(len(times))
	for i, row := range times {
		require.InDelta(t, shiftMSEReference(l.DeltaT, row, labels[i]), perSample[i], 1e-12, "sample %d", i)
		silent := shiftMSEReference(l.DeltaT, row, labels[i]) == SilentLoss
		sum := 0.0
		d := make([]float64, len(row))
		for k := range row {
			if k != int(labels[i]) {
				d[k] = row[k] - row[labels[i]] - l.DeltaT
			}
			sum += d[k]
		}
		for k := range row {
			g := grad[i*3+k]
			if silent {
				require.Zero(t, g, "sample %d: a silent neuron's sample gets no gradient", i)
				continue
			}
			hand := d[k]
			if k == int(labels[i]) {
				hand = -sum
			}
			require.InDelta(t, hand/n, g, 1e-12, "sample %d class %d: hand formula", i, k)
			h := 1e-6
			up, down := append([]float64(nil), row...), append([]float64(nil), row...)
			up[k] += h
			down[k] -= h
			fd := (shiftMSEReference(l.DeltaT, up, labels[i]) - shiftMSEReference(l.DeltaT, down, labels[i])) / (2 * h) / n
			require.InDelta(t, fd, g, 1e-7, "sample %d class %d: finite differences", i, k)
		}
	}
	require.Error(t, Loss{Kind: LossShiftMSE, ShiftMSELoss: l, MSELoss: MSELoss{TauMem: 1}}.Validate())
	require.Error(t, Loss{Kind: LossTTFS, ShiftMSELoss: l}.Validate())
	require.ErrorContains(t, ShiftMSE(ShiftMSELoss{}).Validate(), "delta_t must be finite and non-zero")
}
