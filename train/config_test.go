package train

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLearningRateSchedules(t *testing.T) {
	step := Config{LearningRate: 0.01, LRStepSize: 20, LRGamma: 0.5, Epochs: 100}
	cosine := Config{LearningRate: 0.01, LRMin: 1e-4, LRSchedule: "cosine", LRStepSize: 1, LRGamma: 1, Epochs: 61}
	for _, tc := range []struct {
		name  string
		cfg   Config
		epoch int
		want  float64
	}{
		{"step start", step, 0, 0.01},
		{"step before the first step", step, 19, 0.01},
		{"step after one", step, 20, 0.005},
		{"step after two", step, 45, 0.0025},
		{"cosine start", cosine, 0, 0.01},
		{"cosine middle", cosine, 30, 1e-4 + (0.01-1e-4)/2},
		{"cosine quarter", cosine, 15, 1e-4 + (0.01-1e-4)*(1+math.Sqrt(0.5))/2},
		{"cosine last epoch", cosine, 60, 1e-4},
		{"cosine after the last epoch (a continued run)", cosine, 70, 1e-4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, tc.cfg.LearningRateAt(tc.epoch), 1e-15)
		})
	}
}
