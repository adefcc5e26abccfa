package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// synapticLIFCase is a feed-forward lifCase with a delay per synapse.
type synapticLIFCase struct {
	lifCase
	delays []float64 // [numInNeurons, numOut]
}

// arrival is t_s + d[n_s, j], [batch, numSpikes, numOut].
func (c synapticLIFCase) arrival() []float64 {
	var out []float64
	for b := range c.batch {
		for s := range c.numSpikes {
			k := b*c.numSpikes + s
			for j := range c.numOut {
				out = append(out, c.inTimes[k]+c.delays[int(c.inNeurons[k])*c.numOut+j])
			}
		}
	}
	return out
}

func synapticLIFCases() []synapticLIFCase {
	rng := rand.New(rand.NewPCG(13, 14))
	var out []synapticLIFCase
	for _, p := range lifKinds {
		for _, grid := range []float64{0, 0.25} {
			c := synapticLIFCase{lifCase: randomLIFCase(rng, fmt.Sprintf("%s/grid %g", p.Ratio(), grid), p, 3, 8, 4, 4, 12, false, grid, 1.5, 1.0)}
			for range c.numInNeurons * c.numOut {
				d := 1.5 * rng.Float64()
				if grid > 0 {
					d = math.Round(d/grid) * grid
				}
				c.delays = append(c.delays, d)
			}
			out = append(out, c)
		}
	}
	return out
}

// runSynapticLIF evaluates LIFSpikesPerSynapse and the gradients of
// Σ coef ⊙ t over the recorded spikes with respect to the arrival times
// and the weights.
func runSynapticLIF(t testing.TB, backend backends.Backend, c synapticLIFCase, arrival, coef []float64) (times []float64, overflow []int32, dArrival, dW []float64) {
	t.Helper()
	exec, err := NewExec(backend, func(inT, inN, arr, w, k *Node) []*Node {
		out, over := LIFSpikesPerSynapse(snn.Spikes{Time: inT, Neuron: inN}, arr, w, LIFConfig{Neuron: c.p, Capacity: c.capacity})
		loss := ReduceAllSum(Where(IsFinite(out.Time), Mul(out.Time, k), ZerosLike(k)))
		grads := Gradient(loss, arr, w)
		return []*Node{out.Time, over, grads[0], grads[1]}
	})
	require.NoError(t, err)
	if coef == nil {
		coef = make([]float64, c.batch*c.capacity)
	}
	outs, err := exec.Exec(
		tensors.FromFlatDataAndDimensions(c.inTimes, c.batch, c.numSpikes),
		tensors.FromFlatDataAndDimensions(c.inNeurons, c.batch, c.numSpikes),
		tensors.FromFlatDataAndDimensions(arrival, c.batch, c.numSpikes, c.numOut),
		tensors.FromFlatDataAndDimensions(c.wIn, c.numInNeurons, c.numOut),
		tensors.FromFlatDataAndDimensions(coef, c.batch, c.capacity))
	require.NoError(t, err)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[int32](outs[1]),
		tensors.MustCopyFlatData[float64](outs[2]), tensors.MustCopyFlatData[float64](outs[3])
}

// TestLIFSpikesPerSynapseMatchesReference: every neuron's spikes equal the
// plain float64 simulator's for that neuron alone, driven by the input
// spikes at their arrival times at it.
func TestLIFSpikesPerSynapseMatchesReference(t *testing.T) {
	backend := testBackend(t)
	for _, c := range synapticLIFCases() {
		t.Run(c.name, func(t *testing.T) {
			arrival := c.arrival()
			got, overflow, _, _ := runSynapticLIF(t, backend, c, arrival, nil)
			perNeuron := c.capacity / c.numOut
			spikes := 0
			for b := range c.batch {
				lost := 0
				for j := range c.numOut {
					r := refLIF{p: c.p, capacity: math.MaxInt, horizon: DefaultHorizon * c.p.TauSyn}
					times := make([]float64, c.numSpikes)
					ids := make([]int, c.numSpikes)
					for s := range c.numSpikes {
						times[s] = arrival[(b*c.numSpikes+s)*c.numOut+j]
						ids[s] = s
						r.wIn = append(r.wIn, []float64{c.wIn[int(c.inNeurons[b*c.numSpikes+s])*c.numOut+j]})
					}
					want, _ := r.simulate(times, ids)
					lost += max(0, len(want)-perNeuron)
					for k := range perNeuron {
						g := got[b*c.capacity+j*perNeuron+k]
						if k >= len(want) {
							require.Truef(t, math.IsInf(g, 1), "sample %d neuron %d slot %d: want empty, got %g", b, j, k, g)
							continue
						}
						spikes++
						require.InDeltaf(t, want[k].t, g, 1e-8, "sample %d neuron %d slot %d", b, j, k)
					}
				}
				if lost == 0 {
					require.Zerof(t, overflow[b], "sample %d: no overflow expected", b)
				} else {
					require.Positivef(t, overflow[b], "sample %d: %d spikes overflowed, none reported", b, lost)
					require.LessOrEqualf(t, int(overflow[b]), lost, "sample %d: overflow is a lower bound", b)
				}
			}
			require.Positive(t, spikes)
		})
	}
}

