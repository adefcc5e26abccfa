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
// "The Yin-Yang dataset", NICE '22, arXiv:2102.08211). RSmall is the radius
// of the two dots, RBig the radius of the whole disc, and Seed the integer
// seed of numpy's RandomState that the reference generator would use.
type YinYangOptions struct {
	RSmall, RBig float64
	Size         int
	Seed         uint32
}

// DefaultYinYangOptions returns the reference radii (0.1, 0.5) for a set of
// the given size and numpy seed. (DefaultYinYang is the training Config.)
func DefaultYinYangOptions(size int, seed uint32) YinYangOptions {
	return YinYangOptions{RSmall: 0.1, RBig: 0.5, Size: size, Seed: seed}
}

// dist is numpy's np.sqrt((x-cx)**2 + (y-cy)**2) as dataset.py writes it.
// The float64 conversions forbid fusing the products into a multiply-add,
// which Go permits on some targets and which would round differently from
// numpy. (numpy squares a scalar with libm pow, which may differ from dx*dx
// by one ulp; that can only flip a point lying within about an ulp of a
// class boundary, and the reference sets have none, see the golden test.)
func dist(x, y, cx, cy float64) float64 {
	dx, dy := x-cx, y-cy
	return math.Sqrt(float64(dx*dx) + float64(dy*dy))
}

// YinYangClass is the reference which_class rule: 2 inside either dot,
// otherwise 1 where the reference's is_yin test holds and 0 elsewhere. The
// indices follow the reference, whose class names are yin, yang, dot, so
// is_yin points get index 1, named "yang"; the names are kept as published.
func YinYangClass(x, y, rSmall, rBig float64) int32 {
	dRight := dist(x, y, 1.5*rBig, rBig)
	dLeft := dist(x, y, 0.5*rBig, rBig)
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

// validate rejects options the reference would loop on forever or that do
// not describe a Yin-Yang figure: each dot must fit in its half-size inner
// circle (RBig > 2*RSmall), which also gives every class a positive area, so
// that the rejection sampling ends.
func (o YinYangOptions) validate() error {
	switch {
	case o.Size < 1:
		return fmt.Errorf("yinyang: Size must be >= 1, got %d", o.Size)
	case !(o.RSmall > 0) || math.IsInf(o.RSmall, 0):
		return fmt.Errorf("yinyang: RSmall must be finite and > 0, got %g", o.RSmall)
	case !(o.RBig > 2*o.RSmall) || math.IsInf(o.RBig, 0):
		return fmt.Errorf("yinyang: RBig must be finite and > 2*RSmall = %g, got %g", 2*o.RSmall, o.RBig)
	}
	return nil
}

// yinYangPoints draws the set in float64 exactly like the reference
// dataset.py with np.random.RandomState(Seed): per sample a goal class
// (randint(3)), then points (x, y) = rand(2)*2*RBig until one inside the big
// circle has that class. Kept apart from NewYinYang so tests can check the
// geometry on the unrounded coordinates.
func yinYangPoints(o YinYangOptions) (xy [][2]float64, labels []int32) {
	rng := newMT19937(o.Seed)
	xy = make([][2]float64, 0, o.Size)
	labels = make([]int32, 0, o.Size)
	for range o.Size {
		goal := int32(rng.IntN(3))
		for {
			// numpy evaluates rand(2) * 2. * r_big left to right.
			x := rng.Float64() * 2 * o.RBig
			y := rng.Float64() * 2 * o.RBig
			if dist(x, y, o.RBig, o.RBig) > o.RBig {
				continue
			}
			if c := YinYangClass(x, y, o.RSmall, o.RBig); c == goal {
				xy = append(xy, [2]float64{x, y})
				labels = append(labels, c)
				break
			}
		}
	}
	return xy, labels
}

// NewYinYang draws a Yin-Yang set bit-identical (after rounding to float32)
// to the reference dataset.py for the same radii, size and seed. Features
// are x, y, 1-x, 1-y: the mirrored pair, computed in float64 as numpy does,
// lets networks without bias terms see the input symmetrically.
//
// The classes are yin, yang and dot.
func NewYinYang(opts YinYangOptions) (*Dataset, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	xy, labels := yinYangPoints(opts)
	d := &Dataset{
		Name:        "yinyang",
		Features:    make([]float32, 0, 4*len(xy)),
		Labels:      labels,
		NumFeatures: 4,
		NumClasses:  yinYangClasses,
		ClassNames:  []string{"yin", "yang", "dot"},
	}
	for _, p := range xy {
		x, y := p[0], p[1]
		d.Features = append(d.Features, float32(x), float32(y), float32(1-x), float32(1-y))
	}
	return d, nil
}

// YinYangSplits returns the reference sets of the data set's README and
// publication: training (5000 samples, seed 42), validation (1000, seed 41)
// and test (1000, seed 40). Distinct seeds matter: rejection sampling from
// one seed yields the same samples whatever the size.
func YinYangSplits() (trainSet, validation, test *Dataset, err error) {
	return YinYangSplitsSized(0, 0, 0)
}

// YinYangSplitsSized is YinYangSplits with other sizes (0 keeps the
// reference size), drawn from the same seeds, so that a smaller set is a
// prefix of the reference one. jaxsnn's examples use 4992 training and 2944
// test samples from their own generator (jax.random, another stream): runs
// that match jaxsnn's sizes draw them from this one.
func YinYangSplitsSized(trainSize, valSize, testSize int) (trainSet, validation, test *Dataset, err error) {
	size := func(n, reference int) int {
		if n == 0 {
			return reference
		}
		return n
	}
	if trainSet, err = NewYinYang(DefaultYinYangOptions(size(trainSize, 5000), 42)); err != nil {
		return nil, nil, nil, err
	}
	if validation, err = NewYinYang(DefaultYinYangOptions(size(valSize, 1000), 41)); err != nil {
		return nil, nil, nil, err
	}
	if test, err = NewYinYang(DefaultYinYangOptions(size(testSize, 1000), 40)); err != nil {
		return nil, nil, nil, err
	}
	return trainSet, validation, test, nil
}

// yinYangClasses is the number of Yin-Yang classes.
const yinYangClasses = 3
