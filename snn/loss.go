package snn

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// SilentLoss is the per-sample loss when the correct output neuron does not
// spike (fastAndDeep's constant): it carries no gradient, and weight
// bumping is what brings the neuron back.
const SilentLoss = 100.0

// TTFSLoss is the time-to-first-spike cross-entropy of Göltz et al. (2021)
// with its regulariser, as fastAndDeep's LossFunction defines it:
//
//	L = -log softmax(-t/(ξ τ))_y + α (exp(t_y/(β τ)) - 1)
//	  = log Σ_k exp(-t_k/(ξτ)) + t_y/(ξτ) + α exp(t_y/(βτ)) - α,
//
// averaged over the batch, with τ = tau_syn. The constant -α (absent in
// fastAndDeep) makes a perfect early spike cost zero and changes no
// gradient. Samples whose correct neuron is silent cost SilentLoss.
type TTFSLoss struct {
	Xi     float64 `json:"xi,omitempty" yaml:"xi,omitempty"`
	Alpha  float64 `json:"alpha,omitempty" yaml:"alpha,omitempty"`
	Beta   float64 `json:"beta,omitempty" yaml:"beta,omitempty"`
	TauSyn float64 `json:"tau_syn,omitempty" yaml:"tau_syn,omitempty"`
}

// FastAndDeepTTFSLoss returns the loss of fastAndDeep's yin_yang.yaml:
// ξ = 0.2, α = 0.005, β = 1, τ = 1.
func FastAndDeepTTFSLoss() TTFSLoss { return TTFSLoss{Xi: 0.2, Alpha: 0.005, Beta: 1, TauSyn: 1} }

// Validate names the first field with an unusable value.
func (l TTFSLoss) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"xi", l.Xi}, {"beta", l.Beta}, {"tau_syn", l.TauSyn}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("TTFS loss: %s must be a positive finite number, got %g", f.name, f.v)
		}
	}
	if !(l.Alpha >= 0) || math.IsInf(l.Alpha, 0) {
		return fmt.Errorf("TTFS loss: alpha must be >= 0 and finite, got %g", l.Alpha)
	}
	return nil
}

// PerSample returns the loss of each sample, [batch], for output spike times
// [batch, classes] (+Inf: silent) and integer labels [batch].
func (l TTFSLoss) PerSample(times, labels *Node) *Node {
	g := times.Graph()
	dtype := times.DType()
	c := func(v float64) *Node { return Scalar(g, dtype, v) }
	numClasses := times.Shape().Dim(1)
	finite := IsFinite(times)
	// A silent wrong class contributes exp(-inf) = 0: stand-in times far
	// beyond any spike keep the arithmetic (and its gradient) finite.
	clean := Where(finite, times, c(SilentLoss*l.TauSyn*l.Xi))
	logProb := LogSoftmax(DivScalar(clean, -l.Xi*l.TauSyn), 1)
	oneHot := OneHot(labels, numClasses, dtype)
	crossEntropy := Neg(ReduceSum(Mul(logProb, oneHot), 1))
	tCorrect := ReduceSum(Mul(clean, oneHot), 1)
	correctSpiked := ReduceLogicalOr(LogicalAnd(finite, GreaterThan(oneHot, c(0))), 1)
	tCorrect = Where(correctSpiked, tCorrect, ZerosLike(tCorrect))
	loss := crossEntropy
	loss = Add(loss, MulScalar(AddScalar(Exp(DivScalar(tCorrect, l.Beta*l.TauSyn)), -1), l.Alpha))
	return Where(correctSpiked, loss, c(SilentLoss))
}

// Loss is the batch mean of PerSample.
func (l TTFSLoss) Loss(times, labels *Node) *Node { return ReduceAllMean(l.PerSample(times, labels)) }

// PredictFirstSpike returns, for output spike times [batch, classes], the
// class whose neuron spikes first, or -1 when no output neuron spikes (such
// a sample always counts as wrong). Ties go to the lower class index.
func PredictFirstSpike(times *Node) *Node {
	first := ArgMin(times, 1, labelsDType)
	anySpike := ReduceLogicalOr(IsFinite(times), 1)
	return Where(anySpike, first, Scalar(times.Graph(), labelsDType, -1))
}

// labelsDType is the integer type of class labels.
const labelsDType = dtypes.Int32

// CountCorrect returns the number of samples whose prediction equals the
// label, as a scalar of the time dtype; mask [batch] (optional, may be nil)
// excludes padding samples.
func CountCorrect(predictions, labels, mask *Node, dtype dtypes.DType) *Node {
	correct := Equal(predictions, ConvertDType(labels, predictions.DType()))
	if mask != nil {
		correct = LogicalAnd(correct, mask)
	}
	return ReduceAllSum(ConvertDType(correct, dtype))
}

