package topology

import "github.com/gosnn/gosnn/snn"

// Builder assembles a Network node by node. Create it with New, add nodes
// with its methods (each returns the builder) and call Done, which
// validates the result.
//
//	net, err := topology.New().
//		Input("input", 4, snn.Latency{Early: 0.15, Late: 2}).
//		Bias("bias", 0.9).
//		TTFS("hidden", 120, snn.FastAndDeepLIF()).WithMaxMissing(0.3).
//		Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
//		TTFS("output", 3, snn.FastAndDeepLIF()).
//		Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
//		Output("output").
//		Done()
type Builder struct {
	net Network
}

// New starts an empty network.
func New() *Builder { return &Builder{} }

// Input adds an input of size features, latency-encoded by enc.
func (b *Builder) Input(name string, size int, enc snn.Latency) *Builder {
	return b.EncodedInput(name, size, snn.Encoding{Latency: enc})
}

// EncodedInput adds an input of size features with any encoding (such as
// jaxsnn's spatio-temporal one).
func (b *Builder) EncodedInput(name string, size int, enc snn.Encoding) *Builder {
	b.net.Nodes = append(b.net.Nodes, Node{Name: name, Kind: KindInput, Size: size, Encoding: &enc})
	return b
}

// Bias adds a bias source that spikes at the given times in every sample.
func (b *Builder) Bias(name string, times ...float64) *Builder {
	b.net.Nodes = append(b.net.Nodes, Node{Name: name, Kind: KindBias, Times: times})
	return b
}

// TTFS adds a population of closed-form first-spike neurons.
func (b *Builder) TTFS(name string, size int, neuron snn.LIF) *Builder {
	b.net.Nodes = append(b.net.Nodes, Node{Name: name, Kind: KindTTFS, Size: size, Neuron: &neuron})
	return b
}

// LIF adds a population of event-based LIF neurons keeping up to capacity
// spikes per sample.
func (b *Builder) LIF(name string, size, capacity int, neuron snn.LIF) *Builder {
	b.net.Nodes = append(b.net.Nodes, Node{Name: name, Kind: KindLIF, Size: size, Capacity: capacity, Neuron: &neuron})
	return b
}

// WithMaxMissing sets the MaxMissing of the node added last.
func (b *Builder) WithMaxMissing(fraction float64) *Builder {
	if len(b.net.Nodes) > 0 {
		b.net.Nodes[len(b.net.Nodes)-1].MaxMissing = fraction
	}
	return b
}

// WithMaxGradNorm sets the MaxGradNorm of the node added last.
func (b *Builder) WithMaxGradNorm(v float64) *Builder {
	if len(b.net.Nodes) > 0 {
		b.net.Nodes[len(b.net.Nodes)-1].MaxGradNorm = v
	}
	return b
}

// Projection adds a projection with weights N(mean, std²) from the sources
// (concatenated in this order) to the population to.
func (b *Builder) Projection(name string, mean, std float64, to string, from ...string) *Builder {
	b.net.Nodes = append(b.net.Nodes, Node{Name: name, Kind: KindLinear, Init: &Init{Mean: mean, Std: std}})
	for _, f := range from {
		b.net.Edges = append(b.net.Edges, Edge{From: f, To: name})
	}
	b.net.Edges = append(b.net.Edges, Edge{From: name, To: to})
	return b
}

// Group simulates the named populations as one recurrent layer.
func (b *Builder) Group(populations ...string) *Builder {
	b.net.Groups = append(b.net.Groups, populations)
	return b
}

// Output names the read-out population.
func (b *Builder) Output(name string) *Builder { b.net.Output = name; return b }

// Done validates the network and returns it.
func (b *Builder) Done() (Network, error) {
	if err := b.net.Validate(""); err != nil {
		return b.net, err
	}
	return b.net, nil
}
