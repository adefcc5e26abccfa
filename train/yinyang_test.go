package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

type yinYangGolden struct {
	Numpy string `json:"numpy"`
	Sets  []struct {
		Name          string       `json:"name"`
		Size          int          `json:"size"`
		Seed          uint32       `json:"seed"`
		FirstFeatures [][4]float64 `json:"first_features"`
		FirstLabels   []int32      `json:"first_labels"`
		ClassCounts   [3]int       `json:"class_counts"`
	} `json:"sets"`
	RandSeed42 []float64 `json:"rand_seed42"`
}

// TestYinYangMatchesNumpy compares the generator with golden values written
// by scripts/golden/yinyang_golden.py from numpy's RandomState.
func TestYinYangMatchesNumpy(t *testing.T) {
	data, err := os.ReadFile("testdata/yinyang_golden.json")
	require.NoError(t, err)
	var golden yinYangGolden
	require.NoError(t, json.Unmarshal(data, &golden))

	rng := newMT19937(42)
	for i, want := range golden.RandSeed42 {
		require.Equalf(t, want, rng.Float64(), "rand() #%d for seed 42", i)
	}
	require.Len(t, golden.Sets, 3)
	for _, set := range golden.Sets {
		t.Run(set.Name, func(t *testing.T) {
			d, err := NewYinYang(DefaultYinYangOptions(set.Size, set.Seed))
			require.NoError(t, err)
			require.Equal(t, set.Size, d.Size())
			for i, feats := range set.FirstFeatures {
				for f := range 4 {
					require.Equalf(t, float32(feats[f]), d.Features[i*4+f], "sample %d feature %d", i, f)
				}
				require.Equalf(t, set.FirstLabels[i], d.Labels[i], "label of sample %d", i)
			}
			var counts [3]int
			for _, l := range d.Labels {
				counts[l]++
			}
			require.Equal(t, set.ClassCounts, counts)
		})
	}
}

func TestYinYangGeometry(t *testing.T) {
	trainSet, val, test, err := YinYangSplits()
	require.NoError(t, err)
	for _, d := range []*Dataset{trainSet, val, test} {
		counts := make([]int, 3)
		for i := range d.Size() {
			x, y := float64(d.Features[4*i]), float64(d.Features[4*i+1])
			require.LessOrEqual(t, math.Hypot(x-0.5, y-0.5), 0.5+1e-6, "sample %d outside the big circle", i)
			require.InDelta(t, 1-x, float64(d.Features[4*i+2]), 1e-6)
			require.InDelta(t, 1-y, float64(d.Features[4*i+3]), 1e-6)
			counts[d.Labels[i]]++
		}
		for c, n := range counts {
			frac := float64(n) / float64(d.Size())
			require.InDeltaf(t, 1.0/3, frac, 0.05, "class %d fraction in a set of %d", c, d.Size())
		}
	}
	// The rule itself on hand-picked points (r_small 0.1, r_big 0.5).
	for _, tc := range []struct {
		name string
		x, y float64
		want int32
	}{
		{"left dot centre", 0.25, 0.5, 2},
		{"right dot centre", 0.75, 0.5, 2},
		{"top half, far from dots", 0.5, 0.9, 1},
		{"bottom half, far from dots", 0.5, 0.1, 0},
		{"around the left dot", 0.25, 0.62, 1},
		{"around the right dot", 0.75, 0.38, 0},
	} {
		require.Equal(t, tc.want, YinYangClass(tc.x, tc.y, 0.1, 0.5), tc.name)
	}
}

func TestYinYangBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  YinYangOptions
		field string
	}{
		{YinYangOptions{RSmall: 0.1, RBig: 0.5, Size: 0}, "Size"},
		{YinYangOptions{RSmall: 0, RBig: 0.5, Size: 10}, "RSmall"},
		{YinYangOptions{RSmall: 0.1, RBig: 0.15, Size: 10}, "RBig"},
	} {
		_, err := NewYinYang(tc.opts)
		require.ErrorContains(t, err, tc.field)
	}
}
