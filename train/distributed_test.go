package train

import (
	"context"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestDataParallelMatchesOneDevice trains the same network for two epochs on
// one device and data-parallel on 2 and 4 XLA CPU host devices (the CPU
// plugin exposes several): losses, accuracies, bumps and final weights must
// agree to float64 round-off, since splitting a batch only reorders sums.
func TestDataParallelMatchesOneDevice(t *testing.T) {
	config, skip := graph.CompareBackend() // xla:cpu, or $GOSNN_XLA_BACKEND (several GPUs)
	if skip != "" {
		t.Skip(skip)
	}
	backend, _, err := graph.NewBackend(config)
	require.NoError(t, err, config)
	d := smallYinYang(t, 48, 5)
	val := smallYinYang(t, 24, 6)
	// yin_yang_H5_WS: synaptic delays, whose per-(input, target) arrival
	// times [B, I, J] are split over the devices with the batch.
	for _, method := range []string{"yin_yang", "yin_yang_eventprop", "yin_yang_H5_WS"} {
		var refHistory []EpochMetrics
		var refWeights map[string][]float64
		for _, devices := range []int{1, 2, 4} {
			if devices > backend.NumDevices() {
				t.Logf("backend has %d devices: skipping %d", backend.NumDevices(), devices)
				continue
			}
			hidden := 12
			if method == "yin_yang_H5_WS" {
				hidden = 5
			}
			cfg := shipped(t, method, hidden)
			cfg.DType = "float64"
			cfg.Epochs, cfg.BatchSize, cfg.EvalBatchSize = 2, 16, 8
			cfg.Devices = devices
			trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
			require.NoError(t, err)
			history, err := trainer.Fit(context.Background(), d, val, 0, Hooks{})
			require.NoError(t, err, "%s devices=%d", method, devices)
			weights := trainableValues(t, trainer)
			if devices == 1 {
				refHistory, refWeights = history, weights
				require.Nil(t, trainer.batchSpec)
				continue
			}
			require.Equal(t, distributed.AutoSharding, trainer.trainStep.DistributionStrategy())
			require.Equal(t, devices, trainer.batchSpec.Mesh.NumDevices())
			for e := range history {
				require.InDelta(t, refHistory[e].TrainLoss, history[e].TrainLoss, 1e-9, "%s devices=%d epoch %d", method, devices, e)
				require.InDelta(t, refHistory[e].ValLoss, history[e].ValLoss, 1e-9, "%s devices=%d epoch %d", method, devices, e)
				require.Equal(t, refHistory[e].TrainAccuracy, history[e].TrainAccuracy)
				require.Equal(t, refHistory[e].Bumps, history[e].Bumps)
			}
			require.Len(t, weights, len(refWeights))
			for name, w := range weights {
				require.InDeltaSlice(t, refWeights[name], w, 1e-9, "%s devices=%d %s", method, devices, name)
			}
		}
	}
}

func TestDataParallelBadInput(t *testing.T) {
	cfg := DefaultYinYang()
	cfg.Devices = 4
	cfg.BatchSize = 150
	require.ErrorContains(t, cfg.Validate(), "multiples of devices")
	cfg.Devices = -1
	require.ErrorContains(t, cfg.Validate(), "devices: must be >= 0")
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg = DefaultYinYang()
	cfg.Devices = 2
	_, err = NewTrainer(backend, cfg, 4, 3)
	require.ErrorContains(t, err, "device(s), 2 asked for")
}
