package bss2

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/gosnn/gosnn/event"
	"github.com/gosnn/gosnn/snn"
)

// MockConfig sets the hardware artifacts of the Mock, each switchable on
// its own (the zero value of a field switches its artifact off) and drawn
// from Seed. DefaultMock is jaxsnn's BrainScaleS-2 operating point
// (BSS2.md); IdealMock switches everything off, so that the mock gives the
// software network's spike times.
type MockConfig struct {
	// Seed draws the fixed per-neuron variation and the jitter.
	Seed int64 `json:"seed" yaml:"seed"`
	// WeightBits is the weight resolution: weights become signed integers
	// of magnitude <= 2^bits - 1 (excitatory or inhibitory row, 6 bits on
	// the chip: 0..63). 0: float weights, no clipping.
	WeightBits int `json:"weight_bits" yaml:"weight_bits"`
	// WeightScale is hardware units per software weight unit at 6 bits
	// (jaxsnn's BSS-2 Yin-Yang default: 58): w_hw = round(clip(scale w,
	// -63, 63)). Other resolutions scale it by (2^bits - 1)/63, keeping
	// the range +-63/58 and changing the step.
	WeightScale float64 `json:"weight_scale" yaml:"weight_scale"`
	// TimeUnit is the hardware time, in seconds, of one model time unit.
	// 0: the network's (first population's) tau_syn is the operating
	// point's 6 us.
	TimeUnit float64 `json:"time_unit_s,omitempty" yaml:"time_unit_s,omitempty"`
	// ClockHz quantises input and recorded spike times to FPGA clock
	// cycles (125 MHz: 8 ns). 0: continuous times.
	ClockHz float64 `json:"clock_hz" yaml:"clock_hz"`
	// Jitter is the standard deviation, in hardware seconds, of the normal
	// noise added to every spike time (trial to trial). 0: none.
	Jitter float64 `json:"jitter_s" yaml:"jitter_s"`
	// ThresholdVariation and TauVariation are the relative standard
	// deviations of the fixed per-neuron (threshold - leak), tau_mem and
	// tau_syn (calibration residuals). 0: identical neurons.
	ThresholdVariation float64 `json:"threshold_variation" yaml:"threshold_variation"`
	TauVariation       float64 `json:"tau_variation" yaml:"tau_variation"`
	// DynamicRange is the depth of the membrane's range below leak, in
	// units of (threshold - leak): the membrane is held at leak -
	// DynamicRange (threshold - leak) while inhibition would pull it lower.
	// The operating point's leak 80, threshold 150 and the CADC's floor 0
	// give 80/70. 0: unbounded.
	DynamicRange float64 `json:"dynamic_range" yaml:"dynamic_range"`
	// MaxRuntime is the recorded time per sample in hardware seconds
	// (jaxsnn: 30 us); later spikes are lost (counted in LateSpikes).
	// 0: unlimited.
	MaxRuntime float64 `json:"max_runtime_s" yaml:"max_runtime_s"`
	// Acceleration is how much faster than biology the chip runs (1000:
	// hardware microseconds are biological milliseconds); it only converts
	// times for reports (BiologicalTime).
	Acceleration float64 `json:"acceleration" yaml:"acceleration"`
}

// The operating point of jaxsnn's BSS-2 Yin-Yang example (BSS2.md).
const (
	OperatingTauSyn  = 6e-6   // s, hardware
	OperatingTauMem  = 12e-6  // s, hardware
	OperatingRuntime = 30e-6  // s per sample
	OperatingClockHz = 125e6  // FPGA clock
	OperatingScale   = 58.0   // hardware units per software weight
	OperatingBits    = 6      // weight resolution
	OperatingAccel   = 1000.0 // hardware vs biological time
	// CADC units of the operating point: leak 80, threshold 150, reset 80,
	// membrane readout floor 0.
	operatingLeak, operatingThreshold = 80.0, 150.0
)

