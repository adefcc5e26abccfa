package discrete

import (
	"testing"

	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// TestXLAMatchesPureGo runs the gradient-check network (surrogate forward,
// recurrent, learnable decays) on the pure-Go and XLA CPU backends and
// requires the same spikes, loss and gradients. It needs the CPU PJRT
// plugin (scripts/install-pjrt.sh cpu) in $PJRT_PLUGIN_LIBRARY_PATH.
func TestXLAMatchesPureGo(t *testing.T) {
	if !snngraph.HasCPUPlugin() {
		t.Skip("no CPU PJRT plugin in $PJRT_PLUGIN_LIBRARY_PATH (install with scripts/install-pjrt.sh cpu)")
	}
	xla, _, err := snngraph.NewBackend("xla:cpu")
	require.NoError(t, err)
	goBackend := testBackend(t)
	for _, mode := range []ResetMode{ResetZero, ResetSubtract} {
		c := baseCase()
		c.name, c.mode, c.recurrent, c.learnable, c.steps = mode.String(), mode, true, true, 10
		p := c.draw()
		lossGo, tracesGo, gradsGo, _ := runModel(t, goBackend, c, p)
		lossX, tracesX, gradsX, _ := runModel(t, xla, c, p)
		require.InDelta(t, lossGo, lossX, 1e-10, c.name)
		require.Equal(t, tracesGo[0], tracesX[0], "%s: first-layer spikes", c.name)
		require.Equal(t, tracesGo[1], tracesX[1], "%s: second-layer spikes", c.name)
		require.InDeltaSlice(t, tracesGo[2], tracesX[2], 1e-10, "%s: read-out", c.name)
		for i := range gradsGo {
			require.InDeltaSlice(t, gradsGo[i], gradsX[i], 1e-10, "%s: gradient %d", c.name, i)
		}
	}
}
