package plots

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/train"
)

func TestHistogramBins(t *testing.T) {
	bins := histogramBins([]float64{0, 0.1, 0.5, 0.99, 1, 1}, 0, 1, 4)
	require.Len(t, bins, 4)
	var weights []float64
	for _, b := range bins {
		weights = append(weights, b.Weight)
	}
	require.Equal(t, []float64{2, 0, 1, 3}, weights, "the upper end counts in the last bin")
	require.Equal(t, 0.75, bins[3].Min)
	lo, hi, ok := finiteRange([]float64{math.Inf(1), 2, math.NaN(), -1})
	require.True(t, ok)
	require.Equal(t, [2]float64{-1, 2}, [2]float64{lo, hi})
	_, _, ok = finiteRange([]float64{math.Inf(1)})
	require.False(t, ok)
}

func TestYinYangGridCoversTheDisc(t *testing.T) {
	d, cells := YinYangGrid(10)
	require.Len(t, cells, d.Size())
	// The cell centres within 0.5 of (0.5, 0.5) on a 10 x 10 grid.
	require.Equal(t, 80, d.Size())
	for i := range d.Size() {
		x, y := (float64(cells[i].X)+0.5)/10, (float64(cells[i].Y)+0.5)/10
		require.LessOrEqual(t, math.Hypot(x-0.5, y-0.5), 0.5)
		require.InDelta(t, x, float64(d.Features[4*i]), 1e-7)
		require.InDelta(t, y, float64(d.Features[4*i+1]), 1e-7)
		require.InDelta(t, 1-x, float64(d.Features[4*i+2]), 1e-7)
		require.Equal(t, train.YinYangClass(x, y, 0.1, 0.5), d.Labels[i])
	}
}

// TestSweepAccuracyMeansOverSeeds: one figure per swept key but the seed,
// a line per value of the other key, the mean and sample standard
// deviation over the seeds.
func TestSweepAccuracyMeansOverSeeds(t *testing.T) {
	keys := []string{"hidden", "lr", "seed"}
	var pts []SweepPoint
	for _, h := range []string{"4", "8"} {
		for _, lr := range []string{"0.1", "0.2"} {
			for _, s := range []string{"1", "2"} {
				acc := 0.5
				if s == "2" {
					acc = 0.7
				}
				pts = append(pts, SweepPoint{Values: []string{h, lr, s}, TestAccuracy: acc})
			}
		}
	}
	figs := SweepAccuracy(keys, pts)
	require.Len(t, figs, 2)
	require.Equal(t, "test_accuracy_vs_hidden", figs[0].Name)
	require.Equal(t, "test_accuracy_vs_lr", figs[1].Name)
	m := meanErrors{{x: 4, y: 60, err: math.Sqrt(200)}}
	require.Equal(t, 1, m.Len())
	lo, hi := m.YError(0)
	require.Equal(t, lo, hi)
	require.Equal(t, "network.nodes.hidden.size", fileName("network.nodes.hidden.size"))
	require.Equal(t, "save_points_0_", fileName("save_points[0]"))
	require.Len(t, SweepAccuracy([]string{"seed"}, pts[:2]), 1, "swept over seeds only: accuracy per seed")
}

func TestEpochTicks(t *testing.T) {
	labels := func(first, last int) []string {
		var out []string
		for _, tk := range epochTicks(first, last) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	require.Equal(t, []string{"1", "2", "3"}, labels(1, 3))
	require.Equal(t, []string{"5", "10", "15", "20", "25", "30"}, labels(1, 30))
	require.Equal(t, []string{"50", "100", "150", "200", "250", "300"}, labels(1, 300))
	require.Equal(t, []string{"101", "102", "103", "104", "105", "106", "107", "108", "109", "110"}, labels(101, 110))
	require.Equal(t, []string{"1", "2", "4", "6", "8", "10", "12"}, labels(1, 12))
	require.Len(t, epochTicks(1, 30), 30, "a tick at every epoch")
}