// DefaultMock is jaxsnn's operating point: 6-bit weights at scale 58, the
// 125 MHz clock, 30 us per sample, the CADC range below leak, 1000x
// acceleration; no jitter and no per-neuron variation (jaxsnn 0.3.0's mock
// adds neither; set them to study their effect).
func DefaultMock() MockConfig {
	return MockConfig{Seed: 1, WeightBits: OperatingBits, WeightScale: OperatingScale, ClockHz: OperatingClockHz,
		DynamicRange: operatingLeak / (operatingThreshold - operatingLeak), MaxRuntime: OperatingRuntime, Acceleration: OperatingAccel}
}

// IdealMock has every artifact off.
func IdealMock() MockConfig { return MockConfig{Seed: 1, Acceleration: OperatingAccel} }

// Validate names every unusable field.
func (c MockConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	nonNeg := func(field string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			bad(field, "must be >= 0 and finite, got %g", v)
		}
	}
	if c.WeightBits < 0 || c.WeightBits > 16 {
		bad("weight_bits", "must be 0 (float) or 1..16, got %d", c.WeightBits)
	}
	if c.WeightBits > 0 && (!(c.WeightScale > 0) || math.IsInf(c.WeightScale, 0)) {
		bad("weight_scale", "must be > 0 with quantised weights, got %g", c.WeightScale)
	}
	nonNeg("weight_scale", c.WeightScale)
	nonNeg("time_unit_s", c.TimeUnit)
	nonNeg("clock_hz", c.ClockHz)
	nonNeg("jitter_s", c.Jitter)
	nonNeg("threshold_variation", c.ThresholdVariation)
	nonNeg("tau_variation", c.TauVariation)
	nonNeg("dynamic_range", c.DynamicRange)
	nonNeg("max_runtime_s", c.MaxRuntime)
	nonNeg("acceleration", c.Acceleration)
	if c.TauVariation >= 0.5 || c.ThresholdVariation >= 0.5 {
		bad("tau_variation/threshold_variation", "must be < 0.5 (relative std), got %g and %g", c.TauVariation, c.ThresholdVariation)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bss2 mock: %w", err)
	}
	return nil
}

// WeightMax is the largest weight magnitude in hardware units (0: no limit).
func (c MockConfig) WeightMax() int {
	if c.WeightBits == 0 {
		return 0
	}
	return 1<<c.WeightBits - 1
}

// scale is hardware units per software weight at the configured resolution.
func (c MockConfig) scale() float64 {
	return c.WeightScale * float64(c.WeightMax()) / float64(OperatingBitsMax)
}

// OperatingBitsMax is the chip's largest weight, 2^6 - 1.
const OperatingBitsMax = 1<<OperatingBits - 1

// clipTolerance lets a weight at the range's edge in float32 (63/58
// rounded, where hardware.clip_weights puts it) count as not clipped: a
// relative 1e-6 is above float32's rounding (6e-8) and far below a step.
const clipTolerance = 1 + 1e-6

// QuantizeWeight is the weight the mock uses for a software weight w:
// round(clip(scale w, -max, max)) / scale, and whether it was clipped.
func (c MockConfig) QuantizeWeight(w float64) (float64, bool) {
	if c.WeightBits == 0 {
		return w, false
	}
	s, m := c.scale(), float64(c.WeightMax())
	x := s * w
	clipped := math.Abs(x) > m*clipTolerance
	return math.Round(math.Max(-m, math.Min(m, x))) / s, clipped
}

// WeightRange is the largest software weight magnitude the mock
// represents without clipping: max / scale (63/58 at every resolution, as
// scale follows the bits), 0 for float weights.
func (c MockConfig) WeightRange() float64 {
	if c.WeightBits == 0 {
		return 0
	}
	return float64(c.WeightMax()) / c.scale()
}

// WeightRange implements WeightRanger.
func (mk *Mock) WeightRange() float64 { return mk.cfg.WeightRange() }

