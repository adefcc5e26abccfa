package snn

import (
	"math"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// mseReference is jaxsnn 0.3.0's mse_loss with target_temporal_encode,
// written out in float64: Σ_k ((min(t_k, 2 τ_mem) - T_k)/τ_mem)².
func mseReference(l MSELoss, times []float64, label int32) float64 {
	sum := 0.0
	for k, t := range times {
		target := l.WrongTime
		if int32(k) == label {
			target = l.CorrectTime
		}
		d := (math.Min(t, 2*l.TauMem) - target) / l.TauMem
		sum += d * d
	}
	return sum
}

// TestMSELoss checks the graph loss against the formula, its gradient
// against float64 central differences of the formula and against the hand
// derivative 2 (t_k - T_k)/τ_mem² / batch (0 where the time is clamped),
// in the time units of jaxsnn's analytical example (ms).
func TestMSELoss(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	l := MSELoss{TauMem: 10, CorrectTime: 4.5, WrongTime: 5.5}
	loss := MSE(l)
	require.NoError(t, loss.Validate())
	inf := math.Inf(1)
	times := [][]float64{{4.1, 6.3, 19.2}, {inf, 5.0, 25}, {3.3, 4.4, 12}, {inf, inf, inf}}
	labels := []int32{0, 2, 1, 1}
	flat := []float64{}
	for _, r := range times {
		flat = append(flat, r...)
	}
	outs := MustExecOnceN(backend, func(tm, lb *Node) (*Node, *Node, *Node) {
		return loss.PerSample(tm, lb), loss.Loss(tm, lb), Gradient(loss.Loss(tm, lb), tm)[0]
	}, tensors.FromFlatDataAndDimensions(flat, 4, 3), labels)
	perSample := tensors.MustCopyFlatData[float64](outs[0])
	mean := 0.0
	for i := range times {
		want := mseReference(l, times[i], labels[i])
		require.InDelta(t, want, perSample[i], 1e-12, "sample %d", i)
		mean += want / float64(len(times))
	}
	require.InDelta(t, mean, tensors.MustCopyFlatData[float64](outs[1])[0], 1e-12)
	grad := tensors.MustCopyFlatData[float64](outs[2])
	n := float64(len(times))
	for i, row := range times {
		for k, tk := range row {
			g := grad[i*3+k]
			target := l.WrongTime
			if int32(k) == labels[i] {
				target = l.CorrectTime
			}
			hand := 0.0
			if tk < 2*l.TauMem {
				hand = 2 * (tk - target) / (l.TauMem * l.TauMem) / n
			}
			require.InDelta(t, hand, g, 1e-12, "sample %d class %d: hand formula", i, k)
			if math.IsInf(tk, 1) {
				require.Zero(t, g, "a silent neuron gets no gradient")
				continue
			}
			h := 1e-6
			up, down := append([]float64(nil), row...), append([]float64(nil), row...)
			up[k] += h
			down[k] -= h
			fd := (mseReference(l, up, labels[i]) - mseReference(l, down, labels[i])) / (2 * h) / n
			require.InDelta(t, fd, g, 1e-7, "sample %d class %d: finite differences", i, k)
		}
	}
}

func TestLossKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss Loss
		err  string
	}{
		{"default is ttfs", Loss{TTFSLoss: FastAndDeepTTFSLoss()}, ""},
		{"ttfs", Loss{Kind: LossTTFS, TTFSLoss: FastAndDeepTTFSLoss()}, ""},
		{"mse", MSE(MSELoss{TauMem: 10, CorrectTime: 4.5, WrongTime: 5.5}), ""},
		{"mse without tau_mem", MSE(MSELoss{CorrectTime: 4.5}), "tau_mem"},
		{"mse with a ttfs field", Loss{Kind: LossMSE, TTFSLoss: TTFSLoss{Xi: 0.2}, MSELoss: MSELoss{TauMem: 1}}, "xi, alpha"},
		{"ttfs with an mse field", Loss{TTFSLoss: FastAndDeepTTFSLoss(), MSELoss: MSELoss{TauMem: 1}}, "tau_mem, correct_time"},
		{"unknown kind", Loss{Kind: "hinge"}, `unknown loss kind "hinge"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.loss.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// jaxsnnSpatioTemporal is jaxsnn 0.3.0's spatio_temporal_encode
// (event/encode.py) with duplicate_neurons=False, in plain Go:
// jnp.repeat of the values and of the neuron indices, a stable argsort by
// value (jnp.argsort is stable), then the times scaled by t_late.
func jaxsnnSpatioTemporal(values []float64, tLate float64, duplication int) (times []float64, idx []int32) {
	for i, v := range values {
		for range duplication {
			times = append(times, v)
			idx = append(idx, int32(i))
		}
	}
	order := make([]int, len(times))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]] < times[order[b]] })
	sortedT, sortedI := make([]float64, len(times)), make([]int32, len(times))
	for r, o := range order {
		sortedT[r], sortedI[r] = times[o]*tLate, idx[o]
	}
	return sortedT, sortedI
}

// TestSpatioTemporalEncoding compares the encoding with jaxsnn's on
// Yin-Yang-like samples (x, y, 1-x, 1-y and the bias value 0 of jaxsnn's
// data set, ties included), after sorting gosnn's list by time (stably, as
// jaxsnn does; gosnn's event layers sort their inputs themselves).
func TestSpatioTemporalEncoding(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	samples := [][]float64{{0.3, 0.8, 0.7, 0.2, 0}, {0.5, 0.5, 0.5, 0.5, 0}, {0.91, 0.02, 0.09, 0.98, 0}}
	for _, tc := range []struct {
		tLate float64
		dup   int
	}{{10, 1}, {12, 5}, {2 * 5e-3, 3}} {
		enc := Encoding{Kind: EncodingSpatioTemporal, SpatioTemporal: SpatioTemporal{TLate: tc.tLate, Duplication: tc.dup}}
		require.NoError(t, enc.Validate())
		require.Equal(t, tc.dup, enc.Copies())
		var flat []float64
		for _, s := range samples {
			flat = append(flat, s...)
		}
		outs := MustExecOnceN(backend, func(v *Node) (*Node, *Node, *Node) {
			first, spikes := enc.Encode(v)
			return first, spikes.Time, spikes.Neuron
		}, tensors.FromFlatDataAndDimensions(flat, len(samples), 5))
		first := tensors.MustCopyFlatData[float64](outs[0])
		gotT := tensors.MustCopyFlatData[float64](outs[1])
		gotI := tensors.MustCopyFlatData[int32](outs[2])
		k := 5 * tc.dup
		require.Len(t, gotT, len(samples)*k)
		for b, s := range samples {
			wantT, wantI := jaxsnnSpatioTemporal(s, tc.tLate, tc.dup)
			rowT, rowI := gotT[b*k:(b+1)*k], gotI[b*k:(b+1)*k]
			order := make([]int, k)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, c int) bool { return rowT[order[a]] < rowT[order[c]] })
			for r, o := range order {
				require.InDelta(t, wantT[r], rowT[o], 1e-12, "t_late %g dup %d sample %d slot %d", tc.tLate, tc.dup, b, r)
				require.Equal(t, wantI[r], rowI[o], "t_late %g dup %d sample %d slot %d", tc.tLate, tc.dup, b, r)
			}
			for n, v := range s {
				require.InDelta(t, v*tc.tLate, first[b*5+n], 1e-12, "first time of neuron %d", n)
			}
		}
	}
}

func TestEncodingKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  Encoding
		err  string
	}{
		{"default is latency", Encoding{Latency: Latency{Early: 0.15, Late: 2}}, ""},
		{"spatio-temporal", Encoding{Kind: EncodingSpatioTemporal, SpatioTemporal: SpatioTemporal{TLate: 10, Duplication: 1}}, ""},
		{"no duplication", Encoding{Kind: EncodingSpatioTemporal, SpatioTemporal: SpatioTemporal{TLate: 10}}, "duplication must be >= 1"},
		{"no t_late", Encoding{Kind: EncodingSpatioTemporal, SpatioTemporal: SpatioTemporal{Duplication: 1}}, "t_late"},
		{"latency field on spatio-temporal", Encoding{Kind: EncodingSpatioTemporal, Latency: Latency{Late: 2}, SpatioTemporal: SpatioTemporal{TLate: 1, Duplication: 1}}, "early and late"},
		{"spatio-temporal field on latency", Encoding{Latency: Latency{Late: 2}, SpatioTemporal: SpatioTemporal{Duplication: 2}}, "t_late and duplication"},
		{"unknown kind", Encoding{Kind: "rate"}, `unknown encoding kind "rate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.enc.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}
