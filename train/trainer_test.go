package train

import (
	"context"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

func smallYinYang(t *testing.T, size int, seed uint32) *Dataset {
	d, err := NewYinYang(DefaultYinYangOptions(size, seed))
	require.NoError(t, err)
	return d
}

// TestWeightBumping silences the hidden layer completely: every batch must
// then add the bump value to its incoming weights, doubling batch after
// batch (fastAndDeep's weight_bumping_exp), while the output layer is left
// alone because only the first failing layer is bumped.
func TestWeightBumping(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg := DefaultYinYang()
	cfg.DType = "float64"
	cfg.Epochs = 3
	cfg.BatchSize = 10
	cfg.WeightMeans = []float64{-5, 0.5}
	cfg.WeightStds = []float64{0, 0}
	d := smallYinYang(t, 10, 1)
	trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
	require.NoError(t, err)
	history, err := trainer.Fit(context.Background(), d, d, 0, Hooks{})
	require.NoError(t, err)
	require.Len(t, history, 3)
	for _, m := range history {
		require.Equal(t, 1, m.Bumps)
	}
	hidden := trainer.Context().In("layer_0").InspectVariableInScope("weights")
	out := trainer.Context().In("layer_1").InspectVariableInScope("weights")
	hv, err := hidden.Value()
	require.NoError(t, err)
	ov, err := out.Value()
	require.NoError(t, err)
	want := -5 + cfg.BumpValue*(1+2+4)
	for _, w := range tensors.MustCopyFlatData[float64](hv) {
		require.InDelta(t, want, w, 1e-12)
	}
	for _, w := range tensors.MustCopyFlatData[float64](ov) {
		require.Equal(t, 0.5, w, "output layer must not be bumped (nor trained: its loss has no gradient)")
	}
}

// TestTrainingLearnsYinYang trains briefly and checks accuracy on held-out
// data well above chance (1/3).
func TestTrainingLearnsYinYang(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several epochs")
	}
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainSet, val, test, err := YinYangSplits()
	require.NoError(t, err)
	cfg := DefaultYinYang()
	cfg.Epochs = 4
	cfg.Seed = 3
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	require.NoError(t, err)
	history, err := trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
	require.NoError(t, err)
	require.Len(t, history, 4)
	require.Less(t, history[3].TrainLoss, history[0].TrainLoss)
	_, acc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	t.Logf("test accuracy after 4 epochs: %.3f", acc)
	require.Greater(t, acc, 0.7)
}

func TestConfigValidateNamesFields(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"epochs", func(c *Config) { c.Epochs = 0 }},
		{"batch_size", func(c *Config) { c.BatchSize = -1 }},
		{"learning_rate", func(c *Config) { c.LearningRate = 0 }},
		{"weight_means", func(c *Config) { c.WeightMeans = []float64{1} }},
		{"max_missing", func(c *Config) { c.MaxMissing = nil }},
		{"tau_syn", func(c *Config) { c.Neuron.TauSyn = 0 }},
		{"latency", func(c *Config) { c.Encoding.Late = 0 }},
		{"xi", func(c *Config) { c.Loss.Xi = 0 }},
	} {
		cfg := DefaultYinYang()
		tc.edit(&cfg)
		require.ErrorContains(t, cfg.Validate(), tc.field)
	}
	require.NoError(t, DefaultYinYang().Validate())
}

// TestEventPropLearnsYinYang trains both event-based methods briefly on a
// small generated set and checks held-out accuracy well above chance (1/3).
func TestEventPropLearnsYinYang(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for several epochs")
	}
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainSet := smallYinYang(t, 600, 42)
	test := smallYinYang(t, 300, 40)
	for _, method := range []string{MethodEventProp, MethodEventPropRecurrent} {
		t.Run(method, func(t *testing.T) {
			cfg := DefaultYinYang()
			cfg.Method = method
			cfg = EventPropDefaults(cfg)
			cfg.Hidden = []int{30}
			cfg.Capacities = []int{30, 3}
			cfg.Epochs = 6
			cfg.BatchSize = 25
			cfg.Seed = 2
			trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
			require.NoError(t, err)
			history, err := trainer.Fit(context.Background(), trainSet, test, 0, Hooks{})
			require.NoError(t, err)
			require.Less(t, history[len(history)-1].TrainLoss, history[0].TrainLoss)
			require.Zero(t, history[len(history)-1].Overflow, "one spike per neuron fits")
			_, acc, err := trainer.Evaluate(test)
			require.NoError(t, err)
			t.Logf("%s: test accuracy after %d epochs: %.3f", method, cfg.Epochs, acc)
			require.Greater(t, acc, 0.6)
		})
	}
}

