package train

import (
	"context"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/topology"
)

// TestPerVariableLearningRates trains one batch of a delay network twice
// from the same weights: a projection's learning_rate of twice the
// config's doubles exactly that projection's Adam step and leaves the
// other variables' steps alone; clamped delays stay >= 0.
func TestPerVariableLearningRates(t *testing.T) {
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	data := smallYinYang(t, 150, 7)
	steps := func(lr float64) State {
		cfg := shipped(t, "yin_yang_H30_WS", 5)
		cfg.DType, cfg.Epochs, cfg.BumpValue = "float64", 1, 0
		for i := range cfg.Network.Nodes {
			n := &cfg.Network.Nodes[i]
			if n.Kind == topology.KindTTFS {
				n.MaxMissing = 1
			}
			if n.Kind == topology.KindLinear {
				n.LearningRate = 0
			}
		}
		cfg.Network.Node("to_hidden").LearningRate = lr
		cfg.Network.Node("to_output").Delay = &topology.Delay{Kind: topology.DelayAxonal, Init: &topology.Init{Mean: -0.2, Std: 0.5},
			Positivity: topology.Positivity{Function: topology.PositivityClamp}, LearningRate: 0.05}
		tr, err := NewTrainer(backend, cfg, data.NumFeatures, data.NumClasses)
		require.NoError(t, err)
		_, err = tr.Fit(context.Background(), data, data, 0, Hooks{})
		require.NoError(t, err)
		after, err := tr.State()
		require.NoError(t, err)
		return after
	}
	values := func(s State, name string) []float64 { return tensors.MustCopyFlatData[float64](s[name]) }
	// One Adam step from the same initial values: after = before + (lr_v/lr) step.
	a1, a2, a3 := steps(0), steps(0.010), steps(0.015) // the config's 0.005, twice, three times
	for _, name := range []string{"/to_hidden/weights", "/to_output/weights", "/to_hidden/delays", "/to_output/delays"} {
		moved := 0
		for i := range values(a1, name) {
			v1, v2, v3 := values(a1, name)[i], values(a2, name)[i], values(a3, name)[i]
			if name == "/to_output/delays" {
				require.GreaterOrEqual(t, min(v1, v2, v3), 0.0, "clamped delays stay >= 0")
				continue
			}
			if name != "/to_hidden/weights" {
				require.Equal(t, v1, v2, "%s[%d]: another variable's step must not change", name, i)
				require.Equal(t, v1, v3, "%s[%d]", name, i)
				continue
			}
			step := v2 - v1
			require.InDelta(t, step, v3-v2, 1e-12+1e-9*abs(step), "%s[%d]: the step must grow with the learning rate", name, i)
			if step != 0 {
				moved++
			}
		}
		if name == "/to_hidden/weights" {
			require.Positive(t, moved, "%s: the step moved nothing", name)
		}
	}
	require.Contains(t, values(a1, "/to_output/delays"), 0.0, "some clamped delays sit at 0")
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
