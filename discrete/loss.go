package discrete

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/train/losses"

	"github.com/gosnn/gosnn/snn"
)

// The read-outs map a trace [batch, T, classes] over time to logits
// [batch, classes]; the losses are the batch mean of the cross-entropy
// -log softmax(logits)_y for integer labels [batch].

// MaxOverTime is jaxsnn.discrete's max_over_time_decode before its
// log-softmax: the maximum of each read-out membrane over time.
func MaxOverTime(trace *Node) *Node { return snn.MaxOverTime(trace) }

// SpikeCount is each output neuron's number of spikes (snnax's README
// read-out).
func SpikeCount(spikes *Node) *Node { return ReduceSum(spikes, 1) }

// MeanMembrane is each read-out membrane's mean over time.
func MeanMembrane(trace *Node) *Node { return ReduceMean(trace, 1) }

// MaxOverTimeNLL is jaxsnn.discrete's loss: nll_loss of
// max_over_time_decode, -mean_b log softmax(max_t v[b, t, :])_{y_b}.
func MaxOverTimeNLL(trace, labels *Node) *Node { return CrossEntropy(MaxOverTime(trace), labels) }

// SpikeCountCrossEntropy is the softmax cross-entropy of the output spike
// counts (snnax's README loss).
func SpikeCountCrossEntropy(spikes, labels *Node) *Node {
	return CrossEntropy(SpikeCount(spikes), labels)
}

// MeanMembraneCrossEntropy is the softmax cross-entropy of the read-out
// membranes' means over time.
func MeanMembraneCrossEntropy(trace, labels *Node) *Node {
	return CrossEntropy(MeanMembrane(trace), labels)
}

// CrossEntropy is the batch mean of -log softmax(logits)_y, logits
// [batch, classes], labels [batch] of any integer type (GoMLX's
// SparseCategoricalCrossEntropyLogits).
func CrossEntropy(logits, labels *Node) *Node {
	labels = InsertAxes(ConvertDType(labels, dtypes.Int32), -1)
	return ReduceAllMean(losses.SparseCategoricalCrossEntropyLogits([]*Node{labels}, []*Node{logits}))
}

// Predict is the class of the largest logit, [batch] int32.
func Predict(logits *Node) *Node { return ArgMax(logits, -1, dtypes.Int32) }

// RateRegularizer is jaxsnn's firing-rate penalty of its discrete Yin-Yang
// example, rho Σ_b Σ_n (Σ_t s[b, t, n] - target)², for spikes
// [batch, T, neurons...]: it pulls every neuron's spike count per sample
// towards target (jaxsnn: rho = 1e-5, target 0.8 spikes). Summed, not
// averaged, over batch and neurons, as jaxsnn does.
func RateRegularizer(spikes *Node, target, rho float64) *Node {
	return MulScalar(ReduceAllSum(Square(AddScalar(ReduceSum(spikes, 1), -target))), rho)
}
