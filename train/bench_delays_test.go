package train

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkDelayEpoch times one epoch of fastAndDeep's 30-hidden Yin-Yang
// networks without delays, with axonal and with synaptic delays, on the
// default backend ($GOMLX_BACKEND to change it):
//
//	go test -run XXX -bench DelayEpoch -benchtime 5x ./train
func BenchmarkDelayEpoch(b *testing.B) {
	for _, name := range []string{"yin_yang_H30_W", "yin_yang_H30_WA", "yin_yang_H30_WS"} {
		b.Run(name[len("yin_yang_"):], func(b *testing.B) {
			cfg, err := ShippedConfig(name)
			require.NoError(b, err)
			trainSet, val, _, err := Splits(cfg)
			require.NoError(b, err)
			benchmarkEpoch(b, cfg, trainSet, val)
		})
	}
}
