package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// perNeuronLoss is Σ_k coef[n_k] t_k over the recorded spikes: it does not
// depend on the order of the slots, so differently built networks that
// produce the same spikes give the same loss.
func perNeuronLoss(out snn.Spikes, coef *Node) *Node {
	batch, capacity := out.Time.Shape().Dim(0), out.Time.Shape().Dim(1)
	perSlot := Reshape(Gather(coef, Reshape(out.Neuron, batch*capacity, 1)), batch, capacity)
	return ReduceAllSum(Where(IsFinite(out.Time), Mul(out.Time, perSlot), ZerosLike(perSlot)))
}

func randomWeights(rng *rand.Rand, rows, cols int, mean, std float64) []float64 {
	w := make([]float64, rows*cols)
	for i := range w {
		w[i] = mean + std*rng.NormFloat64()
	}
	return w
}

// TestEventPropStackedLayers checks the gradients of 1-, 2- and 3-layer
// stacks of multi-spike feed-forward layers with respect to every weight and
// to the input spike times, against float64 central finite differences.
func TestEventPropStackedLayers(t *testing.T) {
	backend := testBackend(t)
	sizes := []int{4, 5, 4, 3} // input neurons, then each layer
	capacities := []int{25, 20, 15}
	for _, p := range lifKinds {
		for depth := 1; depth <= 3; depth++ {
			t.Run(fmt.Sprintf("%s/%d layers", p.Ratio(), depth), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(depth), 21))
				c := randomLIFCase(rng, "", p, 3, 8, sizes[0], sizes[1], capacities[0], false, 0, 0.8, 0.6)
				weights := [][]float64{c.wIn}
				for l := 1; l < depth; l++ {
					weights = append(weights, randomWeights(rng, sizes[l], sizes[l+1], 0.35, 0.4))
				}
				coef := randomWeights(rng, sizes[depth], 1, 0, 1)
				exec, err := NewExec(backend, func(inputs []*Node) []*Node {
					inT, inN, coefN := inputs[0], inputs[1], inputs[2]
					ws := inputs[3:]
					spikes := snn.Spikes{Time: inT, Neuron: inN}
					var times []*Node
					for l, w := range ws {
						spikes, _ = LIFSpikes(spikes, w, nil, LIFConfig{Neuron: p, Capacity: capacities[l]})
						times = append(times, spikes.Time)
					}
					grads := Gradient(perNeuronLoss(spikes, coefN), append([]*Node{inT}, ws...)...)
					return append(append([]*Node{perNeuronLoss(spikes, coefN)}, grads...), times...)
				})
				require.NoError(t, err)
				eval := func() []*tensors.Tensor {
					args := []any{
						tensors.FromFlatDataAndDimensions(c.inTimes, c.batch, c.numSpikes),
						tensors.FromFlatDataAndDimensions(c.inNeurons, c.batch, c.numSpikes),
						tensors.FromFlatDataAndDimensions(coef, sizes[depth]),
					}
					for l, w := range weights {
						args = append(args, tensors.FromFlatDataAndDimensions(w, sizes[l], sizes[l+1]))
					}
					outs, err := exec.Exec(args...)
					require.NoError(t, err)
					return outs
				}
				base := eval()
				countSpikesOf := func(outs []*tensors.Tensor) []int {
					var n []int
					for _, o := range outs[2+depth:] {
						n = append(n, countSpikes(tensors.MustCopyFlatData[float64](o)))
					}
					return n
				}
				baseCounts := countSpikesOf(base)
				loss := func() (float64, bool) {
					outs := eval()
					return tensors.MustCopyFlatData[float64](outs[0])[0], fmt.Sprint(countSpikesOf(outs)) == fmt.Sprint(baseCounts)
				}
				n := checkFiniteDifferences(t, "input times", c.inTimes, tensors.MustCopyFlatData[float64](base[1]), loss)
				for l := range weights {
					n += checkFiniteDifferences(t, fmt.Sprintf("layer %d weights", l+1), weights[l], tensors.MustCopyFlatData[float64](base[2+l]), loss)
				}
				require.Positive(t, n)
				t.Logf("spikes per layer %v, %d derivatives compared", baseCounts, n)
			})
		}
	}
}

