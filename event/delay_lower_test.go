package event

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// delayNetwork is input(3) + bias -> hidden(5) -> output(3) with the given
// delays on both projections (nil: none), of ttfs or lif populations.
func delayNetwork(t testing.TB, kind string, first, second *topology.Delay) topology.Network {
	t.Helper()
	p := doubleLIF
	b := topology.New().
		Input("input", 3, snn.Latency{Early: 0.15, Late: 2}).
		Bias("bias", 0.9)
	if kind == topology.KindTTFS {
		b = b.TTFS("hidden", 5, p)
	} else {
		q := lifKinds[1]
		b = b.LIF("hidden", 5, 10, q)
		p = q
	}
	b = b.Projection("to_hidden", 1.5, 0.5, "hidden", "input", "bias")
	if first != nil {
		b = b.WithDelay(*first)
	}
	if kind == topology.KindTTFS {
		b = b.TTFS("output", 3, p)
	} else {
		b = b.LIF("output", 3, 6, p)
	}
	b = b.Projection("to_output", 1.0, 0.5, "output", "hidden", "bias")
	if second != nil {
		b = b.WithDelay(*second)
	}
	net, err := b.Output("output").Done()
	require.NoError(t, err)
	return net
}

// lowerRunner evaluates a lowered network's loss Σ coef ⊙ readout (over
// spiking neurons) and its gradients with respect to every trainable
// variable, in float64.
type lowerRunner struct {
	t        testing.TB
	ctx      *context.Context
	exec     *context.Exec
	features *tensors.Tensor
	vars     []*context.Variable
}

func newLowerRunner(t testing.TB, backend backends.Backend, net topology.Network, features []float64, coef []float64, batch int) *lowerRunner {
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(3))
	r := &lowerRunner{t: t, ctx: ctx, features: tensors.FromFlatDataAndDimensions(features, batch, 3)}
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
		out := Lower(ctx, &net, x)
		k := Reshape(ConvertDType(Const(x.Graph(), coef), x.DType()), batch, 3)
		loss := ReduceAllSum(Where(IsFinite(out.Readout), Mul(out.Readout, k), ZerosLike(k)))
		spiking := ReduceAllSum(ConvertDType(IsFinite(out.Readout), x.DType()))
		for _, pop := range out.Populations {
			spiking = Add(spiking, ReduceAllSum(ConvertDType(IsFinite(pop.FirstTimes), x.DType())))
		}
		return append([]*Node{loss, spiking}, ctx.BuildTrainableVariablesGradientsGraph(loss)...)
	})
	require.NoError(t, err)
	r.exec = exec
	r.run() // creates the variables
	for v := range ctx.IterVariables() {
		if v.Trainable {
			r.vars = append(r.vars, v)
		}
	}
	return r
}

func (r *lowerRunner) run() (loss, spiking float64, grads [][]float64) {
	outs, err := r.exec.Exec(r.features)
	require.NoError(r.t, err)
	for _, o := range outs[2:] {
		grads = append(grads, tensors.MustCopyFlatData[float64](o))
	}
	return tensors.MustCopyFlatData[float64](outs[0])[0], tensors.MustCopyFlatData[float64](outs[1])[0], grads
}

func (r *lowerRunner) value(v *context.Variable) []float64 {
	val, err := v.Value()
	require.NoError(r.t, err)
	return tensors.MustCopyFlatData[float64](val)
}

func (r *lowerRunner) set(v *context.Variable, values []float64) {
	require.NoError(r.t, v.SetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...)))
}

