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

	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	return b
}

var (
	equalLIF  = snn.FastAndDeepLIF()
	doubleLIF = snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 0.5, Threshold: 1}
)

// runTTFS evaluates the spike times and the gradients of
// loss = Σ_bj coef_bj t_bj (over spiking neurons) in float64.
func runTTFS(t testing.TB, backend backends.Backend, c ttfsCase, cfg TTFS, coef []float64) (times, dTimes, dWeights []float64) {
	t.Helper()
	exec, err := NewExec(backend, func(tin, w, k *Node) (*Node, *Node, *Node) {
		out := FirstSpikeTimes(tin, w, cfg)
		masked := Where(IsFinite(out), Mul(out, k), ZerosLike(out))
		grads := Gradient(ReduceAllSum(masked), tin, w)
		return out, grads[0], grads[1]
	})
	require.NoError(t, err)
	outs, err := exec.Exec(
		tensors.FromFlatDataAndDimensions(c.times, c.batch, c.numIn),
		tensors.FromFlatDataAndDimensions(c.weights, c.numIn, c.numOut),
		tensors.FromFlatDataAndDimensions(coef, c.batch, c.numOut))
	require.NoError(t, err)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1]),
		tensors.MustCopyFlatData[float64](outs[2])
}

func testCases() []ttfsCase {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []ttfsCase{
		randomCase(rng, "continuous", 6, 5, 7, 0, 0, 1.2, 0.8),
		randomCase(rng, "grid ties", 6, 8, 5, 0.25, 0, 0.8, 0.6),
		randomCase(rng, "silent inputs", 6, 6, 5, 0, 0.3, 1.2, 0.8),
		randomCase(rng, "mixed sign", 6, 10, 6, 0, 0.1, 0.4, 1.2),
	}
	// Every input at one instant: one causal set only.
	allTied := randomCase(rng, "all tied", 3, 4, 4, 0, 0, 1.0, 0.5)
	for i := range allTied.times {
		allTied.times[i] = 0.5
	}
	return append(cases, allTied)
}

// nearThresholdCase scales each neuron's weights so that its membrane peaks
// just above threshold (by 1e-2 .. 1e-4 relative): V̇ at the crossing is
// small and the gradient large, the hard case for any gradient formula.
func nearThresholdCase(p snn.LIF) ttfsCase {
	rng := rand.New(rand.NewPCG(5, 6))
	c := randomCase(rng, "near threshold", 2, 4, 6, 0, 0, 1.0, 0.3)
	margins := []float64{1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 1e-2}
	// Weights are shared by the samples: tune on sample 0; sample 1 stays random.
	times := c.sample(0)
	for j := range c.numOut {
		col := c.column(j)
		peak := 0.0
		for s := 0.0; s < 10; s += 1e-4 {
			peak = math.Max(peak, membrane(p, s, times, col))
		}
		scale := (p.Threshold - p.Leak) * (1 + margins[j]) / peak
		for i := range c.numIn {
			c.weights[i*c.numOut+j] *= scale
		}
	}
	return c
}

func TestFirstSpikeTimesMatchesNumericCrossing(t *testing.T) {
	backend := testBackend(t)
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range append(testCases(), nearThresholdCase(p)) {
			t.Run(fmt.Sprintf("%s/%s", p.Ratio(), c.name), func(t *testing.T) {
				coef := make([]float64, c.batch*c.numOut)
				got, _, _ := runTTFS(t, backend, c, TTFS{Neuron: p}, coef)
				spiking, silent := 0, 0
				for b := range c.batch {
					for j := range c.numOut {
						want := numericFirstSpike(p, c.sample(b), c.column(j), DefaultHorizon)
						g := got[b*c.numOut+j]
						if math.IsInf(want, 1) {
							silent++
							require.Truef(t, math.IsInf(g, 1), "sample %d neuron %d: want silent, got %g", b, j, g)
							continue
						}
						spiking++
						require.InDeltaf(t, want, g, 1e-9, "sample %d neuron %d", b, j)
					}
				}
				require.Positive(t, spiking, "case should have spiking neurons")
				t.Logf("%d spiking, %d silent", spiking, silent)
			})
		}
	}
}