// TestEventPropSingleSpikeEqualsTTFS: when every neuron can spike only once
// (reset far below threshold), the event-based layer's first spikes and
// their EventProp gradients equal the closed-form TTFS layer's.
func TestEventPropSingleSpikeEqualsTTFS(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range testCases() {
			t.Run(fmt.Sprintf("%s/%s", p.Ratio(), c.name), func(t *testing.T) {
				single := p
				single.Reset = -1000
				rng := rand.New(rand.NewPCG(9, 10))
				coef := randomWeights(rng, c.batch, c.numOut, 0, 1)
				exec, err := NewExec(backend, func(tin, w, k *Node) []*Node {
					ids := BroadcastToDims(InsertAxes(Iota(tin.Graph(), shapes.Make(dtypes.Int32, c.numIn), 0), 0), c.batch, c.numIn)
					out, _ := LIFSpikes(snn.Spikes{Time: tin, Neuron: ids}, w, nil, LIFConfig{Neuron: single, Capacity: c.numOut})
					eventFirst := out.FirstTimes(c.numOut)
					ttfsFirst := FirstSpikeTimes(tin, w, TTFS{Neuron: p})
					lossOf := func(x *Node) *Node { return ReduceAllSum(Where(IsFinite(x), Mul(x, k), ZerosLike(x))) }
					ge := Gradient(lossOf(eventFirst), tin, w)
					gt := Gradient(lossOf(ttfsFirst), tin, w)
					return []*Node{eventFirst, ttfsFirst, ge[0], gt[0], ge[1], gt[1]}
				})
				require.NoError(t, err)
				outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(c.times, c.batch, c.numIn),
					tensors.FromFlatDataAndDimensions(c.weights, c.numIn, c.numOut),
					tensors.FromFlatDataAndDimensions(coef, c.batch, c.numOut))
				require.NoError(t, err)
				v := func(i int) []float64 { return tensors.MustCopyFlatData[float64](outs[i]) }
				eventT, ttfsT := v(0), v(1)
				for i := range eventT {
					if math.IsInf(ttfsT[i], 1) {
						require.Truef(t, math.IsInf(eventT[i], 1), "neuron %d: TTFS silent, event layer spikes at %g", i, eventT[i])
						continue
					}
					require.InDeltaf(t, ttfsT[i], eventT[i], 1e-9, "spike time %d", i)
				}
				require.Positive(t, countSpikes(eventT))
				for _, pair := range [][2]int{{2, 3}, {4, 5}} {
					ev, tt := v(pair[0]), v(pair[1])
					for i := range tt {
						require.InDeltaf(t, tt[i], ev[i], 1e-5*math.Max(1, math.Abs(tt[i])), "gradient %d[%d]", pair[0], i)
					}
				}
			})
		}
	}
}

