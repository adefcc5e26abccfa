package snn

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// Latency is the linear latency code of fastAndDeep and jaxsnn: a value
// v in [0, 1] becomes one spike at time Early + v (Late - Early), so larger
// values spike later.
type Latency struct {
	Early float64 `json:"early,omitempty" yaml:"early,omitempty"`
	Late  float64 `json:"late,omitempty" yaml:"late,omitempty"`
}

// Validate requires finite 0 <= Early < Late.
func (e Latency) Validate() error {
	if !(e.Early >= 0) || math.IsInf(e.Late, 0) || !(e.Late > e.Early) {
		return fmt.Errorf("latency encoding: need 0 <= early < late (finite), got early=%g late=%g", e.Early, e.Late)
	}
	return nil
}

// Encode maps values [batch, n] to spike times [batch, n].
func (e Latency) Encode(values *Node) *Node {
	return AddScalar(MulScalar(values, e.Late-e.Early), e.Early)
}

// SpatioTemporal is jaxsnn's spatio_temporal_encode (jaxsnn 0.3.0,
// event/encode.py) with duplicate_neurons=False: every value v in [0, 1]
// of input neuron n becomes Duplication spikes of neuron n at time
// v TLate. The copies arrive together through the same weight, so they
// act like one spike of Duplication times the weight, but they are
// simulated as separate events, as jaxsnn does (its layered EventProp
// example uses 5 copies). jaxsnn also sorts the list by time; gosnn's
// event layers sort their inputs themselves, so the list keeps jaxsnn's
// order before the sort (jnp.repeat's: the copies of neuron 0, then of
// neuron 1, ...).
type SpatioTemporal struct {
	TLate       float64 `json:"t_late,omitempty" yaml:"t_late,omitempty"`
	Duplication int     `json:"duplication,omitempty" yaml:"duplication,omitempty"`
}

// Validate requires a positive finite TLate and Duplication >= 1.
func (e SpatioTemporal) Validate() error {
	if !(e.TLate > 0) || math.IsInf(e.TLate, 0) {
		return fmt.Errorf("spatio-temporal encoding: t_late must be a positive finite time, got %g", e.TLate)
	}
	if e.Duplication < 1 {
		return fmt.Errorf("spatio-temporal encoding: duplication must be >= 1, got %d", e.Duplication)
	}
	return nil
}

// Encode maps values [batch, n] to a spike list of capacity n Duplication.
func (e SpatioTemporal) Encode(values *Node) Spikes {
	return SpikesFromTimes(MulScalar(values, e.TLate)).Repeat(e.Duplication)
}

// The encoding kinds of Encoding.Kind.
const (
	EncodingLatency        = "latency"
	EncodingSpatioTemporal = "spatio_temporal"
)

// EncodingKinds lists the known encoding kinds.
var EncodingKinds = []string{EncodingLatency, EncodingSpatioTemporal}

// Encoding turns an input's features in [0, 1] into spikes, by one of
// EncodingKinds: the fields of every kind sit side by side (one YAML
// mapping), Kind selects the one in use and Validate rejects the fields of
// the others. An empty Kind is EncodingLatency, so configs written before
// other kinds existed keep their meaning.
type Encoding struct {
	Kind           string `json:"kind,omitempty" yaml:"kind,omitempty"`
	Latency        `yaml:",inline"`
	SpatioTemporal `yaml:",inline"`
}

// Validate checks the kind and its fields.
func (e Encoding) Validate() error {
	switch e.Kind {
	case "", EncodingLatency:
		if e.SpatioTemporal != (SpatioTemporal{}) {
			return fmt.Errorf("t_late and duplication belong to encoding kind %q, not to the latency encoding", EncodingSpatioTemporal)
		}
		return e.Latency.Validate()
	case EncodingSpatioTemporal:
		if e.Latency != (Latency{}) {
			return fmt.Errorf("early and late belong to the latency encoding, not to kind %q (use t_late)", EncodingSpatioTemporal)
		}
		return e.SpatioTemporal.Validate()
	}
	return fmt.Errorf("unknown encoding kind %q; one of %v", e.Kind, EncodingKinds)
}

// Copies is the number of spikes per input neuron and sample.
func (e Encoding) Copies() int {
	if e.Kind == EncodingSpatioTemporal {
		return e.Duplication
	}
	return 1
}

// Encode maps values [batch, n] to each neuron's spike time [batch, n] and
// the spike list (one slot per neuron for latency; Copies slots per neuron
// for spatio-temporal). It panics on an invalid Encoding.
func (e Encoding) Encode(values *Node) (times *Node, spikes Spikes) {
	if err := e.Validate(); err != nil {
		panic(err)
	}
	if e.Kind == EncodingSpatioTemporal {
		times = MulScalar(values, e.TLate)
		return times, SpikesFromTimes(times).Repeat(e.Duplication)
	}
	times = e.Latency.Encode(values)
	return times, SpikesFromTimes(times)
}
