package graph

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// lambertIterations is the fixed number of Halley steps: the starting
// guesses below are within ~2% everywhere on [-1/e, 0], and Halley's method
// triples the number of correct digits per step (2e-2, ~1e-5, ~1e-15), so
// two steps reach float64 round-off; TestLambertW0 checks 1e-12. Every
// event loop step evaluates it for every neuron: a third step made a
// Yin-Yang epoch on xla:cpu 8-18% slower, for nothing.
const lambertIterations = 2

// LambertW0 is the principal branch W0 of the Lambert W function, the
// solution w >= -1 of w exp(w) = z, element-wise for z in [-1/e, +inf).
// Values below -1/e (no real solution) give NaN, so callers can reject them
// with IsNaN; z = -1/e exactly gives -1.
//
// It starts from the branch-point series w = -1 + p - p²/3 + 11p³/72 with
// p = sqrt(2(1 + e z)) near z = -1/e (Corless et al. 1996, "On the Lambert W
// function", Adv. Comput. Math. 5) and from w = L (1 - log(1+L)/(2+L)),
// L = log(1+z) elsewhere (Winitzki 2003), then takes a fixed number of
// Halley steps, so the graph has no data-dependent loop. The result is not
// meant to be differentiated: spike-time gradients come from implicit
// differentiation of the membrane equation instead.
func LambertW0(z *Node) *Node {
	g := z.Graph()
	dtype := z.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }

	onePlusEZ := Add(c(1), Mul(c(math.E), z))
	valid := GreaterOrEqual(onePlusEZ, c(0))
	safeZ := Where(valid, z, c(0))

	p := Sqrt(Max(Mul(c(2), onePlusEZ), c(0)))
	nearBranch := Add(c(-1), Mul(p, Add(c(1), Mul(p, Add(c(-1.0/3), Mul(p, c(11.0/72)))))))
	l := Log1p(Max(safeZ, c(-1+1e-7)))
	far := Mul(l, Sub(c(1), Div(Log1p(Max(l, c(-0.9))), Add(c(2), l))))
	w := Where(LessThan(safeZ, c(-0.25)), nearBranch, far)

	for range lambertIterations {
		ew := Exp(w)
		f := Sub(Mul(w, ew), safeZ)
		wp1 := Add(w, c(1))
		den := Sub(Mul(ew, wp1), Div(Mul(Add(w, c(2)), f), Mul(c(2), wp1)))
		ok := GreaterThan(Abs(den), c(1e-30))
		safeDen := Where(ok, den, c(1))
		w = Where(ok, Sub(w, Div(f, safeDen)), w)
		// Halley may overshoot below the branch point; W0 >= -1 always.
		w = Max(w, c(-1))
	}
	return Where(valid, w, c(math.NaN()))
}
