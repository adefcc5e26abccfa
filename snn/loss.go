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
)

// LossKinds lists the known loss kinds.
var LossKinds = []string{LossTTFS, LossMSE, LossShiftMSE}

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
}

// TTFS returns the TTFS cross-entropy as a Loss.
func TTFS(l TTFSLoss) Loss { return Loss{TTFSLoss: l} }

// MSE returns jaxsnn's MSE first-spike loss as a Loss.
func MSE(l MSELoss) Loss { return Loss{Kind: LossMSE, MSELoss: l} }

// ShiftMSE returns fastAndDeep's shift-invariant MSE as a Loss.
func ShiftMSE(l ShiftMSELoss) Loss { return Loss{Kind: LossShiftMSE, ShiftMSELoss: l} }

func (l Loss) impl() (perSampleLoss, error) {
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
