package event

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/gosnn/gosnn/snn"
)

// LIFLayer configures an event-based layer of LIF neurons whose neurons may
// spike many times, feed-forward or recurrent, trained with EventProp.
// Create it with NewLIFLayer, set options with the With... methods and call
// Done.
type LIFLayer struct {
	ctx                   *context.Context
	input                 snn.Spikes
	numInputs, numNeurons int
	cfg                   LIFConfig
	biasTimes             []float64
	weightMean, weightStd float64
	recurrent             bool
	recMean, recStd       float64
}

// NewLIFLayer starts the configuration of a layer of numNeurons LIF neurons
// driven by the input spike list (neuron indices in [0, numInputs)). Its
// variables, in ctx's current scope, are "weights" [numInputs + number of
// bias spikes, numNeurons] and, for a recurrent layer, "recurrent_weights"
// [numNeurons, numNeurons]. Defaults: the neuron of snn.FastAndDeepLIF,
// capacity numNeurons (one spike per neuron on average), weights
// N(1.5, 0.8²), no bias spike, feed-forward.
func NewLIFLayer(ctx *context.Context, input snn.Spikes, numInputs, numNeurons int) *LIFLayer {
	return &LIFLayer{
		ctx: ctx, input: input, numInputs: numInputs, numNeurons: numNeurons,
		cfg:        LIFConfig{Neuron: snn.FastAndDeepLIF(), Capacity: numNeurons},
		weightMean: 1.5, weightStd: 0.8,
	}
}

// WithNeuron sets the LIF parameters (any tau_mem/tau_syn ratio).
func (l *LIFLayer) WithNeuron(p snn.LIF) *LIFLayer { l.cfg.Neuron = p; return l }

// WithCapacity sets the number of output spikes per sample the layer keeps.
func (l *LIFLayer) WithCapacity(k int) *LIFLayer { l.cfg.Capacity = k; return l }

// WithHorizon sets the simulated horizon in units of tau_syn.
func (l *LIFLayer) WithHorizon(h float64) *LIFLayer { l.cfg.Horizon = h; return l }

// WithBias adds bias inputs: extra input neurons (indices numInputs, ...)
// that spike once at the given times in every sample.
func (l *LIFLayer) WithBias(times ...float64) *LIFLayer { l.biasTimes = times; return l }

// WithWeightInit sets the normal distribution of the initial input weights.
func (l *LIFLayer) WithWeightInit(mean, std float64) *LIFLayer {
	l.weightMean, l.weightStd = mean, std
	return l
}

// WithRecurrent makes the layer recurrent, with all-to-all weights
// initialised N(mean, std²).
func (l *LIFLayer) WithRecurrent(mean, std float64) *LIFLayer {
	l.recurrent, l.recMean, l.recStd = true, mean, std
	return l
}

// Done builds the layer and returns its output spikes (capacity slots per
// sample, +Inf padding; ordered as Simulate describes) and the overflow
// count per sample. Bad
// parameters panic with an error naming them, before any graph is run.
func (l *LIFLayer) Done() (snn.Spikes, *Node) {
	if l.numNeurons < 1 || l.numInputs < 1 {
		panicf("event LIF layer: need >= 1 input and >= 1 neuron, got %d and %d", l.numInputs, l.numNeurons)
	}
	if err := l.cfg.Validate(); err != nil {
		panic(err)
	}
	input := WithBiasSpikes(l.input, l.numInputs, l.biasTimes)
	g := input.Time.Graph()
	dtype := input.Time.DType()
	ctx := l.ctx
	normal := func(mean, std float64) func(*Graph, shapes.Shape) *Node { return normalInit(ctx, mean, std) }
	wIn := ctx.WithInitializer(normal(l.weightMean, l.weightStd)).
		VariableWithShape("weights", shapes.Make(dtype, l.numInputs+len(l.biasTimes), l.numNeurons)).ValueGraph(g)
	var wRec *Node
	if l.recurrent {
		wRec = ctx.WithInitializer(normal(l.recMean, l.recStd)).
			VariableWithShape("recurrent_weights", shapes.Make(dtype, l.numNeurons, l.numNeurons)).ValueGraph(g)
	}
	return LIFSpikes(input, wIn, wRec, l.cfg)
}

// WithBiasSpikes appends one spike per bias time to every sample of a
// spike list, from the extra input neurons numInputs, numInputs+1, ...
func WithBiasSpikes(in snn.Spikes, numInputs int, times []float64) snn.Spikes {
	if len(times) == 0 {
		return in
	}
	g := in.Time.Graph()
	batch := in.Time.Shape().Dim(0)
	bias := BroadcastToDims(InsertAxes(ConvertDType(Const(g, times), in.Time.DType()), 0), batch, len(times))
	ids := AddScalar(Iota(g, shapes.Make(dtypes.Int32, len(times)), 0), float64(numInputs))
	ids = BroadcastToDims(InsertAxes(ConvertDType(ids, in.Neuron.DType()), 0), batch, len(times))
	return snn.Spikes{
		Time:   Concatenate([]*Node{in.Time, bias}, 1),
		Neuron: Concatenate([]*Node{in.Neuron, ids}, 1),
	}
}

// normalInit draws initial weights from N(mean, std²) with ctx's random
// number generator.
func normalInit(ctx *context.Context, mean, std float64) func(*Graph, shapes.Shape) *Node {
	return func(g *Graph, shape shapes.Shape) *Node {
		return AddScalar(MulScalar(ctx.RandomNormal(g, shape), std), mean)
	}
}
