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

// lifCase is one randomized event-based layer: input spike lists, weights,
// and the neuron. Slices are row-major float64.
type lifCase struct {
	name                           string
	p                              snn.LIF
	batch, numSpikes, numInNeurons int
	numOut, capacity               int
	inTimes                        []float64 // [batch, numSpikes]
	inNeurons                      []int32   // [batch, numSpikes]
	wIn                            []float64 // [numInNeurons, numOut]
	wRec                           []float64 // [numOut, numOut] or nil
	// pops gives ranges of a recurrent layer's neurons their own slots
	// (LIFConfig.Populations); nil: one shared capacity.
	pops []PopulationCapacity
}

var (
	// otherLIF has no closed form: tau_mem = 3 tau_syn.
	otherLIF = snn.LIF{TauSyn: 1, TauMem: 3, GLeak: 1.0 / 3, Threshold: 1}
	lifKinds = []snn.LIF{
		{TauSyn: 1, TauMem: 1, GLeak: 1, Threshold: 1, Reset: 0},
		{TauSyn: 1, TauMem: 2, GLeak: 0.5, Threshold: 1, Reset: -0.2},
		otherLIF,
	}
)

// randomLIFCase draws input spikes in [0, 3) (on a grid when grid > 0),
// several per input neuron, and strong weights so that neurons fire several
// times.
func randomLIFCase(rng *rand.Rand, name string, p snn.LIF, batch, numSpikes, numInNeurons, numOut, capacity int,
	recurrent bool, grid, wMean, wStd float64) lifCase {
	c := lifCase{name: name, p: p, batch: batch, numSpikes: numSpikes, numInNeurons: numInNeurons, numOut: numOut, capacity: capacity}
	for range batch * numSpikes {
		t := 3 * rng.Float64()
		if grid > 0 {
			t = math.Round(t/grid) * grid
		}
		if rng.Float64() < 0.1 {
			t = math.Inf(1)
		}
		c.inTimes = append(c.inTimes, t)
		c.inNeurons = append(c.inNeurons, int32(rng.IntN(numInNeurons)))
	}
	for range numInNeurons * numOut {
		c.wIn = append(c.wIn, wMean+wStd*rng.NormFloat64())
	}
	if recurrent {
		for range numOut * numOut {
			c.wRec = append(c.wRec, 0.3*rng.NormFloat64())
		}
	}
	return c
}

func (c lifCase) ref(b int) refLIF {
	r := refLIF{p: c.p, capacity: c.capacity, horizon: DefaultHorizon * c.p.TauSyn, pops: c.pops}
	for i := range c.numInNeurons {
		r.wIn = append(r.wIn, c.wIn[i*c.numOut:(i+1)*c.numOut])
	}
	if c.wRec != nil {
		for i := range c.numOut {
			r.wRec = append(r.wRec, c.wRec[i*c.numOut:(i+1)*c.numOut])
		}
	}
	return r
}

// expectedSlots runs the reference on sample b and lays its spikes out as
// the graph layer does: time-sorted for a recurrent layer; for a
// feed-forward layer, capacity/numOut slots per neuron, neuron by neuron.
// Empty slots have neuron -1. It also returns the overflow count.
func (c lifCase) expectedSlots(b int) ([]refSpike, int) {
	times, ids := c.sampleInputs(b)
	slots := make([]refSpike, c.capacity)
	for k := range slots {
		slots[k].n = -1
	}
	r := c.ref(b)
	if c.wRec != nil {
		spikes, overflow := r.simulate(times, ids)
		copy(slots, spikes)
		return slots, overflow
	}
	perNeuron := c.capacity / c.numOut
	r.capacity = math.MaxInt
	spikes, _ := r.simulate(times, ids)
	count := make([]int, c.numOut)
	overflow := 0
	for _, s := range spikes {
		if count[s.n] == perNeuron {
			overflow++
			continue
		}
		slots[s.n*perNeuron+count[s.n]] = s
		count[s.n]++
	}
	return slots, overflow
}

func (c lifCase) sampleInputs(b int) ([]float64, []int) {
	times := c.inTimes[b*c.numSpikes : (b+1)*c.numSpikes]
	ids := make([]int, c.numSpikes)
	for i := range ids {
		ids[i] = int(c.inNeurons[b*c.numSpikes+i])
	}
	return times, ids
}

// lifResult holds one graph evaluation: output spikes, overflow, and the
// gradients of Σ coef ⊙ t over the recorded spikes.
type lifResult struct {
	times            []float64
	neurons          []int32
	overflow         []int32
	dIn, dWIn, dWRec []float64
}

