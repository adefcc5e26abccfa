package event

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// BenchmarkEventPropMemory runs one forward and backward pass of an event
// LIF layer (feed-forward and recurrent) whose input spikes are spread over
// a growing simulated duration, with the number of events fixed. EventProp
// keeps only the events, so the memory per pass (B/op, with -benchmem) and
// the time stay flat as the duration grows 1000-fold; a time-stepped
// simulation with backpropagation through time would store every step.
//
//	go test -run XXX -bench EventPropMemory -benchmem ./event/
func BenchmarkEventPropMemory(b *testing.B) {
	const batch, numIn, numOut, spikes = 16, 20, 8, 40
	p := snn.FastAndDeepLIF()
	for _, recurrent := range []bool{false, true} {
		for _, duration := range []float64{10, 100, 1000, 10000} {
			kind := "feed-forward"
			if recurrent {
				kind = "recurrent"
			}
			b.Run(fmt.Sprintf("%s/duration=%g", kind, duration), func(b *testing.B) {
				backend := testBackend(b)
				rng := rand.New(rand.NewPCG(1, 2))
				times := make([]float32, batch*spikes)
				ids := make([]int32, batch*spikes)
				for i := range times {
					times[i] = float32(duration * rng.Float64())
					ids[i] = int32(rng.IntN(numIn))
				}
				wIn := make([]float32, numIn*numOut)
				for i := range wIn {
					wIn[i] = float32(1 + rng.NormFloat64())
				}
				wRec := make([]float32, numOut*numOut)
				for i := range wRec {
					wRec[i] = float32(0.2 * rng.NormFloat64())
				}
				cfg := LIFConfig{Neuron: p, Capacity: 4 * numOut, Horizon: duration + 10}
				exec, err := NewExec(backend, func(inT, inN, wIn, wRec *Node) []*Node {
					var rec *Node
					if recurrent {
						rec = wRec
					}
					out, _ := LIFSpikes(snn.Spikes{Time: inT, Neuron: inN}, wIn, rec, cfg)
					loss := ReduceAllSum(Where(IsFinite(out.Time), out.Time, ZerosLike(out.Time)))
					count := ReduceAllSum(ConvertDType(IsFinite(out.Time), out.Time.DType()))
					return append(Gradient(loss, inT, wIn, wRec), count)
				})
				require.NoError(b, err)
				args := []any{tensors.FromFlatDataAndDimensions(times, batch, spikes), tensors.FromFlatDataAndDimensions(ids, batch, spikes),
					tensors.FromFlatDataAndDimensions(wIn, numIn, numOut), tensors.FromFlatDataAndDimensions(wRec, numOut, numOut)}
				first, err := exec.Exec(args...) // compile
				require.NoError(b, err)
				b.ReportMetric(float64(tensors.MustCopyFlatData[float32](first[3])[0])/batch, "spikes/sample")
				b.ResetTimer()
				for range b.N {
					outs, err := exec.Exec(args...)
					require.NoError(b, err)
					for _, o := range outs {
						o.FinalizeAll()
					}
				}
			})
		}
	}
}

// BenchmarkTTFSYinYang runs the TTFS network of the Yin-Yang task (4 inputs
// + bias -> 120 + bias -> 3, fastAndDeep's neuron and initialisation, batch
// 150, float32) on the default backend: the forward pass alone (as in
// evaluation) and the forward pass with the gradients of every weight (as in
// a training step). It isolates the layer's cost from the trainer's.
//
//	go test -run XXX -bench TTFSYinYang ./event/
func BenchmarkTTFSYinYang(b *testing.B) {
	const batch, numFeatures, hidden, numOut = 150, 4, 120, 3
	rng := rand.New(rand.NewPCG(7, 8))
	values := make([]float32, batch*numFeatures)
	for i := range values {
		values[i] = float32(rng.Float64())
	}
	normal := func(n int, mean, std float64) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = float32(mean + std*rng.NormFloat64())
		}
		return w
	}
	w1 := normal((numFeatures+1)*hidden, 1.5, 0.8)
	w2 := normal((hidden+1)*numOut, 0.5, 0.8)
	cfg := TTFS{Neuron: snn.FastAndDeepLIF(), MaxGradNorm: 0.2}
	withBias := func(t *Node) *Node {
		bias := BroadcastToDims(Scalar(t.Graph(), t.DType(), 0.9), t.Shape().Dim(0), 1)
		return Concatenate([]*Node{t, bias}, 1)
	}
	network := func(x, w1, w2 *Node) *Node {
		times := AddScalar(MulScalar(x, 1.85), 0.15)
		h := FirstSpikeTimes(withBias(times), w1, cfg)
		return FirstSpikeTimes(withBias(h), w2, cfg)
	}
	for _, withGrad := range []bool{false, true} {
		name := "forward"
		if withGrad {
			name = "gradient"
		}
		b.Run(name, func(b *testing.B) {
			backend := testBackend(b)
			exec, err := NewExec(backend, func(x, w1, w2 *Node) []*Node {
				out := network(x, w1, w2)
				loss := ReduceAllSum(Where(IsFinite(out), out, ZerosLike(out)))
				if !withGrad {
					return []*Node{loss}
				}
				return append(Gradient(loss, w1, w2), loss)
			})
			require.NoError(b, err)
			args := []any{tensors.FromFlatDataAndDimensions(values, batch, numFeatures),
				tensors.FromFlatDataAndDimensions(w1, numFeatures+1, hidden),
				tensors.FromFlatDataAndDimensions(w2, hidden+1, numOut)}
			_, err = exec.Exec(args...) // compile
			require.NoError(b, err)
			b.ResetTimer()
			for range b.N {
				outs, err := exec.Exec(args...)
				require.NoError(b, err)
				for _, o := range outs {
					o.FinalizeAll()
				}
			}
		})
	}
}
