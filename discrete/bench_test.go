package discrete

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// BenchmarkSparseVsDense times one propagation step of spikes through a
// 1000 -> 1000 projection at batch 64: dense with GoMLX's MatMul, dense
// with graph.MatMulFastGrad, and sparse (SparseMatMul with a capacity of
// the largest spike count of the batch, so nothing overflows), forward alone and forward plus the gradients for the
// weights and, through a SuperSpike surrogate, the membrane. The backend is
// the default ($GOMLX_BACKEND).
//
//	go test -run XXX -bench SparseVsDense -benchtime 20x ./discrete/
func BenchmarkSparseVsDense(b *testing.B) {
	backend := testBackend(b)
	const batch, nIn, nOut = 64, 1000, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, nIn*nOut)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	wT := tensors.FromFlatDataAndDimensions(w, nIn, nOut)
	for _, density := range []float64{0.01, 0.05, 0.20} {
		v := make([]float32, batch*nIn)
		k := 0
		for bi := range batch {
			count := 0
			for j := range nIn {
				v[bi*nIn+j] = float32(-rng.Float64())
				if rng.Float64() < density {
					v[bi*nIn+j] = float32(rng.Float64())
					count++
				}
			}
			k = max(k, count)
		}
		vT := tensors.FromFlatDataAndDimensions(v, batch, nIn)
		for _, path := range []string{"dense", "dense-fastgrad", "sparse"} {
			for _, grad := range []bool{false, true} {
				mode := "forward"
				if grad {
					mode = "forward+grad"
				}
				b.Run(fmt.Sprintf("density=%g%%/%s/%s", 100*density, mode, path), func(b *testing.B) {
					exec, err := NewExec(backend, func(v, w *Node) []*Node {
						s := DefaultSurrogate().Spike(v)
						var out *Node
						switch path {
						case "dense":
							out = MatMul(s, w)
						case "dense-fastgrad":
							out = snngraph.MatMulFastGrad(s, w)
						default:
							out, _ = SparseMatMul(s, w, k)
						}
						if !grad {
							return []*Node{out}
						}
						return append([]*Node{out}, Gradient(ReduceAllSum(Square(out)), v, w)...)
					})
					require.NoError(b, err)
					_, err = exec.Exec(vT, wT) // compiles
					require.NoError(b, err)
					b.ReportMetric(float64(k), "k")
					b.ResetTimer()
					for range b.N {
						outs, err := exec.Exec(vT, wT)
						require.NoError(b, err)
						for _, o := range outs {
							o.FinalizeAll()
						}
					}
				})
			}
		}
	}
}
