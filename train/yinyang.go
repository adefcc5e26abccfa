package train

import (
	"fmt"
	"math"
)

// Dataset is an in-memory classification data set with float32 features.
type Dataset struct {
	Name        string
	Features    []float32 // row-major [Size, NumFeatures]
	Labels      []int32   // [Size]
	NumFeatures int
	NumClasses  int
	ClassNames  []string
}

// Size is the number of samples.
func (d *Dataset) Size() int { return len(d.Labels) }

// YinYangOptions define one Yin-Yang set (Kriener, Göltz & Petrovici 2022,
// "The Yin-Yang dataset", NICE '22, arXiv:2102.08211).
type YinYangOptions struct {
	RSmall, RBig float64
	Size         int
	Seed         uint32
}

// DefaultYinYang returns the reference radii (0.1, 0.5) for a set of the
// given size and numpy seed.
func DefaultYinYangOptions(size int, seed uint32) YinYangOptions {
	return YinYangOptions{RSmall: 0.1, RBig: 0.5, Size: size, Seed: seed}
}

// YinYangClass is the reference which_class rule: 0 yin, 1 yang, 2 dot.
// (The reference returns 1 when its is_yin test holds.)
func YinYangClass(x, y, rSmall, rBig float64) int32 {
	dRight := math.Sqrt((x-1.5*rBig)*(x-1.5*rBig) + (y-rBig)*(y-rBig))
	dLeft := math.Sqrt((x-0.5*rBig)*(x-0.5*rBig) + (y-rBig)*(y-rBig))
	crit1 := dRight <= rSmall
	crit2 := dLeft > rSmall && dLeft <= 0.5*rBig
	crit3 := y > rBig && dRight > 0.5*rBig
	isYin := crit1 || crit2 || crit3
	if dRight < rSmall || dLeft < rSmall {
		return 2
	}
	if isYin {
		return 1
	}
	return 0
}

// NewYinYang draws a set exactly like the reference dataset.py with
// np.random.RandomState(seed): per sample a goal class, then points in the
// square until one inside the big circle has that class. Features are
// x, y, 1-x, 1-y.
func NewYinYang(opts YinYangOptions) (*Dataset, error) {
	switch {
	case opts.Size < 1:
		return nil, fmt.Errorf("yinyang: Size must be >= 1, got %d", opts.Size)
	case !(opts.RSmall > 0):
		return nil, fmt.Errorf("yinyang: RSmall must be > 0, got %g", opts.RSmall)
	case !(opts.RBig > 2*opts.RSmall) || math.IsInf(opts.RBig, 0):
		return nil, fmt.Errorf("yinyang: RBig must be finite and > 2*RSmall, got %g", opts.RBig)
	}
	rng := newMT19937(opts.Seed)
	d := &Dataset{Name: "yinyang", NumFeatures: 4, NumClasses: 3, ClassNames: []string{"yin", "yang", "dot"},
		Features: make([]float32, 0, 4*opts.Size), Labels: make([]int32, 0, opts.Size)}
	for range opts.Size {
		goal := int32(rng.IntN(3))
		for {
			x := rng.Float64() * 2 * opts.RBig
			y := rng.Float64() * 2 * opts.RBig
			if math.Sqrt((x-opts.RBig)*(x-opts.RBig)+(y-opts.RBig)*(y-opts.RBig)) > opts.RBig {
				continue
			}
			if c := YinYangClass(x, y, opts.RSmall, opts.RBig); c == goal {
				d.Features = append(d.Features, float32(x), float32(y), float32(1-x), float32(1-y))
				d.Labels = append(d.Labels, c)
				break
			}
		}
	}
	return d, nil
}

// YinYangSplits returns the reference sets: training (5000 samples, seed
// 42), validation (1000, seed 41) and test (1000, seed 40).
func YinYangSplits() (trainSet, validation, test *Dataset, err error) {
	if trainSet, err = NewYinYang(DefaultYinYangOptions(5000, 42)); err != nil {
		return
	}
	if validation, err = NewYinYang(DefaultYinYangOptions(1000, 41)); err != nil {
		return
	}
	test, err = NewYinYang(DefaultYinYangOptions(1000, 40))
	return
}
