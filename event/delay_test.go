package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// synapticCase is a ttfsCase with one arrival time per synapse:
// arrival[b, i, j] = times[b, i] + d[i, j].
type synapticCase struct {
	ttfsCase
	arrival []float64 // [batch, numIn, numOut]
}

// column returns the arrival times at neuron j of sample b.
func (c synapticCase) arrivalAt(b, j int) []float64 {
	out := make([]float64, c.numIn)
	for i := range c.numIn {
		out[i] = c.arrival[(b*c.numIn+i)*c.numOut+j]
	}
	return out
}

// withDelays adds delays drawn from [0, 1.5) (on the case's grid when
// grid > 0, so that arrivals tie exactly).
func withDelays(rng *rand.Rand, c ttfsCase, grid float64) synapticCase {
	s := synapticCase{ttfsCase: c}
	d := make([]float64, c.numIn*c.numOut)
	for i := range d {
		d[i] = 1.5 * rng.Float64()
		if grid > 0 {
			d[i] = math.Round(d[i]/grid) * grid
		}
	}
	for b := range c.batch {
		for i := range c.numIn {
			for j := range c.numOut {
				s.arrival = append(s.arrival, c.times[b*c.numIn+i]+d[i*c.numOut+j])
			}
		}
	}
	return s
}

// synapticCases are the TTFS test cases with delays, ties among arrivals
// included, and a case where each neuron's peak just exceeds threshold.
func synapticCases(p snn.LIF) []synapticCase {
	rng := rand.New(rand.NewPCG(11, 12))
	var out []synapticCase
	for _, c := range testCases() {
		grid := 0.0
		if c.name == "grid ties" {
			grid = 0.25
		}
		if c.name == "all tied" {
			grid = 10 // every delay 0: all arrivals at one instant
		}
		out = append(out, withDelays(rng, c, grid))
	}
	near := withDelays(rng, randomCase(rng, "near threshold", 2, 4, 6, 0, 0, 1.0, 0.3), 0)
	margins := []float64{1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 1e-2}
	for j := range near.numOut {
		col := near.column(j)
		at := near.arrivalAt(0, j)
		peak := 0.0
		for s := 0.0; s < 10; s += 1e-4 {
			peak = math.Max(peak, membrane(p, s, at, col))
		}
		scale := (p.Threshold - p.Leak) * (1 + margins[j]) / peak
		for i := range near.numIn {
			near.weights[i*near.numOut+j] *= scale
		}
	}
	return append(out, near)
}

// The two implementations of the per-synapse layer.
const (
	formSorted = "sorted"
	formPairs  = "pairs"
)

// runSynaptic evaluates the per-synapse layer in the given form and the
// gradients of Σ_bj coef_bj t_bj with respect to the arrival times and
// weights.
func runSynaptic(t testing.TB, backend backends.Backend, form string, c synapticCase, cfg TTFS, coef []float64) (times, dArrival, dWeights []float64) {
	t.Helper()
	exec, err := NewExec(backend, func(tin, w, k *Node) (*Node, *Node, *Node) {
		var out *Node
		switch form {
		case formSorted:
			out = AttachCrossingGradient(firstCrossingPerSynapse(tin, w, cfg), tin, w, cfg.Neuron, cfg.MaxGradNorm)
		case formPairs:
			out = attachCrossingGradientPairs(firstCrossingPairsPerSynapse(tin, w, cfg), tin, w, cfg.Neuron, cfg.MaxGradNorm)
		default:
			out = FirstSpikeTimes(tin, w, cfg)
		}
		masked := Where(IsFinite(out), Mul(out, k), ZerosLike(out))
		grads := Gradient(ReduceAllSum(masked), tin, w)
		return out, grads[0], grads[1]
	})
	require.NoError(t, err)
	outs, err := exec.Exec(
		tensors.FromFlatDataAndDimensions(c.arrival, c.batch, c.numIn, c.numOut),
		tensors.FromFlatDataAndDimensions(c.weights, c.numIn, c.numOut),
		tensors.FromFlatDataAndDimensions(coef, c.batch, c.numOut))
	require.NoError(t, err)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1]),
		tensors.MustCopyFlatData[float64](outs[2])
}

// TestSynapticTTFSMatchesNumericCrossing: with one arrival time per
// synapse, both forms give each neuron the first threshold crossing of its
// own membrane (numeric scan and bisection), to 1e-9.
func TestSynapticTTFSMatchesNumericCrossing(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range synapticCases(p) {
			for _, form := range []string{formSorted, formPairs} {
				t.Run(fmt.Sprintf("%s/%s/%s", p.Ratio(), c.name, form), func(t *testing.T) {
					got, _, _ := runSynaptic(t, backend, form, c, TTFS{Neuron: p}, make([]float64, c.batch*c.numOut))
					spiking := 0
					for b := range c.batch {
						for j := range c.numOut {
							want := numericFirstSpike(p, c.arrivalAt(b, j), c.column(j), DefaultHorizon)
							g := got[b*c.numOut+j]
							if math.IsInf(want, 1) {
								require.Truef(t, math.IsInf(g, 1), "sample %d neuron %d: want silent, got %g", b, j, g)
								continue
							}
							spiking++
							require.InDeltaf(t, want, g, 1e-9, "sample %d neuron %d", b, j)
						}
					}
					require.Positive(t, spiking)
				})
			}
		}
	}
}

