package train

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestInspectAgreesWithEvaluate: after a short training, the forward pass
// of Inspect gives every population's first-spike times, its predictions
// are the first output spike's class and reach the accuracy Evaluate
// measures, and nothing changes the weights.
func TestInspectAgreesWithEvaluate(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg := shipped(t, "yin_yang", 12)
	cfg.Epochs, cfg.BatchSize, cfg.EvalBatchSize = 1, 100, 64 // 150 samples: a padded last batch
	trainSet, val := smallYinYang(t, 300, 42), smallYinYang(t, 150, 41)
	trainer, err := NewTrainer(backend, cfg, 4, 3)
	require.NoError(t, err)
	_, err = trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
	require.NoError(t, err)
	before, err := TrainableWeights(trainer.Context())
	require.NoError(t, err)
	_, acc, err := trainer.Evaluate(val)
	require.NoError(t, err)

	runs, err := trainer.Inspect(backend, val, trainSet)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	in := runs[0]
	require.Equal(t, []string{"hidden", "output"}, in.Populations)
	require.Equal(t, []int{12, 3}, in.Sizes)
	require.Equal(t, 1, in.Population("output"))
	require.Equal(t, -1, in.Population("nope"))
	require.Len(t, in.Times[0], 150*12)
	require.Len(t, in.Times[1], 150*3)
	require.Len(t, runs[1].Predictions, 300)
	correct, spikes := 0, 0
	for i := range 150 {
		first, best := int32(-1), math.Inf(1)
		for k := range 3 {
			if tk := in.Times[1][i*3+k]; tk < best {
				first, best = int32(k), tk
			}
		}
		require.Equal(t, first, in.Predictions[i], "sample %d", i)
		if in.Predictions[i] == val.Labels[i] {
			correct++
		}
		for _, tk := range in.Times[0][i*12 : (i+1)*12] {
			if !math.IsInf(tk, 1) {
				require.Greater(t, tk, 0.0)
				spikes++
			}
		}
	}
	require.InDelta(t, acc, float64(correct)/150, 1e-12)
	require.Positive(t, spikes, "hidden neurons spike")
	after, err := TrainableWeights(trainer.Context())
	require.NoError(t, err)
	require.Equal(t, before, after)
}
