package topology_test

import (
	"fmt"

	"github.com/janpfeifer/must"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// fastAndDeep's H30_WS network: synaptic delays d = σ(p), p ~ N(0, 0.25²),
// on both projections, with their own learning rates.
func ExampleBuilder_WithDelay() {
	neuron := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 0.5, Threshold: 1}
	delay := topology.Delay{
		Kind:         topology.DelaySynaptic,
		Init:         &topology.Init{Mean: 0, Std: 0.25},
		Positivity:   topology.Positivity{Function: topology.PositivitySigmoid, Scale: 1},
		LearningRate: 0.003,
	}
	net := must.M1(topology.New().
		Input("input", 4, snn.Latency{Early: 0.15, Late: 2}).
		TTFS("hidden", 30, neuron).WithMaxMissing(0.3).WithMaxGradNorm(0.2).
		Projection("to_hidden", 1, 1, "hidden", "input").WithDelay(delay).WithLearningRate(0.01).
		TTFS("output", 3, neuron).WithMaxGradNorm(0.2).
		Projection("to_output", 1, 1, "output", "hidden").WithDelay(delay).WithLearningRate(0.01).
		Output("output").
		Done())
	for _, name := range []string{"to_hidden", "to_output"} {
		d := net.Node(name).Delay
		rows := net.Node(net.Sources(name)[0]).Size
		r, c := d.Shape(rows, net.Node(net.Targets(name)[0]).Size)
		fmt.Printf("%s: %s delays [%d x %d], d(0) = %.2f\n", name, d.Kind, r, c, d.Positivity.Apply(0))
	}
	// Output:
	// to_hidden: synaptic delays [4 x 30], d(0) = 0.50
	// to_output: synaptic delays [30 x 3], d(0) = 0.50
}