// TestRecurrentEmulatesStackedLayers: one recurrent layer whose weights
// hold a 2-layer feed-forward net (input -> hidden in W_in, hidden -> output
// in the off-diagonal block of W_rec) gives the same spikes and the same
// gradients as the two stacked layers.
func TestRecurrentEmulatesStackedLayers(t *testing.T) {
	backend := testBackend(t)
	const numIn, hidden, numOut, k1, k2 = 4, 5, 3, 50, 39
	// The recurrent layer shares one capacity, or gives each population its
	// own slots (neither overflows here: the same spikes either way).
	for _, ownSlots := range []bool{false, true} {
		for _, p := range lifKinds {
			name := p.Ratio().String()
			if ownSlots {
				name += "/own slots"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(31, 32))
				c := randomLIFCase(rng, "", p, 4, 8, numIn, hidden, k1, false, 0.25, 0.6, 0.5)
				w1 := c.wIn
				w2 := randomWeights(rng, hidden, numOut, 0.3, 0.4)
				coef := randomWeights(rng, hidden+numOut, 1, 0, 1)
				n := hidden + numOut
				exec, err := NewExec(backend, func(inT, inN, w1, w2, coef *Node) []*Node {
					in := snn.Spikes{Time: inT, Neuron: inN}
					h, _ := LIFSpikes(in, w1, nil, LIFConfig{Neuron: p, Capacity: k1})
					o, _ := LIFSpikes(h, w2, nil, LIFConfig{Neuron: p, Capacity: k2})
					coefH := Slice(coef, AxisRange(0, hidden))
					coefO := Slice(coef, AxisRange(hidden, n))
					stackedLoss := Add(perNeuronLoss(h, coefH), perNeuronLoss(o, coefO))
					gs := Gradient(stackedLoss, inT, w1, w2)

					// The same net as one recurrent layer of hidden+numOut neurons.
					g := inT.Graph()
					wIn := Concatenate([]*Node{w1, Zeros(g, shapes.Make(w1.DType(), numIn, numOut))}, 1)
					top := Concatenate([]*Node{Zeros(g, shapes.Make(w1.DType(), hidden, hidden)), w2}, 1)
					wRec := Concatenate([]*Node{top, Zeros(g, shapes.Make(w1.DType(), numOut, n))}, 0)
					cfg := LIFConfig{Neuron: p, Capacity: k1 + k2}
					if ownSlots {
						cfg.Populations = []PopulationCapacity{{Neurons: hidden, Capacity: k1}, {Neurons: numOut, Capacity: k2}}
					}
					r, _ := LIFSpikes(in, wIn, wRec, cfg)
					recLoss := perNeuronLoss(r, coef)
					gr := Gradient(recLoss, inT, w1, w2)
					return []*Node{stackedLoss, recLoss, gs[0], gr[0], gs[1], gr[1], gs[2], gr[2],
						h.FirstTimes(hidden), o.FirstTimes(numOut), r.FirstTimes(n), h.Time, o.Time, r.Time}
				})
				require.NoError(t, err)
				outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(c.inTimes, c.batch, c.numSpikes),
					tensors.FromFlatDataAndDimensions(c.inNeurons, c.batch, c.numSpikes),
					tensors.FromFlatDataAndDimensions(w1, numIn, hidden),
					tensors.FromFlatDataAndDimensions(w2, hidden, numOut),
					tensors.FromFlatDataAndDimensions(coef, n))
				require.NoError(t, err)
				v := func(i int) []float64 { return tensors.MustCopyFlatData[float64](outs[i]) }
				spikes := countSpikes(v(11)) + countSpikes(v(12))
				require.Equal(t, spikes, countSpikes(v(13)), "number of spikes")
				require.Less(t, countSpikes(v(11)), c.batch*k1, "hidden capacity must not overflow in this test")
				require.Positive(t, countSpikes(v(12)), "output layer must spike")
				require.InDelta(t, v(0)[0], v(1)[0], 1e-9*math.Max(1, math.Abs(v(0)[0])), "loss")
				fh, fo, fr := v(8), v(9), v(10)
				for b := range c.batch {
					for j := range n {
						want := 0.0
						if j < hidden {
							want = fh[b*hidden+j]
						} else {
							want = fo[b*numOut+j-hidden]
						}
						got := fr[b*n+j]
						if math.IsInf(want, 1) {
							require.True(t, math.IsInf(got, 1))
							continue
						}
						require.InDelta(t, want, got, 1e-9, "sample %d neuron %d first spike", b, j)
					}
				}
				for _, pair := range [][2]int{{2, 3}, {4, 5}, {6, 7}} {
					require.InDeltaSlice(t, v(pair[0]), v(pair[1]), 1e-8, "gradient %d", pair[0])
				}
				t.Logf("%d spikes (%d hidden, %d output)", spikes, countSpikes(v(11)), countSpikes(v(12)))
			})
		}
	}
}