// TestFirstSpikeTimesGradient checks dt/dw and dt/dt_in against float64
// central finite differences of the forward pass and against fastAndDeep's
// closed-form gradient formulas.
func TestFirstSpikeTimesGradient(t *testing.T) {
	backend := testBackend(t)
	fwd := func(c ttfsCase, cfg TTFS) []float64 {
		out, _, _ := runTTFS(t, backend, c, cfg, make([]float64, c.batch*c.numOut))
		return out
	}
	for _, p := range []snn.LIF{equalLIF, doubleLIF} {
		for _, c := range append(testCases(), nearThresholdCase(p)) {
			t.Run(fmt.Sprintf("%s/%s", p.Ratio(), c.name), func(t *testing.T) {
				cfg := TTFS{Neuron: p}
				rng := rand.New(rand.NewPCG(3, 4))
				coef := make([]float64, c.batch*c.numOut)
				for i := range coef {
					coef[i] = rng.NormFloat64()
				}
				out, dT, dW := runTTFS(t, backend, c, cfg, coef)
				loss := func(times []float64) float64 {
					s := 0.0
					for i, v := range times {
						if !math.IsInf(v, 1) {
							s += coef[i] * v
						}
					}
					return s
				}
				const eps = 1e-6
				check := func(what string, params []float64, grad []float64) {
					for i := range params {
						if math.IsInf(params[i], 1) {
							require.Zero(t, grad[i], "%s[%d]: silent input must have zero gradient", what, i)
							continue
						}
						orig := params[i]
						params[i] = orig + eps
						up := fwd(c, cfg)
						params[i] = orig - eps
						down := fwd(c, cfg)
						params[i] = orig
						if countSpikes(up) != countSpikes(down) {
							continue // a spike appears or vanishes within eps: no derivative
						}
						fd := (loss(up) - loss(down)) / (2 * eps)
						require.InDeltaf(t, fd, grad[i], 1e-4*math.Max(1, math.Abs(fd)), "%s[%d]", what, i)
					}
				}
				check("weights", c.weights, dW)
				check("times", c.times, dT)

				// Independent formula: per (sample, neuron) gradients.
				for b := range c.batch {
					for j := range c.numOut {
						tOut := out[b*c.numOut+j]
						if math.IsInf(tOut, 1) {
							continue
						}
						wantDW, wantDT := fastAndDeepGradients(p, tOut, c.sample(b), c.column(j))
						gotDW, gotDT := singleGradient(t, backend, c, cfg, b, j)
						for i := range wantDW {
							require.InDeltaf(t, wantDW[i], gotDW[i], 1e-6*math.Max(1, math.Abs(wantDW[i])), "dt/dw sample %d neuron %d input %d", b, j, i)
							require.InDeltaf(t, wantDT[i], gotDT[i], 1e-6*math.Max(1, math.Abs(wantDT[i])), "dt/dt_in sample %d neuron %d input %d", b, j, i)
						}
					}
				}
			})
		}
	}
}

func countSpikes(times []float64) int {
	n := 0
	for _, v := range times {
		if !math.IsInf(v, 1) {
			n++
		}
	}
	return n
}

// singleGradient is the gradient of one output spike time t_bj with respect
// to that sample's input times and that neuron's weights.
func singleGradient(t *testing.T, backend backends.Backend, c ttfsCase, cfg TTFS, b, j int) (dw, dt []float64) {
	coef := make([]float64, c.batch*c.numOut)
	coef[b*c.numOut+j] = 1
	_, dT, dW := runTTFS(t, backend, c, cfg, coef)
	dw = make([]float64, c.numIn)
	for i := range c.numIn {
		dw[i] = dW[i*c.numOut+j]
	}
	return dw, dT[b*c.numIn : (b+1)*c.numIn]
}

// TestMaxGradNorm checks fastAndDeep's max_dw_norm semantics: a huge limit
// changes nothing, a tiny one removes every weight gradient but leaves the
// gradient propagated to the input times untouched.
func TestMaxGradNorm(t *testing.T) {
	backend := testBackend(t)
	c := testCases()[0]
	coef := make([]float64, c.batch*c.numOut)
	for i := range coef {
		coef[i] = 1 + float64(i%3)
	}
	_, dT, dW := runTTFS(t, backend, c, TTFS{Neuron: equalLIF}, coef)
	_, dTHuge, dWHuge := runTTFS(t, backend, c, TTFS{Neuron: equalLIF, MaxGradNorm: 1e30}, coef)
	_, dTTiny, dWTiny := runTTFS(t, backend, c, TTFS{Neuron: equalLIF, MaxGradNorm: 1e-30}, coef)
	require.InDeltaSlice(t, dW, dWHuge, 1e-12)
	require.InDeltaSlice(t, dT, dTHuge, 1e-12)
	require.InDeltaSlice(t, dT, dTTiny, 1e-12)
	for i, g := range dWTiny {
		require.Zerof(t, g, "weight gradient %d", i)
	}
	require.NotZero(t, countNonZero(dW))
}

func countNonZero(x []float64) int {
	n := 0
	for _, v := range x {
		if v != 0 {
			n++
		}
	}
	return n
}
