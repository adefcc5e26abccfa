package event

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	snngraph "github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/snn"
)

// DefaultHorizon bounds, in units of tau_syn, how long after a sample's
// earliest input spike events are still simulated. It keeps the
// exponentials of the closed forms (exp(t/tau_syn)) finite in float32;
// inputs and output spikes later than that count as absent.
const DefaultHorizon = 50.0

// farTime stands for "never" inside the forward pass where +Inf would turn
// sums into NaN; it is far beyond any horizon.
const farTime = 1e30

// TTFS configures the first-spike-time math of a layer of LIF neurons.
type TTFS struct {
	// Neuron holds the LIF parameters; tau_mem must equal tau_syn or
	// 2 tau_syn (the two closed forms).
	Neuron snn.LIF
	// Horizon in units of tau_syn; 0 means DefaultHorizon.
	Horizon float64
	// MaxGradNorm is fastAndDeep's max_dw_norm: for each sample and neuron j
	// whose largest per-sample weight gradient |dL/dw_ij| exceeds it, the
	// weight gradient through that spike time is dropped (it sits at a
	// near-tangential threshold crossing, where the exact gradient diverges);
	// the gradient passed on to the input times is kept. 0 disables it.
	MaxGradNorm float64
}

// Validate checks the neuron parameters and that a closed form exists.
func (c TTFS) Validate() error {
	if err := c.Neuron.Validate(); err != nil {
		return err
	}
	if r := c.Neuron.Ratio(); r == snn.RatioOther {
		return fmt.Errorf("TTFS layer: tau_mem (%g) must equal tau_syn (%g) or 2*tau_syn for the closed-form spike time",
			c.Neuron.TauMem, c.Neuron.TauSyn)
	}
	if c.Horizon < 0 || math.IsNaN(c.Horizon) {
		return fmt.Errorf("TTFS layer: horizon must be >= 0, got %g", c.Horizon)
	}
	if c.MaxGradNorm < 0 || math.IsNaN(c.MaxGradNorm) {
		return fmt.Errorf("TTFS layer: max gradient norm must be >= 0, got %g", c.MaxGradNorm)
	}
	return nil
}

func (c TTFS) horizon() float64 {
	if c.Horizon == 0 {
		return DefaultHorizon * c.Neuron.TauSyn
	}
	return c.Horizon * c.Neuron.TauSyn
}

// FirstSpikeTimes returns the time of the first spike of each of J LIF
// neurons driven by I inputs that spike once each.
//
// inputTimes is [batch, I] (+Inf: the input does not spike), or [batch, I,
// J] when every synapse has its own arrival time (synaptic delays: input i
// reaches neuron j at inputTimes[b, i, j]); weights is [I, J]; the result
// is [batch, J], +Inf for neurons that stay silent. It is
// differentiable with respect to both inputs: the gradient is the exact
// analytical one, dt/dθ = -(∂V/∂θ)/V̇ at the crossing, and zero for silent
// neurons.
//
// The forward pass sorts each sample's input times (a sorting network) and
// takes, for every interval between consecutive input times, the causal set
// {i : t_i <= interval start} (all inputs at one instant enter together, so
// exact ties are handled exactly); the sums the closed form needs come from
// one prefix sum over the sorted inputs. The first interval in which the
// membrane reaches the threshold holds the first spike, solved in closed
// form there. Göltz et al. (2021), Nat. Mach. Intell. 3, "Fast and
// energy-efficient neuromorphic deep learning with first-spike times", eqs.
// for tau_mem = tau_syn (Lambert W) and tau_mem = 2 tau_syn.
func FirstSpikeTimes(inputTimes, weights *Node, cfg TTFS) *Node {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	checkShapes(inputTimes, weights)
	if inputTimes.Rank() == 3 {
		return firstSpikeTimesPerSynapse(inputTimes, weights, cfg)
	}
	if snngraph.OnXLA(inputTimes.Graph()) {
		tStar := firstCrossingPairs(inputTimes, weights, cfg)
		return attachCrossingGradientPairs(tStar, inputTimes, weights, cfg.Neuron, cfg.MaxGradNorm)
	}
	tStar := FirstCrossing(inputTimes, weights, cfg)
	return AttachCrossingGradient(tStar, inputTimes, weights, cfg.Neuron, cfg.MaxGradNorm)
}

