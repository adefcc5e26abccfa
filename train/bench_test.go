package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// BenchmarkYinYangEpoch measures one training epoch (5000 samples, batch
// 150, 4-120-3) plus the validation pass, on the default backend
// ($GOMLX_BACKEND to change it), for each shipped Yin-Yang config.
func BenchmarkYinYangEpoch(b *testing.B) {
	for _, method := range []string{"yin_yang", "yin_yang_eventprop", "yin_yang_eventprop_recurrent"} {
		b.Run(method, func(b *testing.B) {
			backend, _, err := graph.NewBackend("")
			require.NoError(b, err)
			trainSet, val, _, err := YinYangSplits()
			require.NoError(b, err)
			cfg := shipped(b, method, 120)
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
		})
	}
}
