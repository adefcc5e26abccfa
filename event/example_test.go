package event_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/janpfeifer/must"

	"github.com/gosnn/gosnn/event"
	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// A feed-forward layer of two LIF neurons (tau_mem = tau_syn = 1, reset to
// 0) driven by three input spikes: the first neuron spikes twice, the second
// once. Each neuron keeps capacity/neurons = 3 slots, listed neuron by
// neuron. The gradient of the sum of all spike times reaches the weights and
// the input spike times.
func ExampleLIFSpikes() {
	backend, _ := must.M2(snngraph.NewBackend("go:ops_sequential"))
	neuron := snn.FastAndDeepLIF()
	exec := must.M1(NewExec(backend, func(times, ids, weights *Node) []*Node {
		out, overflow := event.LIFSpikes(snn.Spikes{Time: times, Neuron: ids}, weights, nil,
			event.LIFConfig{Neuron: neuron, Capacity: 6}) // three slots per neuron
		total := ReduceAllSum(Where(IsFinite(out.Time), out.Time, ZerosLike(out.Time)))
		grads := Gradient(total, times, weights)
		return []*Node{out.Time, out.Neuron, overflow, grads[0], grads[1]}
	}))
	outs := exec.MustExec(
		tensors.FromFlatDataAndDimensions([]float64{0, 0.5, 1}, 1, 3), // input spike times
		tensors.FromFlatDataAndDimensions([]int32{0, 1, 0}, 1, 3),     // from input neurons 0, 1, 0
		tensors.FromFlatDataAndDimensions([]float64{1.5, 0.5, 2, 3}, 2, 2))
	fmt.Printf("spike times %.3f\n", outs[0].Value())
	fmt.Printf("neurons %v, overflow %v\n", outs[1].Value(), outs[2].Value())
	fmt.Printf("d total / d input times %.3f\n", outs[3].Value())
	fmt.Printf("d total / d weights %.3f\n", outs[4].Value())
	// Output:
	// spike times [[0.814 1.322 +Inf 0.910 +Inf +Inf]]
	// neurons [[0 0 0 1 1 1]], overflow [0]
	// d total / d input times [[0.079 2.382 0.539]]
	// d total / d weights [[-0.891 -0.308] [-0.559 -0.229]]
}
