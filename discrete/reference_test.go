package discrete

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// This file is the independent float64 reference: the same networks
// written as plain Go loops over samples, steps and neurons, with no graph.

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	return b
}

// refSpike is a spike function of x = v - v_th.
type refSpike func(x float64) float64

func refHeaviside(x float64) float64 {
	if x > 0 {
		return 1
	}
	return 0
}

// refPrimitive is the float64 primitive of each surrogate (written from the
// formulas of the kinds' doc comments, not from the graph code).
func refPrimitive(s Surrogate) refSpike {
	a := s.Scale
	switch s.Kind {
	case ArcTan:
		return func(x float64) float64 { return 0.5 + math.Atan(math.Pi*a*x/2)/math.Pi }
	case Triangle:
		return func(x float64) float64 {
			switch {
			case x >= 1/a:
				return 1
			case x <= -1/a:
				return 0
			case x >= 0:
				return 0.5 + a*x - a*a*x*x/2
			}
			return 0.5 + a*x + a*a*x*x/2
		}
	case ScaledSigmoid:
		return func(x float64) float64 { return 1 / (1 + math.Exp(-a*x)) }
	}
	return func(x float64) float64 { return 0.5 + x/(1+a*math.Abs(x)) }
}

// refDerivative is the float64 surrogate derivative g.
func refDerivative(s Surrogate, x float64) float64 {
	a := s.Scale
	switch s.Kind {
	case ArcTan:
		u := math.Pi * a * x / 2
		return a / 2 / (1 + u*u)
	case Triangle:
		return a * math.Max(0, 1-a*math.Abs(x))
	case ScaledSigmoid:
		p := 1 / (1 + math.Exp(-a*x))
		return a * p * (1 - p)
	}
	return 1 / math.Pow(1+a*math.Abs(x), 2)
}

// refLayer is one layer of the reference, stepped for one sample.
type refLayer interface {
	reset()
	step(x []float64) []float64
}

type refDense struct{ w [][]float64 } // [in][out]

func (d *refDense) reset() {}
func (d *refDense) step(x []float64) []float64 {
	y := make([]float64, len(d.w[0]))
	for i, xi := range x {
		for j := range y {
			y[j] += xi * d.w[i][j]
		}
	}
	return y
}

type refLIF struct {
	mem, syn         []float64 // per neuron
	leak, th, vReset float64
	mode             ResetMode
	rec              [][]float64 // [n][n] or nil
	spike            refSpike
	v, i, s          []float64
}

func (l *refLIF) reset() {
	n := len(l.mem)
	l.v, l.i, l.s = make([]float64, n), make([]float64, n), make([]float64, n)
}

func (l *refLIF) step(x []float64) []float64 {
	n := len(l.mem)
	in := append([]float64(nil), x...)
	if l.rec != nil {
		for k := range n {
			for j := range n {
				in[j] += l.s[k] * l.rec[k][j]
			}
		}
	}
	s := make([]float64, n)
	for j := range n {
		v := l.v[j] + (1-l.mem[j])*(l.leak-l.v[j]+l.i[j]) // dt/tau_mem = 1 - mem
		l.i[j] = l.i[j] - (1-l.syn[j])*l.i[j] + in[j]
		s[j] = l.spike(v - l.th)
		if l.mode == ResetZero {
			v = (1-s[j])*v + s[j]*l.vReset
		} else {
			v -= s[j] * (l.th - l.vReset)
		}
		l.v[j] = v
	}
	l.s = s
	return s
}

type refLI struct {
	mem, syn []float64
	leak     float64
	v, i     []float64
}

func (l *refLI) reset() { l.v, l.i = make([]float64, len(l.mem)), make([]float64, len(l.mem)) }

func (l *refLI) step(x []float64) []float64 {
	out := make([]float64, len(l.mem))
	for j := range out {
		jump := l.i[j] + x[j]
		l.v[j] += (1 - l.mem[j]) * (l.leak - l.v[j] + jump)
		l.i[j] = jump - (1-l.syn[j])*jump
		out[j] = l.v[j]
	}
	return out
}

// refRun steps the layers over inputs [batch][T][in] and returns each
// layer's outputs [layer][batch][T][n].
func refRun(layers []refLayer, inputs [][][]float64) [][][][]float64 {
	out := make([][][][]float64, len(layers))
	for l := range out {
		out[l] = make([][][]float64, len(inputs))
	}
	for b, sample := range inputs {
		for _, l := range layers {
			l.reset()
		}
		for _, x := range sample {
			for l, layer := range layers {
				x = layer.step(x)
				out[l][b] = append(out[l][b], x)
			}
		}
	}
	return out
}

// refMaxOverTimeNLL is jaxsnn's loss on a trace [batch][T][classes].
func refMaxOverTimeNLL(trace [][][]float64, labels []int32) float64 {
	total := 0.0
	for b, sample := range trace {
		logits := make([]float64, len(sample[0]))
		for c := range logits {
			logits[c] = math.Inf(-1)
			for _, v := range sample {
				logits[c] = math.Max(logits[c], v[c])
			}
		}
		total += refCrossEntropy(logits, int(labels[b]))
	}
	return total / float64(len(trace))
}

func refCrossEntropy(logits []float64, label int) float64 {
	m := math.Inf(-1)
	for _, z := range logits {
		m = math.Max(m, z)
	}
	sum := 0.0
	for _, z := range logits {
		sum += math.Exp(z - m)
	}
	return m + math.Log(sum) - logits[label]
}

// refRate is rho Σ_b Σ_n (Σ_t s - target)² on spikes [batch][T][n].
func refRate(spikes [][][]float64, target, rho float64) float64 {
	total := 0.0
	for _, sample := range spikes {
		for n := range sample[0] {
			c := 0.0
			for _, s := range sample {
				c += s[n]
			}
			total += (c - target) * (c - target)
		}
	}
	return rho * total
}

func randMatrix(rng *rand.Rand, rows, cols int, mean, std float64) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = mean + std*rng.NormFloat64()
		}
	}
	return m
}

// randSpikes draws binary inputs [batch][T][n] with the given density.
func randSpikes(rng *rand.Rand, batch, steps, n int, density float64) [][][]float64 {
	x := make([][][]float64, batch)
	for b := range x {
		x[b] = make([][]float64, steps)
		for t := range x[b] {
			x[b][t] = make([]float64, n)
			for i := range x[b][t] {
				if rng.Float64() < density {
					x[b][t][i] = 1
				}
			}
		}
	}
	return x
}

func flatten2(m [][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

func flatten3(m [][][]float64) []float64 {
	var out []float64
	for _, r := range m {
		out = append(out, flatten2(r)...)
	}
	return out
}

func filled(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
