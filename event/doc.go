// Package event holds event-based spiking layers: networks simulated in
// continuous time, jumping from spike to spike, with exact gradients.
//
// Each layer is split as in jaxsnn: the pure math (spike times as a function
// of input times and weights) is a plain function on graph nodes and can be
// tested alone; the layer builders only create the weight variables and wire
// the math.
//
// Gradients are exact: the forward pass finds each threshold crossing t* in
// closed form without differentiating through the solver, and the gradient
// is re-attached by the implicit function theorem on the membrane equation
// V(t*; θ) = ϑ:
//
//	dt*/dθ = -(∂V/∂θ) / V̇(t*),
//
// for θ the weights and the input spike times. This is the analytical
// time-to-first-spike gradient of Göltz et al. (2021) and the event-wise
// gradient of EventProp (Wunderlich & Pehle 2021), written once.
package event
