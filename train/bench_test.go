package train

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkYinYangEpoch measures one training epoch (5000 samples, batch
// 150, 4-120-3) plus the validation pass, on the default backend
// ($GOMLX_BACKEND to change it), for each shipped Yin-Yang config.
func BenchmarkYinYangEpoch(b *testing.B) {
	for _, method := range []string{"yin_yang", "yin_yang_eventprop", "yin_yang_eventprop_recurrent"} {
		b.Run(method, func(b *testing.B) {
			trainSet, val, _, err := YinYangSplits()
			require.NoError(b, err)
			benchmarkEpoch(b, shipped(b, method, 120), trainSet, val)
		})
	}
}
