package snn

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Spikes is a padded, fixed-capacity list of spike events per sample, so
// that shapes stay static and graphs compile once. Entries with Time = +Inf
// are padding (no spike); their Neuron value is meaningless.
type Spikes struct {
	Time   *Node // [batch, K], float
	Neuron *Node // [batch, K], int32
}

// Capacity is K, the number of slots per sample.
func (s Spikes) Capacity() int { return s.Time.Shape().Dim(1) }

// SpikesFromTimes lists one spike per neuron: slot n holds neuron n, at
// times[b, n] (+Inf: silent). It is the view of a TTFS layer's output as an
// event list.
func SpikesFromTimes(times *Node) Spikes {
	batch, n := times.Shape().Dim(0), times.Shape().Dim(1)
	neurons := BroadcastToDims(InsertAxes(Iota(times.Graph(), shapes.Make(dtypes.Int32, n), 0), 0), batch, n)
	return Spikes{Time: times, Neuron: neurons}
}

// FirstTimes returns each neuron's earliest spike time, [batch, numNeurons]
// (+Inf for neurons without a spike). It is differentiable with respect to
// Time.
func (s Spikes) FirstTimes(numNeurons int) *Node {
	if s.Time.Rank() != 2 || s.Neuron.Rank() != 2 || s.Time.Shape().Dim(0) != s.Neuron.Shape().Dim(0) || s.Time.Shape().Dim(1) != s.Neuron.Shape().Dim(1) {
		panic(fmt.Errorf("spike list: Time %s and Neuron %s must both be [batch, K]", s.Time.Shape(), s.Neuron.Shape()))
	}
	g := s.Time.Graph()
	ids := Iota(g, shapes.Make(dtypes.Int32, numNeurons), 0)
	match := Equal(InsertAxes(s.Neuron, 2), Reshape(ids, 1, 1, numNeurons)) // [batch, K, numNeurons]
	times := BroadcastToDims(InsertAxes(s.Time, 2), s.Time.Shape().Dim(0), s.Capacity(), numNeurons)
	return ReduceMin(Where(match, times, Infinity(g, s.Time.DType(), 1)), 1)
}

// Repeat lists every spike k times in a row, in jnp.repeat's order (the k
// copies of slot 0, then of slot 1, ...): jaxsnn's spatio-temporal code
// duplicates its input spikes this way. k <= 1 returns s.
func (s Spikes) Repeat(k int) Spikes {
	if k <= 1 {
		return s
	}
	batch, n := s.Time.Shape().Dim(0), s.Capacity()
	repeat := func(x *Node) *Node { return Reshape(BroadcastToDims(InsertAxes(x, 2), batch, n, k), batch, n*k) }
	return Spikes{Time: repeat(s.Time), Neuron: repeat(s.Neuron)}
}
