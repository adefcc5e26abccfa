package train

import (
	"context"
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// trainableWeights copies the trainer's trainable variables.
func trainableWeights(t *testing.T, trainer *Trainer) map[string]*tensors.Tensor {
	t.Helper()
	weights := map[string]*tensors.Tensor{}
	for v := range trainer.Context().IterVariables() {
		if v.Trainable {
			value, err := v.Value()
			require.NoError(t, err, v.ScopeAndName())
			weights[v.ScopeAndName()] = tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](value), value.Shape().Dimensions...)
		}
	}
	return weights
}

// TestBackendsAgreeOnTraining trains the same small network with every
// shipped Yin-Yang config on the pure-Go backend and on the XLA backend of
// graph.CompareBackend (xla:cpu, or $GOSNN_XLA_BACKEND=xla:cuda on a GPU
// machine), in float32. The backends' random generators differ, so both
// first train one epoch (which creates every variable: weights, Adam's
// moments, counters) and the XLA side then takes over all of the pure-Go
// side's variables. From there, the validation loss, the losses of two more
// epochs and the final weights must agree to float32 tolerance, and the
// weight bumps and overflowing spikes exactly.
func TestBackendsAgreeOnTraining(t *testing.T) {
	config, skip := graph.CompareBackend()
	if skip != "" {
		t.Skip(skip)
	}
	if testing.Short() {
		t.Skip("-short: about 100 s on 2 cores with xla:cpu (compiling the recurrent event loop)")
	}
	goBackend, _, err := graph.NewBackend(graph.DefaultBackend)
	require.NoError(t, err)
	xlaBackend, _, err := graph.NewBackend(config)
	require.NoError(t, err, config)
	d := smallYinYang(t, 48, 5)
	val := smallYinYang(t, 24, 6)
	const tol = 1e-4 // relative: float32 round-off through two epochs
	near := func(t *testing.T, want, got float64, msg string, args ...any) {
		t.Helper()
		require.InDelta(t, want, got, tol*math.Max(1, math.Abs(want)), append([]any{msg}, args...)...)
	}
	for _, method := range []string{"yin_yang", "yin_yang_eventprop", "yin_yang_eventprop_recurrent", "jaxsnn_yinyang_analytical"} {
		t.Run(method, func(t *testing.T) {
			cfg := shipped(t, method, 12)
			cfg.DType = "float32"
			cfg.Epochs, cfg.BatchSize, cfg.EvalBatchSize = 3, 16, 8
			newTrainer := func(b backends.Backend) *Trainer {
				trainer, err := NewTrainer(b, cfg, d.NumFeatures, d.NumClasses)
				require.NoError(t, err)
				_, err = trainer.Fit(context.Background(), d, val, cfg.Epochs-1, Hooks{}) // the last epoch only
				require.NoError(t, err)
				return trainer
			}
			ref, other := newTrainer(goBackend), newTrainer(xlaBackend)
			copied := 0
			for v := range ref.Context().IterVariables() {
				value, err := v.Value()
				require.NoError(t, err, v.ScopeAndName())
				clone, err := value.LocalClone()
				require.NoError(t, err, v.ScopeAndName())
				w := other.Context().GetVariableByScopeAndName(v.Scope(), v.Name())
				require.NotNil(t, w, "%s has no variable %s", config, v.ScopeAndName())
				require.NoError(t, w.SetValue(clone))
				copied++
			}
			require.Greater(t, copied, 2, "weights and optimizer state")
			refLoss, refAcc, err := ref.Evaluate(val)
			require.NoError(t, err)
			loss, acc, err := other.Evaluate(val)
			require.NoError(t, err, config)
			near(t, refLoss, loss, "%s: validation loss of the same weights", config)
			require.Equal(t, refAcc, acc, "%s: validation accuracy of the same weights", config)

			refHistory, err := ref.Fit(context.Background(), d, val, cfg.Epochs-2, Hooks{})
			require.NoError(t, err)
			history, err := other.Fit(context.Background(), d, val, cfg.Epochs-2, Hooks{})
			require.NoError(t, err, config)
			require.Len(t, history, 2)
			require.Len(t, refHistory, 2)
			for e := range history {
				near(t, refHistory[e].TrainLoss, history[e].TrainLoss, "%s epoch %d: train loss", config, e)
				near(t, refHistory[e].ValLoss, history[e].ValLoss, "%s epoch %d: validation loss", config, e)
				require.Equal(t, refHistory[e].Bumps, history[e].Bumps, "%s epoch %d: bumps", config, e)
				require.Equal(t, refHistory[e].Overflow, history[e].Overflow, "%s epoch %d: overflow", config, e)
			}
			refWeights, weights := trainableWeights(t, ref), trainableWeights(t, other)
			require.Len(t, weights, len(refWeights))
			for name, w := range weights {
				want, got := tensors.MustCopyFlatData[float32](refWeights[name]), tensors.MustCopyFlatData[float32](w)
				require.Len(t, got, len(want), name)
				for i := range got {
					near(t, float64(want[i]), float64(got[i]), "%s: %s[%d] after training", config, name, i)
				}
			}
		})
	}
}
