package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
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
		tr, _ := fit(t, backend, cfg, data, data)
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

// TestFrozenVariablesStayFixed trains H30_WS for three epochs with the
// hidden projection's weights and the output projection's delays held
// fixed (trainable: false): over epochs 2 and 3 both stay bit-identical
// while the other variables move. The hidden layer may always be
// bumped (max_missing 0), but its only incoming weights are frozen, so it
// is never chosen and the optimizer still steps.
func TestFrozenVariablesStayFixed(t *testing.T) {
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	data := smallYinYang(t, 300, 7)
	cfg := shipped(t, "yin_yang_H30_WS", 5)
	cfg.Epochs = 3
	off := false
	hidden := cfg.Network.Node("to_hidden")
	hidden.Trainable, hidden.LearningRate = &off, 0
	cfg.Network.Node("hidden").MaxMissing = 0
	cfg.Network.Node("output").MaxMissing = 1
	delay := *cfg.Network.Node("to_output").Delay
	delay.Trainable, delay.LearningRate = &off, 0
	cfg.Network.Node("to_output").Delay = &delay
	require.NoError(t, cfg.Validate())
	tr, err := NewTrainer(backend, cfg, data.NumFeatures, data.NumClasses)
	require.NoError(t, err)
	// The variables exist once the first step has run: compare the state
	// after epoch 1 with the state two epochs later.
	var before State
	history, err := tr.Fit(context.Background(), data, data, 0, Hooks{OnEpoch: func(m EpochMetrics) {
		if m.Epoch == 1 {
			before, err = tr.State()
			require.NoError(t, err)
		}
	}})
	require.NoError(t, err)
	require.Len(t, history, 3)
	after, err := tr.State()
	require.NoError(t, err)
	values := func(s State, name string) []float32 {
		require.Contains(t, s, name)
		return tensors.MustCopyFlatData[float32](s[name])
	}
	for _, name := range []string{"/to_hidden/weights", "/to_output/delays"} {
		require.Equal(t, values(before, name), values(after, name), "%s is frozen", name)
	}
	for _, name := range []string{"/to_output/weights", "/to_hidden/delays"} {
		require.NotEqual(t, values(before, name), values(after, name), "%s trains", name)
	}
	bumps := 0
	for _, m := range history {
		bumps += m.Bumps
	}
	require.Zero(t, bumps, "the hidden layer, all of whose incoming weights are frozen, is never bumped")
}

// TestMonitorFlags trains H30_WS for two epochs with monitor: true on
// both projections (set in the YAML): every epoch records the mean, std,
// min and max of each projection's weights and effective delays, equal to
// those of the final state's variables, and metrics.csv has a column for
// each.
func TestMonitorFlags(t *testing.T) {
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	raw, err := os.ReadFile("../configs/yin_yang_H30_WS.yaml")
	require.NoError(t, err)
	text := strings.ReplaceAll(string(raw), "      learning_rate: 0.01\n", "      learning_rate: 0.01\n      monitor: true\n")
	cfg, err := ParseConfig([]byte(text), "monitored H30_WS")
	require.NoError(t, err)
	require.True(t, cfg.Network.Node("to_hidden").Monitor && cfg.Network.Node("to_output").Monitor)
	cfg.Epochs = 2
	data := smallYinYang(t, 300, 7)
	tr, history := fit(t, backend, cfg, data, data)
	state, err := tr.State()
	require.NoError(t, err)
	last := map[string]float64{}
	for _, s := range history[len(history)-1].Monitor {
		last[s.Name] = s.Value
	}
	require.Len(t, last, 16, "2 projections x (weights, delays) x (mean, std, min, max)")
	require.Len(t, history[0].Monitor, 16)
	for _, proj := range []string{"to_hidden", "to_output"} {
		w := tensors.MustCopyFlatData[float32](state["/"+proj+"/weights"])
		p := tensors.MustCopyFlatData[float32](state["/"+proj+"/delays"])
		mean, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for _, x := range w {
			mean, lo, hi = mean+float64(x)/float64(len(w)), min(lo, float64(x)), max(hi, float64(x))
		}
		require.InDelta(t, mean, last[proj+"_weights_mean"], 1e-9)
		require.Equal(t, lo, last[proj+"_weights_min"])
		require.Equal(t, hi, last[proj+"_weights_max"])
		require.Positive(t, last[proj+"_weights_std"])
		dmin := math.Inf(1)
		for _, x := range p {
			dmin = min(dmin, 1/(1+math.Exp(-float64(x)))) // sigmoid, scale 1
		}
		require.InDelta(t, dmin, last[proj+"_delays_min"], 1e-12)
		require.Greater(t, last[proj+"_delays_max"], last[proj+"_delays_mean"])
		require.Greater(t, last[proj+"_delays_mean"], last[proj+"_delays_min"])
	}
	require.NotEqual(t, history[0].Monitor, history[1].Monitor, "the statistics follow the training")
	path := filepath.Join(t.TempDir(), "metrics.csv")
	require.NoError(t, WriteMetricsCSV(path, history))
	csvText, err := os.ReadFile(path)
	require.NoError(t, err)
	header := strings.SplitN(string(csvText), "\n", 2)[0]
	require.True(t, strings.HasSuffix(header, ",silent_l1,to_hidden_weights_mean,to_hidden_weights_std,to_hidden_weights_min,to_hidden_weights_max,"+
		"to_hidden_delays_mean,to_hidden_delays_std,to_hidden_delays_min,to_hidden_delays_max,to_output_weights_mean,to_output_weights_std,"+
		"to_output_weights_min,to_output_weights_max,to_output_delays_mean,to_output_delays_std,to_output_delays_min,to_output_delays_max"), header)
}

// TestFrozenDiscreteWeights holds the recurrent projection of jaxsnn's
// discrete Yin-Yang network fixed for two epochs: it stays bit-identical
// while the input projection moves.
func TestFrozenDiscreteWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a discrete network")
	}
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	cfg, err := ShippedConfig("jaxsnn_yinyang_discrete")
	require.NoError(t, err)
	cfg.Epochs, cfg.Network.Steps = 3, 20
	off := false
	cfg.Network.Node("syn_hh").Trainable = &off
	require.NoError(t, cfg.Validate())
	data := smallYinYang(t, 128, 7)
	tr, err := NewTrainer(backend, cfg, data.NumFeatures, data.NumClasses)
	require.NoError(t, err)
	var before State
	_, err = tr.Fit(context.Background(), data, data, 0, Hooks{OnEpoch: func(m EpochMetrics) {
		if m.Epoch == 1 {
			before, err = tr.State()
			require.NoError(t, err)
		}
	}})
	require.NoError(t, err)
	after, err := tr.State()
	require.NoError(t, err)
	values := func(s State, name string) []float32 {
		require.Contains(t, s, name)
		return tensors.MustCopyFlatData[float32](s[name])
	}
	require.Equal(t, values(before, "/syn_hh/weights"), values(after, "/syn_hh/weights"), "frozen")
	require.NotEqual(t, values(before, "/syn_ih/weights"), values(after, "/syn_ih/weights"), "trains")
}
