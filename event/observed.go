package event

import (
	"fmt"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// ObservedLIFSpikes is LIFSpikes for spikes observed elsewhere (on the
// BrainScaleS-2 chip or its mock): the observed times are taken as the
// roots of the layer's threshold equations and get the exact EventProp
// gradient of the software layer evaluated there (jaxsnn's
// hardware-in-the-loop scheme; see attachEventGradient). Exactly equal
// times, common with the chip's clock, are used as they are.
//
// observed must be in the layout Simulate gives: for a feed-forward layer
// (wRec nil) capacity/neurons slots per neuron, neuron by neuron,
// time-sorted within a neuron and filled from the first slot; for a
// recurrent layer one time-sorted list of capacity slots (with
// cfg.Populations, at most each population's capacity of its spikes: the
// earliest, as Simulate keeps them). +Inf pads.
func ObservedLIFSpikes(observed, in snn.Spikes, wIn, wRec *Node, cfg LIFConfig) snn.Spikes {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	checkLayerShapes(in, wIn, wRec, cfg)
	if observed.Time.Rank() != 2 || observed.Time.Shape().Dim(1) != cfg.Capacity || observed.Time.DType() != wIn.DType() {
		panicf("event LIF layer: observed spike times must be [batch, capacity %d] of dtype %s, got %s", cfg.Capacity, wIn.DType(), observed.Time.Shape())
	}
	perNeuron := 0
	if wRec == nil {
		numOut := wIn.Shape().Dim(1)
		if cfg.Capacity%numOut != 0 {
			panicf("event LIF layer: a feed-forward layer's capacity (%d) must be a multiple of its number of neurons (%d)", cfg.Capacity, numOut)
		}
		perNeuron = cfg.Capacity / numOut
	}
	return snn.Spikes{Time: attachEventGradient(observed, in, wIn, wRec, cfg.Neuron, perNeuron), Neuron: observed.Neuron}
}

// LowerObserved is Lower with the spikes of populations observed elsewhere
// (the chip in the loop): observed maps a feed-forward population's name,
// or a recurrent layer's (its populations joined by '+'), to its spikes in
// the layout of ObservedLIFSpikes (ttfs populations: first-spike times
// [batch, size] in Time). Those layers are not simulated: their outputs are
// the observed times, with the software model's gradients evaluated at
// them. Variables, initialisation and the Lowered result are Lower's.
func LowerObserved(ctx *context.Context, net *topology.Network, features *Node, observed map[string]snn.Spikes) topology.Lowered {
	layers, err := net.Layers()
	if err != nil {
		panic(fmt.Errorf("network description: %w", err))
	}
	known := map[string]bool{}
	for _, l := range layers {
		known[strings.Join(l.Populations, "+")] = true
	}
	for name := range observed {
		if !known[name] {
			panicf("observed spikes for %q: not a layer of the network (a feed-forward population, or a recurrent layer's populations joined by '+')", name)
		}
	}
	return lower(ctx, net, features, observed)
}
