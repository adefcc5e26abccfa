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
	Xi     float64 `json:"xi" yaml:"xi"`
	Alpha  float64 `json:"alpha" yaml:"alpha"`
	Beta   float64 `json:"beta" yaml:"beta"`
	TauSyn float64 `json:"tau_syn" yaml:"tau_syn"`
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
