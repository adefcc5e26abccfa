package discrete_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/janpfeifer/must"

	"github.com/gosnn/gosnn/discrete"
	snngraph "github.com/gosnn/gosnn/graph"
)

// One LIF neuron (decays 0.9 and 0.8, threshold 1, reset to zero) driven by
// an input spike through weight 2 at every step: the current builds up over
// the first steps (it reaches the membrane one step late), then the neuron
// fires every other step. The surrogate gradient of its spike count
// reaches the weight.
func ExampleLIFStep() {
	backend, _ := must.M2(snngraph.NewBackend("go:ops_sequential"))
	exec := must.M1(NewExec(backend, func(w *Node) []*Node {
		g := w.Graph()
		p := discrete.LIFParams{
			MemDecay: Scalar(g, w.DType(), 0.9), SynDecay: Scalar(g, w.DType(), 0.8),
			Threshold: 1, ResetMode: discrete.ResetZero, Surrogate: discrete.DefaultSurrogate(),
		}
		state := discrete.ZeroLIFState(w)
		var spikes []*Node
		for range 10 {
			var s *Node
			state, s = discrete.LIFStep(state, w, p) // input current w * 1 spike
			spikes = append(spikes, s)
		}
		train := Concatenate(spikes, -1)
		return []*Node{train, Gradient(ReduceAllSum(train), w)[0]}
	}))
	outs := exec.MustExec([][]float64{{2}})
	fmt.Println("spikes:", outs[0].Value())
	fmt.Printf("d count / d w: %.4f\n", outs[1].Value())
	// Output:
	// spikes: [[0 0 0 0 1 0 1 0 1 0]]
	// d count / d w: [[0.0581]]
}

// snnax's README network on 2-channel 10x10 event frames over 5 steps:
// Conv2D -> LIF -> flatten -> Dense -> LIF, with the spike-count
// cross-entropy as loss. Run returns every layer's outputs over time.
func ExampleSequential() {
	backend, _ := must.M2(snngraph.NewBackend("go:ops_sequential"))
	model := discrete.NewSequential(
		discrete.Conv2D(8, 3, 2),
		discrete.NewLIF().WithDecays(0.9, 0.8).Done(),
		discrete.Flatten(),
		discrete.NewDense(11),
		discrete.NewLIF().WithDecays(0.9, 0.8).Done(),
	)
	ctx := context.New()
	exec := must.M1(context.NewExec(backend, ctx, func(ctx *context.Context, frames, labels *Node) []*Node {
		r := model.Run(ctx, frames)
		for i, name := range r.Names {
			fmt.Println(name, r.Trace(i).Shape())
		}
		return []*Node{discrete.SpikeCountCrossEntropy(r.Output(), labels)}
	}))
	x := make([]float32, 2*5*10*10*2)
	for i := range x {
		if i%7 == 0 {
			x[i] = 1
		}
	}
	loss := exec.MustExec(tensors.FromFlatDataAndDimensions(x, 2, 5, 10, 10, 2), []int32{3, 7})[0]
	fmt.Println("loss is finite:", loss.Value().(float32) > 0)
	// Output:
	// 0_conv (Float32)[2 5 4 4 8]
	// 1_lif (Float32)[2 5 4 4 8]
	// 2_flatten (Float32)[2 5 128]
	// 3_dense (Float32)[2 5 11]
	// 4_lif (Float32)[2 5 11]
	// loss is finite: true
}