type lifRunner struct {
	t    testing.TB
	exec *Exec
	c    lifCase
}

func newLIFRunner(t testing.TB, backend backends.Backend, c lifCase) *lifRunner {
	cfg := LIFConfig{Neuron: c.p, Capacity: c.capacity, Populations: c.pops}
	exec, err := NewExec(backend, func(inT, inN, wIn, wRec, coef *Node) []*Node {
		var rec *Node
		if c.wRec != nil {
			rec = wRec
		}
		out, overflow := LIFSpikes(snn.Spikes{Time: inT, Neuron: inN}, wIn, rec, cfg)
		loss := ReduceAllSum(Where(IsFinite(out.Time), Mul(out.Time, coef), ZerosLike(coef)))
		grads := Gradient(loss, inT, wIn, wRec)
		return []*Node{out.Time, out.Neuron, overflow, grads[0], grads[1], grads[2]}
	})
	require.NoError(t, err)
	return &lifRunner{t: t, exec: exec, c: c}
}

func (r *lifRunner) run(coef []float64) lifResult {
	c := r.c
	wRec := c.wRec
	if wRec == nil {
		wRec = make([]float64, c.numOut*c.numOut)
	}
	if coef == nil {
		coef = make([]float64, c.batch*c.capacity)
	}
	outs, err := r.exec.Exec(
		tensors.FromFlatDataAndDimensions(c.inTimes, c.batch, c.numSpikes),
		tensors.FromFlatDataAndDimensions(c.inNeurons, c.batch, c.numSpikes),
		tensors.FromFlatDataAndDimensions(c.wIn, c.numInNeurons, c.numOut),
		tensors.FromFlatDataAndDimensions(wRec, c.numOut, c.numOut),
		tensors.FromFlatDataAndDimensions(coef, c.batch, c.capacity))
	require.NoError(r.t, err)
	return lifResult{
		times: tensors.MustCopyFlatData[float64](outs[0]), neurons: tensors.MustCopyFlatData[int32](outs[1]),
		overflow: tensors.MustCopyFlatData[int32](outs[2]),
		dIn:      tensors.MustCopyFlatData[float64](outs[3]), dWIn: tensors.MustCopyFlatData[float64](outs[4]),
		dWRec: tensors.MustCopyFlatData[float64](outs[5]),
	}
}

func lifCases() []lifCase {
	rng := rand.New(rand.NewPCG(11, 12))
	var cases []lifCase
	for _, p := range lifKinds {
		refr := p
		refr.Refractory = 0.3
		cases = append(cases,
			randomLIFCase(rng, fmt.Sprintf("%s/feed-forward", p.Ratio()), p, 3, 8, 4, 4, 12, false, 0, 1.5, 1.0),
			randomLIFCase(rng, fmt.Sprintf("%s/recurrent", p.Ratio()), p, 3, 8, 4, 4, 14, true, 0, 1.5, 1.0),
			randomLIFCase(rng, fmt.Sprintf("%s/refractory", p.Ratio()), refr, 3, 8, 4, 4, 12, true, 0, 1.5, 1.0),
			randomLIFCase(rng, fmt.Sprintf("%s/grid ties", p.Ratio()), p, 3, 10, 3, 4, 14, true, 0.25, 1.2, 0.8),
			randomLIFCase(rng, fmt.Sprintf("%s/overflow", p.Ratio()), p, 2, 8, 4, 4, 4, false, 0, 2.5, 0.5),
			randomLIFCase(rng, fmt.Sprintf("%s/recurrent overflow", p.Ratio()), p, 2, 8, 4, 4, 3, true, 0, 2.5, 0.5),
		)
	}
	// One input spike per sample: the smallest list the layers take.
	cases = append(cases, randomLIFCase(rng, "single input", lifKinds[0], 3, 1, 1, 3, 6, false, 0, 3, 0.5))
	return append(cases, populationCases()...)
}

// populationCases are recurrent layers of two populations with their own
// slots: the first (4 neurons, strong inputs) fires early and often and
// would take every slot of a shared capacity; the second (2 neurons, weaker
// inputs) fires later, and keeps its 3 slots.
func populationCases() []lifCase {
	rng := rand.New(rand.NewPCG(21, 22))
	var cases []lifCase
	for _, p := range lifKinds {
		refr := p
		refr.Refractory = 0.3
		for _, q := range []snn.LIF{p, refr} {
			name := fmt.Sprintf("%s/populations", p.Ratio())
			if q.Refractory > 0 {
				name += " refractory"
			}
			c := randomLIFCase(rng, name, q, 4, 8, 4, 6, 6, true, 0, 1.5, 1.0)
			for i := range c.numInNeurons {
				for j := 4; j < 6; j++ {
					c.wIn[i*c.numOut+j] *= 0.6
				}
			}
			c.pops = []PopulationCapacity{{Neurons: 4, Capacity: 3}, {Neurons: 2, Capacity: 3}}
			cases = append(cases, c)
		}
	}
	return cases
}

