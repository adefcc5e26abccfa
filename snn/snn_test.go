package snn

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

func TestLIFValidate(t *testing.T) {
	good := FastAndDeepLIF()
	require.NoError(t, good.Validate())
	for _, tc := range []struct {
		field string
		edit  func(*LIF)
	}{
		{"tau_syn", func(p *LIF) { p.TauSyn = 0 }},
		{"tau_mem", func(p *LIF) { p.TauMem = -1 }},
		{"g_leak", func(p *LIF) { p.GLeak = math.NaN() }},
		{"threshold", func(p *LIF) { p.Threshold = p.Reset }},
		{"refractory", func(p *LIF) { p.Refractory = -1 }},
	} {
		p := good
		tc.edit(&p)
		require.ErrorContains(t, p.Validate(), tc.field)
	}
}

// TestPSPDerivative checks the kernel's derivative by central differences.
func TestPSPDerivative(t *testing.T) {
	for _, p := range []LIF{FastAndDeepLIF(), {TauSyn: 1, TauMem: 2, GLeak: 0.5, Threshold: 1}, {TauSyn: 5e-3, TauMem: 1e-2, GLeak: 1, Threshold: 1}} {
		for _, s := range []float64{0.1, 0.7, 1.3, 3} {
			s *= p.TauSyn
			h := 1e-6 * p.TauSyn
			fd := (p.PSP(s+h) - p.PSP(s-h)) / (2 * h)
			require.InDelta(t, fd, p.PSPDerivative(s), 1e-6*math.Max(1, math.Abs(fd)))
		}
	}
}

// TestTTFSLoss compares the graph loss with the formula written out in Go.
func TestTTFSLoss(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	l := FastAndDeepTTFSLoss()
	inf := math.Inf(1)
	times := [][]float64{{1.2, 1.5, 2.0}, {inf, 1.1, 1.3}, {1.0, inf, 1.0}, {inf, inf, inf}}
	labels := []int32{0, 2, 1, 1}
	want := func(ts []float64, y int32) float64 {
		if math.IsInf(ts[y], 1) {
			return SilentLoss
		}
		sum := 0.0
		for _, tk := range ts {
			sum += math.Exp(-tk / (l.Xi * l.TauSyn))
		}
		return math.Log(sum) + ts[y]/(l.Xi*l.TauSyn) + l.Alpha*(math.Exp(ts[y]/(l.Beta*l.TauSyn))-1)
	}
	flat := []float64{}
	for _, r := range times {
		flat = append(flat, r...)
	}
	outs := MustExecOnceN(backend, func(tm, lb *Node) (*Node, *Node, *Node) {
		return l.PerSample(tm, lb), PredictFirstSpike(tm), Gradient(l.Loss(tm, lb), tm)[0]
	}, tensors.FromFlatDataAndDimensions(flat, 4, 3), labels)
	got := tensors.MustCopyFlatData[float64](outs[0])
	for i := range times {
		require.InDelta(t, want(times[i], labels[i]), got[i], 1e-9, "sample %d", i)
	}
	require.Equal(t, []int32{0, 1, 0, -1}, tensors.MustCopyFlatData[int32](outs[1]))
	for i, g := range tensors.MustCopyFlatData[float64](outs[2]) {
		require.Falsef(t, math.IsNaN(g) || math.IsInf(g, 0), "gradient %d is %g", i, g)
		if math.IsInf(flat[i], 1) {
			require.Zero(t, g, "silent neurons get no gradient")
		}
	}
}

func TestSpikesFirstTimes(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	inf := math.Inf(1)
	times := []float64{0.5, 0.2, 0.9, inf, 0.1, 0.3}
	neurons := []int32{1, 1, 0, 2, 3, 0}
	outs := MustExecOnceN(backend, func(tm, nr *Node) (*Node, *Node) {
		s := Spikes{Time: tm, Neuron: nr}
		first := s.FirstTimes(4)
		back := SpikesFromTimes(first).FirstTimes(4)
		return first, back
	}, tensors.FromFlatDataAndDimensions(times, 1, 6), tensors.FromFlatDataAndDimensions(neurons, 1, 6))
	want := []float64{0.3, 0.2, inf, 0.1} // neuron 2's only slot is padding
	require.Equal(t, want, tensors.MustCopyFlatData[float64](outs[0]))
	require.Equal(t, want, tensors.MustCopyFlatData[float64](outs[1]))
}