// timeUnit is the hardware seconds per model time unit for a network.
func (c MockConfig) timeUnit(m *Mapping) float64 {
	if c.TimeUnit > 0 {
		return c.TimeUnit
	}
	return OperatingTauSyn / m.Layers[0].Populations[0].Neuron.TauSyn
}

// Mock is the software twin of the chip: the network's LIF neurons
// simulated exactly, event by event in float64 (see neuron), with the
// artifacts of MockConfig. With IdealMock it gives the spike times of
// event.Lower's software network. Create it with NewMock.
type Mock struct {
	cfg     MockConfig
	m       *Mapping
	weights Weights // effective (quantised) weights
	clipped int
	neurons [][]snn.LIF // per layer, per neuron: the varied parameters
	floors  [][]float64
	runs    uint64
	unit    float64 // hardware seconds per model time unit
}

// NewMock returns a mock chip with the given artifacts.
func NewMock(cfg MockConfig) (*Mock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Mock{cfg: cfg}, nil
}

// Name implements Backend.
func (*Mock) Name() string { return "mock" }

// Close implements Backend.
func (*Mock) Close() error { return nil }

// Config returns the mock's artifacts.
func (mk *Mock) Config() MockConfig { return mk.cfg }

// BiologicalTime converts a model time to biological seconds (hardware
// time times the acceleration).
func (mk *Mock) BiologicalTime(t float64) float64 { return t * mk.unit * mk.cfg.Acceleration }

// Configure implements Backend: it quantises the weights and, at the first
// call for a mapping, draws the per-neuron variation.
func (mk *Mock) Configure(m *Mapping, w Weights) error {
	if err := w.check(m); err != nil {
		return err
	}
	if mk.m != m {
		mk.m = m
		mk.unit = mk.cfg.timeUnit(m)
		rng := variationRNG(mk.cfg.Seed)
		mk.neurons, mk.floors = nil, nil
		for _, l := range m.Layers {
			var ps []snn.LIF
			var fs []float64
			for _, pop := range l.Populations {
				for range pop.Size {
					p := pop.Neuron
					// Drawn in a fixed order whatever is switched on, so
					// that one artifact's draws do not move another's.
					zt, zm, zs := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
					p.Threshold = p.Leak + (p.Threshold-p.Leak)*(1+mk.cfg.ThresholdVariation*zt)
					p.TauMem *= 1 + mk.cfg.TauVariation*zm
					p.TauSyn *= 1 + mk.cfg.TauVariation*zs
					floor := math.Inf(-1)
					if mk.cfg.DynamicRange > 0 {
						floor = p.Leak - mk.cfg.DynamicRange*(pop.Neuron.Threshold-pop.Neuron.Leak)
					}
					ps = append(ps, p)
					fs = append(fs, floor)
				}
			}
			mk.neurons = append(mk.neurons, ps)
			mk.floors = append(mk.floors, fs)
		}
	}
	mk.clipped = 0
	mk.weights = make(Weights, len(w))
	for i, lw := range w {
		q := func(src []float64) []float64 {
			if src == nil {
				return nil
			}
			out := make([]float64, len(src))
			for j, x := range src {
				var c bool
				out[j], c = mk.cfg.QuantizeWeight(x)
				if c {
					mk.clipped++
				}
			}
			return out
		}
		mk.weights[i] = LayerWeights{In: q(lw.In), Rec: q(lw.Rec)}
	}
	return nil
}

// variationRNG draws the fixed per-neuron variation: three normals per
// neuron (threshold, tau_mem, tau_syn) in hardware neuron order.
func variationRNG(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6273733276617269)) // "bss2vari"
}

// inputEvent is one input spike of a layer: time and weight row.
type inputEvent struct {
	t   float64
	row int
}

