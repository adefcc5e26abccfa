package discrete

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"
)

func TestDecaysFromTau(t *testing.T) {
	d, err := DecaysFromTau(0.5, 10, 5)
	require.NoError(t, err)
	require.InDelta(t, 0.95, d.Mem, 1e-15)
	require.InDelta(t, 0.9, d.Syn, 1e-15)
	for _, c := range []struct {
		dt, tauMem, tauSyn float64
		want               []string
	}{
		{5, 10, 5, []string{"dt (5) must be below tau_syn (5)"}},
		{12, 10, 5, []string{"dt (12) must be below tau_mem (10)", "dt (12) must be below tau_syn (5)"}},
		{0, 10, 5, []string{"dt must be a positive finite number, got 0"}},
		{0.1, math.Inf(1), 5, []string{"tau_mem (+Inf)"}},
	} {
		_, err := DecaysFromTau(c.dt, c.tauMem, c.tauSyn)
		for _, w := range c.want {
			require.ErrorContains(t, err, w)
		}
	}
	require.ErrorContains(t, Decays{Mem: 1.2, Syn: 0.5}.Validate(), "mem decay must lie in [0, 1], got 1.2")
}

// TestLayerValidation checks that bad layer parameters fail at Done, before
// any graph, naming the parameter.
func TestLayerValidation(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func()
		want  string
	}{
		{"dt >= tau", func() { NewLIF().WithTau(1, 10, 0.5).Done() }, "dt (1) must be below tau_syn (0.5)"},
		{"decay", func() { NewLIF().WithDecays(0.9, -0.1).Done() }, "syn decay must lie in [0, 1], got -0.1"},
		{"threshold", func() { NewLIF().WithThreshold(0).WithReset(ResetZero, 0.5).Done() }, "threshold (0) must be above reset (0.5)"},
		{"surrogate", func() { NewLIF().WithSurrogate(Surrogate{Kind: ArcTan}).Done() }, "scale must be a positive finite number"},
		{"leak", func() { NewLIF().WithLeak(math.NaN()).Done() }, "leak must be finite"},
		{"LI tau", func() { NewLI().WithTau(6, 5, 10).Done() }, "dt (6) must be below tau_mem (5)"},
	} {
		require.ErrorContains(t, panicError(c.build), c.want, c.name)
	}
}

// panicError runs fn and returns the error it panicked with (nil if none).
func panicError(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var ok bool
			if err, ok = r.(error); !ok {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	fn()
	return nil
}

// TestRecurrentNeedsRank2 checks the recurrent layer's input check.
func TestRecurrentNeedsRank2(t *testing.T) {
	g := NewGraph(testBackend(t), "rank")
	x := Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 3, 4, 5))
	err := panicError(func() { NewSequential(NewLIF().WithRecurrent(0, 0.1).Done()).Run(context.New(), x) })
	require.ErrorContains(t, err, `layer "0_lif", reading the input of shape (Float32)[2 4 5]: `+
		"recurrent LIF layer: input must be [batch, neurons], got (Float32)[2 4 5]")
	// A shape mismatch inside a GoMLX layer names both layers.
	err = panicError(func() {
		NewSequential(Flatten(), NewLIF().Done(), MaxPool2D(2)).Run(context.New(), x)
	})
	require.ErrorContains(t, err, `layer "2_max_pool", reading layer "1_lif" of shape (Float32)[2 20]: pooling: need [batch, height, width, channels]`)
}
