package discrete

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

var allKinds = []SurrogateKind{FastSigmoid, ArcTan, Triangle, ScaledSigmoid}

// TestSurrogateFiniteInFloat32 evaluates every surrogate (default scale and
// a 10x sharper one) in float32 over membrane offsets spread over
// [-1e4, 1e4], including 0 and the ends: spikes are exactly H(x), and the
// gradient is finite and equals the float64 formula to float32 precision.
func TestSurrogateFiniteInFloat32(t *testing.T) {
	backend := testBackend(t)
	var xs []float32
	for _, m := range []float64{0, 1e-30, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1, 3, 10, 100, 1e3, 5e3, 1e4} {
		xs = append(xs, float32(m), float32(-m))
	}
	for k := -1000; k <= 1000; k++ {
		xs = append(xs, float32(10*k))
	}
	for _, kind := range allKinds {
		for _, scale := range []float64{DefaultScale(kind), 10 * DefaultScale(kind)} {
			s := Surrogate{Kind: kind, Scale: scale}
			exec, err := NewExec(backend, func(x *Node) []*Node {
				spikes := s.Spike(x)
				return []*Node{spikes, Gradient(ReduceAllSum(spikes), x)[0]}
			})
			require.NoError(t, err)
			outs, err := exec.Exec(xs)
			require.NoError(t, err)
			require.Equal(t, dtypes.Float32, outs[1].DType())
			spikes, grads := tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
			for i, x := range xs {
				require.Equal(t, float32(refHeaviside(float64(x))), spikes[i], "%s(%g) at %g", kind, scale, x)
				g := float64(grads[i])
				require.False(t, math.IsNaN(g) || math.IsInf(g, 0), "%s(%g): gradient %g at %g", kind, scale, g, x)
				require.InDelta(t, refDerivative(s, float64(x)), g, 1e-6*scale, "%s(%g) at %g", kind, scale, x)
			}
		}
	}
}

// TestSurrogatePrimitive checks the smooth forward value against the
// float64 primitives (whose derivative the finite-difference test checks).
func TestSurrogatePrimitive(t *testing.T) {
	backend := testBackend(t)
	xs := []float64{-50, -2, -0.7, -0.3, -0.05, 0, 0.01, 0.2, 0.45, 1.3, 8, 400}
	for _, kind := range allKinds {
		s := Surrogate{Kind: kind, Scale: DefaultScale(kind)}.Smoothed()
		out, err := NewExec(backend, s.Spike)
		require.NoError(t, err)
		got := tensors.MustCopyFlatData[float64](out.MustExec(xs)[0])
		for i, x := range xs {
			require.InDelta(t, refPrimitive(s)(x), got[i], 1e-13, "%s at %g", kind, x)
		}
	}
}

func TestSurrogateValidate(t *testing.T) {
	for _, c := range []struct {
		s    Surrogate
		want string
	}{
		{Surrogate{Kind: 7, Scale: 1}, "unknown kind 7"},
		{Surrogate{Kind: ArcTan, Scale: 0}, "surrogate arctan: scale must be a positive finite number, got 0"},
		{Surrogate{Kind: Triangle, Scale: math.Inf(1)}, "got +Inf"},
		{Surrogate{Kind: FastSigmoid, Scale: math.NaN()}, "got NaN"},
	} {
		require.ErrorContains(t, c.s.Validate(), c.want)
	}
	require.NoError(t, DefaultSurrogate().Validate())
	require.Equal(t, Surrogate{Kind: FastSigmoid, Scale: 80}, DefaultSurrogate())
}
