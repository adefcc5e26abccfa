package topology_test

import (
	"fmt"

	"github.com/janpfeifer/must"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// The network of jaxsnn's yinyang_event_prop: a hidden and an output lif
// population simulated as one recurrent layer.
func Example() {
	neuron := snn.FastAndDeepLIF()
	neuron.Reset = -1000
	net := must.M1(topology.New().
		Input("input", 4, snn.Latency{Early: 0.15, Late: 2}).
		Bias("bias", 0.9).
		LIF("hidden", 120, 120, neuron).WithMaxMissing(0.3).
		Projection("to_hidden", 1.5, 0.8, "hidden", "input", "bias").
		LIF("output", 3, 3, neuron).
		Projection("to_output", 0.5, 0.8, "output", "hidden", "bias").
		Group("hidden", "output").
		Output("output").
		Done())
	for _, layer := range must.M1(net.Layers()) {
		fmt.Println(layer.Populations, "recurrent:", layer.Recurrent())
	}
	// Output: [hidden output] recurrent: true
}
