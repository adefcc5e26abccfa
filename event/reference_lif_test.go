package event

import (
	"math"
	"sort"

	"github.com/gosnn/gosnn/snn"
)

// refLIF is a plain float64 event-driven simulator of a layer of LIF
// neurons with many spikes per neuron, reset and refractory clamp, and
// optional recurrent weights. It shares no code with the graph version: the
// state between events is the closed-form solution of the linear ODE, and
// threshold crossings are found by a fine scan of V plus bisection.
type refLIF struct {
	p        snn.LIF
	wIn      [][]float64 // [inputs][neurons]
	wRec     [][]float64 // [neurons][neurons] or nil
	capacity int
	horizon  float64 // absolute, after the earliest input
	// pops, when set, gives consecutive ranges of neurons their own slots:
	// a neuron of a population that used them all no longer fires, and
	// each such neuron whose membrane still reaches the threshold is one
	// overflow spike.
	pops []PopulationCapacity
}

type refSpike struct {
	t float64
	n int
}

// simulate returns the recorded spikes (at most capacity) and the number of
// spikes beyond capacity (with pops: of neurons held back).
func (r refLIF) simulate(inTimes []float64, inNeurons []int) (spikes []refSpike, overflow int) {
	p := r.p
	n := len(r.wIn[0])
	var events []refSpike
	start := math.Inf(1)
	for i, t := range inTimes {
		if !math.IsInf(t, 1) {
			start = math.Min(start, t)
			events = append(events, refSpike{t, inNeurons[i]})
		}
	}
	if len(events) == 0 {
		return nil, 0
	}
	end := start + r.horizon
	sort.SliceStable(events, func(a, b int) bool { return events[a].t < events[b].t })
	v := make([]float64, n)
	cur := make([]float64, n)
	refEnd := make([]float64, n)
	for j := range n {
		v[j], refEnd[j] = p.Leak, math.Inf(-1)
	}
	popOf := make([]int, n)
	for j, p, o := 0, 0, 0; j < n && len(r.pops) > 0; j++ {
		if j == o+r.pops[p].Neurons {
			o += r.pops[p].Neurons
			p++
		}
		popOf[j] = p
	}
	used := make([]int, len(r.pops))
	heldBack := func(j int) bool { return len(r.pops) > 0 && used[popOf[j]] >= r.pops[popOf[j]].Capacity }
	lost := make([]bool, n)
	t := start
	// at returns neuron j's membrane at time x >= t.
	at := func(j int, x float64) (float64, float64) {
		if x <= refEnd[j] {
			return p.Reset, cur[j] * math.Exp(-(x-t)/p.TauSyn)
		}
		from, v0 := t, v[j]
		if refEnd[j] > t {
			from, v0 = refEnd[j], p.Reset
		}
		i0 := cur[j] * math.Exp(-(from-t)/p.TauSyn)
		s := x - from
		return p.Leak + (v0-p.Leak)*math.Exp(-s/p.TauMem) + i0*p.PSP(s), cur[j] * math.Exp(-(x-t)/p.TauSyn)
	}
	crossing := func(j int, limit float64) float64 {
		from := math.Max(t, refEnd[j])
		if from > limit {
			return math.Inf(1)
		}
		if vv, _ := at(j, from); vv >= p.Threshold && refEnd[j] < t {
			return from
		}
		h := 1e-3 * math.Min(p.TauSyn, p.TauMem)
		prev := from
		for x := from + h; ; x += h {
			x = math.Min(x, limit)
			if vv, _ := at(j, x); vv >= p.Threshold {
				lo, hi := prev, x
				for range 100 {
					mid := (lo + hi) / 2
					if vm, _ := at(j, mid); vm >= p.Threshold {
						hi = mid
					} else {
						lo = mid
					}
				}
				return hi
			}
			if x >= limit {
				return math.Inf(1)
			}
			prev = x
		}
	}
	advance := func(x float64) {
		for j := range n {
			v[j], cur[j] = at(j, x)
		}
		t = x
	}
	next := 0
	for range 100000 {
		tin := math.Inf(1)
		if next < len(events) && events[next].t <= end {
			tin = events[next].t
		}
		limit := math.Min(tin, end)
		best, who := math.Inf(1), -1
		for j := range n {
			if heldBack(j) {
				continue
			}
			if x := crossing(j, limit); x < best {
				best, who = x, j
			}
		}
		for j := range n {
			if heldBack(j) && !math.IsInf(crossing(j, math.Min(limit, best)), 1) {
				lost[j] = true
			}
		}
		switch {
		case who >= 0:
			if len(r.pops) > 0 {
				used[popOf[who]]++
			}
			advance(best)
			v[who], refEnd[who] = p.Reset, best+p.Refractory
			if r.wRec != nil {
				for j := range n {
					cur[j] += r.wRec[who][j]
				}
			}
			if len(spikes) < r.capacity {
				spikes = append(spikes, refSpike{best, who})
			} else {
				overflow++
			}
		case !math.IsInf(tin, 1):
			advance(tin)
			for next < len(events) && events[next].t == tin {
				for j := range n {
					cur[j] += r.wIn[events[next].n][j]
				}
				next++
			}
		default:
			for _, l := range lost {
				if l {
					overflow++
				}
			}
			return spikes, overflow
		}
	}
	panic("reference simulation did not finish")
}
