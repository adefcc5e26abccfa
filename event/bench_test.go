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