func TestSimulateMatchesReference(t *testing.T) {
	backend := testBackend(t)
	for _, c := range lifCases() {
		t.Run(c.name, func(t *testing.T) {
			got := newLIFRunner(t, backend, c).run(nil)
			multi := 0
			for b := range c.batch {
				want, overflow := c.expectedSlots(b)
				perNeuron := map[int]int{}
				for k := range c.capacity {
					gt, gn := got.times[b*c.capacity+k], got.neurons[b*c.capacity+k]
					if want[k].n < 0 {
						require.Truef(t, math.IsInf(gt, 1), "sample %d slot %d: want no spike, got %g (neuron %d)", b, k, gt, gn)
						continue
					}
					require.InDeltaf(t, want[k].t, gt, 1e-8, "sample %d slot %d time", b, k)
					require.Equalf(t, int32(want[k].n), gn, "sample %d slot %d neuron (t=%g)", b, k, gt)
					perNeuron[want[k].n]++
				}
				for _, n := range perNeuron {
					if n > 1 {
						multi++
					}
				}
				if overflow == 0 {
					require.Zerof(t, got.overflow[b], "sample %d: no overflow expected", b)
				} else {
					require.Positivef(t, got.overflow[b], "sample %d: %d spikes overflowed, none reported", b, overflow)
					require.LessOrEqualf(t, int(got.overflow[b]), overflow, "sample %d: overflow is a lower bound", b)
				}
			}
			t.Logf("%d neurons with several spikes", multi)
		})
	}
}

// sameSpikes reports whether two runs recorded the same neuron sequence,
// so that slot-wise times are comparable.
func sameSpikes(a, b lifResult) bool {
	for k := range a.times {
		if math.IsInf(a.times[k], 1) != math.IsInf(b.times[k], 1) {
			return false
		}
		if !math.IsInf(a.times[k], 1) && a.neurons[k] != b.neurons[k] {
			return false
		}
	}
	return true
}

func weightedSum(coef, times []float64) float64 {
	s := 0.0
	for i, v := range times {
		if !math.IsInf(v, 1) {
			s += coef[i] * v
		}
	}
	return s
}

// checkFiniteDifferences compares grad with float64 central differences of
// loss() over every element of params; perturbations that change which
// spikes exist are skipped (no derivative there). It returns how many
// elements were compared.
func checkFiniteDifferences(t *testing.T, what string, params, grad []float64, loss func() (float64, bool)) int {
	t.Helper()
	const eps = 1e-6
	compared := 0
	for i := range params {
		if math.IsInf(params[i], 1) {
			require.Zerof(t, grad[i], "%s[%d]: absent spike must have zero gradient", what, i)
			continue
		}
		orig := params[i]
		params[i] = orig + eps
		up, okUp := loss()
		params[i] = orig - eps
		down, okDown := loss()
		params[i] = orig
		if !okUp || !okDown {
			continue
		}
		fd := (up - down) / (2 * eps)
		require.InDeltaf(t, fd, grad[i], 1e-4*math.Max(1, math.Abs(fd)), "%s[%d]", what, i)
		compared++
	}
	return compared
}

func TestEventPropGradient(t *testing.T) {
	backend := testBackend(t)
	for _, c := range lifCases() {
		t.Run(c.name, func(t *testing.T) {
			r := newLIFRunner(t, backend, c)
			rng := rand.New(rand.NewPCG(7, 8))
			coef := make([]float64, c.batch*c.capacity)
			for i := range coef {
				coef[i] = rng.NormFloat64()
			}
			base := r.run(coef)
			loss := func() (float64, bool) {
				res := r.run(nil)
				return weightedSum(coef, res.times), sameSpikes(base, res)
			}
			n := checkFiniteDifferences(t, "input times", c.inTimes, base.dIn, loss)
			n += checkFiniteDifferences(t, "input weights", c.wIn, base.dWIn, loss)
			if c.wRec != nil {
				n += checkFiniteDifferences(t, "recurrent weights", c.wRec, base.dWRec, loss)
			}
			require.Positive(t, n)
			t.Logf("%d derivatives compared", n)
		})
	}
}

