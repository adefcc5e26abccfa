// Package topology is gosnn's network description: a spiking network as
// plain data — named nodes (inputs, bias sources, projections, neuron
// populations) and the edges between them — before it is a graph.
//
// YAML configs (package train), the Go builder (New) and importers all
// produce a Network; each simulation family lowers it to a GoMLX graph
// (event.Lower for the event-based populations). A Network is validated
// once, with errors (*FieldError) that name the node and the field at
// fault. Populations that feed each other (strongly connected through their
// projections) are simulated together as one recurrent layer, as in jaxsnn
// 0.3.0's Topology.
package topology
