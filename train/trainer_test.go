package train

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/topology"
)

// shipped returns a shipped config with the population "hidden" resized to
// hidden neurons (and, for lif populations, one spike per neuron).
func shipped(t testing.TB, name string, hidden int) Config {
	cfg, err := ShippedConfig(name)
	require.NoError(t, err)
	n, err := cfg.Population("hidden")
	require.NoError(t, err)
	n.Size = hidden
	if n.Capacity > 0 {
		n.Capacity = hidden
	}
	require.NoError(t, cfg.Validate())
	return cfg
}

// fit trains a new trainer of cfg on trainSet, validating on val, and
// returns it with its history.
func fit(t testing.TB, backend backends.Backend, cfg Config, trainSet, val *Dataset) (*Trainer, []EpochMetrics) {
	t.Helper()
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	require.NoError(t, err)
	history, err := trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
	require.NoError(t, err)
	return trainer, history
}

func smallYinYang(t *testing.T, size int, seed uint32) *Dataset {
	d, err := NewYinYang(DefaultYinYangOptions(size, seed))
	require.NoError(t, err)
	return d
}

// TestWeightBumping silences the hidden layer completely: every batch must
// then add the bump value to its incoming weights, doubling batch after
// batch (fastAndDeep's weight_bumping_exp), while the output layer (silent
// too) is left alone because only the first failing layer is bumped; with
// bump_every_layer the output's weights grow the same way. With
// bump_anneal the bumps follow the cosine schedule's learning rate.
func TestWeightBumping(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	for _, tc := range []struct{ every, anneal bool }{{false, false}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("every_layer=%v,anneal=%v", tc.every, tc.anneal), func(t *testing.T) {
			every := tc.every
			cfg := shipped(t, "yin_yang_fastanddeep", 120) // a bumping recipe
			cfg.DType = "float64"
			cfg.Epochs = 3
			cfg.BatchSize = 10
			cfg.BumpEveryLayer = every
			cfg.BumpAnneal = tc.anneal
			// factor[e] is what multiplies epoch e's bump.
			factor := []float64{1, 1, 1}
			if tc.anneal {
				cfg.LRSchedule, cfg.LRMin = "cosine", cfg.LearningRate/10
				for e := range factor {
					factor[e] = cfg.LearningRateAt(e) / cfg.LearningRate
				}
				require.Less(t, factor[2], 0.2)
			}
			cfg.Network.Node("to_hidden").Init = &topology.Init{Mean: -5, Std: 0}
			cfg.Network.Node("to_output").Init = &topology.Init{Mean: 0.5, Std: 0}
			d := smallYinYang(t, 10, 1)
			trainer, history := fit(t, backend, cfg, d, d)
			require.Len(t, history, 3)
			for _, m := range history {
				require.Equal(t, 1, m.Bumps)
				require.Equal(t, 1.0, m.Silent[1], "the output must stay silent")
			}
			hidden := trainer.Context().In("to_hidden").InspectVariableInScope("weights")
			out := trainer.Context().In("to_output").InspectVariableInScope("weights")
			hv, err := hidden.Value()
			require.NoError(t, err)
			ov, err := out.Value()
			require.NoError(t, err)
			grown := cfg.BumpValue * (1*factor[0] + 2*factor[1] + 4*factor[2])
			want := -5 + grown
			for _, w := range tensors.MustCopyFlatData[float64](hv) {
				require.InDelta(t, want, w, 1e-12)
			}
			wantOut := 0.5
			if every {
				wantOut += grown
			}
			for _, w := range tensors.MustCopyFlatData[float64](ov) {
				require.InDelta(t, wantOut, w, 1e-12, "output weights (not trained: its loss has no gradient)")
			}
		})
	}
}

