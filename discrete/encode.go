package discrete

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// SpatioTemporalEncode is jaxsnn.discrete's spatio_temporal_encode: each
// value v in [0, 1] of values [batch, n] becomes one spike at step
// round(v t_late / dt), clamped to the last of the steps, giving spikes
// [batch, steps, n] of the values' dtype. (jaxsnn clips the step to
// steps and indexes with it, which JAX clamps to steps - 1: the same.)
// jaxsnn's Yin-Yang example uses t_late = tau_syn + tau_mem = 15 ms,
// dt = 0.5 ms and 60 steps.
func SpatioTemporalEncode(values *Node, steps int, tLate, dt float64) *Node {
	if values.Rank() != 2 {
		panicf("SpatioTemporalEncode: values must be [batch, n], got %s", values.Shape())
	}
	if steps < 1 || !(tLate > 0) || !(dt > 0) || math.IsInf(tLate/dt, 0) {
		panic(fmt.Errorf("SpatioTemporalEncode: need steps >= 1, t_late > 0 and dt > 0, got %d, %g, %g", steps, tLate, dt))
	}
	step := ClipScalar(Round(MulScalar(values, tLate/dt)), 0, float64(steps-1))
	oneHot := OneHot(ConvertDType(step, dtypes.Int32), steps, values.DType()) // [batch, n, steps]
	return TransposeAllAxes(oneHot, 0, 2, 1)
}
