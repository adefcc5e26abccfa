package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestTrainingDoesNotSwing trains a small TTFS network (4-30-3, 1500
// samples, batch 50, 14 epochs) with the default recipe on the pure-Go
// backend. With fastAndDeep's bump value (0.0005) and an optimizer step in
// every batch, Adam's steps (about the learning rate, 0.005, per weight)
// outran the bumps: output neurons fell silent, every sample whose correct
// neuron is silent cost SilentLoss, and the epoch loss jumped (measured on
// the pure-Go backend, epochs 6-14: 0.57, 0.87, 0.60, 0.62, 0.58, 0.43,
// 0.51, 0.42, 0.41). With bumps the size of the learning rate (0.50, 0.51,
// 0.46, 0.44, 0.41, 0.40, 0.38, 0.40, 0.58) no epoch from the sixth on
// may exceed 0.75.
func TestTrainingDoesNotSwing(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for 14 epochs")
	}
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainSet := smallYinYang(t, 1500, 42)
	val := smallYinYang(t, 750, 41)
	cfg := shipped(t, "yin_yang", 30)
	cfg.BatchSize = 50
	cfg.Epochs = 14
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	require.NoError(t, err)
	history, err := trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
	require.NoError(t, err)
	var worst float64
	for _, m := range history[5:] {
		t.Logf("epoch %2d: train loss %.3f, val accuracy %.3f, bumps %d", m.Epoch, m.TrainLoss, m.ValAccuracy, m.Bumps)
		worst = max(worst, m.TrainLoss)
	}
	require.Less(t, worst, 0.75, "an epoch's training loss jumped: correct output neurons fell silent")
	require.Greater(t, history[len(history)-1].ValAccuracy, 0.75, "the network learns (chance is 1/3)")
}