// MSELoss is jaxsnn's mse_loss on first-spike times (jaxsnn 0.3.0,
// event/loss.py, the loss of its Yin-Yang examples): every output neuron k
// has a target time, CorrectTime for the label's neuron and WrongTime for
// the others (target_temporal_encode), and
//
//	L = Σ_k ((min(t_k, 2 τ_mem) - T_k) / τ_mem)²,
//
// averaged over the batch. A silent neuron (t_k = +Inf) and a late one
// count as a spike at 2 τ_mem and get no gradient.
type MSELoss struct {
	TauMem      float64 `json:"tau_mem,omitempty" yaml:"tau_mem,omitempty"`
	CorrectTime float64 `json:"correct_time,omitempty" yaml:"correct_time,omitempty"`
	WrongTime   float64 `json:"wrong_time,omitempty" yaml:"wrong_time,omitempty"`
}

// Validate names the first field with an unusable value.
func (l MSELoss) Validate() error {
	if !(l.TauMem > 0) || math.IsInf(l.TauMem, 0) {
		return fmt.Errorf("MSE loss: tau_mem must be a positive finite number, got %g", l.TauMem)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"correct_time", l.CorrectTime}, {"wrong_time", l.WrongTime}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("MSE loss: %s must be finite, got %g", f.name, f.v)
		}
	}
	return nil
}

// PerSample returns the loss of each sample, [batch], for output spike times
// [batch, classes] (+Inf: silent) and integer labels [batch].
func (l MSELoss) PerSample(times, labels *Node) *Node {
	g := times.Graph()
	dtype := times.DType()
	clamp := Scalar(g, dtype, 2*l.TauMem)
	// Where instead of Min: the clamped branch (and +Inf) gets an exactly
	// zero gradient, never 0 × Inf.
	clamped := Where(LessThan(times, clamp), times, clamp)
	oneHot := OneHot(labels, times.Shape().Dim(1), dtype)
	target := AddScalar(MulScalar(oneHot, l.CorrectTime-l.WrongTime), l.WrongTime)
	return ReduceSum(Square(DivScalar(Sub(clamped, target), l.TauMem)), 1)
}

// ShiftMSELoss is fastAndDeep's shift-invariant MSE (DelGrad code base,
// utils.py LossFunctionShiftInvariantMSE): only the output times relative
// to the label neuron's count,
//
//	L = ½ Σ_k ((t_k - t_y) - δ (1 - [k = y]))²,
//
// so the label neuron is trained to spike DeltaT before every other one,
// whatever the absolute times. Samples with a silent output neuron cost
// SilentLoss, without gradient (fastAndDeep sets infinite losses to 100).
type ShiftMSELoss struct {
	DeltaT float64 `json:"delta_t,omitempty" yaml:"delta_t,omitempty"`
}

// Validate names the first field with an unusable value.
func (l ShiftMSELoss) Validate() error {
	if math.IsNaN(l.DeltaT) || math.IsInf(l.DeltaT, 0) || l.DeltaT == 0 {
		return fmt.Errorf("shift-invariant MSE loss: delta_t must be finite and non-zero, got %g", l.DeltaT)
	}
	return nil
}

// PerSample returns the loss of each sample, [batch], for output spike times
// [batch, classes] (+Inf: silent) and integer labels [batch].
func (l ShiftMSELoss) PerSample(times, labels *Node) *Node {
	g := times.Graph()
	dtype := times.DType()
	finite := IsFinite(times)
	allFinite := ReduceLogicalAnd(finite, 1)
	clean := Where(finite, times, ZerosLike(times)) // no Inf - Inf, no 0 × Inf in the gradient
	oneHot := OneHot(labels, times.Shape().Dim(1), dtype)
	tLabel := ReduceAndKeep(Mul(clean, oneHot), ReduceSum, 1)
	target := MulScalar(OneMinus(oneHot), l.DeltaT)
	loss := MulScalar(ReduceSum(Square(Sub(Sub(clean, tLabel), target)), 1), 0.5)
	return Where(allFinite, loss, Scalar(g, dtype, SilentLoss))
}

// The loss kinds of Loss.Kind.
const (
	LossTTFS     = "ttfs"
	LossMSE      = "mse"
	LossShiftMSE = "shift_mse"
	// The losses of discrete-time read-outs (traces [batch, steps, classes]):
	// see TraceLoss.
	LossMaxOverTime  = "max_over_time"
	LossSpikeCount   = "spike_count"
	LossMeanMembrane = "mean_membrane"
)

// LossKinds lists the known loss kinds.
var LossKinds = []string{LossTTFS, LossMSE, LossShiftMSE, LossMaxOverTime, LossSpikeCount, LossMeanMembrane}

