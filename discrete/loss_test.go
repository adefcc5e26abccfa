package discrete

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// TestLosses compares every read-out loss with a float64 loop on a random
// trace [batch, T, classes] and random spikes.
func TestLosses(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	const batch, steps, classes = 4, 9, 3
	trace := make([][][]float64, batch)
	for b := range trace {
		trace[b] = randMatrix(rng, steps, classes, 0, 1)
	}
	spikes := randSpikes(rng, batch, steps, classes, 0.4)
	labels := []int32{0, 2, 1, 2}
	exec, err := NewExec(backend, func(v, s, y *Node) []*Node {
		return []*Node{MaxOverTimeNLL(v, y), SpikeCountCrossEntropy(s, y), MeanMembraneCrossEntropy(v, y),
			RateRegularizer(s, 0.8, 1e-2), Predict(MaxOverTime(v))}
	})
	require.NoError(t, err)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten3(trace), batch, steps, classes),
		tensors.FromFlatDataAndDimensions(flatten3(spikes), batch, steps, classes), labels)
	require.NoError(t, err)
	scalar := func(i int) float64 { return tensors.MustCopyFlatData[float64](outs[i])[0] }

	perSample := func(reduce func(column []float64) float64, x [][][]float64) float64 {
		total := 0.0
		for b := range x {
			logits := make([]float64, classes)
			for c := range logits {
				var column []float64
				for _, row := range x[b] {
					column = append(column, row[c])
				}
				logits[c] = reduce(column)
			}
			total += refCrossEntropy(logits, int(labels[b]))
		}
		return total / batch
	}
	sum := func(c []float64) float64 {
		s := 0.0
		for _, x := range c {
			s += x
		}
		return s
	}
	require.InDelta(t, refMaxOverTimeNLL(trace, labels), scalar(0), 1e-12, "max-over-time NLL")
	require.InDelta(t, perSample(sum, spikes), scalar(1), 1e-12, "spike-count cross-entropy")
	require.InDelta(t, perSample(func(c []float64) float64 { return sum(c) / steps }, trace), scalar(2), 1e-12, "mean-membrane cross-entropy")
	require.InDelta(t, refRate(spikes, 0.8, 1e-2), scalar(3), 1e-12, "rate regulariser")
	preds := tensors.MustCopyFlatData[int32](outs[4])
	for b := range trace {
		best, arg := math.Inf(-1), -1
		for _, row := range trace[b] {
			for c, v := range row {
				if v > best {
					best, arg = v, c
				}
			}
		}
		require.Equal(t, int32(arg), preds[b], "prediction of sample %d", b)
	}
}

func TestSpatioTemporalEncode(t *testing.T) {
	backend := testBackend(t)
	values := []float64{0, 0.5, 1, 0.26, 0.01}
	exec, err := NewExec(backend, func(v *Node) *Node { return SpatioTemporalEncode(v, 60, 15, 0.5) })
	require.NoError(t, err)
	out := exec.MustExec(tensors.FromFlatDataAndDimensions(values, 1, 5))[0]
	require.Equal(t, []int{1, 60, 5}, out.Shape().Dimensions)
	spikes := tensors.MustCopyFlatData[float64](out)
	for i, v := range values {
		want := int(math.Round(v * 15 / 0.5))
		for step := range 60 {
			require.Equal(t, float64(boolToInt(step == want)), spikes[step*5+i], "value %g step %d", v, step)
		}
	}
	exec, err = NewExec(backend, func(v *Node) *Node { return SpatioTemporalEncode(v, 10, 15, 0.5) })
	require.NoError(t, err)
	clamped := tensors.MustCopyFlatData[float64](exec.MustExec(tensors.FromFlatDataAndDimensions([]float64{1}, 1, 1))[0])
	require.Equal(t, 1.0, clamped[9], "a spike beyond the last step is clamped to it")
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTraceLossKinds checks the config's trace loss kinds (snn.Loss, what
// the trainer runs) against this package's losses: the batch mean of the
// per-sample loss, and the penalty summed over the batch against
// RateRegularizer with rho = rate_rho.
func TestTraceLossKinds(t *testing.T) {
	backend := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const batch, steps, classes = 5, 7, 3
	trace := make([][][]float64, batch)
	for b := range trace {
		trace[b] = randMatrix(rng, steps, classes, 0, 1)
	}
	spikes := randSpikes(rng, batch, steps, 4, 0.4)
	labels := []int32{0, 2, 1, 2, 1}
	exec, err := NewExec(backend, func(v, s, y *Node) []*Node {
		out := []*Node{}
		for _, kind := range []string{snn.LossMaxOverTime, snn.LossSpikeCount, snn.LossMeanMembrane} {
			l := snn.Loss{Kind: kind, TraceLoss: snn.TraceLoss{RateTarget: 0.8, RateRho: 0.01}}
			out = append(out, ReduceAllMean(l.PerSample(v, y)), ReduceAllSum(l.Penalty([]*Node{s})), l.Predict(v))
		}
		return append(out, MaxOverTimeNLL(v, y), SpikeCountCrossEntropy(v, y), MeanMembraneCrossEntropy(v, y), RateRegularizer(s, 0.8, 0.01))
	})
	require.NoError(t, err)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(flatten3(trace), batch, steps, classes),
		tensors.FromFlatDataAndDimensions(flatten3(spikes), batch, steps, 4), labels)
	require.NoError(t, err)
	scalar := func(i int) float64 { return tensors.MustCopyFlatData[float64](outs[i])[0] }
	for k := range 3 {
		require.InDelta(t, scalar(9+k), scalar(3*k), 1e-12, "loss kind %d", k)
		require.InDelta(t, scalar(12), scalar(3*k+1), 1e-12, "penalty of kind %d", k)
	}
	for b, p := range tensors.MustCopyFlatData[int32](outs[2]) { // max over time, then arg-max
		best, arg := math.Inf(-1), -1
		for c := range classes {
			for _, row := range trace[b] {
				if row[c] > best {
					best, arg = row[c], c
				}
			}
		}
		require.Equal(t, int32(arg), p, "prediction of sample %d", b)
	}
}