func checkShapes(inputTimes, weights *Node) {
	if (inputTimes.Rank() != 2 && inputTimes.Rank() != 3) || weights.Rank() != 2 || inputTimes.Shape().Dim(1) != weights.Shape().Dim(0) ||
		(inputTimes.Rank() == 3 && inputTimes.Shape().Dim(2) != weights.Shape().Dim(1)) {
		panicf("TTFS layer: input times must be [batch, I] (or [batch, I, J] per synapse) and weights [I, J], got %s and %s",
			inputTimes.Shape(), weights.Shape())
	}
	if inputTimes.DType() != weights.DType() {
		panicf("TTFS layer: input times (%s) and weights (%s) must share a dtype",
			inputTimes.DType(), weights.DType())
	}
}

// perSampleReference is each sample's earliest finite time of input
// times [B, ...] (0 when none), kept as [B, 1, ...], and which times are
// finite. The forward passes take times relative to it, which keeps their
// exponentials bounded by exp(horizon/tau_syn).
func perSampleReference(times *Node) (ref, finite *Node) {
	finite = IsFinite(times)
	axes := make([]int, times.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	ref = ReduceAndKeep(Where(finite, times, Infinity(times.Graph(), times.DType(), 1)), ReduceMin, axes...)
	return Where(IsFinite(ref), ref, ZerosLike(ref)), finite
}

// FirstCrossing is the forward pass of FirstSpikeTimes, without gradient.
//
// Layout: the pure-Go backend runs same-shape element-wise ops and
// Concatenate (a memory copy) fast, and broadcasting, Slice, Gather and
// reductions element by element through index iterators, several times
// slower. So inputs and intervals are columns ([I, B]: one column per
// sample), and the per-neuron sums [J, K, B] get the per-interval values by
// tiling whole [K, B] blocks.
func FirstCrossing(inputTimes, weights *Node, cfg TTFS) *Node {
	times := StopGradient(inputTimes)
	w := StopGradient(weights)
	g := times.Graph()
	dtype := times.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := times.Shape().Dim(0), times.Shape().Dim(1), w.Shape().Dim(1)

	ref, finite := perSampleReference(times) // [B, 1]
	rel := Transpose(Sub(times, ref), 0, 1)  // [I, B]
	active := LogicalAnd(Transpose(finite, 0, 1), LessOrEqual(rel, c(cfg.horizon())))
	rel = Where(active, rel, c(0))

	// The causal sets {i : t_i <= t_k} are prefixes of the time-sorted
	// inputs. Each input's terms go to its sorted position (the number of
	// inputs strictly earlier: inputs at one instant share a position, so
	// they enter together) and a prefix sum over positions gives the sums of
	// every causal set: O(I log I) work instead of [B, I, I] pair tensors.
	// Inactive inputs sit at a far time, after every active one, with zero
	// terms; the intervals that start there are rejected.
	far := c(farTime)
	relFar := Where(active, rel, far)
	starts, pos, next := sortedIntervals(relFar, far) // [K, B], [I, B], [K, B]

	f1, f2 := kernelFactors(rel, active, p)
	// terms[i, b, :] = (f1 w_i, f2 w_i), the input's share of both sums.
	// (An Einsum with nothing to contract is several times slower on the
	// pure-Go backend than this broadcast product.)
	terms := Mul(InsertAxes(Stack([]*Node{f1, f2}, 2), 3), Reshape(w, numIn, 1, 1, numOut)) // [I, B, 2, J]
	sample := Iota(g, shapes.Make(dtypes.Int32, numIn, batch), 1)
	at := Stack([]*Node{pos, sample}, 2) // [I, B, 2]
	sums := Zeros(g, shapes.Make(dtype, numIn, batch, 2, numOut))
	sums = ScatterSum(sums, at, terms, false, false)
	sums = snngraph.PrefixSum(sums, 0)                            // [K, B, 2, J]
	sums = TransposeAllDims(sums, 2, 3, 0, 1)                     // [2, J, K, B]
	s1 := Reshape(Slice(sums, AxisElem(0)), numOut, numIn, batch) // [J, K, B]
	s2 := Reshape(Slice(sums, AxisElem(1)), numOut, numIn, batch) // [J, K, B]
	intervals := crossingIntervals{start: starts, end: next, horizon: cfg.horizon(), neurons: numOut}

	var first *Node // [J, B]
	switch p.Ratio() {
	case snn.RatioEqual:
		first = firstCrossingEqual(s1, s2, intervals, p)
	case snn.RatioDouble:
		first = firstCrossingDouble(s1, s2, intervals, p)
	}
	first = Where(LessOrEqual(first, c(cfg.horizon())), first, inf)
	return Add(Transpose(first, 0, 1), ref)
}

// crossingIntervals are the intervals [start, end) [K, B] between
// consecutive input times (relative to each sample's first input) in which
// a causal set drives the membrane alone; starts beyond the horizon are not
// simulated, ends beyond it mean "never".
type crossingIntervals struct {
	start, end *Node
	horizon    float64
	neurons    int
}

// tile repeats x [K, B] for every neuron: [J, K, B], by copying whole blocks.
func (iv crossingIntervals) tile(x *Node) *Node { return tileLeading(x, iv.neurons) }

// tileLeading repeats x n times along a new leading axis: [n, dims of x].
// The pure-Go backend broadcasts element by element through an index
// iterator but concatenates by copying whole blocks, several times faster;
// XLA broadcasts without copying.
func tileLeading(x *Node, n int) *Node {
	x = InsertAxes(x, 0)
	if n == 1 {
		return x
	}
	if snngraph.OnXLA(x.Graph()) {
		dims := x.Shape().Clone().Dimensions
		dims[0] = n
		return BroadcastToDims(x, dims...)
	}
	copies := make([]*Node, n)
	for j := range copies {
		copies[j] = x
	}
	return Concatenate(copies, 0)
}

// firstCrossingEqual finds, for tau_mem = tau_syn, the first threshold
// crossing [J, B] from the sums a = Σ w e^{s_i}, b = Σ w s_i e^{s_i}
// (s = t/tau_syn) of every causal set [J, K, B]. The membrane of set k is
// u(s) = e^{-s}(a s - b) (in units of C/tau_syn), the threshold cc =
// ϑ'C/tau_syn.
//
// Solving u = cc needs Lambert W (s = b/a - W0(-(cc/a) e^{b/a})), dozens of
// ops per element; so the interval of the first crossing is found first, by
// comparisons, and W0 is evaluated once per neuron. For a > 0, u rises to a
// single peak at s_p = 1 + b/a (for a <= 0 it never rises to cc from below).
// Before the first crossing u(s_k) < cc, so the first crossing lies in the
// first interval k where u reaches cc in [s_k, s_k+1]: either u(s_k+1) >= cc,
// or the peak lies inside the interval and u(s_p) >= cc.
func firstCrossingEqual(a, b *Node, iv crossingIntervals, p snn.LIF) *Node {
	g := a.Graph()
	dtype := a.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	numOut, numSets, batch := a.Shape().Dim(0), a.Shape().Dim(1), a.Shape().Dim(2)
	tau := p.TauSyn
	cc := (p.Threshold - p.Leak) * p.Capacitance() / tau

	// Per-interval values [K, B]; +Inf rejects the comparisons they enter:
	// inactive intervals never start, the last one never ends.
	started := LessOrEqual(iv.start, c(iv.horizon))
	ends := LessOrEqual(iv.end, c(iv.horizon))
	sEnd := Where(ends, DivScalar(iv.end, tau), ZerosLike(iv.end))
	peakStart := iv.tile(Where(started, AddScalar(DivScalar(iv.start, tau), -1), inf)) // s_p >= s_k
	peakEnd := iv.tile(Where(ends, AddScalar(sEnd, -1), inf))                          // s_p < s_k+1
	uEnd := iv.tile(Where(ends, MulScalar(Exp(sEnd), cc), inf))                        // cc e^{s_k+1}

	posA := GreaterThan(a, c(0))
	safeA := Where(posA, a, c(1))
	ratio := Div(b, safeA) // s_p - 1
	reachesEnd := GreaterOrEqual(Mul(Sub(iv.tile(sEnd), ratio), safeA), uEnd)
	peakInside := LogicalAnd(GreaterOrEqual(ratio, peakStart), LessThan(ratio, peakEnd))
	peakHigh := GreaterOrEqual(Mul(safeA, Exp(Sub(c(-1), ratio))), c(cc))
	crosses := LogicalAnd(posA, LogicalOr(reachesEnd, LogicalAnd(peakInside, peakHigh)))

	// The first crossing interval (numSets: none), and its sums.
	k := Iota(g, shapes.Make(dtypes.Int32, numOut, numSets, batch), 1)
	kStar := ReduceMin(Where(crosses, k, Scalar(g, dtypes.Int32, numSets)), 1) // [J, B]
	fired := LessThan(kStar, Scalar(g, dtypes.Int32, numSets))
	jIdx := Iota(g, shapes.Make(dtypes.Int32, numOut, batch), 0)
	bIdx := Iota(g, shapes.Make(dtypes.Int32, numOut, batch), 1)
	at := Min(kStar, Scalar(g, dtypes.Int32, numSets-1))
	at = Add(Mul(Add(Mul(jIdx, Scalar(g, dtypes.Int32, numSets)), at), Scalar(g, dtypes.Int32, batch)), bIdx)
	pick := func(x *Node) *Node {
		return Reshape(Gather(Reshape(x, numOut*numSets*batch, 1), InsertAxes(at, 2)), numOut, batch)
	}
	aStar := Where(fired, pick(safeA), c(1))
	bStar := Where(fired, pick(b), c(0))

	// s = b/a - W0(z); rounding may put z a hair below the branch point
	// -1/e when the peak just touches the threshold: the crossing is then
	// the peak (W0 = -1).
	rStar := Div(bStar, aStar)
	z := Max(Neg(Mul(Div(c(cc), aStar), Exp(rStar))), c(-1/math.E))
	s := Sub(rStar, snngraph.LambertW0(z))
	return Where(fired, MulScalar(s, tau), inf)
}

// firstCrossingDouble finds, for tau_mem = 2 tau_syn, the first threshold
// crossing [J, B] from the sums a1 = Σ w e^{t_i/tau_syn},
// a2 = Σ w e^{t_i/tau_mem} of every causal set [J, K, B]:
// (2 tau_s / C)(a2 x - a1 x²) = ϑ' with x = e^{-t/tau_m} has its first
// crossing at the larger root x = (a2 + √D) / (2 a1); the earliest candidate
// inside its interval is the spike. (No Lambert W here: every interval's
// candidate is cheap.)
func firstCrossingDouble(a1, a2 *Node, iv crossingIntervals, p snn.LIF) *Node {
	g := a1.Graph()
	dtype := a1.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	cc := (p.Threshold - p.Leak) * p.Capacitance() / (2 * p.TauSyn)
	disc := Sub(Square(a2), Mul(c(4*cc), a1))
	den := Add(a2, Sqrt(Max(disc, c(0))))
	solvable := LogicalAnd(LogicalAnd(GreaterThan(a1, c(0)), GreaterOrEqual(disc, c(0))), GreaterThan(den, c(0)))
	safeDen := Where(solvable, den, c(1))
	safeA1 := Where(solvable, a1, c(1))
	candidate := MulScalar(Log(Div(Mul(c(2), safeA1), safeDen)), p.TauMem)
	start := iv.tile(Where(LessOrEqual(iv.start, c(iv.horizon)), iv.start, inf))
	valid := LogicalAnd(solvable, GreaterOrEqual(candidate, start))
	valid = LogicalAnd(valid, LessThan(candidate, iv.tile(iv.end)))
	return ReduceMin(Where(valid, candidate, inf), 1) // [J, B]
}

// AttachCrossingGradient returns tStar unchanged in value, with the exact
// gradient of a threshold crossing attached: V(t*; w, t_in) = ϑ implies
// dt*/dθ = -(∂V/∂θ)/V̇ for θ the weights [I, J] and input times [B, I]
// (or per-synapse arrival times [B, I, J], see FirstSpikeTimes):
// dt*_j/dw_ij = -κ(t*_j - t_i)/V̇_j and dt*_j/dt_i = w_ij κ'(t*_j - t_i)/V̇_j,
// κ the PSP kernel. The inputs in the causal set are those spiking no later
// than t*. Silent neurons (t* = +Inf) and tangential touches (V̇ <= 0, where
// the true gradient diverges) get zero gradient; maxGradNorm > 0 drops the
// weight gradient of a sample's crossing whose largest |dL/dw_ij| exceeds it
// (fastAndDeep's max_dw_norm), and keeps the error passed on to the input
// times.
//
// The vector-Jacobian product is written out (graph.CustomVJP): the
// [B, I, J] kernels are built only when a gradient is, once, and a pure
// forward pass (evaluation) costs nothing here.
func AttachCrossingGradient(tStar, inputTimes, weights *Node, p snn.LIF, maxGradNorm float64) *Node {
	tStar = StopGradient(tStar)
	return snngraph.CustomVJP(tStar, []*Node{inputTimes, weights}, func(cotangent *Node) []*Node {
		g := tStar.Graph()
		dtype := tStar.DType()
		c := func(v float64) *Node { return Scalar(g, dtype, v) }
		times, w := StopGradient(inputTimes), StopGradient(weights)
		spiked := IsFinite(tStar)
		// Silent neurons at -Inf and absent inputs at +Inf make t* - t_i =
		// -Inf: one comparison then finds the causal sets.
		ts := Where(spiked, tStar, Infinity(g, dtype, -1))
		delay := Sub(InsertAxes(ts, 1), perPair(Where(IsFinite(times), times, Infinity(g, dtype, 1)))) // [B, I, J]: t* - t_i
		inSet := GreaterOrEqual(delay, c(0))
		zero := ZerosLike(delay)
		kernel, slope := pspAndSlope(Where(inSet, delay, zero), p)
		kernel = Where(inSet, kernel, zero)
		wSlope := Mul(InsertAxes(w, 0), Where(inSet, slope, zero)) // -∂V/∂t_i
		vDot := ReduceSum(wSlope, 1)                               // [B, J]
		usable := LogicalAnd(spiked, GreaterThan(vDot, c(0)))
		h := Where(usable, Div(cotangent, Where(usable, vDot, c(1))), ZerosLike(vDot)) // dL/dt* / V̇
		dTimes := Mul(wSlope, InsertAxes(h, 1))
		if times.Rank() == 2 {
			dTimes = ReduceSum(dTimes, 2)
		}
		if maxGradNorm > 0 {
			// |dL/dw_ij| of sample b is |κ_bij h_bj|.
			largest := Mul(ReduceMax(Abs(kernel), 1), Abs(h))
			h = Where(LessOrEqual(largest, c(maxGradNorm)), h, ZerosLike(h))
		}
		dWeights := Neg(ReduceSum(Mul(kernel, InsertAxes(h, 1)), 0))
		return []*Node{dTimes, dWeights}
	})
}

// pspAndSlope returns PSP(s) and its derivative, sharing the exponentials.
func pspAndSlope(s *Node, p snn.LIF) (psp, slope *Node) {
	cInv := 1 / p.Capacitance()
	if p.Ratio() == snn.RatioEqual {
		e := MulScalar(Exp(DivScalar(s, -p.TauSyn)), cInv)
		return Mul(s, e), Mul(OneMinus(DivScalar(s, p.TauSyn)), e)
	}
	k := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * cInv
	em := MulScalar(Exp(DivScalar(s, -p.TauMem)), k)
	es := MulScalar(Exp(DivScalar(s, -p.TauSyn)), k)
	return Sub(em, es), Sub(DivScalar(es, p.TauSyn), DivScalar(em, p.TauMem))
}

// PSP is the post-synaptic potential s after a unit-weight input spike,
// element-wise for s >= 0 (see snn.LIF.PSP).
func PSP(s *Node, p snn.LIF) *Node {
	m, syn := decays(s, p)
	return pspOf(s, m, syn, p)
}

// decays returns exp(-s/tau_mem) and exp(-s/tau_syn), element-wise, one
// exponential when the taus are equal. Why: the pure-Go backend does not
// share equal subexpressions, and the exponentials of Evolve, PSP and the
// EventProp layer's input scan were a fifth of its training step. (Squaring
// exp(-s/tau_mem) when tau_mem = 2 tau_syn would save one more, but changes
// the round-off of the TTFS layers, whose training trajectories then differ
// from the measured and pretrained ones.)
func decays(s *Node, p snn.LIF) (mem, syn *Node) {
	if p.Ratio() == snn.RatioEqual {
		syn = Exp(DivScalar(s, -p.TauSyn))
		return syn, syn
	}
	// This order keeps PSP's graph as it was: XLA's fusion, and with it the
	// round-off of the TTFS layers, follows the order of the nodes.
	mem = Exp(DivScalar(s, -p.TauMem))
	return mem, Exp(DivScalar(s, -p.TauSyn))
}

// pspOf is PSP(s) from the decays of s (decays).
func pspOf(s, mem, syn *Node, p snn.LIF) *Node {
	cInv := 1 / p.Capacitance()
	if p.Ratio() == snn.RatioEqual {
		return MulScalar(Mul(s, syn), cInv)
	}
	k := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * cInv
	return MulScalar(Sub(mem, syn), k)
}

// pspSlopeOf is dPSP/ds (PSPDerivative) from the decays of s (decays), for
// callers that also need PSP(s) and so share the exponentials.
// (PSPDerivative keeps its own graph: the TTFS layers' round-off on XLA
// follows the order of the nodes.)
func pspSlopeOf(s, mem, syn *Node, p snn.LIF) *Node {
	cInv := 1 / p.Capacitance()
	if p.Ratio() == snn.RatioEqual {
		return MulScalar(Mul(OneMinus(DivScalar(s, p.TauSyn)), syn), cInv)
	}
	k := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * cInv
	return MulScalar(Sub(DivScalar(syn, p.TauSyn), DivScalar(mem, p.TauMem)), k)
}

// PSPDerivative is dPSP/ds, element-wise.
func PSPDerivative(s *Node, p snn.LIF) *Node {
	cInv := 1 / p.Capacitance()
	if p.Ratio() == snn.RatioEqual {
		return MulScalar(Mul(OneMinus(DivScalar(s, p.TauSyn)), Exp(DivScalar(s, -p.TauSyn))), cInv)
	}
	k := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * cInv
	return MulScalar(Sub(DivScalar(Exp(DivScalar(s, -p.TauSyn)), p.TauSyn), DivScalar(Exp(DivScalar(s, -p.TauMem)), p.TauMem)), k)
}

// Layer configures a fully connected layer of TTFS neurons. Create it with
// NewLayer, set options with the With... methods and call Done.
type Layer struct {
	ctx        *context.Context
	input      *Node
	numNeurons int
	cfg        TTFS
	biasTimes  []float64
	weightMean float64
	weightStd  float64
}

// NewLayer starts the configuration of a layer of numNeurons LIF neurons
// driven by the spike times in input ([batch, I], one spike per input
// neuron, +Inf for none). Its weights are the variable "weights" of shape
// [I + number of bias spikes, numNeurons] in ctx's current scope. Defaults
// follow fastAndDeep's yin_yang.yaml for the hidden layer: the neuron of
// snn.FastAndDeepLIF, weights N(1.5, 0.8²), no bias spike, max_dw_norm 0.2.
func NewLayer(ctx *context.Context, input *Node, numNeurons int) *Layer {
	return &Layer{
		ctx: ctx, input: input, numNeurons: numNeurons,
		cfg:        TTFS{Neuron: snn.FastAndDeepLIF(), MaxGradNorm: 0.2},
		weightMean: 1.5, weightStd: 0.8,
	}
}

// WithNeuron sets the LIF parameters.
func (l *Layer) WithNeuron(p snn.LIF) *Layer { l.cfg.Neuron = p; return l }

// WithBias adds bias inputs: extra input neurons that spike at the given
// times in every sample, with trainable weights like any other input.
func (l *Layer) WithBias(times ...float64) *Layer { l.biasTimes = times; return l }

// WithWeightInit sets the normal distribution of the initial weights.
func (l *Layer) WithWeightInit(mean, std float64) *Layer {
	l.weightMean, l.weightStd = mean, std
	return l
}

// WithMaxGradNorm sets fastAndDeep's max_dw_norm (0 disables it).
func (l *Layer) WithMaxGradNorm(v float64) *Layer { l.cfg.MaxGradNorm = v; return l }

// WithHorizon sets the simulated horizon in units of tau_syn.
func (l *Layer) WithHorizon(h float64) *Layer { l.cfg.Horizon = h; return l }

// Done builds the layer and returns the output spike times [batch, numNeurons].
func (l *Layer) Done() *Node {
	if l.numNeurons < 1 {
		panicf("TTFS layer: number of neurons must be >= 1, got %d", l.numNeurons)
	}
	if err := l.cfg.Validate(); err != nil {
		panic(err)
	}
	input := l.input
	if len(l.biasTimes) > 0 {
		g := input.Graph()
		bias := Const(g, l.biasTimes)
		bias = ConvertDType(bias, input.DType())
		bias = BroadcastToDims(InsertAxes(bias, 0), input.Shape().Dim(0), len(l.biasTimes))
		input = Concatenate([]*Node{input, bias}, 1)
	}
	numIn := input.Shape().Dim(1)
	ctx := l.ctx
	mean, std := l.weightMean, l.weightStd
	w := ctx.WithInitializer(normalInit(ctx, mean, std)).
		VariableWithShape("weights", shapes.Make(input.DType(), numIn, l.numNeurons)).
		ValueGraph(input.Graph())
	return FirstSpikeTimes(input, w, l.cfg)
}

// panicf reports a graph-building error the way GoMLX does: by panicking;
// GoMLX's Exec turns the panic into an error for the caller.
func panicf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }

