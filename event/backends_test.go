package event

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// TestXLAMatchesPureGo runs the same layers on the pure-Go and the XLA CPU
// backends and requires the same spike times and gradients. It needs the
// CPU PJRT plugin (scripts/install-pjrt.sh cpu) in $PJRT_PLUGIN_LIBRARY_PATH
// and is skipped without it.
func TestXLAMatchesPureGo(t *testing.T) {
	found := false
	for _, dir := range strings.Split(os.Getenv(snngraph.PluginPathEnvVar), ":") {
		if _, err := os.Stat(filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")); dir != "" && err == nil {
			found = true
		}
	}
	if !found {
		t.Skip("no CPU PJRT plugin in $PJRT_PLUGIN_LIBRARY_PATH (install with scripts/install-pjrt.sh cpu)")
	}
	goBackend := testBackend(t)
	xlaBackend, _, err := snngraph.NewBackend("xla:cpu")
	require.NoError(t, err)
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