// trainableValues copies the trainable variables of trainer's context.
func trainableValues(t *testing.T, trainer *Trainer) map[string][]float64 {
	out := map[string][]float64{}
	for v := range trainer.Context().IterVariables() {
		if v.Trainable {
			value, err := v.Value()
			require.NoError(t, err)
			out[v.ScopeAndName()] = tensors.MustCopyFlatData[float64](value)
		}
	}
	return out
}

// TestBumpSkipsStep makes every batch bump (a missing-spike limit below 0
// is always exceeded; with targeted bumping and no silent neuron the bump
// itself adds nothing): with BumpSkipsStep no optimizer step may change a
// weight, without it the weights must move.
func TestBumpSkipsStep(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	d := smallYinYang(t, 20, 3)
	for _, skip := range []bool{true, false} {
		cfg := DefaultYinYang()
		cfg.DType = "float64"
		cfg.Epochs, cfg.BatchSize, cfg.Hidden = 2, 10, []int{8}
		cfg.WeightMeans, cfg.WeightStds = []float64{3, 1.5}, []float64{0.1, 0.1} // every neuron spikes
		cfg.MaxMissing = []float64{-1, -1}
		cfg.BumpSkipsStep = skip
		trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
		require.NoError(t, err)
		var silent []float64
		var before map[string][]float64 // after the first batch (the first call creates the weights)
		history, err := trainer.Fit(context.Background(), d, d, 0, Hooks{OnBatch: func(p Progress) {
			silent = append(silent, p.Silent...)
			if before == nil {
				before = trainableValues(t, trainer)
			}
		}})
		require.NoError(t, err)
		for _, m := range history {
			require.Equal(t, 2, m.Bumps, "every batch bumps layer 0")
		}
		require.Equal(t, make([]float64, len(silent)), silent, "no neuron is silent")
		after := trainableValues(t, trainer)
		if skip {
			require.Equal(t, before, after, "a batch that bumps takes no optimizer step")
		} else {
			require.NotEqual(t, before, after, "without BumpSkipsStep the optimizer steps")
		}
	}
}

// TestBestValidationState checks that Fit keeps the weights of its best
// validation epoch: evaluating them reproduces that epoch's accuracy, and
// EvaluateBest leaves the final weights in place.
func TestBestValidationState(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	d := smallYinYang(t, 60, 4)
	val := smallYinYang(t, 40, 5)
	cfg := DefaultYinYang()
	cfg.DType = "float64"
	cfg.Epochs, cfg.BatchSize, cfg.Hidden = 5, 10, []int{10}
	cfg.LearningRate = 0.05 // large enough that the validation accuracy moves
	trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
	require.NoError(t, err)
	_, _, err = trainer.EvaluateBest(val)
	require.Error(t, err, "no best weights before Fit")
	history, err := trainer.Fit(context.Background(), d, val, 0, Hooks{})
	require.NoError(t, err)
	bestEpoch, bestAcc := trainer.BestValidation()
	wantEpoch, wantAcc := BestEpoch(history)
	require.Equal(t, wantEpoch, bestEpoch)
	require.Equal(t, wantAcc, bestAcc)
	final := trainableValues(t, trainer)
	_, acc, err := trainer.EvaluateBest(val)
	require.NoError(t, err)
	require.Equal(t, bestAcc, acc)
	require.Equal(t, final, trainableValues(t, trainer), "EvaluateBest restores the final weights")
	_, finalAcc, err := trainer.Evaluate(val)
	require.NoError(t, err)
	require.Equal(t, history[len(history)-1].ValAccuracy, finalAcc)
	require.NoError(t, trainer.RestoreBest())
	_, acc, err = trainer.Evaluate(val)
	require.NoError(t, err)
	require.Equal(t, bestAcc, acc)
}
