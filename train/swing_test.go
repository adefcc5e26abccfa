package train

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestGradientClipBoundsTheSwing trains the default recipe (4-100-3 on the
// reference Yin-Yang splits, 20 epochs at a constant learning rate of
// 0.01) without its gradient clip, with it, and with it and the weight
// average, seeds 1-3, on xla:cpu (pure Go takes 4x longer). Without the
// clip, a batch with a near-threshold neuron (a spike time whose
// derivative is near infinite) gives Adam a step of ~3x the learning rate
// for ~10 steps, and validation accuracy falls several points below its
// running best within an epoch (measured 5.8, 7.4, 7.6 points); with the
// shipped clip (0.1 after the 1/tau_syn scale) the largest fall is
// smaller (2.3, 0.7, 1.4): what is left is the noise of single steps at
// that learning rate, which the average of the weights over ~200 steps
// (weight_average 0.995) smooths (0.2, 1.2, 0.5 at this constant learning
// rate; over the shipped cosine schedule, at most 0.5 points in 60 epochs).
func TestGradientClipBoundsTheSwing(t *testing.T) {
	config, skip := graph.CompareBackend()
	if skip != "" {
		t.Skip(skip)
	}
	if testing.Short() {
		t.Skip("-short: trains 9 x 20 epochs")
	}
	backend, _, err := graph.NewBackend(config)
	require.NoError(t, err)
	trainSet, val, _, err := YinYangSplits()
	require.NoError(t, err)
	shipped := DefaultYinYang()
	require.NotZero(t, shipped.GradClip)
	require.NotZero(t, shipped.WeightAverage)
	variants := []struct {
		name          string
		clip, average float64
		below, above  float64 // the largest drop must be below one or above the other (the one not 0)
	}{
		{"no clip", 0, 0, 0, 0.05},
		{"clip", shipped.GradClip, 0, 0.03, 0},
		{"clip and average", shipped.GradClip, shipped.WeightAverage, 0.02, 0},
	}
	worsts := map[string]float64{}
	for _, v := range variants {
		worst := 0.0
		for seed := int64(1); seed <= 3; seed++ {
			cfg := DefaultYinYang()
			cfg.Seed = seed
			cfg.Epochs = 20
			cfg.LRSchedule, cfg.LRGamma = "step", 1
			cfg.GradClip, cfg.WeightAverage = v.clip, v.average
			_, history := fit(t, backend, cfg, trainSet, val)
			drop := MaxValDrop(history, len(history))
			t.Logf("%s, seed %d: final val accuracy %.3f, largest drop below the running best %.3f", v.name, seed, history[len(history)-1].ValAccuracy, drop)
			worst = max(worst, drop)
		}
		worsts[v.name] = worst
		if v.above > 0 {
			require.Greater(t, worst, v.above, "%s: the swing shows", v.name)
		} else {
			require.Less(t, worst, v.below, "%s: the swing is bounded", v.name)
		}
	}
	require.Less(t, worsts["clip and average"], worsts["clip"], "the average swings less than the weights")
}