// Run implements Backend. Samples run in parallel; the jitter of each is
// drawn from (Seed, run number, sample), so a run's result does not depend
// on the scheduling.
func (mk *Mock) Run(ctx context.Context, in Input) (*Result, error) {
	if mk.m == nil {
		return nil, errors.New("bss2 mock: Run before Configure")
	}
	batch := in.Batch()
	for _, s := range mk.m.Sources {
		sp, ok := in.Sources[s.Name]
		if !ok {
			return nil, fmt.Errorf("bss2 mock: the input has no spikes for source %q", s.Name)
		}
		if sp.Batch() != batch || len(sp.Neuron) != batch {
			return nil, fmt.Errorf("bss2 mock: source %q has %d samples, another source %d", s.Name, sp.Batch(), batch)
		}
		for b := range sp.Time {
			if len(sp.Time[b]) != len(sp.Neuron[b]) {
				return nil, fmt.Errorf("bss2 mock: source %q sample %d: %d times, %d neurons", s.Name, b, len(sp.Time[b]), len(sp.Neuron[b]))
			}
			for _, n := range sp.Neuron[b] {
				if n < 0 || int(n) >= s.Size {
					return nil, fmt.Errorf("bss2 mock: source %q sample %d: neuron %d outside [0, %d)", s.Name, b, n, s.Size)
				}
			}
		}
	}
	mk.runs++
	run := mk.runs
	res := &Result{Spikes: map[string]Spikes{}, ClippedWeights: mk.clipped}
	for _, l := range mk.m.Layers {
		for _, p := range l.Populations {
			res.Spikes[p.Name] = Spikes{Time: make([][]float64, batch), Neuron: make([][]int32, batch)}
		}
	}
	if in.MembraneStep > 0 {
		res.Membrane = map[string][][][]float64{}
		for _, l := range mk.m.Layers {
			for _, p := range l.Populations {
				res.Membrane[p.Name] = make([][][]float64, batch)
			}
		}
	}
	late := make([]int, batch)
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex // guards the maps' inner slices written per sample
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				out, mem, n := mk.sample(in, b, run)
				mu.Lock()
				for name, s := range out {
					sp := res.Spikes[name]
					sp.Time[b], sp.Neuron[b] = s.t, s.n
				}
				for name, v := range mem {
					res.Membrane[name][b] = v
				}
				mu.Unlock()
				late[b] = n
			}
		}()
	}
	var err error
	for b := range batch {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- b
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("bss2 mock: %w", err)
	}
	for _, n := range late {
		res.LateSpikes += n
	}
	return res, nil
}

type sampleSpikes struct {
	t []float64
	n []int32
}

// sample simulates one sample through every layer.
func (mk *Mock) sample(in Input, b int, run uint64) (map[string]sampleSpikes, map[string][][]float64, int) {
	rng := rand.New(rand.NewPCG(uint64(mk.cfg.Seed)^run*0x9e3779b97f4a7c15, uint64(b)))
	tick := 0.0
	if mk.cfg.ClockHz > 0 {
		tick = 1 / mk.cfg.ClockHz / mk.unit
	}
	jitter := mk.cfg.Jitter / mk.unit
	runEnd := math.Inf(1)
	if mk.cfg.MaxRuntime > 0 {
		runEnd = mk.cfg.MaxRuntime / mk.unit
	}
	quantise := func(t float64) float64 {
		if tick > 0 {
			return math.Round(t/tick) * tick
		}
		return t
	}
	spikes := map[string]sampleSpikes{}
	for _, s := range mk.m.Sources {
		sp := in.Sources[s.Name]
		var ss sampleSpikes
		for k, t := range sp.Time[b] {
			if math.IsInf(t, 0) || math.IsNaN(t) {
				continue
			}
			ss.t = append(ss.t, quantise(t))
			ss.n = append(ss.n, sp.Neuron[b][k])
		}
		spikes[s.Name] = ss
	}
	var mem map[string][][]float64
	if in.MembraneStep > 0 {
		mem = map[string][][]float64{}
	}
	late := 0
	for li, l := range mk.m.Layers {
		var events []inputEvent
		for _, r := range l.Rows {
			ss := spikes[r.Source]
			for k, t := range ss.t {
				events = append(events, inputEvent{t, r.Offset + int(ss.n[k])})
			}
		}
		sortEvents(events)
		var out [][]float64 // per layer neuron, its spike times
		var trace [][]float64
		if l.Recurrent {
			out, trace = mk.recurrentLayer(li, events, in.MembraneStep)
		} else {
			out, trace = mk.feedForwardLayer(li, events, in.MembraneStep)
		}
		for _, p := range l.Populations {
			var ss sampleSpikes
			for j := range p.Size {
				for _, t := range out[p.Offset+j] {
					if jitter > 0 {
						t += jitter * rng.NormFloat64()
					}
					t = quantise(t)
					if t > runEnd {
						late++
						continue
					}
					ss.t = append(ss.t, t)
					ss.n = append(ss.n, int32(j))
				}
			}
			sortSample(ss.t, ss.n)
			spikes[p.Name] = ss
			if mem != nil {
				mem[p.Name] = trace[p.Offset : p.Offset+p.Size]
			}
		}
	}
	out := map[string]sampleSpikes{}
	for _, l := range mk.m.Layers {
		for _, p := range l.Populations {
			out[p.Name] = spikes[p.Name]
		}
	}
	return out, mem, late
}

