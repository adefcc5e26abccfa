package discrete

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// SurrogateKind names the shape of a surrogate derivative.
type SurrogateKind int

const (
	// FastSigmoid is SuperSpike's surrogate (Zenke & Ganguli 2018, "SuperSpike:
	// Supervised learning in multilayer spiking neural networks", Neural
	// Comput.), the derivative of the fast sigmoid x/(1+a|x|):
	//
	//	g(x) = 1 / (1 + a|x|)²,
	//
	// unnormalised as in jaxsnn.discrete's superspike (peak 1, default a = 80).
	FastSigmoid SurrogateKind = iota
	// ArcTan is the derivative of 1/2 + arctan(π a x / 2)/π (Fang et al. 2021,
	// SpikingJelly; snnTorch's atan, default a = 2):
	//
	//	g(x) = (a/2) / (1 + (π a x / 2)²).
	ArcTan
	// Triangle is the piecewise-linear pseudo-derivative of Esser et al. (2016)
	// and Bellec et al. (2018), of unit area and half-width 1/a (default a = 1):
	//
	//	g(x) = a max(0, 1 - a|x|).
	Triangle
	// ScaledSigmoid is the derivative of the logistic function σ(a x) (Zenke & Vogels
	// 2021; snnTorch's sigmoid, default a = 25):
	//
	//	g(x) = a σ(a x) (1 - σ(a x)) = a e / (1 + e)²,  e = exp(-a|x|),
	//
	// written with exp(-a|x|) so that it cannot overflow (snnTorch's first
	// version computed exp(a x) and returned NaN for large |x|).
	ScaledSigmoid
)

// String implements fmt.Stringer.
func (k SurrogateKind) String() string {
	switch k {
	case FastSigmoid:
		return "fast_sigmoid"
	case ArcTan:
		return "arctan"
	case Triangle:
		return "triangle"
	case ScaledSigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("SurrogateKind(%d)", int(k))
}

// Surrogate is a spike function: forward the Heaviside step
// H(x) = 1 if x > 0 else 0 of x = v - v_th, backward the derivative g(x) of
// its Kind with scale (sharpness) Scale.
//
// With Smooth set, the forward value is the primitive of g instead of H
// (the network becomes differentiable and its surrogate gradient is then
// its true gradient): the gradient checks against finite differences use it.
type Surrogate struct {
	Kind   SurrogateKind `json:"kind" yaml:"kind"`
	Scale  float64       `json:"scale" yaml:"scale"`
	Smooth bool          `json:"smooth,omitempty" yaml:"smooth,omitempty"`
}

// SuperSpike returns the fast-sigmoid surrogate with scale alpha.
func SuperSpike(alpha float64) Surrogate { return Surrogate{Kind: FastSigmoid, Scale: alpha} }

// DefaultSurrogate is jaxsnn.discrete's default: SuperSpike with alpha = 80.
func DefaultSurrogate() Surrogate { return SuperSpike(80) }

// DefaultScale is the customary scale of each kind (see the kinds).
func DefaultScale(k SurrogateKind) float64 {
	switch k {
	case ArcTan:
		return 2
	case Triangle:
		return 1
	case ScaledSigmoid:
		return 25
	}
	return 80
}

// Smoothed returns a copy with the smooth forward value (see Surrogate).
func (s Surrogate) Smoothed() Surrogate { s.Smooth = true; return s }

// Validate names an unknown kind or a scale that is not a positive finite number.
func (s Surrogate) Validate() error {
	if s.Kind < FastSigmoid || s.Kind > ScaledSigmoid {
		return fmt.Errorf("surrogate: unknown kind %d", int(s.Kind))
	}
	if !(s.Scale > 0) || math.IsInf(s.Scale, 0) {
		return fmt.Errorf("surrogate %s: scale must be a positive finite number, got %g", s.Kind, s.Scale)
	}
	return nil
}

// Derivative returns g(x), elementwise; it is finite for every finite x.
func (s Surrogate) Derivative(x *Node) *Node {
	a := s.Scale
	ax := MulScalar(Abs(x), a)
	switch s.Kind {
	case ArcTan:
		return DivScalar(Inverse(OnePlus(Square(MulScalar(x, math.Pi*a/2)))), 2/a)
	case Triangle:
		return MulScalar(Max(OneMinus(ax), ZerosLike(x)), a)
	case ScaledSigmoid:
		e := Exp(Neg(ax))
		return MulScalar(Div(e, Square(OnePlus(e))), a)
	}
	return Inverse(Square(OnePlus(ax)))
}

// Primitive returns the smooth function whose derivative is g, shifted to
// lie between 0 and 1 where the kind allows (the fast sigmoid's stays within
// 1/2 ± 1/a): the forward value of a Smooth surrogate.
func (s Surrogate) Primitive(x *Node) *Node {
	a := s.Scale
	switch s.Kind {
	case ArcTan:
		return AddScalar(DivScalar(atan(MulScalar(x, math.Pi*a/2)), math.Pi), 0.5)
	case Triangle:
		u := ClipScalar(MulScalar(x, a), -1, 1)
		return AddScalar(Sub(u, DivScalar(Mul(u, Abs(u)), 2)), 0.5)
	case ScaledSigmoid:
		return Sigmoid(MulScalar(x, a))
	}
	return AddScalar(Div(x, OnePlus(MulScalar(Abs(x), a))), 0.5)
}

// Spike returns the spikes of x = v - v_th: H(x) forward (the primitive
// when Smooth), with g(x) as the derivative. Following reference/GOMLX.md,
// the forward value is stopped and an identity carrying the custom
// gradient adds (y - StopGradient(y)) = 0 to it, so no operation of the
// forward pass is differentiated.
func (s Surrogate) Spike(x *Node) *Node {
	y := IdentityWithCustomGradient(x, func(x, v *Node) *Node { return Mul(v, s.Derivative(x)) })
	return Add(StopGradient(s.value(x)), Sub(y, StopGradient(y)))
}

// value is Spike's forward value, H(x) (the primitive when Smooth), not
// differentiable.
func (s Surrogate) value(x *Node) *Node {
	if s.Smooth {
		return StopGradient(s.Primitive(x))
	}
	return ConvertDType(GreaterThan(x, ZerosLike(x)), x.DType())
}

// atan is the arc tangent, which GoMLX lacks: three argument halvings
// atan(z) = 2 atan(z / (1 + sqrt(1 + z²))) bring |z| below tan(π/16) ≈ 0.2,
// where 14 terms of the Taylor series reach float64 round-off. It serves
// only the smooth forward value of the ArcTan surrogate.
func atan(z *Node) *Node {
	const halvings = 3
	for range halvings {
		z = Div(z, OnePlus(Sqrt(OnePlus(Square(z)))))
	}
	z2 := Square(z)
	sum := ZerosLike(z)
	for n := 13; n >= 0; n-- {
		sign := 1.0
		if n%2 == 1 {
			sign = -1
		}
		sum = AddScalar(Mul(sum, z2), sign/float64(2*n+1))
	}
	return MulScalar(Mul(z, sum), 1<<halvings)
}