// perSampleLoss is what every loss kind implements.
type perSampleLoss interface {
	Validate() error
	PerSample(times, labels *Node) *Node
}

// Loss is a first-spike-time classification loss of one of LossKinds: the
// fields of every kind sit side by side (one YAML mapping, strictly
// checked), Kind selects the one in use and Validate rejects the fields of
// the others. An empty Kind is LossTTFS, so configs written before MSE
// existed keep their meaning.
type Loss struct {
	Kind         string `json:"kind,omitempty" yaml:"kind,omitempty"`
	TTFSLoss     `yaml:",inline"`
	MSELoss      `yaml:",inline"`
	ShiftMSELoss `yaml:",inline"`
	TraceLoss    `yaml:",inline"`
}

// TTFS returns the TTFS cross-entropy as a Loss.
func TTFS(l TTFSLoss) Loss { return Loss{TTFSLoss: l} }

// MSE returns jaxsnn's MSE first-spike loss as a Loss.
func MSE(l MSELoss) Loss { return Loss{Kind: LossMSE, MSELoss: l} }

// ShiftMSE returns fastAndDeep's shift-invariant MSE as a Loss.
func ShiftMSE(l ShiftMSELoss) Loss { return Loss{Kind: LossShiftMSE, ShiftMSELoss: l} }

func (l Loss) impl() (perSampleLoss, error) {
	if l.IsTrace() {
		if l.TTFSLoss != (TTFSLoss{}) || l.MSELoss != (MSELoss{}) || l.ShiftMSELoss != (ShiftMSELoss{}) {
			return nil, fmt.Errorf("the fields of the first-spike losses (xi, alpha, beta, tau_syn, tau_mem, correct_time, wrong_time, delta_t) do not belong to kind %q", l.Kind)
		}
		return traceImpl{l.Kind, l.TraceLoss}, nil
	}
	if l.TraceLoss != (TraceLoss{}) {
		return nil, fmt.Errorf("rate_target and rate_rho belong to the trace losses (%s, %s, %s), not to kind %q", LossMaxOverTime, LossSpikeCount, LossMeanMembrane, l.Kind)
	}
	switch l.Kind {
	case "", LossTTFS:
		if l.MSELoss != (MSELoss{}) {
			return nil, fmt.Errorf("tau_mem, correct_time and wrong_time belong to kind %q, not to the TTFS loss", LossMSE)
		}
		if l.ShiftMSELoss != (ShiftMSELoss{}) {
			return nil, fmt.Errorf("delta_t belongs to kind %q, not to the TTFS loss", LossShiftMSE)
		}
		return l.TTFSLoss, nil
	case LossMSE:
		if l.TTFSLoss != (TTFSLoss{}) {
			return nil, fmt.Errorf("xi, alpha, beta and tau_syn belong to kind %q, not to the MSE loss", LossTTFS)
		}
		if l.ShiftMSELoss != (ShiftMSELoss{}) {
			return nil, fmt.Errorf("delta_t belongs to kind %q, not to the MSE loss", LossShiftMSE)
		}
		return l.MSELoss, nil
	case LossShiftMSE:
		if l.TTFSLoss != (TTFSLoss{}) || l.MSELoss != (MSELoss{}) {
			return nil, fmt.Errorf("the shift-invariant MSE loss takes only delta_t")
		}
		return l.ShiftMSELoss, nil
	}
	return nil, fmt.Errorf("unknown loss kind %q; one of %v", l.Kind, LossKinds)
}

// Validate checks the kind and its fields.
func (l Loss) Validate() error {
	impl, err := l.impl()
	if err != nil {
		return err
	}
	return impl.Validate()
}

// PerSample is the selected kind's per-sample loss, [batch]; it panics on
// an invalid Loss (configs are validated before graphs are built).
func (l Loss) PerSample(times, labels *Node) *Node {
	impl, err := l.impl()
	if err != nil {
		panic(err)
	}
	return impl.PerSample(times, labels)
}

// Loss is the batch mean of PerSample (it hides TTFSLoss.Loss, which
// would ignore Kind).
func (l Loss) Loss(times, labels *Node) *Node { return ReduceAllMean(l.PerSample(times, labels)) }

// IsTrace reports whether the loss reads a trace over time (the discrete
// family's read-out) rather than first-spike times.
func (l Loss) IsTrace() bool {
	return l.Kind == LossMaxOverTime || l.Kind == LossSpikeCount || l.Kind == LossMeanMembrane
}

// Predict is the predicted class of each sample, [batch] int32 (-1: none)
// for the read-out the loss kind reads: the earliest first spike, or the
// largest decoded trace.
func (l Loss) Predict(readout *Node) *Node {
	if l.IsTrace() {
		return ArgMax(traceImpl{l.Kind, l.TraceLoss}.logits(readout), -1, labelsDType)
	}
	return PredictFirstSpike(readout)
}

