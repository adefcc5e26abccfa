package train

import (
	"context"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestWeightAverage trains one batch per epoch with weight_average set and
// checks the running averages against the formula applied to the weights
// after each step, then that Evaluate sees the averaged network and leaves
// the optimizer's weights as they were.
func TestWeightAverage(t *testing.T) {
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	const decay = 0.6
	cfg := shipped(t, "yin_yang", 8)
	cfg.DType = "float64"
	cfg.Epochs, cfg.BatchSize, cfg.WeightAverage = 6, 40, decay
	d := smallYinYang(t, 40, 2)
	trainer, err := NewTrainer(backend, cfg, d.NumFeatures, d.NumClasses)
	require.NoError(t, err)
	names := []string{"/to_hidden/weights", "/to_output/weights"}
	want := map[string][]float64{}
	for step := range cfg.Epochs {
		_, err := trainer.Fit(context.Background(), d, d, cfg.Epochs-1, Hooks{}) // one batch
		require.NoError(t, err)
		s, err := trainer.State()
		require.NoError(t, err)
		dStep := 0.0
		if step > 0 {
			dStep = min(decay, float64(1+step)/float64(10+step))
		}
		for _, name := range names {
			w := tensors.MustCopyFlatData[float64](s[name])
			if want[name] == nil {
				want[name] = make([]float64, len(w))
			}
			for i := range w {
				want[name][i] = dStep*want[name][i] + (1-dStep)*w[i]
			}
			got := tensors.MustCopyFlatData[float64](s["/average"+name])
			require.InDeltaSlice(t, want[name], got, 1e-12, "%s after step %d", name, step+1)
		}
	}
	// The averages differ from the weights, so evaluating either tells.
	raw, err := trainer.State()
	require.NoError(t, err)
	require.NotEqual(t, tensors.MustCopyFlatData[float64](raw["/to_hidden/weights"]), want["/to_hidden/weights"])
	loss, acc, err := trainer.Evaluate(d)
	require.NoError(t, err)
	after, err := trainer.State()
	require.NoError(t, err)
	for _, name := range names {
		require.Equal(t, tensors.MustCopyFlatData[float64](raw[name]), tensors.MustCopyFlatData[float64](after[name]), "Evaluate restores %s", name)
	}
	averaged := State{}
	for _, name := range names {
		averaged[name] = tensors.FromFlatDataAndDimensions(want[name], raw[name].Shape().Dimensions...)
	}
	require.NoError(t, trainer.SetState(averaged))
	wantLoss, wantAcc, err := trainer.evaluate(d)
	require.NoError(t, err)
	require.InDelta(t, wantLoss, loss, 1e-12)
	require.Equal(t, wantAcc, acc)
}
