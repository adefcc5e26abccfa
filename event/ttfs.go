package event

import (
	"fmt"
	"math"

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
// inputTimes is [batch, I] (+Inf: the input does not spike), weights is
// [I, J]; the result is [batch, J], +Inf for neurons that stay silent. It is
// differentiable with respect to both inputs: the gradient is the exact
// analytical one, dt/dθ = -(∂V/∂θ)/V̇ at the crossing, and zero for silent
// neurons.
//
// The forward pass does not sort: for every input k it takes the causal set
// {i : t_i <= t_k} (all inputs at one instant enter together, so exact ties
// are handled exactly), solves for the threshold crossing in closed form and
// keeps the candidate if it lies in [t_k, next input time); the first spike
// is the earliest valid candidate. Göltz et al. (2021), Nat. Mach. Intell. 3,
// "Fast and energy-efficient neuromorphic deep learning with first-spike
// times", eqs. for tau_mem = tau_syn (Lambert W) and tau_mem = 2 tau_syn.
func FirstSpikeTimes(inputTimes, weights *Node, cfg TTFS) *Node {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	checkShapes(inputTimes, weights)
	tStar := FirstCrossing(inputTimes, weights, cfg)
	return AttachCrossingGradient(tStar, inputTimes, weights, cfg.Neuron, cfg.MaxGradNorm)
}

func checkShapes(inputTimes, weights *Node) {
	if inputTimes.Rank() != 2 || weights.Rank() != 2 || inputTimes.Shape().Dim(1) != weights.Shape().Dim(0) {
		panicf("TTFS layer: input times must be [batch, I] and weights [I, J], got %s and %s",
			inputTimes.Shape(), weights.Shape())
	}
	if inputTimes.DType() != weights.DType() {
		panicf("TTFS layer: input times (%s) and weights (%s) must share a dtype",
			inputTimes.DType(), weights.DType())
	}
}

// FirstCrossing is the forward pass of FirstSpikeTimes, without gradient.
func FirstCrossing(inputTimes, weights *Node, cfg TTFS) *Node {
	times := StopGradient(inputTimes)
	w := StopGradient(weights)
	g := times.Graph()
	dtype := times.DType()
	p := cfg.Neuron
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	inf := Infinity(g, dtype, 1)
	batch, numIn, numOut := times.Shape().Dim(0), times.Shape().Dim(1), w.Shape().Dim(1)

	// Times relative to each sample's earliest input keep the exponentials
	// bounded by exp(horizon/tau_syn).
	finite := IsFinite(times)
	ref := ReduceAndKeep(Where(finite, times, inf), ReduceMin, 1)
	ref = Where(IsFinite(ref), ref, c(0))
	rel := Sub(times, ref)
	active := LogicalAnd(finite, LessOrEqual(rel, c(cfg.horizon())))
	rel = Where(active, rel, c(0))

	// before[b,k,i]: input i belongs to the causal set that ends at input k.
	// Inactive inputs sit at a far time, so they are never before an active
	// input k (inactive k give no valid candidate anyway) and never "next".
	far := c(farTime)
	relFar := Where(active, rel, far)
	relK := BroadcastToDims(InsertAxes(relFar, 2), batch, numIn, numIn)
	relI := BroadcastToDims(InsertAxes(relFar, 1), batch, numIn, numIn)
	before := LessOrEqual(relI, relK)
	next := ReduceMin(Where(before, far, relI), 2) // [B, K]: earliest later input, or far

	// Two sums over each causal set, as one batched matmul.
	var f1, f2 *Node
	tauS, tauM := p.TauSyn, p.TauMem
	zero := ZerosLike(rel)
	switch p.Ratio() {
	case snn.RatioEqual:
		es := Where(active, Exp(DivScalar(rel, tauS)), zero)
		f1, f2 = es, Mul(es, DivScalar(rel, tauS))
	case snn.RatioDouble:
		f1 = Where(active, Exp(DivScalar(rel, tauS)), zero)
		f2 = Where(active, Exp(DivScalar(rel, tauM)), zero)
	}
	wB := InsertAxes(w, 0)
	features := Concatenate([]*Node{Mul(InsertAxes(f1, 2), wB), Mul(InsertAxes(f2, 2), wB)}, 2) // [B, I, 2J]
	sums := Einsum("bki,bif->bkf", ConvertDType(before, dtype), features)                       // [B, K, 2J]
	s1 := Slice(sums, AxisRange(), AxisRange(), AxisRange(0, numOut))
	s2 := Slice(sums, AxisRange(), AxisRange(), AxisRange(numOut, 2*numOut))

	var candidate, solvable *Node
	switch p.Ratio() {
	case snn.RatioEqual:
		// e^{-s}(A s - B) = ϑ' with s = t/tau: s = B/A - W0(-(ϑ'/A) e^{B/A}).
		cc := (p.Threshold - p.Leak) * p.Capacitance() / tauS
		a, b := s1, s2
		posA := GreaterThan(a, c(0))
		safeA := Where(posA, a, c(1))
		ratio := Div(b, safeA)
		z := Neg(Mul(Div(c(cc), safeA), Exp(ratio)))
		w0 := snngraph.LambertW0(z)
		solvable = LogicalAnd(posA, LogicalNot(IsNaN(w0)))
		candidate = MulScalar(Sub(ratio, Where(solvable, w0, c(0))), tauS)
	case snn.RatioDouble:
		// (2 tau_s / C)(a2 x - a1 x²) = ϑ' with x = e^{-t/tau_m}: the first
		// crossing is the larger root x = (a2 + √D) / (2 a1).
		cc := (p.Threshold - p.Leak) * p.Capacitance() / (2 * tauS)
		a1, a2 := s1, s2
		disc := Sub(Square(a2), Mul(c(4*cc), a1))
		den := Add(a2, Sqrt(Max(disc, c(0))))
		solvable = LogicalAnd(LogicalAnd(GreaterThan(a1, c(0)), GreaterOrEqual(disc, c(0))), GreaterThan(den, c(0)))
		safeDen := Where(solvable, den, c(1))
		safeA1 := Where(solvable, a1, c(1))
		candidate = MulScalar(Log(Div(Mul(c(2), safeA1), safeDen)), tauM)
	}
	relKJ := InsertAxes(rel, 2)
	valid := LogicalAnd(solvable, InsertAxes(active, 2))
	valid = LogicalAnd(valid, GreaterOrEqual(candidate, relKJ))
	valid = LogicalAnd(valid, LessThan(candidate, InsertAxes(next, 2)))
	first := ReduceMin(Where(valid, candidate, inf), 1) // [B, J]
	first = Where(LessOrEqual(first, c(cfg.horizon())), first, inf)
	return Add(first, ref)
}

// AttachCrossingGradient returns tStar unchanged in value, with the exact
// gradient of a threshold crossing attached: V(t*; w, t_in) = ϑ implies
// dt*/dθ = -(∂V/∂θ)/V̇ for θ the weights [I, J] and input times [B, I]. The
// inputs in the causal set are those spiking no later than t*. Silent
// neurons (t* = +Inf) get zero gradient; maxGradNorm > 0 drops the weight
// gradient of a sample's crossing whose largest |dL/dw_ij| exceeds it
// (fastAndDeep's max_dw_norm).
func AttachCrossingGradient(tStar, inputTimes, weights *Node, p snn.LIF, maxGradNorm float64) *Node {
	g := tStar.Graph()
	dtype := tStar.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	tStar = StopGradient(tStar)
	spiked := IsFinite(tStar)
	ts := Where(spiked, tStar, c(0))

	finite := IsFinite(inputTimes)
	times := Where(finite, inputTimes, ZerosLike(inputTimes))
	delay := Sub(InsertAxes(ts, 1), InsertAxes(times, 2)) // [B, I, J]: t* - t_i
	inSet := LogicalAnd(InsertAxes(finite, 2), GreaterOrEqual(StopGradient(delay), c(0)))
	inSet = LogicalAnd(inSet, InsertAxes(spiked, 1))
	zero := ZerosLike(delay)
	delay = Where(inSet, delay, zero)
	kernel := Where(inSet, PSP(delay, p), zero)
	sgWeights := InsertAxes(StopGradient(weights), 0)
	vDot := ReduceSum(Mul(sgWeights, Where(inSet, PSPDerivative(StopGradient(delay), p), zero)), 1)
	// At an upward crossing V̇ > 0; only a tangential touch gives 0, where
	// the true gradient diverges.
	usable := LogicalAnd(spiked, GreaterThan(vDot, c(0)))
	safeVDot := Where(usable, vDot, c(1))
	zeroJ := ZerosLike(vDot)
	// correction is zero in value; its gradient is that of V / V̇.
	correction := func(v *Node) *Node { return Where(usable, Div(Sub(v, StopGradient(v)), safeVDot), zeroJ) }
	// V's perturbation split into its weight and its input-time parts: their
	// gradients add up to the whole, and the weight part alone may be filtered.
	corrW := correction(ReduceSum(Mul(InsertAxes(weights, 0), StopGradient(kernel)), 1))
	corrT := correction(ReduceSum(Mul(sgWeights, kernel), 1))
	if maxGradNorm > 0 {
		// fastAndDeep's max_dw_norm acts on the weight gradient of each
		// sample, dL/dw_ij = dt_j/dw_ij dL/dt_j, and leaves the error
		// propagated to the input times alone.
		dtdw := StopGradient(Div(kernel, InsertAxes(safeVDot, 1))) // [B, I, J], up to sign
		corrW = IdentityWithCustomGradient(corrW, func(_, cotangent *Node) *Node {
			largest := ReduceMax(Abs(Mul(dtdw, InsertAxes(cotangent, 1))), 1)
			return Where(LessOrEqual(largest, c(maxGradNorm)), cotangent, ZerosLike(cotangent))
		})
	}
	return Where(spiked, Sub(Sub(tStar, corrT), corrW), Infinity(g, dtype, 1))
}

// PSP is the post-synaptic potential s after a unit-weight input spike,
// element-wise for s >= 0 (see snn.LIF.PSP).
func PSP(s *Node, p snn.LIF) *Node {
	cInv := 1 / p.Capacitance()
	if p.Ratio() == snn.RatioEqual {
		return MulScalar(Mul(s, Exp(DivScalar(s, -p.TauSyn))), cInv)
	}
	k := p.TauMem * p.TauSyn / (p.TauMem - p.TauSyn) * cInv
	return MulScalar(Sub(Exp(DivScalar(s, -p.TauMem)), Exp(DivScalar(s, -p.TauSyn))), k)
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
