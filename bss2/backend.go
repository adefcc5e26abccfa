package bss2

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Backend runs the forward pass of a mapped network: the BrainScaleS-2
// chip (Chip, build tag bss2) or its software twin (Mock). A backend is
// used from one goroutine at a time; Configure may be called again to
// change the weights between runs (the chip then only rewrites its
// synapse matrix, grenade's update_network_graph).
type Backend interface {
	// Configure places the network of m on the backend with the given
	// weights (software units, in the layout of Mapping.Layers). Weights
	// beyond the hardware's range are clipped and counted in the Result of
	// every later Run.
	Configure(m *Mapping, w Weights) error
	// Run feeds a batch of input spike trains to the configured network
	// and returns every population's observed spikes.
	Run(ctx context.Context, in Input) (*Result, error)
	// Name says what runs the network ("mock", "chip").
	Name() string
	// Close releases the backend (the chip's connection).
	Close() error
}

// WeightRanger is a Backend whose weights have a limited range.
// WeightRange is the largest weight magnitude, in software units, that it
// represents without clipping (0: unlimited): a training loop that keeps
// its weights within it trains the network that actually runs.
type WeightRanger interface {
	WeightRange() float64
}

// Spikes is a batch of spike lists on the host: sample b fired at
// Time[b][k] from neuron Neuron[b][k] (the index inside its node), in time
// order.
type Spikes struct {
	Time   [][]float64
	Neuron [][]int32
}

// Batch is the number of samples.
func (s Spikes) Batch() int { return len(s.Time) }

// Count is the total number of spikes.
func (s Spikes) Count() int {
	n := 0
	for _, t := range s.Time {
		n += len(t)
	}
	return n
}

// FirstTimes returns the first spike of each of size neurons per sample
// [batch][size], +Inf for a silent neuron.
func (s Spikes) FirstTimes(size int) [][]float64 {
	out := make([][]float64, len(s.Time))
	for b := range s.Time {
		out[b] = make([]float64, size)
		for n := range out[b] {
			out[b][n] = math.Inf(1)
		}
		for k, t := range s.Time[b] {
			if n := s.Neuron[b][k]; int(n) < size && t < out[b][n] {
				out[b][n] = t
			}
		}
	}
	return out
}

// SpikesFromTimes makes a spike list of neurons that spike once each at
// times [batch][neurons] (+Inf or NaN: no spike), in time order.
func SpikesFromTimes(times [][]float64) Spikes {
	s := Spikes{Time: make([][]float64, len(times)), Neuron: make([][]int32, len(times))}
	for b, row := range times {
		for n, t := range row {
			if !math.IsInf(t, 0) && !math.IsNaN(t) {
				s.Time[b] = append(s.Time[b], t)
				s.Neuron[b] = append(s.Neuron[b], int32(n))
			}
		}
		sortSample(s.Time[b], s.Neuron[b])
	}
	return s
}

// sortSample orders one sample's spikes by time, ties by neuron.
func sortSample(times []float64, neurons []int32) {
	idx := make([]int, len(times))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if times[a] != times[b] {
			if times[a] < times[b] {
				return -1
			}
			return 1
		}
		return int(neurons[a]) - int(neurons[b])
	})
	t2, n2 := slices.Clone(times), slices.Clone(neurons)
	for i, j := range idx {
		times[i], neurons[i] = t2[j], n2[j]
	}
}

// Input is one batch for Run: the spikes of every external source node of
// the network (input and bias nodes, by name), times in model units.
type Input struct {
	Sources map[string]Spikes
	// MembraneStep > 0 asks for membrane samples every MembraneStep model
	// time units from 0 to the run's end (the chip: CADC samples; the mock
	// evaluates its state).
	MembraneStep float64
}

// Batch is the number of samples of the input (that of any source).
func (in Input) Batch() int {
	for _, s := range in.Sources {
		return s.Batch()
	}
	return 0
}

// Result holds what a run observed.
type Result struct {
	// Spikes of every population, by name, neuron indices inside the
	// population, times in model units, in time order.
	Spikes map[string]Spikes
	// Membrane samples of every population when asked for:
	// [batch][neuron][sample], sample i at time i*MembraneStep.
	Membrane map[string][][][]float64
	// ClippedWeights counts the configured weights that were beyond the
	// hardware range and were clipped.
	ClippedWeights int
	// LateSpikes counts the spikes dropped because they came after the
	// run time of their sample.
	LateSpikes int
}

// Weights are a network's weights in software units, one entry per layer
// of a Mapping: In [len rows, neurons] row-major over the layer's external
// sources (Mapping.Layers[i].Rows), Rec [neurons, neurons] from neuron
// (row) to neuron (column) for a recurrent layer, nil otherwise. This is
// the layout of event.Lower's variables (the concatenated projections of
// a feed-forward population; "weights" and "recurrent_weights" of a
// recurrent layer), so trained variables go to the chip unchanged.
type Weights []LayerWeights

// LayerWeights are one layer's weights (see Weights).
type LayerWeights struct {
	In, Rec []float64
}

// check verifies that w fits m, naming the layer and what is wrong.
func (w Weights) check(m *Mapping) error {
	if len(w) != len(m.Layers) {
		return fmt.Errorf("bss2 weights: %d layers given, the mapping has %d", len(w), len(m.Layers))
	}
	for i, l := range m.Layers {
		if got, want := len(w[i].In), l.InputRows()*l.Neurons(); got != want {
			return fmt.Errorf("bss2 weights: layer %d (%s): %d input weights, need %d rows x %d neurons", i, l.Name(), got, l.InputRows(), l.Neurons())
		}
		want := 0
		if l.Recurrent {
			want = l.Neurons() * l.Neurons()
		}
		if len(w[i].Rec) != want {
			return fmt.Errorf("bss2 weights: layer %d (%s): %d recurrent weights, need %d", i, l.Name(), len(w[i].Rec), want)
		}
		for _, v := range [][]float64{w[i].In, w[i].Rec} {
			for j, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return fmt.Errorf("bss2 weights: layer %d (%s): weight %d is %g", i, l.Name(), j, x)
				}
			}
		}
	}
	return nil
}

// SpikesFromSample makes a one-sample spike list from unordered spikes,
// ordering them by time (ties by neuron).
func SpikesFromSample(times []float64, neurons []int32) Spikes {
	t, n := slices.Clone(times), slices.Clone(neurons)
	sortSample(t, n)
	return Spikes{Time: [][]float64{t}, Neuron: [][]int32{n}}
}