// Penalty is the per-sample regulariser on the spikes [batch, steps, n] of
// the populations (TraceLoss's rate term), [batch], or nil when the loss
// has none.
func (l Loss) Penalty(spikes []*Node) *Node {
	if !l.IsTrace() || l.RateRho == 0 {
		return nil
	}
	var total *Node
	for _, s := range spikes {
		if s == nil {
			continue
		}
		p := RatePenalty(s, l.RateTarget, l.RateRho)
		if total == nil {
			total = p
		} else {
			total = Add(total, p)
		}
	}
	return total
}

// TraceLoss holds the fields of the losses of discrete-time read-outs
// (traces [batch, steps, classes]); each is a cross-entropy
// -log softmax(logits)_y of logits decoded from the trace:
//   - max_over_time: the maximum of each read-out membrane over time,
//     jaxsnn.discrete's max_over_time_decode and nll_loss;
//   - spike_count: each output neuron's number of spikes (snnax's README);
//   - mean_membrane: each read-out membrane's mean over time.
//
// With RateRho > 0 every discrete_lif population adds, per sample,
// RateRho Σ_n (Σ_t s[t, n] - RateTarget)², jaxsnn's firing-rate
// regulariser; jaxsnn sums it over the batch (rho 1e-5 at batch 64), gosnn
// averages per-sample losses, so jaxsnn's rho is RateRho / batch size.
type TraceLoss struct {
	RateTarget float64 `json:"rate_target,omitempty" yaml:"rate_target,omitempty"`
	RateRho    float64 `json:"rate_rho,omitempty" yaml:"rate_rho,omitempty"`
}

type traceImpl struct {
	kind string
	TraceLoss
}

func (l traceImpl) Validate() error {
	if !(l.RateRho >= 0) || math.IsInf(l.RateRho, 0) || math.IsNaN(l.RateTarget) || math.IsInf(l.RateTarget, 0) {
		return fmt.Errorf("%s loss: rate_rho must be >= 0 and finite and rate_target finite, got %g and %g", l.kind, l.RateRho, l.RateTarget)
	}
	return nil
}

// logits decodes a trace [batch, steps, classes] to [batch, classes].
func (l traceImpl) logits(trace *Node) *Node {
	if trace.Rank() != 3 {
		panic(fmt.Errorf("%s loss: the read-out must be a trace [batch, steps, classes], got %s (a first-spike read-out needs kind ttfs or mse)", l.kind, trace.Shape()))
	}
	switch l.kind {
	case LossSpikeCount:
		return ReduceSum(trace, 1)
	case LossMeanMembrane:
		return ReduceMean(trace, 1)
	}
	return MaxOverTime(trace)
}

// MaxOverTime is the maximum over time of a trace [batch, steps, n...],
// [batch, n...] (jaxsnn.discrete's max_over_time_decode before its
// log-softmax), with the gradient going to the first step of the
// maximum. Why not ReduceMax: its gradient selects the steps equal to the
// maximum, and XLA may compute the trace twice (fused into the reduction
// and into the gradient) with different rounding, so that no step equals
// the maximum and the gradient vanishes (seen on xla:cpu for a read-out
// computed by products over time). Here the maximum is read back through
// a 0/1 mask of the arg-max step, exact whatever the rounding.
func MaxOverTime(trace *Node) *Node {
	steps := trace.Shape().Dim(1)
	idx := StopGradient(ArgMax(trace, 1, labelsDType)) // [batch, n...]
	mask := OneHot(idx, steps, trace.DType())          // [batch, n..., steps]
	perm := make([]int, mask.Rank())
	perm[0], perm[1] = 0, mask.Rank()-1
	for i := 2; i < mask.Rank(); i++ {
		perm[i] = i - 1
	}
	return ReduceSum(Mul(trace, TransposeAllAxes(mask, perm...)), 1)
}

// PerSample is -log softmax(logits)_y, [batch].
func (l traceImpl) PerSample(trace, labels *Node) *Node {
	logProb := LogSoftmax(l.logits(trace), 1)
	oneHot := OneHot(labels, logProb.Shape().Dim(1), logProb.DType())
	return Neg(ReduceSum(Mul(logProb, oneHot), 1))
}

// RatePenalty is rho Σ_n (Σ_t s[b, t, n] - target)² per sample b of
// spikes [batch, steps, n...], [batch].
func RatePenalty(spikes *Node, target, rho float64) *Node {
	count := ReduceSum(spikes, 1)
	d := AddScalar(count, -target)
	axes := make([]int, d.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return MulScalar(ReduceSum(Square(d), axes...), rho)
}
