package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// BenchmarkJaxsnnEpoch measures one epoch of each configs/jaxsnn_*.yaml
// (4992 training samples in batches of 64, then the 2944-sample
// validation pass, as jaxsnn 0.3.0's examples do per epoch) on the default
// backend ($GOMLX_BACKEND to change it), compilation excluded. With
// -cpuprofile it shows where gosnn's time goes:
//
//	go test -run XXX -bench JaxsnnEpoch/layered -benchtime 1x -cpuprofile cpu.prof ./train
func BenchmarkJaxsnnEpoch(b *testing.B) {
	for _, name := range []string{"jaxsnn_yinyang_analytical", "jaxsnn_yinyang_layered_event_prop", "jaxsnn_yinyang_recurrent_event_prop", "jaxsnn_yinyang_discrete"} {
		b.Run(name[len("jaxsnn_yinyang_"):], func(b *testing.B) {
			cfg, err := ShippedConfig(name)
			require.NoError(b, err)
			trainSet, val, _, err := Splits(cfg)
			require.NoError(b, err)
			benchmarkEpoch(b, cfg, trainSet, val)
		})
	}
}

// benchmarkEpoch times one epoch of cfg (training and validation pass) on
// the default backend, after a first epoch that compiles the graphs.
func benchmarkEpoch(b *testing.B, cfg Config, trainSet, val *Dataset) {
	backend, _, err := graph.NewBackend("")
	require.NoError(b, err)
	cfg.Epochs = 1
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	require.NoError(b, err)
	_, err = trainer.Fit(context.Background(), trainSet, val, 0, Hooks{}) // compile
	require.NoError(b, err)
	b.ResetTimer()
	for range b.N {
		_, err = trainer.Fit(context.Background(), trainSet, val, 0, Hooks{})
		require.NoError(b, err)
	}
}
