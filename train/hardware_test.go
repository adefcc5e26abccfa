package train

import (
	"context"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// hardwareYinYang is a Yin-Yang network fitted to the chip's operating
// point: tau_mem = 2 tau_syn (12 and 6 us), reset to leak with a
// refractory period as long as the run (one spike per neuron and sample,
// as jaxsnn's hardware example), weights within the 6-bit range at scale
// 58 (|w| <= 63/58) by a leak conductance of 1/4 (a unit weight peaks at
// the threshold).
func hardwareYinYang(t *testing.T, hidden int) Config {
	t.Helper()
	cfg, err := ShippedConfig("yin_yang_bss2")
	require.NoError(t, err)
	cfg.Name = "yin_yang_bss2_test"
	neuron := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 0.25, Threshold: 1, Leak: 0, Reset: 0, Refractory: 5}
	for i := range cfg.Network.Nodes {
		n := &cfg.Network.Nodes[i]
		if n.Neuron != nil {
			p := neuron
			n.Neuron = &p
		}
		if n.Name == "hidden" {
			n.Size, n.Capacity = hidden, hidden
		}
		if n.Name == "to_hidden" {
			n.Init.Mean, n.Init.Std = 0.5, 0.4
		}
		if n.Name == "to_output" {
			n.Init.Mean, n.Init.Std = 0.2, 0.4
		}
	}
	cfg.Hardware = &HardwareConfig{Backend: "mock"}
	cfg.BatchSize = 50
	return cfg
}

// Training with the mock chip in the loop (6-bit weights, clock, run time
// and dynamic range of jaxsnn's operating point) learns Yin-Yang: the
// held-out accuracy, measured on the mock, is far above chance (1/3).
func TestHardwareInTheLoopYinYang(t *testing.T) {
	epochs := 4
	if s := os.Getenv("GOSNN_HW_EPOCHS"); s != "" {
		epochs, _ = strconv.Atoi(s)
	}
	cfg := hardwareYinYang(t, 60)
	cfg.Epochs = epochs
	cfg.LearningRate = 0.01
	require.NoError(t, cfg.Validate())
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	trainSet, val, test := smallYinYang(t, 1000, 42), smallYinYang(t, 300, 41), smallYinYang(t, 600, 40)
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	require.NoError(t, err)
	began := time.Now()
	history, err := trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
	require.NoError(t, err)
	_, acc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	stats, ok := trainer.HardwareStats()
	require.True(t, ok)
	for _, m := range history {
		t.Logf("epoch %d: train loss %.4f acc %.3f, val acc %.3f, bumps %d, overflow %d, %.1fs", m.Epoch, m.TrainLoss, m.TrainAccuracy, m.ValAccuracy, m.Bumps, m.Overflow, m.Seconds)
	}
	t.Logf("test accuracy on the mock %.3f after %d epochs (%.1fs); hardware %+v", acc, epochs, time.Since(began).Seconds(), stats)
	require.Greater(t, acc, 0.6)
	require.Equal(t, "mock", stats.Backend)
	require.Greater(t, stats.Runs, epochs*len(trainSet.Labels)/cfg.BatchSize)
}

// A network too large for the chip is refused by the config's validation,
// naming the node and the numbers.
func TestHardwareConfigRefusesLargeNetwork(t *testing.T) {
	cfg := hardwareYinYang(t, 600)
	err := cfg.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), "network.nodes[3] (hidden)")
	require.Contains(t, err.Error(), "512")
	cfg = hardwareYinYang(t, 60)
	cfg.Hardware.Backend = "chipp"
	require.ErrorContains(t, cfg.Validate(), `hardware.backend: must be one of [mock chip], got "chipp"`)
	cfg = hardwareYinYang(t, 60)
	cfg.Hardware.Backend = "chip"
	cfg.Hardware.Calibration = "calib.json"
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	_, err = NewTrainer(backend, cfg, 4, 3)
	require.ErrorIs(t, err, bss2.ErrNoChip)
}