// TestPopulationCapacities: in the populationCases the first population
// alone would fill a shared capacity; with their own slots the second
// population keeps its spikes, the layer matches the reference that applies
// the same rule (spike for spike, and the held-back neurons counted as
// overflow, exactly), and both rules are exercised (held-back neurons and
// second-population spikes in every case).
func TestPopulationCapacities(t *testing.T) {
	backend := testBackend(t)
	for _, c := range populationCases() {
		t.Run(c.name, func(t *testing.T) {
			got := newLIFRunner(t, backend, c).run(nil)
			shared := c
			shared.pops = nil
			crowded := newLIFRunner(t, backend, shared).run(nil)
			second, secondShared, heldBack := 0, 0, 0
			for b := range c.batch {
				want, overflow := c.expectedSlots(b)
				require.Equalf(t, overflow, int(got.overflow[b]), "sample %d: overflow", b)
				heldBack += overflow
				t.Logf("sample %d: overflow %d, neurons %v", b, overflow, got.neurons[b*c.capacity:(b+1)*c.capacity])
				for k := range c.capacity {
					gt, gn := got.times[b*c.capacity+k], got.neurons[b*c.capacity+k]
					if want[k].n < 0 {
						require.Truef(t, math.IsInf(gt, 1), "sample %d slot %d: want no spike, got %g (neuron %d)", b, k, gt, gn)
						continue
					}
					require.InDeltaf(t, want[k].t, gt, 1e-8, "sample %d slot %d time", b, k)
					require.Equalf(t, int32(want[k].n), gn, "sample %d slot %d neuron (t=%g)", b, k, gt)
					if gn >= 4 {
						second++
					}
					if n := crowded.neurons[b*c.capacity+k]; n >= 4 && !math.IsInf(crowded.times[b*c.capacity+k], 1) {
						secondShared++
					}
				}
			}
			t.Logf("second population: %d spikes with own slots, %d with a shared capacity; %d held-back neurons", second, secondShared, heldBack)
			require.Positive(t, heldBack, "the first population must overflow its slots")
			require.Greater(t, second, secondShared, "own slots must keep the second population's spikes")
		})
	}
}

// TestNeuronMajorFirstTimes checks the feed-forward layers' first spike
// times, read from their neuron-major layout, against the general list's
// Spikes.FirstTimes: same values and same gradients, with several slots per
// neuron and with one.
func TestNeuronMajorFirstTimes(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(31, 32))
	for _, perNeuron := range []int{1, 3} {
		for _, p := range lifKinds {
			c := randomLIFCase(rng, "feed-forward", p, 3, 8, 4, 4, 4*perNeuron, false, 0, 2.5, 1.0)
			t.Run(fmt.Sprintf("%s/%d per neuron", p.Ratio(), perNeuron), func(t *testing.T) {
				cfg := LIFConfig{Neuron: c.p, Capacity: c.capacity}
				exec, err := NewExec(backend, func(inT, inN, wIn *Node) []*Node {
					out, _ := LIFSpikes(snn.Spikes{Time: inT, Neuron: inN}, wIn, nil, cfg)
					fast, general := neuronMajorFirstTimes(out, c.numOut), out.FirstTimes(c.numOut)
					finite := func(x *Node) *Node { return Where(IsFinite(x), x, ZerosLike(x)) }
					coef := AddScalar(Iota(inT.Graph(), fast.Shape(), 1), 1)
					gFast := Gradient(ReduceAllSum(Mul(finite(fast), coef)), wIn)[0]
					gGeneral := Gradient(ReduceAllSum(Mul(finite(general), coef)), wIn)[0]
					return []*Node{fast, general, gFast, gGeneral}
				})
				require.NoError(t, err)
				outs, err := exec.Exec(
					tensors.FromFlatDataAndDimensions(c.inTimes, c.batch, c.numSpikes),
					tensors.FromFlatDataAndDimensions(c.inNeurons, c.batch, c.numSpikes),
					tensors.FromFlatDataAndDimensions(c.wIn, c.numInNeurons, c.numOut))
				require.NoError(t, err)
				fast, general := tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
				require.Equal(t, general, fast)
				spiking := 0
				for _, v := range fast {
					if !math.IsInf(v, 1) {
						spiking++
					}
				}
				require.Positive(t, spiking, "no neuron spiked: the case checks nothing")
				require.Equal(t, tensors.MustCopyFlatData[float64](outs[3]), tensors.MustCopyFlatData[float64](outs[2]))
			})
		}
	}
}
