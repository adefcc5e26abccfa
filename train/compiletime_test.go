package train

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

func TestMeasureCompile(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg, err := ShippedConfig("yin_yang")
	require.NoError(t, err)
	cfg.TrainSize, cfg.ValSize, cfg.TestSize = 130, 70, 10
	cfg.BatchSize, cfg.EvalBatchSize = 64, 50

	_, err = MeasureCompile(backend, cfg, 0)
	require.ErrorContains(t, err, "repeats must be >= 1")

	ct, err := MeasureCompile(backend, cfg, 2)
	require.NoError(t, err)
	require.False(t, ct.Synthetic)
	require.Equal(t, 3, ct.TrainBatches) // 130 samples in batches of 64
	require.Equal(t, 2, ct.EvalBatches)  // 70 in batches of 50
	require.Greater(t, ct.TrainStepSeconds, 0.0)
	require.Greater(t, ct.EvalStepSeconds, 0.0)
	require.GreaterOrEqual(t, ct.TrainCompileSeconds, 0.0)
	require.InDelta(t, 3*ct.TrainStepSeconds+2*ct.EvalStepSeconds, ct.EpochSeconds, 1e-12)
	require.InDelta(t, ct.TrainCompileSeconds+ct.EvalCompileSeconds, ct.CompileSeconds(), 1e-12)
}

// TestMeasureCompileSynthetic times the N-MNIST config without its files:
// one batch of random frames of the network's shape, the epoch counted at
// N-MNIST's sizes.
func TestMeasureCompileSynthetic(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg, err := ShippedConfig("nmnist_conv")
	require.NoError(t, err)
	cfg.DataDir = t.TempDir() // empty
	cfg.BatchSize, cfg.EvalBatchSize, cfg.Network.Steps = 4, 5, 2
	ct, err := MeasureCompile(backend, cfg, 1)
	require.NoError(t, err)
	require.True(t, ct.Synthetic)
	require.Equal(t, 15000, ct.TrainBatches)
	require.Equal(t, 2000, ct.EvalBatches)
	require.Greater(t, ct.TrainStepSeconds, 0.0)

	cfg.Data = "yinyang-typo"
	_, err = MeasureCompile(backend, cfg, 1)
	require.ErrorContains(t, err, "yinyang-typo")
}

func TestSyntheticSet(t *testing.T) {
	d := syntheticSet("s", 20, 3, 4)
	require.Equal(t, 20, d.Size())
	require.Len(t, d.Features, 60)
	for _, f := range d.Features {
		require.True(t, f >= 0 && f < 1, "feature %g outside [0, 1)", f)
	}
	for _, l := range d.Labels {
		require.True(t, l >= 0 && l < 4, "label %d outside [0, 4)", l)
	}
	require.Equal(t, d.Features, syntheticSet("s", 20, 3, 4).Features, "not reproducible")
}
