package bss2_test

import (
	"context"
	"fmt"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// A two-layer network on the mock chip with jaxsnn's operating point: its
// place on the chip and the first output spike of one sample.
func Example() {
	neuron := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 0.25, Threshold: 1, Reset: 0, Refractory: 5}
	net, err := topology.New().
		Input("input", 2, snn.Latency{Early: 0, Late: 1}).
		LIF("hidden", 4, 4, neuron).Projection("to_hidden", 0.8, 0, "hidden", "input").
		LIF("output", 1, 1, neuron).Projection("to_output", 0.6, 0, "output", "hidden").
		Output("output").Done()
	if err != nil {
		panic(err)
	}
	m, err := bss2.Map(&net, bss2.ChipLimits(), "")
	if err != nil {
		panic(err)
	}
	mock, err := bss2.NewMock(bss2.DefaultMock())
	if err != nil {
		panic(err)
	}
	w := bss2.Weights{
		{In: []float64{0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8}}, // [2 inputs, 4 hidden]
		{In: []float64{0.6, 0.6, 0.6, 0.6}},                     // [4 hidden, 1 output]
	}
	if err := mock.Configure(m, w); err != nil {
		panic(err)
	}
	in, err := bss2.EncodeInput(m, [][]float64{{0.2, 0.4}})
	if err != nil {
		panic(err)
	}
	res, err := mock.Run(context.Background(), in)
	if err != nil {
		panic(err)
	}
	out := res.Spikes["output"]
	fmt.Printf("synapse rows per hemisphere: %v\n", m.RowsUsed)
	fmt.Printf("output spike at %.4f tau_syn (%d clock cycles), %.3f ms biological\n",
		out.Time[0][0], int(out.Time[0][0]*6e-6*125e6+0.5), 1e3*mock.BiologicalTime(out.Time[0][0]))
	fmt.Printf("clipped weights: %d\n", res.ClippedWeights)
	// Output:
	// synapse rows per hemisphere: [12 0]
	// output spike at 0.9947 tau_syn (746 clock cycles), 5.968 ms biological
	// clipped weights: 0
}
