package event

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// backendPair returns the pure-Go and an XLA backend: xla:cpu, which needs
// the CPU PJRT plugin (scripts/install-pjrt.sh cpu) in
// $PJRT_PLUGIN_LIBRARY_PATH (skipped without it), or the one named by
// $GOSNN_XLA_BACKEND (xla:cuda on a GPU machine).
func backendPair(t *testing.T) (goBackend, xlaBackend backends.Backend) {
	t.Helper()
	config, skip := snngraph.CompareBackend()
	if skip != "" {
		t.Skip(skip)
	}
	xlaBackend, _, err := snngraph.NewBackend(config)
	require.NoError(t, err, config)
	return testBackend(t), xlaBackend
}

// TestXLAMatchesPureGo runs the same TTFS layers on the pure-Go and the XLA
// CPU backends and requires the same spike times and gradients.
func TestXLAMatchesPureGo(t *testing.T) {
	goBackend, xlaBackend := backendPair(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range testCases() {
			cfg := TTFS{Neuron: p, MaxGradNorm: 0.2}
			coef := make([]float64, c.batch*c.numOut)
			for i := range coef {
				coef[i] = 0.01 * float64(1+i%5)
			}
			tGo, dTGo, dWGo := runTTFS(t, goBackend, c, cfg, coef)
			tX, dTX, dWX := runTTFS(t, xlaBackend, c, cfg, coef)
			for i := range tGo {
				if countSpikes(tGo[i:i+1]) == 0 {
					require.Equal(t, tGo[i], tX[i], "%s %s: silent neuron %d", p.Ratio(), c.name, i)
					continue
				}
				require.InDelta(t, tGo[i], tX[i], 1e-9, "%s %s: spike %d", p.Ratio(), c.name, i)
			}
			require.InDeltaSlice(t, dTGo, dTX, 1e-8, "%s %s: input-time gradients", p.Ratio(), c.name)
			require.InDeltaSlice(t, dWGo, dWX, 1e-8, "%s %s: weight gradients", p.Ratio(), c.name)
		}
	}
}

// TestXLAMatchesPureGoEventLIF does the same for the multi-spike event
// layers, feed-forward and recurrent, in float64, on a few of the gradient
// test cases (each XLA compile of an unrolled event loop takes seconds).
func TestXLAMatchesPureGoEventLIF(t *testing.T) {
	goBackend, xlaBackend := backendPair(t)
	chosen := map[string]bool{
		"tau_mem=tau_syn/feed-forward": true, "tau_mem=2*tau_syn/recurrent": true,
		"other/refractory": true, "tau_mem=tau_syn/grid ties": true, "other/populations refractory": true,
	}
	for _, c := range lifCases() {
		if !chosen[c.name] {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			coef := make([]float64, c.batch*c.capacity)
			for i := range coef {
				coef[i] = 0.01 * float64(1+i%7)
			}
			a := newLIFRunner(t, goBackend, c).run(coef)
			b := newLIFRunner(t, xlaBackend, c).run(coef)
			require.Equal(t, a.neurons, b.neurons)
			require.Equal(t, a.overflow, b.overflow)
			for k := range a.times {
				if math.IsInf(a.times[k], 1) {
					require.True(t, math.IsInf(b.times[k], 1), "slot %d", k)
					continue
				}
				require.InDelta(t, a.times[k], b.times[k], 1e-9, "slot %d", k)
			}
			require.InDeltaSlice(t, a.dIn, b.dIn, 1e-8, "input-time gradients")
			require.InDeltaSlice(t, a.dWIn, b.dWIn, 1e-8, "input weight gradients")
			require.InDeltaSlice(t, a.dWRec, b.dWRec, 1e-8, "recurrent weight gradients")
		})
	}
}
