package event

import (
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// TestRepeatedInputSpikes: k copies of every input spike through weights
// w/k (jaxsnn's spatio-temporal code with duplication k, its layered
// example's weights scaled by 1/k) give the spikes of one spike through w,
// and EventProp's weight gradient k times that of w, for a feed-forward and
// a recurrent layer, with tau_mem = 2 tau_syn in ms as jaxsnn's examples.
func TestRepeatedInputSpikes(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	neuron := snn.LIF{TauSyn: 5, TauMem: 10, GLeak: 1, Threshold: 1, Reset: -1000}
	values := []float64{0.3, 0.8, 0.7, 0.2, 0, 0.55, 0.1, 0.45, 0.9, 0}
	wIn := []float64{}
	for i := range 5 * 6 {
		wIn = append(wIn, 1.2+0.9*float64((i*7)%11)/11)
	}
	const k = 5
	for _, recurrent := range []bool{false, true} {
		outs := MustExecOnceN(backend, func(v, w *Node) []*Node {
			var wRec *Node
			if recurrent {
				wRec = MulScalar(Ones(w.Graph(), shapes.Make(w.DType(), 6, 6)), 0.05)
			}
			cfg := LIFConfig{Neuron: neuron, Capacity: 6, Horizon: 4}
			one := snn.SpikesFromTimes(MulScalar(v, 10))
			a, _ := LIFSpikes(one, w, wRec, cfg)
			wk := DivScalar(w, k)
			b, _ := LIFSpikes(one.Repeat(k), wk, wRec, cfg)
			la := ReduceAllSum(Where(IsFinite(a.FirstTimes(6)), a.FirstTimes(6), ZerosLike(a.FirstTimes(6))))
			lb := ReduceAllSum(Where(IsFinite(b.FirstTimes(6)), b.FirstTimes(6), ZerosLike(b.FirstTimes(6))))
			return []*Node{a.FirstTimes(6), b.FirstTimes(6), Gradient(la, w)[0], Gradient(lb, wk)[0]}
		}, tensors.FromFlatDataAndDimensions(values, 2, 5), tensors.FromFlatDataAndDimensions(wIn, 5, 6))
		ta, tb := tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
		spiking := 0
		for i := range ta {
			require.InDelta(t, ta[i], tb[i], 1e-9, "recurrent %v: first time %d", recurrent, i)
			if ta[i] < 20 {
				spiking++
			}
		}
		require.Greater(t, spiking, 3, "recurrent %v: the test needs spikes", recurrent)
		ga, gb := tensors.MustCopyFlatData[float64](outs[2]), tensors.MustCopyFlatData[float64](outs[3])
		largest := 0.0
		for i := range ga {
			require.InDelta(t, k*ga[i], gb[i], 1e-7, "recurrent %v: weight gradient %d", recurrent, i)
			largest = max(largest, ga[i], -ga[i])
		}
		require.Greater(t, largest, 1e-3, "recurrent %v: the test needs weight gradients", recurrent)
	}
}
