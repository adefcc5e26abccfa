package train

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// yinYangGolden is testdata/yinyang_golden.json, written from numpy by
// scripts/golden/yinyang_golden.py.
type yinYangGolden struct {
	Numpy          string    `json:"numpy"`
	RSmall         float64   `json:"r_small"`
	RBig           float64   `json:"r_big"`
	MTSeed42       []uint32  `json:"mt19937_seed42_uint32"`
	RandSeed42     []float64 `json:"rand_seed42"`
	RandInt3Seed42 []uint32  `json:"randint3_seed42"`
	Sets           []struct {
		Name           string       `json:"name"`
		Size           int          `json:"size"`
		Seed           uint32       `json:"seed"`
		FirstFeatures  [][4]float64 `json:"first_features"`
		FirstLabels    []int32      `json:"first_labels"`
		ClassCounts    [3]int       `json:"class_counts"`
		FeaturesSHA256 string       `json:"features_float32_sha256"`
		LabelsSHA256   string       `json:"labels_int32_sha256"`
	} `json:"sets"`
}

func loadYinYangGolden(t *testing.T) yinYangGolden {
	t.Helper()
	data, err := os.ReadFile("testdata/yinyang_golden.json")
	require.NoError(t, err)
	var g yinYangGolden
	require.NoError(t, json.Unmarshal(data, &g))
	require.Len(t, g.Sets, 3)
	require.Len(t, g.MTSeed42, 10)
	require.Len(t, g.RandSeed42, 5)
	return g
}

func classCounts(d *Dataset) [3]int {
	var counts [3]int
	for _, l := range d.Labels {
		counts[l]++
	}
	return counts
}

// TestMT19937MatchesNumpy checks raw outputs, rand() and legacy randint(3)
// against numpy's RandomState(42).
func TestMT19937MatchesNumpy(t *testing.T) {
	g := loadYinYangGolden(t)
	rng := newMT19937(42)
	for i, want := range g.MTSeed42 {
		require.Equalf(t, want, rng.Uint32(), "raw output #%d for seed 42", i)
	}
	rng = newMT19937(42)
	for i, want := range g.RandSeed42 {
		require.Equalf(t, want, rng.Float64(), "rand() #%d for seed 42", i)
	}
	rng = newMT19937(42)
	for i, want := range g.RandInt3Seed42 {
		require.Equalf(t, want, rng.IntN(3), "randint(3) #%d for seed 42", i)
	}
}

// TestMT19937Reference checks the generator without numpy: the C++
// standard requires the 10000th output of mt19937 seeded with 5489 to be
// 4123659995, which exercises many state refills.
func TestMT19937Reference(t *testing.T) {
	rng := newMT19937(5489)
	require.Equal(t, uint32(3499211612), rng.Uint32(), "first output for seed 5489")
	var v uint32
	for range 9999 {
		v = rng.Uint32()
	}
	require.Equal(t, uint32(4123659995), v)
}

func TestMT19937IntN(t *testing.T) {
	// randint(1) consumes no draw in numpy, so the stream stays aligned.
	a, b := newMT19937(7), newMT19937(7)
	require.Equal(t, uint32(0), a.IntN(1))
	require.Equal(t, b.Uint32(), a.Uint32())
	require.Panics(t, func() { newMT19937(7).IntN(0) })

	for _, n := range []uint32{2, 3, 5, 8, 10, 1 << 31, math.MaxUint32} {
		rng := newMT19937(n)
		for range 1000 {
			require.Less(t, rng.IntN(n), n)
		}
	}
}

// TestYinYangMatchesNumpy compares the standard sets with the golden values
// from numpy: the first samples one by one, class counts, and digests of the
// whole float32 feature and int32 label arrays.
func TestYinYangMatchesNumpy(t *testing.T) {
	g := loadYinYangGolden(t)
	for _, set := range g.Sets {
		t.Run(set.Name, func(t *testing.T) {
			d, err := NewYinYang(YinYangOptions{RSmall: g.RSmall, RBig: g.RBig, Size: set.Size, Seed: set.Seed})
			require.NoError(t, err)
			require.Equal(t, set.Size, d.Size())
			for i, feats := range set.FirstFeatures {
				for f, want := range feats {
					require.Equalf(t, math.Float32bits(float32(want)), math.Float32bits(d.Features[i*4+f]),
						"sample %d feature %d: want %v, got %v", i, f, float32(want), d.Features[i*4+f])
				}
				require.Equalf(t, set.FirstLabels[i], d.Labels[i], "label of sample %d", i)
			}
			require.Equal(t, set.ClassCounts, classCounts(d))

			buf := make([]byte, 0, 4*len(d.Features))
			for _, v := range d.Features {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			sum := sha256.Sum256(buf)
			require.Equal(t, set.FeaturesSHA256, hex.EncodeToString(sum[:]), "digest of all features")
			buf = buf[:0]
			for _, l := range d.Labels {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(l))
			}
			sum = sha256.Sum256(buf)
			require.Equal(t, set.LabelsSHA256, hex.EncodeToString(sum[:]), "digest of all labels")
		})
	}
}

func TestYinYangSplits(t *testing.T) {
	g := loadYinYangGolden(t)
	trainSet, val, test, err := YinYangSplits()
	require.NoError(t, err)
	for i, tc := range []struct {
		d    *Dataset
		size int
	}{{trainSet, 5000}, {val, 1000}, {test, 1000}} {
		require.Equal(t, "yinyang", tc.d.Name)
		require.Equal(t, tc.size, tc.d.Size())
		require.Len(t, tc.d.Features, 4*tc.size)
		require.Equal(t, 4, tc.d.NumFeatures)
		require.Equal(t, 3, tc.d.NumClasses)
		require.Equal(t, []string{"yin", "yang", "dot"}, tc.d.ClassNames)
		// Rejection sampling towards a uniformly drawn goal class keeps the
		// classes balanced; the exact counts are numpy's.
		counts := classCounts(tc.d)
		require.Equal(t, g.Sets[i].ClassCounts, counts, g.Sets[i].Name)
		for c, n := range counts {
			require.InDeltaf(t, 1.0/3, float64(n)/float64(tc.size), 0.03, "%s: share of class %d", g.Sets[i].Name, c)
		}
	}
	require.Equal(t, [3]int{1681, 1702, 1617}, classCounts(trainSet))
}

