package train

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func valHistory(vals ...float64) []EpochMetrics {
	h := make([]EpochMetrics, len(vals))
	for i, v := range vals {
		h[i] = EpochMetrics{Epoch: i + 1, ValAccuracy: v}
	}
	return h
}

func TestMaxValDropAndBestEpoch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		vals      []float64
		window    int
		wantDrop  float64
		wantEpoch int
		wantBest  float64
	}{
		{"empty", nil, 50, 0, 0, 0},
		{"rising", []float64{0.5, 0.6, 0.7}, 50, 0, 3, 0.7},
		{"dip inside window", []float64{0.5, 0.9, 0.8, 0.85}, 2, 0.1, 2, 0.9},
		// The running maximum comes from before the window; the dip of
		// epoch 2 lies outside it.
		{"max before window", []float64{0.9, 0.3, 0.88, 0.87}, 2, 0.03, 1, 0.9},
		{"first of ties", []float64{0.8, 0.9, 0.9, 0.7}, 50, 0.2, 2, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := valHistory(tc.vals...)
			require.InDelta(t, tc.wantDrop, MaxValDrop(h, tc.window), 1e-12)
			epoch, best := BestEpoch(h)
			require.Equal(t, tc.wantEpoch, epoch)
			require.Equal(t, tc.wantBest, best)
		})
	}
}

func TestSummarySetStability(t *testing.T) {
	s := Summary{History: valHistory(0.5, 0.97, 0.81, 0.95)}
	s.SetStability()
	require.Equal(t, 2, s.BestValEpoch)
	require.Equal(t, 0.97, s.BestValAccuracy)
	require.InDelta(t, 0.16, s.MaxValDrop, 1e-12)
	require.Equal(t, StabilityWindow, s.MaxValDropWindow)
}

func TestWriteMetricsCSVColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.csv")
	h := []EpochMetrics{
		{Epoch: 1, Bumps: 3, MaxBumpValue: 0.002, TrainLossMin: 0.1, TrainLossMax: 0.9, TrainLossStd: 0.2, Silent: []float64{0.25, 0.01}},
		{Epoch: 2, Silent: []float64{0.125, 0}},
	}
	require.NoError(t, WriteMetricsCSV(path, h))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for name, want := range map[string]string{"bumps": "3", "max_bump_value": "0.002", "train_loss_min": "0.1",
		"train_loss_max": "0.9", "train_loss_std": "0.2", "silent_l0": "0.25", "silent_l1": "0.01"} {
		require.Contains(t, col, name)
		require.Equal(t, want, rows[1][col[name]], name)
	}
	require.Equal(t, "0.125", rows[2][col["silent_l0"]])
}