// TestDelayGradientsThroughLower checks the gradient of every weight and
// delay parameter of networks with axonal, synaptic and dendritic delays
// (sigmoid and clamp positivity), of ttfs and lif populations, against
// float64 central finite differences to 1e-4 relative.
func TestDelayGradientsThroughLower(t *testing.T) {
	backend := testBackend(t)
	sigmoid := topology.Positivity{Function: topology.PositivitySigmoid, Scale: 1.5}
	delay := func(kind string, pos topology.Positivity, mean float64) *topology.Delay {
		return &topology.Delay{Kind: kind, Init: &topology.Init{Mean: mean, Std: 0.8}, Positivity: pos}
	}
	clamp := topology.Positivity{Function: topology.PositivityClamp}
	rng := rand.New(rand.NewPCG(17, 18))
	const batch = 4
	features := make([]float64, batch*3)
	for i := range features {
		features[i] = rng.Float64()
	}
	coef := randomWeights(rng, batch, 3, 0, 1)
	for _, pop := range []string{topology.KindTTFS, topology.KindLIF} {
		for _, tc := range []struct {
			name          string
			first, second *topology.Delay
		}{
			{"axonal", delay(topology.DelayAxonal, sigmoid, 0), delay(topology.DelayAxonal, sigmoid, 0)},
			{"synaptic", delay(topology.DelaySynaptic, sigmoid, 0), delay(topology.DelaySynaptic, sigmoid, 0)},
			{"dendritic", delay(topology.DelayDendritic, sigmoid, 0), delay(topology.DelayDendritic, sigmoid, 0)},
			{"clamp", delay(topology.DelaySynaptic, clamp, 0.5), delay(topology.DelayAxonal, clamp, 0.5)},
			{"mixed", delay(topology.DelayDendritic, sigmoid, 0), nil},
		} {
			t.Run(fmt.Sprintf("%s/%s", pop, tc.name), func(t *testing.T) {
				r := newLowerRunner(t, backend, delayNetwork(t, pop, tc.first, tc.second), features, coef, batch)
				_, spiking, grads := r.run()
				require.Positive(t, spiking)
				compared, delays := 0, 0
				for vi, v := range r.vars {
					values := r.value(v)
					isDelay := v.Name() == "delays"
					for i := range values {
						orig := values[i]
						const eps = 1e-6
						values[i] = orig + eps
						r.set(v, values)
						up, sUp, _ := r.run()
						values[i] = orig - eps
						r.set(v, values)
						down, sDown, _ := r.run()
						values[i] = orig
						r.set(v, values)
						if sUp != spiking || sDown != spiking {
							continue
						}
						fd := (up - down) / (2 * eps)
						require.InDeltaf(t, fd, grads[vi][i], 1e-4*math.Max(1, math.Abs(fd)), "%s[%d]", v.ScopeAndName(), i)
						compared++
						if isDelay && fd != 0 {
							delays++
						}
					}
				}
				require.Positive(t, delays, "no delay gradient compared")
				t.Logf("%d derivatives compared, %d non-zero delay derivatives", compared, delays)
			})
		}
	}
}

// TestZeroDelaysEqualNoDelays: delays that are all zero (clamp of a
// negative init) leave the network's read-out and weight gradients as
// without delays.
func TestZeroDelaysEqualNoDelays(t *testing.T) {
	backend := testBackend(t)
	const batch = 4
	rng := rand.New(rand.NewPCG(19, 20))
	features := make([]float64, batch*3)
	for i := range features {
		features[i] = rng.Float64()
	}
	coef := randomWeights(rng, batch, 3, 0, 1)
	for _, pop := range []string{topology.KindTTFS, topology.KindLIF} {
		for _, kind := range topology.DelayKinds {
			zero := &topology.Delay{Kind: kind, Init: &topology.Init{Mean: -1, Std: 0}, Positivity: topology.Positivity{Function: topology.PositivityClamp}}
			plain := newLowerRunner(t, backend, delayNetwork(t, pop, nil, nil), features, coef, batch)
			delayed := newLowerRunner(t, backend, delayNetwork(t, pop, zero, zero), features, coef, batch)
			byName := map[string]*context.Variable{}
			for _, v := range delayed.vars {
				byName[v.ScopeAndName()] = v
			}
			for _, v := range plain.vars {
				delayed.set(byName[v.ScopeAndName()], plain.value(v))
			}
			want, _, wantGrads := plain.run()
			got, _, gotGrads := delayed.run()
			require.InDelta(t, want, got, 1e-12, "%s %s: loss", pop, kind)
			for vi, v := range plain.vars {
				for di, dv := range delayed.vars {
					if dv.ScopeAndName() == v.ScopeAndName() {
						require.InDeltaSlice(t, wantGrads[vi], gotGrads[di], 1e-10, "%s %s: %s", pop, kind, v.ScopeAndName())
					}
				}
			}
		}
	}
}
