package event

import (
	"math"
	"math/rand/v2"

	"github.com/gosnn/gosnn/snn"
)

// This file holds plain float64 Go references that share no code with the
// graph implementation: a numeric threshold search on the membrane
// potential, and fastAndDeep's published closed-form gradients.

// membrane is V(t) - leak for inputs spiking at times with weights w.
func membrane(p snn.LIF, t float64, times, w []float64) float64 {
	v := 0.0
	for i, ti := range times {
		if !math.IsInf(ti, 1) && ti < t {
			v += w[i] * p.PSP(t-ti)
		}
	}
	return v
}

// numericFirstSpike scans V(t) in steps of h from the first input up to
// horizon after it and refines the first upward threshold crossing by
// bisection. It knows nothing of causal sets or closed forms.
func numericFirstSpike(p snn.LIF, times, w []float64, horizon float64) float64 {
	start := math.Inf(1)
	for _, t := range times {
		start = math.Min(start, t)
	}
	if math.IsInf(start, 1) {
		return start
	}
	theta := p.Threshold - p.Leak
	const h = 1e-3
	prevT, prevV := start, membrane(p, start, times, w)
	for t := start + h; t <= start+horizon; t += h {
		v := membrane(p, t, times, w)
		if prevV < theta && v >= theta {
			lo, hi := prevT, t
			for range 80 {
				mid := (lo + hi) / 2
				if membrane(p, mid, times, w) >= theta {
					hi = mid
				} else {
					lo = mid
				}
			}
			return (lo + hi) / 2
		}
		prevT, prevV = t, v
	}
	return math.Inf(1)
}

// fastAndDeepGradients are the closed-form gradients of Göltz et al. as
// implemented in fastAndDeep (utils_spiketime_et.py for tau_mem = tau_syn = 1,
// g_leak = 1; utils_spiketime_dt.py for tau_mem = 2, tau_syn = 1, g_leak = 0.5),
// evaluated for one output neuron whose spike time is tOut.
func fastAndDeepGradients(p snn.LIF, tOut float64, times, w []float64) (dw, dt []float64) {
	n := len(times)
	dw, dt = make([]float64, n), make([]float64, n)
	inSet := func(i int) bool { return !math.IsInf(times[i], 1) && times[i] <= tOut }
	c := (p.Threshold - p.Leak) * p.GLeak
	switch p.Ratio() {
	case snn.RatioEqual:
		var a, b float64
		for i := range n {
			if inSet(i) {
				a += w[i] * math.Exp(times[i])
				b += w[i] * times[i] * math.Exp(times[i])
			}
		}
		wl := lambertW0(-(c / a) * math.Exp(b/a))
		for i := range n {
			if inSet(i) {
				dw[i] = -1 / (a * (1 + wl)) * math.Exp(times[i]) * (tOut - times[i])
				dt[i] = -1 / (a * (1 + wl)) * w[i] * math.Exp(times[i]) * (tOut - times[i] - 1)
			}
		}
	case snn.RatioDouble:
		var a1, a2 float64
		for i := range n {
			if inSet(i) {
				a1 += w[i] * math.Exp(times[i])
				a2 += w[i] * math.Exp(times[i]/2)
			}
		}
		sq := math.Sqrt(a2*a2 - 4*a1*c)
		f := (1 + c/sq*math.Exp(tOut/2)) / a1
		for i := range n {
			if inSet(i) {
				dw[i] = 2 * (f*math.Exp(times[i]) - math.Exp(times[i]/2)/sq)
				dt[i] = w[i] * (f*2*math.Exp(times[i]) - math.Exp(times[i]/2)/sq)
			}
		}
	}
	return dw, dt
}

// lambertW0 by bisection on [-1, 0] for z in [-1/e, 0).
func lambertW0(z float64) float64 {
	lo, hi := -1.0, 0.0
	for range 200 {
		mid := (lo + hi) / 2
		if mid*math.Exp(mid) < z {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// ttfsCase is one randomized layer: batch samples of numIn input times and
// [numIn, numOut] weights, flattened row-major.
type ttfsCase struct {
	name                 string
	batch, numIn, numOut int
	times, weights       []float64
}

// randomCase draws input times in [0, 2) (optionally on a grid, which makes
// many exact ties, and optionally with silent inputs) and weights around a
// mean that makes most neurons spike.
func randomCase(rng *rand.Rand, name string, batch, numIn, numOut int, grid float64, silentFrac, wMean, wStd float64) ttfsCase {
	c := ttfsCase{name: name, batch: batch, numIn: numIn, numOut: numOut}
	for range batch * numIn {
		t := 2 * rng.Float64()
		if grid > 0 {
			t = math.Round(t/grid) * grid
		}
		if rng.Float64() < silentFrac {
			t = math.Inf(1)
		}
		c.times = append(c.times, t)
	}
	for range numIn * numOut {
		c.weights = append(c.weights, wMean+wStd*rng.NormFloat64())
	}
	return c
}

func (c ttfsCase) sample(b int) []float64 { return c.times[b*c.numIn : (b+1)*c.numIn] }

func (c ttfsCase) column(j int) []float64 {
	col := make([]float64, c.numIn)
	for i := range c.numIn {
		col[i] = c.weights[i*c.numOut+j]
	}
	return col
}