func sortEvents(ev []inputEvent) {
	times := make([]float64, len(ev))
	rows := make([]int32, len(ev))
	for i, e := range ev {
		times[i], rows[i] = e.t, int32(e.row)
	}
	sortSample(times, rows)
	for i := range ev {
		ev[i] = inputEvent{times[i], int(rows[i])}
	}
}

// window returns the simulated span of a layer: from its first input to
// event.DefaultHorizon nominal tau_syn later, as event.Simulate does.
func (mk *Mock) window(li int, events []inputEvent) (start, end float64) {
	if len(events) == 0 {
		return 0, 0
	}
	tau := mk.m.Layers[li].Populations[0].Neuron.TauSyn
	return events[0].t, events[0].t + event.DefaultHorizon*tau
}

// maxSpikes is the number of spikes a neuron of a feed-forward population
// may emit (the software model's slots: capacity/size; 1 for ttfs); later
// ones are not simulated (the software model counts them as overflow).
func maxSpikes(p MappedPopulation) int {
	if p.Kind != "lif" {
		return 1
	}
	return max(1, p.Capacity/p.Size)
}

// sampler records membrane samples every step from time 0.
type sampler struct {
	step  float64
	next  int
	trace []float64
}

// upTo records the samples at grid times <= t of a neuron being advanced
// to t (advancing a copy to each grid point).
func (s *sampler) upTo(n *neuron, t float64, started bool) {
	if s == nil {
		return
	}
	for g := float64(s.next) * s.step; g <= t; g = float64(s.next) * s.step {
		v := n.leak
		if started {
			c := *n
			c.advance(g - n.t)
			v = c.v
		}
		s.trace = append(s.trace, v)
		s.next++
	}
}

func (mk *Mock) newSamplers(li, count int, step float64) []*sampler {
	out := make([]*sampler, count)
	if step > 0 {
		for i := range out {
			out[i] = &sampler{step: step}
		}
	}
	return out
}

func (mk *Mock) runEnd(end float64) float64 {
	if mk.cfg.MaxRuntime > 0 {
		return math.Max(end, mk.cfg.MaxRuntime/mk.unit)
	}
	return end
}

func traces(ss []*sampler) [][]float64 {
	if len(ss) == 0 || ss[0] == nil {
		return nil
	}
	out := make([][]float64, len(ss))
	for i, s := range ss {
		out[i] = s.trace
	}
	return out
}