// TestSynapticTTFSGradient checks the gradients with respect to every
// arrival time (= the synaptic delay gradients) and weight against float64
// central finite differences (1e-4 relative) and against fastAndDeep's
// closed-form formulas evaluated on each neuron's own arrival times.
func TestSynapticTTFSGradient(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range synapticCases(p) {
			for _, form := range []string{formSorted, formPairs} {
				t.Run(fmt.Sprintf("%s/%s/%s", p.Ratio(), c.name, form), func(t *testing.T) {
					cfg := TTFS{Neuron: p}
					rng := rand.New(rand.NewPCG(3, 4))
					coef := make([]float64, c.batch*c.numOut)
					for i := range coef {
						coef[i] = rng.NormFloat64()
					}
					out, dA, dW := runSynaptic(t, backend, form, c, cfg, coef)
					loss := func() (float64, bool) {
						up, _, _ := runSynaptic(t, backend, form, c, cfg, coef)
						s := 0.0
						for i, v := range up {
							if !math.IsInf(v, 1) {
								s += coef[i] * v
							}
						}
						return s, countSpikes(up) == countSpikes(out)
					}
					n := checkFiniteDifferences(t, "arrival times", c.arrival, dA, loss)
					n += checkFiniteDifferences(t, "weights", c.weights, dW, loss)
					require.Positive(t, n)

					// Independent formula, per (sample, neuron): the gradient of
					// t_bj reaches only the arrivals at neuron j.
					for b := range c.batch {
						for j := range c.numOut {
							tOut := out[b*c.numOut+j]
							if math.IsInf(tOut, 1) {
								continue
							}
							wantDW, wantDT := fastAndDeepGradients(p, tOut, c.arrivalAt(b, j), c.column(j))
							one := make([]float64, c.batch*c.numOut)
							one[b*c.numOut+j] = 1
							_, gA, gW := runSynaptic(t, backend, form, c, cfg, one)
							for i := range c.numIn {
								require.InDeltaf(t, wantDW[i], gW[i*c.numOut+j], 1e-6*math.Max(1, math.Abs(wantDW[i])), "dt/dw sample %d neuron %d input %d", b, j, i)
								for jj := range c.numOut {
									got := gA[(b*c.numIn+i)*c.numOut+jj]
									if jj != j {
										require.Zerof(t, got, "dt_%d/d arrival at neuron %d", j, jj)
										continue
									}
									require.InDeltaf(t, wantDT[i], got, 1e-6*math.Max(1, math.Abs(wantDT[i])), "dt/d arrival sample %d neuron %d input %d", b, j, i)
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestSynapticTTFSWithoutDelaysEqualsTTFS: arrival times that are the same
// for every neuron give the rank-2 layer's spike times and gradients (the
// per-pair input-time gradients summed over the neurons).
func TestSynapticTTFSWithoutDelaysEqualsTTFS(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range testCases() {
			s := synapticCase{ttfsCase: c}
			for b := range c.batch {
				for i := range c.numIn {
					for range c.numOut {
						s.arrival = append(s.arrival, c.times[b*c.numIn+i])
					}
				}
			}
			cfg := TTFS{Neuron: p, MaxGradNorm: 0.5}
			coef := make([]float64, c.batch*c.numOut)
			for i := range coef {
				coef[i] = 0.1 * float64(1+i%4)
			}
			want, wantDT, wantDW := runTTFS(t, backend, c, cfg, coef)
			for _, form := range []string{formSorted, formPairs} {
				got, gotDA, gotDW := runSynaptic(t, backend, form, s, cfg, coef)
				require.InDeltaSlice(t, want, got, 1e-12, "%s %s %s: times", p.Ratio(), c.name, form)
				require.InDeltaSlice(t, wantDW, gotDW, 1e-10, "%s %s %s: weight gradients", p.Ratio(), c.name, form)
				summed := make([]float64, c.batch*c.numIn)
				for k, g := range gotDA {
					summed[k/c.numOut] += g
				}
				require.InDeltaSlice(t, wantDT, summed, 1e-10, "%s %s %s: input-time gradients", p.Ratio(), c.name, form)
			}
		}
	}
}

// TestSynapticTTFSXLAMatchesPureGo: FirstSpikeTimes with arrival times per
// synapse runs the pair form on XLA and the sorted form on pure Go; both
// give the same times and gradients.
func TestSynapticTTFSXLAMatchesPureGo(t *testing.T) {
	goBackend, xlaBackend := backendPair(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range synapticCases(p) {
			cfg := TTFS{Neuron: p, MaxGradNorm: 0.2}
			coef := make([]float64, c.batch*c.numOut)
			for i := range coef {
				coef[i] = 0.01 * float64(1+i%5)
			}
			tGo, dAGo, dWGo := runSynaptic(t, goBackend, "", c, cfg, coef)
			tX, dAX, dWX := runSynaptic(t, xlaBackend, "", c, cfg, coef)
			for i := range tGo {
				if math.IsInf(tGo[i], 1) {
					require.True(t, math.IsInf(tX[i], 1), "%s %s: silent neuron %d", p.Ratio(), c.name, i)
					continue
				}
				require.InDelta(t, tGo[i], tX[i], 1e-9, "%s %s: spike %d", p.Ratio(), c.name, i)
			}
			require.InDeltaSlice(t, dAGo, dAX, 1e-8, "%s %s: arrival-time gradients", p.Ratio(), c.name)
			require.InDeltaSlice(t, dWGo, dWX, 1e-8, "%s %s: weight gradients", p.Ratio(), c.name)
		}
	}
}