// TestBumpSkipsStep trains one batch in which the hidden layer bumps (37 %
// of its first spikes missing, above its max_missing of 30 %) while the
// output layer has a gradient, with and without bump_skips_step, from the
// same initial weights. Skipping leaves Adam's moments and step count at
// zero and moves the weights by the bump alone; without it the batch also
// takes Adam's first step, whose components are +-learning_rate.
func TestBumpSkipsStep(t *testing.T) {
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	states := map[bool]State{}
	for _, skip := range []bool{true, false} {
		cfg := shipped(t, "yin_yang_fastanddeep", 30)
		cfg.DType = "float64"
		cfg.Epochs, cfg.BatchSize = 1, 20
		cfg.BumpSkipsStep = skip
		cfg.Network.Node("to_hidden").Init = &topology.Init{Mean: 0.5, Std: 1.5}
		d := smallYinYang(t, 20, 1)
		trainer, history := fit(t, backend, cfg, d, d)
		require.Equal(t, 1, history[0].Bumps)
		require.Greater(t, history[0].Silent[0], 0.3)
		states[skip], err = trainer.State()
		require.NoError(t, err)
	}
	values := func(skip bool, name string) []float64 {
		v, ok := states[skip][name]
		require.True(t, ok, name)
		return tensors.MustCopyFlatData[float64](v)
	}
	step := func(skip bool) int64 {
		return tensors.MustCopyFlatData[int64](states[skip]["/AdamOptimizer/global_step"])[0]
	}
	require.Equal(t, int64(0), step(true))
	require.Equal(t, int64(1), step(false))
	for _, layer := range []string{"to_hidden", "to_output"} {
		for _, moment := range []string{"1st", "2nd"} {
			name := "/AdamOptimizer/" + layer + "/weights_" + moment + "_moment"
			for _, m := range values(true, name) {
				require.Zero(t, m, name)
			}
			require.NotZero(t, slices.Max(values(false, name)), name)
		}
		// The bump is the same in both runs: the weights differ by Adam's step.
		lr := shipped(t, "yin_yang_fastanddeep", 30).LearningRate
		skipped, stepped := values(true, "/"+layer+"/weights"), values(false, "/"+layer+"/weights")
		largest := 0.0
		for i := range skipped {
			d := math.Abs(stepped[i] - skipped[i])
			require.LessOrEqual(t, d, lr*(1+1e-6), "%s[%d]", layer, i)
			largest = max(largest, d)
		}
		require.InDelta(t, lr, largest, lr*1e-3, "%s: some weight took a full Adam step", layer)
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
	trainer, history := fit(t, backend, cfg, trainSet, val)
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
		{"network.nodes[2] (to_hidden).init", func(c *Config) { c.Network.Nodes[2].Init.Std = -1 }},
		{"network.nodes[3] (hidden).max_missing", func(c *Config) { c.Network.Nodes[3].MaxMissing = 2 }},
		{"network.nodes[3] (hidden).neuron: LIF parameters: tau_syn", func(c *Config) { c.Network.Nodes[3].Neuron.TauSyn = 0 }},
		{"network.nodes[0] (input).encoding: latency", func(c *Config) { c.Network.Nodes[0].Encoding.Late = 0 }},
		{"network.nodes[3] (hidden).size", func(c *Config) { c.Network.Nodes[3].Size = -4 }},
		{"network.nodes[1] (bias).kind: unknown node kind", func(c *Config) { c.Network.Nodes[1].Kind = "conv" }},
		{"network.edges[0]: edge [input, nowhere]: no node named \"nowhere\"", func(c *Config) { c.Network.Edges[0].To = "nowhere" }},
		{"network.output", func(c *Config) { c.Network.Output = "to_output" }},
		{"loss: TTFS loss: xi", func(c *Config) { c.Loss.Xi = 0 }},
		{"lr_schedule", func(c *Config) { c.LRSchedule = "linear" }},
		{"lr_min", func(c *Config) { c.LRMin = 2 * c.LearningRate }},
	} {
		cfg := shipped(t, "yin_yang_fastanddeep", 120) // latency-coded inputs, the TTFS loss
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
	for _, method := range []string{"yin_yang_eventprop", "yin_yang_eventprop_recurrent"} {
		t.Run(method, func(t *testing.T) {
			cfg := shipped(t, method, 30)
			cfg.Epochs = 6
			cfg.BatchSize = 25
			cfg.Seed = 2
			trainer, history := fit(t, backend, cfg, trainSet, test)
			require.Less(t, history[len(history)-1].TrainLoss, history[0].TrainLoss)
			require.Zero(t, history[len(history)-1].Overflow, "one spike per neuron fits")
			_, acc, err := trainer.Evaluate(test)
			require.NoError(t, err)
			t.Logf("%s: test accuracy after %d epochs: %.3f", method, cfg.Epochs, acc)
			require.Greater(t, acc, 0.6)
		})
	}
}

// TestShippedConfigsTrain trains every shipped config, unchanged, for 2
// epochs on a small generated Yin-Yang set.
func TestShippedConfigsTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every shipped config")
	}
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainSet := smallYinYang(t, 300, 42)
	val := smallYinYang(t, 200, 41)
	for _, name := range ShippedConfigs() {
		t.Run(name, func(t *testing.T) {
			cfg, err := ShippedConfig(name)
			require.NoError(t, err)
			if cfg.Data != "yinyang" {
				t.Skip("not a Yin-Yang config: trained on its own data set's test (TestMNISTConfigTrains)")
			}
			cfg.Epochs = 2
			_, history := fit(t, backend, cfg, trainSet, val)
			require.Len(t, history, 2)
			for _, m := range history {
				require.False(t, math.IsNaN(m.TrainLoss) || math.IsNaN(m.ValLoss))
			}
		})
	}
}

// TestNonFiniteWeightsStopTheRun puts a NaN into the hidden projection's
// weights: the first batch's loss is not finite, and the error names the
// epoch, the batch and the variable.
func TestNonFiniteWeightsStopTheRun(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	cfg := shipped(t, "yin_yang", 5)
	cfg.BatchSize, cfg.Epochs = 20, 1
	d := smallYinYang(t, 40, 1)
	trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
	require.NoError(t, err)
	_, err = trainer.Fit(context.Background(), d, d, 0, Hooks{}) // builds and initialises the weights
	require.NoError(t, err)
	w := trainer.Context().In("to_hidden").InspectVariableInScope("weights")
	value, err := w.Value()
	require.NoError(t, err)
	flat := tensors.MustCopyFlatData[float32](value)
	flat[3] = float32(math.NaN())
	require.NoError(t, w.SetValue(tensors.FromFlatDataAndDimensions(flat, value.Shape().Dimensions...)))
	_, err = trainer.Fit(context.Background(), d, d, 0, Hooks{})
	require.Error(t, err)
	require.ErrorContains(t, err, "epoch 1 batch 1: after the update, variable /to_hidden/weights (node to_hidden) holds NaN or Inf: stopped")
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

// TestBestValidationState checks that Fit keeps the weights of its best
// validation epoch: evaluating them reproduces that epoch's accuracy, and
// EvaluateBest leaves the final weights in place.
func TestBestValidationState(t *testing.T) {
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	d := smallYinYang(t, 60, 4)
	val := smallYinYang(t, 40, 5)
	cfg := shipped(t, "yin_yang", 10)
	cfg.DType = "float64"
	cfg.Epochs, cfg.BatchSize = 5, 10
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