// TestLIFSpikesPerSynapseGradient checks the EventProp gradients with
// respect to every arrival time (the synaptic delay gradients) and weight
// against float64 central finite differences.
func TestLIFSpikesPerSynapseGradient(t *testing.T) {
	backend := testBackend(t)
	for _, c := range synapticLIFCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			coef := randomWeights(rng, c.batch, c.capacity, 0, 1)
			arrival := c.arrival()
			base, _, dA, dW := runSynapticLIF(t, backend, c, arrival, coef)
			loss := func() (float64, bool) {
				got, _, _, _ := runSynapticLIF(t, backend, c, arrival, nil)
				s := 0.0
				for i, v := range got {
					if !math.IsInf(v, 1) {
						s += coef[i] * v
					}
				}
				same := true
				for i := range got {
					same = same && math.IsInf(got[i], 1) == math.IsInf(base[i], 1)
				}
				return s, same
			}
			n := checkFiniteDifferences(t, "arrival times", arrival, dA, loss)
			n += checkFiniteDifferences(t, "weights", c.wIn, dW, loss)
			require.Positive(t, n)
		})
	}
}

// TestLIFSpikesPerSynapseSingleSpikeEqualsTTFS: with one spike per neuron
// (reset far below threshold) and one input spike per input neuron, the
// EventProp layer per synapse gives the closed-form TTFS layer's first
// spikes and gradients per synapse (which TestSynapticTTFSGradient checks
// against fastAndDeep's formulas).
func TestLIFSpikesPerSynapseSingleSpikeEqualsTTFS(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range synapticCases(p) {
			t.Run(fmt.Sprintf("%s/%s", p.Ratio(), c.name), func(t *testing.T) {
				single := p
				single.Reset = -1000
				rng := rand.New(rand.NewPCG(9, 10))
				coef := randomWeights(rng, c.batch, c.numOut, 0, 1)
				exec, err := NewExec(backend, func(arr, w, k *Node) []*Node {
					g := arr.Graph()
					ids := BroadcastToDims(InsertAxes(Iota(g, shapes.Make(dtypes.Int32, c.numIn), 0), 0), c.batch, c.numIn)
					// The spike list's own times are unused: arrivals carry them.
					first := ReduceMin(arr, 2)
					out, _ := LIFSpikesPerSynapse(snn.Spikes{Time: StopGradient(first), Neuron: ids}, arr, w, LIFConfig{Neuron: single, Capacity: c.numOut})
					eventFirst := out.FirstTimes(c.numOut)
					ttfsFirst := FirstSpikeTimes(arr, w, TTFS{Neuron: p})
					lossOf := func(x *Node) *Node { return ReduceAllSum(Where(IsFinite(x), Mul(x, k), ZerosLike(x))) }
					ge := Gradient(lossOf(eventFirst), arr, w)
					gt := Gradient(lossOf(ttfsFirst), arr, w)
					return []*Node{eventFirst, ttfsFirst, ge[0], gt[0], ge[1], gt[1]}
				})
				require.NoError(t, err)
				outs, err := exec.Exec(
					tensors.FromFlatDataAndDimensions(c.arrival, c.batch, c.numIn, c.numOut),
					tensors.FromFlatDataAndDimensions(c.weights, c.numIn, c.numOut),
					tensors.FromFlatDataAndDimensions(coef, c.batch, c.numOut))
				require.NoError(t, err)
				flat := func(i int) []float64 { return tensors.MustCopyFlatData[float64](outs[i]) }
				ev, tt := flat(0), flat(1)
				for i := range ev {
					if math.IsInf(tt[i], 1) {
						require.True(t, math.IsInf(ev[i], 1), "neuron %d: ttfs silent, event layer spikes at %g", i, ev[i])
						continue
					}
					require.InDelta(t, tt[i], ev[i], 1e-9, "first spike %d", i)
				}
				require.Positive(t, slices.IndexFunc(tt, func(v float64) bool { return !math.IsInf(v, 1) })+1)
				require.InDeltaSlice(t, flat(3), flat(2), 1e-7, "arrival-time gradients")
				require.InDeltaSlice(t, flat(5), flat(4), 1e-7, "weight gradients")
			})
		}
	}
}