// kernelFactors are the per-input factors of the two sums of the closed-form
// first-spike time (Göltz et al. 2021, eq. 5 ff.), zero for inactive inputs,
// with rel the input times relative to the sample's reference:
// tau_mem = tau_syn: f1 = e^(rel/tau_s), f2 = f1 rel/tau_s;
// tau_mem = 2 tau_syn: f1 = e^(rel/tau_s), f2 = e^(rel/tau_m).
func kernelFactors(rel, active *Node, p snn.LIF) (f1, f2 *Node) {
	zero := ZerosLike(rel)
	es := Where(active, Exp(DivScalar(rel, p.TauSyn)), zero)
	if p.Ratio() == snn.RatioEqual {
		return es, Mul(es, DivScalar(rel, p.TauSyn))
	}
	return es, Where(active, Exp(DivScalar(rel, p.TauMem)), zero)
}

// sortedIntervals sorts each column of relFar [I, C] (inactive inputs at
// far): interval k of a column starts at its k-th input time (starts) and
// ends at the next one or at far (next); pos is each input's rank in its
// column.
func sortedIntervals(relFar, far *Node) (starts, pos, next *Node) {
	numIn, cols := relFar.Shape().Dim(0), relFar.Shape().Dim(1)
	starts = snngraph.SortColumnValues(relFar)
	pos = snngraph.CountLess(starts, relFar)
	next = BroadcastToDims(far, 1, cols)
	if numIn > 1 {
		next = Concatenate([]*Node{Slice(starts, AxisRange(1, numIn)), next}, 0)
	}
	return starts, pos, next
}