// With hardware.clip_weights the software weights stay within the mock's
// range (63/58 at 6 bits) after every step, also when they start far
// beyond it; without, weights drawn beyond the range stay there (the
// chip runs them clipped, the gradients use them unclipped). The
// metrics count the clipped weights per epoch: all 100 input weights at
// the first configuration, none in the second epoch when clipped.
func TestHardwareClipWeights(t *testing.T) {
	limit := bss2.DefaultMock().WeightRange()
	require.InDelta(t, 63.0/58, limit, 1e-12)
	for _, tc := range []struct {
		name    string
		clip    bool
		outside bool // some weight beyond the range after training
	}{
		{"clipped", true, false},
		{"unclipped", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hardwareYinYang(t, 20)
			cfg.Hardware.ClipWeights = tc.clip
			cfg.Epochs = 2
			setInputInit(t, &cfg, 2, 0.5) // every weight beyond the range
			backend, _, err := graph.NewBackend("go")
			require.NoError(t, err)
			data := smallYinYang(t, 100, 42)
			trainer, history := fit(t, backend, cfg, data, smallYinYang(t, 50, 41))
			require.Len(t, history, 2)
			require.NotNil(t, history[0].ClippedWeights)
			require.GreaterOrEqual(t, *history[0].ClippedWeights, 5*20)
			require.NotNil(t, history[1].ClippedWeights)
			require.Equal(t, tc.outside, *history[1].ClippedWeights > 0, "clipped weights in epoch 2: %d", *history[1].ClippedWeights)
			m, err := bss2.Map(&cfg.Network, bss2.ChipLimits(), "network")
			require.NoError(t, err)
			w, err := bss2.ReadWeights(trainer.Context(), m)
			require.NoError(t, err)
			largest := 0.0
			for _, l := range w {
				for _, x := range l.In {
					largest = max(largest, math.Abs(x))
				}
			}
			t.Logf("largest |w| %.4f, range %.4f", largest, limit)
			require.Equal(t, tc.outside, largest > limit+1e-6, "largest |w| %g against the range %g", largest, limit)
		})
	}
}

// setInputInit draws the input projection's weights from N(mean, std²).
func setInputInit(t *testing.T, cfg *Config, mean, std float64) {
	t.Helper()
	for i := range cfg.Network.Nodes {
		if n := &cfg.Network.Nodes[i]; n.Name == "to_hidden" {
			n.Init.Mean, n.Init.Std = mean, std
		}
	}
	require.NoError(t, cfg.Validate())
}

// recordingBackend records the weights of every Configure of the backend
// it wraps.
type recordingBackend struct {
	bss2.Backend
	configured []bss2.Weights
}

func (r *recordingBackend) Configure(m *bss2.Mapping, w bss2.Weights) error {
	c := make(bss2.Weights, len(w))
	for i, l := range w {
		c[i] = bss2.LayerWeights{In: append([]float64(nil), l.In...), Rec: append([]float64(nil), l.Rec...)}
	}
	r.configured = append(r.configured, c)
	return r.Backend.Configure(m, w)
}

func (r *recordingBackend) WeightRange() float64 { return r.Backend.(bss2.WeightRanger).WeightRange() }

// With weight_average and the mock in the loop, the training steps run
// the chip with the optimizer's own (clipped) weights, and evaluation runs
// it with their running averages, which stay within the chip's range
// because every averaged value was clipped: each Configure is recorded.
func TestHardwareWeightAverage(t *testing.T) {
	cfg := hardwareYinYang(t, 20)
	cfg.DType = "float64"
	cfg.Hardware.ClipWeights = true
	cfg.WeightAverage = 0.9
	cfg.Epochs = 2
	setInputInit(t, &cfg, 1, 0.5) // about half the weights beyond the range
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	data := smallYinYang(t, 100, 42)
	trainer, err := NewTrainer(backend, cfg, data.NumFeatures, data.NumClasses)
	require.NoError(t, err)
	rec := &recordingBackend{Backend: trainer.hw.backend}
	trainer.hw.backend = rec
	_, err = trainer.Fit(context.Background(), data, smallYinYang(t, 50, 41), 0, Hooks{})
	require.NoError(t, err)
	limit := bss2.DefaultMock().WeightRange()
	flat := func(s State, name string) []float64 { return tensors.MustCopyFlatData[float64](s[name]) }
	names := []string{"/to_hidden/weights", "/to_output/weights"} // layers 0 and 1

	// Evaluation: the averages.
	raw, err := trainer.State()
	require.NoError(t, err)
	rec.configured = nil
	_, _, err = trainer.Evaluate(data)
	require.NoError(t, err)
	require.NotEmpty(t, rec.configured)
	for layer, name := range names {
		avg := flat(raw, "/average"+name)
		require.NotEqual(t, flat(raw, name), avg, "%s: the average differs from the weights", name)
		for _, w := range rec.configured {
			require.Equal(t, avg, w[layer].In, "evaluation configures %s with its average", name)
		}
		for _, x := range avg {
			require.LessOrEqual(t, math.Abs(x), limit+1e-12, "%s average within the chip's range", name)
		}
	}

	// Training: the optimizer's weights as they are before each step.
	rec.configured = nil
	trainer.cfg.Epochs = 3
	_, err = trainer.Fit(context.Background(), data, smallYinYang(t, 50, 41), 2, Hooks{})
	require.NoError(t, err)
	require.NotEmpty(t, rec.configured)
	for layer, name := range names {
		require.Equal(t, flat(raw, name), rec.configured[0][layer].In, "the first training step configures %s as trained", name)
		for _, x := range flat(raw, name) {
			require.LessOrEqual(t, math.Abs(x), limit+1e-12, "%s within the chip's range", name)
		}
	}
}
