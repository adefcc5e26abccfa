// Package event holds event-based spiking layers: networks simulated in
// continuous time, jumping from spike to spike, with exact gradients.
//
// Two kinds of layer:
//   - FirstSpikeTimes / Layer: one spike per neuron in closed form (the
//     time-to-first-spike layer of Göltz et al. 2021, fastAndDeep);
//   - LIFSpikes / LIFLayer: LIF neurons that spike many times, with reset,
//     refractory period and optional recurrent weights, any
//     tau_mem/tau_syn ratio, trained with EventProp.
//
// Each neuron is split as in jaxsnn into pure functions of graph nodes,
// testable alone: NextCrossing (the next threshold crossing of the free
// trajectory), Evolve (integration between events) and the jumps at events
// (applied by Simulate). The layer builders only create the weight
// variables and wire the math.
//
// Gradients are exact: the forward pass finds the threshold crossings
// without differentiating through the solver, and the gradient is
// re-attached by the implicit function theorem on the membrane equations
// F_k = V(t_k; θ, earlier spikes) - ϑ = 0:
//
//	dt/dθ = -J⁻¹ ∂F/∂θ,  J = ∂F/∂t (lower triangular: spikes depend on earlier ones),
//
// for θ the weights and the input spike times. For a single crossing this
// is dt*/dθ = -(∂V/∂θ)/V̇(t*), the analytical TTFS gradient; over a spike
// train it is the adjoint of EventProp (Wunderlich & Pehle 2021). Because the
// input times get their gradient too, stacked layers are exact — what
// jaxsnn's EventPropLIF gets wrong for more than one layer.
package event
