package discrete

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/gosnn/gosnn/snn"
)

// SpatioTemporalEncode is jaxsnn.discrete's spatio_temporal_encode: each
// value v in [0, 1] of values [batch, n] becomes one spike at step
// round(v t_late / dt), clamped to the last of the steps, giving spikes
// [batch, steps, n] of the values' dtype. (jaxsnn clips the step to
// steps and indexes with it, which JAX clamps to steps - 1: the same.)
// jaxsnn's Yin-Yang example uses t_late = tau_syn + tau_mem = 15 ms,
// dt = 0.5 ms and 60 steps.
//
// It is the event family's spatio-temporal input code (snn.Encoding, the
// input node's encoding: a spike at time v t_late) binned into steps of dt
// by Bin, as discrete.Lower does for an input node: one code, one place.
func SpatioTemporalEncode(values *Node, steps int, tLate, dt float64) *Node {
	if values.Rank() != 2 {
		panicf("SpatioTemporalEncode: values must be [batch, n], got %s", values.Shape())
	}
	enc := snn.Encoding{Kind: snn.EncodingSpatioTemporal, SpatioTemporal: snn.SpatioTemporal{TLate: tLate, Duplication: 1}}
	times, _ := enc.Encode(values)
	return Bin(times, steps, dt, 1)
}