// TestYinYangGeometry checks every sample of the standard sets on its
// unrounded float64 coordinates: inside the big circle, labelled by the
// rule, and stored as x, y, 1-x, 1-y.
func TestYinYangGeometry(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts YinYangOptions
	}{
		{"train", DefaultYinYangOptions(5000, 42)},
		{"validation", DefaultYinYangOptions(1000, 41)},
		{"test", DefaultYinYangOptions(1000, 40)},
		{"other radii", YinYangOptions{RSmall: 0.3, RBig: 2, Size: 500, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			d, err := NewYinYang(o)
			require.NoError(t, err)
			xy, labels := yinYangPoints(o)
			require.Equal(t, labels, d.Labels)
			for i, p := range xy {
				x, y := p[0], p[1]
				require.LessOrEqualf(t, math.Hypot(x-o.RBig, y-o.RBig), o.RBig*(1+1e-15), "sample %d outside the big circle", i)
				require.Equalf(t, YinYangClass(x, y, o.RSmall, o.RBig), labels[i], "label of sample %d", i)
				require.Equal(t, []float32{float32(x), float32(y), float32(1 - x), float32(1 - y)}, d.Features[4*i:4*i+4])
			}
		})
	}
}

func TestYinYangClass(t *testing.T) {
	for _, tc := range []struct {
		name         string
		x, y         float64
		rSmall, rBig float64
		want         int32
	}{
		{"left dot centre", 0.25, 0.5, 0.1, 0.5, 2},
		{"right dot centre", 0.75, 0.5, 0.1, 0.5, 2},
		{"inside right dot, off centre", 0.8, 0.45, 0.1, 0.5, 2},
		{"top, far from the dots", 0.5, 0.9, 0.1, 0.5, 1},
		{"bottom, far from the dots", 0.5, 0.1, 0.1, 0.5, 0},
		{"ring around the left dot", 0.25, 0.62, 0.1, 0.5, 1},
		{"ring around the right dot", 0.75, 0.38, 0.1, 0.5, 0},
		{"upper left", 0.1, 0.6, 0.1, 0.5, 1},
		{"lower right", 0.9, 0.4, 0.1, 0.5, 0},
		// Exactly on a dot's rim (dyadic radii make the distance exact): the
		// dot test is strict, so the rim belongs to the surrounding class.
		{"rim of right dot, upper", 0.75, 0.625, 0.125, 0.5, 1},
		{"rim of left dot, lower", 0.25, 0.375, 0.125, 0.5, 0},
		{"scaled: left dot centre", 1, 2, 0.4, 2, 2},
		{"scaled: top", 2, 3.6, 0.4, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, YinYangClass(tc.x, tc.y, tc.rSmall, tc.rBig))
		})
	}
}

func TestYinYangDeterminism(t *testing.T) {
	a, err := NewYinYang(DefaultYinYangOptions(300, 7))
	require.NoError(t, err)
	b, err := NewYinYang(DefaultYinYangOptions(300, 7))
	require.NoError(t, err)
	require.Equal(t, a, b)
	// A smaller set from the same seed is a prefix of the larger one.
	c, err := NewYinYang(DefaultYinYangOptions(100, 7))
	require.NoError(t, err)
	require.Equal(t, a.Features[:400], c.Features)
	require.Equal(t, a.Labels[:100], c.Labels)
	e, err := NewYinYang(DefaultYinYangOptions(300, 8))
	require.NoError(t, err)
	require.NotEqual(t, a.Features, e.Features)
}

func TestYinYangBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  YinYangOptions
		field string
	}{
		{"zero size", YinYangOptions{RSmall: 0.1, RBig: 0.5, Size: 0}, "yinyang: Size"},
		{"negative size", YinYangOptions{RSmall: 0.1, RBig: 0.5, Size: -3}, "yinyang: Size"},
		{"zero RSmall", YinYangOptions{RSmall: 0, RBig: 0.5, Size: 10}, "yinyang: RSmall"},
		{"negative RSmall", YinYangOptions{RSmall: -0.1, RBig: 0.5, Size: 10}, "yinyang: RSmall"},
		{"NaN RSmall", YinYangOptions{RSmall: math.NaN(), RBig: 0.5, Size: 10}, "yinyang: RSmall"},
		{"infinite RSmall", YinYangOptions{RSmall: math.Inf(1), RBig: 0.5, Size: 10}, "yinyang: RSmall"},
		{"RBig below RSmall", YinYangOptions{RSmall: 0.1, RBig: 0.05, Size: 10}, "yinyang: RBig"},
		{"dots too big for RBig", YinYangOptions{RSmall: 0.1, RBig: 0.2, Size: 10}, "yinyang: RBig"},
		{"NaN RBig", YinYangOptions{RSmall: 0.1, RBig: math.NaN(), Size: 10}, "yinyang: RBig"},
		{"infinite RBig", YinYangOptions{RSmall: 0.1, RBig: math.Inf(1), Size: 10}, "yinyang: RBig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewYinYang(tc.opts)
			require.ErrorContains(t, err, tc.field)
			require.Nil(t, d)
		})
	}
}