// feedForwardLayer simulates each neuron of a feed-forward layer on its
// own: between inputs, the first threshold crossing (inclusive of the next
// input's time: a spike at an input's instant comes first, as in
// event.Simulate); inputs at one instant are applied together.
func (mk *Mock) feedForwardLayer(li int, events []inputEvent, step float64) ([][]float64, [][]float64) {
	l := mk.m.Layers[li]
	numN := l.Neurons()
	w := mk.weights[li].In
	out := make([][]float64, numN)
	samplers := mk.newSamplers(li, numN, step)
	start, end := mk.window(li, events)
	for _, p := range l.Populations {
		limit := maxSpikes(p)
		for j := p.Offset; j < p.Offset+p.Size; j++ {
			n := newNeuron(mk.neurons[li][j], mk.floors[li][j])
			n.t = start
			samplers[j].upTo(&n, start, false)
			k := 0
			for len(events) > 0 {
				tNext := end
				if k < len(events) && events[k].t <= end {
					tNext = events[k].t
				}
				if s := n.crossing(tNext - n.t); !math.IsInf(s, 1) && n.t+s <= end {
					samplers[j].upTo(&n, n.t+s, true)
					n.advance(s)
					n.fire()
					out[j] = append(out[j], n.t)
					if n.spikes >= limit {
						break
					}
					continue
				}
				if k >= len(events) || events[k].t > end {
					break
				}
				samplers[j].upTo(&n, tNext, true)
				n.advance(tNext - n.t)
				for k < len(events) && events[k].t == tNext {
					n.i += w[events[k].row*numN+j]
					k++
				}
			}
			if samplers[j] != nil {
				samplers[j].upTo(&n, mk.runEnd(end), len(events) > 0)
			}
		}
	}
	return out, traces(samplers)
}

// recurrentLayer simulates a recurrent layer on one clock: each step takes
// the layer's earliest event (a crossing, lowest neuron first on ties, or
// all inputs at the next input instant), as event.Simulate does, until the
// layer's capacity is used; a population that used its own capacity fires
// no more (event.LIFConfig.Populations).
func (mk *Mock) recurrentLayer(li int, events []inputEvent, step float64) ([][]float64, [][]float64) {
	l := mk.m.Layers[li]
	numN := l.Neurons()
	w, rec := mk.weights[li].In, mk.weights[li].Rec
	out := make([][]float64, numN)
	samplers := mk.newSamplers(li, numN, step)
	capacity := 0
	popOf := make([]int, numN)
	for pi, p := range l.Populations {
		capacity += p.Capacity
		for j := p.Offset; j < p.Offset+p.Size; j++ {
			popOf[j] = pi
		}
	}
	used := make([]int, len(l.Populations))
	start, end := mk.window(li, events)
	ns := make([]neuron, numN)
	for j := range ns {
		ns[j] = newNeuron(mk.neurons[li][j], mk.floors[li][j])
		ns[j].t = start
		samplers[j].upTo(&ns[j], start, false)
	}
	t, k, count := start, 0, 0
	advanceAll := func(to float64) {
		for j := range ns {
			samplers[j].upTo(&ns[j], to, true)
			ns[j].advance(to - ns[j].t)
		}
		t = to
	}
	for len(events) > 0 && count < capacity {
		tNext := end
		if k < len(events) && events[k].t <= end {
			tNext = events[k].t
		}
		first, who := math.Inf(1), -1
		for j := range ns {
			if used[popOf[j]] >= l.Populations[popOf[j]].Capacity {
				continue
			}
			if s := ns[j].crossing(tNext - t); s < first {
				first, who = s, j
			}
		}
		if who >= 0 && t+first <= end {
			advanceAll(t + first)
			ns[who].fire()
			out[who] = append(out[who], t)
			count++
			used[popOf[who]]++
			for j := range ns {
				ns[j].i += rec[who*numN+j]
			}
			continue
		}
		if k >= len(events) || events[k].t > end {
			break
		}
		advanceAll(tNext)
		for k < len(events) && events[k].t == tNext {
			for j := range ns {
				ns[j].i += w[events[k].row*numN+j]
			}
			k++
		}
	}
	if samplers[0] != nil {
		for j := range ns {
			samplers[j].upTo(&ns[j], mk.runEnd(end), len(events) > 0)
		}
	}
	return out, traces(samplers)
}
