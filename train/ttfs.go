package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/gosnn/gosnn/event"
	"github.com/gosnn/gosnn/snn"
)

// Progress is reported after every training batch.
type Progress struct {
	Epoch, Epochs   int
	Batch, Batches  int
	Loss, Accuracy  float64 // running means over the epoch so far
	LearningRate    float64
	BumpedLayer     int // layer whose weights were bumped after this batch, -1 for none
	ElapsedInEpoch  time.Duration
	SecondsPerEpoch float64 // mean of the finished epochs, 0 before the first
}

// EpochMetrics are the per-epoch numbers of a run.
type EpochMetrics struct {
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	ValLoss       float64 `json:"val_loss"`
	ValAccuracy   float64 `json:"val_accuracy"`
	LearningRate  float64 `json:"learning_rate"`
	Bumps         int     `json:"bumps"`
	Seconds       float64 `json:"seconds"`
}

// Hooks receive progress; nil hooks are skipped. They run on the training
// goroutine: keep them cheap.
type Hooks struct {
	OnBatch func(Progress)
	OnEpoch func(EpochMetrics)
}

// TTFSTrainer trains a feed-forward network of TTFS layers (package event)
// on a classification data set whose features lie in [0, 1].
type TTFSTrainer struct {
	cfg        Config
	dtype      dtypes.DType
	ctx        *mlctx.Context
	trainStep  *mlctx.Exec
	evalStep   *mlctx.Exec
	lrVar      *mlctx.Variable
	numClasses int
	numInputs  int
}

// NewTTFSTrainer validates cfg and builds (lazily compiled) train and
// evaluation graphs on backend for numInputs features and numClasses
// classes. Weights are drawn from cfg.Seed.
func NewTTFSTrainer(backend backends.Backend, cfg Config, numInputs, numClasses int) (*TTFSTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if numInputs < 1 || numClasses < 2 {
		return nil, fmt.Errorf("TTFS trainer: need >= 1 input and >= 2 classes, got %d and %d", numInputs, numClasses)
	}
	t := &TTFSTrainer{cfg: cfg, dtype: dtypes.Float32, ctx: mlctx.New(), numInputs: numInputs, numClasses: numClasses}
	if cfg.DType == "float64" {
		t.dtype = dtypes.Float64
	}
	if err := t.ctx.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("seeding weights: %w", err)
	}
	opt := optimizers.Adam().LearningRate(cfg.LearningRate).Done()
	var err error
	t.trainStep, err = mlctx.NewExecAny(backend, t.ctx, func(ctx *mlctx.Context, x, labels, mask *Node) []*Node {
		layers := t.network(ctx, x)
		out := layers[len(layers)-1]
		perSample := t.cfg.Loss.PerSample(out, labels)
		maskF := ConvertDType(mask, t.dtype)
		n := ReduceAllSum(maskF)
		loss := Div(ReduceAllSum(Mul(perSample, maskF)), n)
		opt.UpdateGraph(ctx, x.Graph(), loss)
		bumped := t.bumpWeights(ctx, layers, mask)
		correct := snn.CountCorrect(snn.PredictFirstSpike(out), labels, mask, t.dtype)
		return []*Node{loss, correct, bumped}
	})
	if err != nil {
		return nil, fmt.Errorf("building train step: %w", err)
	}
	t.evalStep, err = mlctx.NewExecAny(backend, t.ctx, func(ctx *mlctx.Context, x, labels, mask *Node) []*Node {
		layers := t.network(ctx.Reuse(), x)
		out := layers[len(layers)-1]
		maskF := ConvertDType(mask, t.dtype)
		lossSum := ReduceAllSum(Mul(t.cfg.Loss.PerSample(out, labels), maskF))
		correct := snn.CountCorrect(snn.PredictFirstSpike(out), labels, mask, t.dtype)
		return []*Node{lossSum, correct}
	})
	if err != nil {
		return nil, fmt.Errorf("building evaluation: %w", err)
	}
	t.lrVar = optimizers.LearningRateVar(t.ctx, t.dtype, cfg.LearningRate)
	return t, nil
}

// Context holds the network's variables (weights, optimizer state).
func (t *TTFSTrainer) Context() *mlctx.Context { return t.ctx }

// network returns the spike times of every layer, input layer excluded.
func (t *TTFSTrainer) network(ctx *mlctx.Context, x *Node) []*Node {
	c := t.cfg
	spikes := c.Encoding.Encode(x)
	sizes := append(slices.Clone(c.Hidden), t.numClasses)
	var layers []*Node
	for l, n := range sizes {
		spikes = event.NewLayer(ctx.In(fmt.Sprintf("layer_%d", l)), spikes, n).
			WithNeuron(c.Neuron).
			WithBias(c.BiasTime).
			WithWeightInit(c.WeightMeans[l], c.WeightStds[l]).
			WithMaxGradNorm(c.MaxGradNorm).
			Done()
		layers = append(layers, spikes)
	}
	return layers
}

// bumpWeights is fastAndDeep's check_bump_weights, in the graph: the first
// layer whose fraction of missing spikes exceeds its MaxMissing gets
// BumpValue added to the incoming weights of its silent neurons; the value
// doubles while the same layer needs bumping batch after batch. It returns
// the bumped layer's index, or -1. Unlike fastAndDeep, the optimizer step of
// the batch is not skipped: one graph per batch, no second forward pass.
func (t *TTFSTrainer) bumpWeights(ctx *mlctx.Context, layers []*Node, mask *Node) *Node {
	c := t.cfg
	g := mask.Graph()
	bctx := ctx.In("bumping").Checked(false)
	valueVar := bctx.VariableWithValue("value", shapes.CastAsDType(c.BumpValue, t.dtype)).SetTrainable(false)
	lastVar := bctx.VariableWithValue("last_layer", int32(-1)).SetTrainable(false)

	chosen := Const(g, int32(-1))
	missed := make([]*Node, len(layers))
	sampleMask := InsertAxes(mask, 1)
	numSamples := ReduceAllSum(ConvertDType(mask, t.dtype))
	for l := len(layers) - 1; l >= 0; l-- { // reverse, so the first layer in order wins
		silent := LogicalAnd(LogicalNot(IsFinite(layers[l])), sampleMask)
		frac := Div(ReduceAllSum(ConvertDType(silent, t.dtype)), MulScalar(numSamples, float64(layers[l].Shape().Dim(1))))
		missed[l] = ReduceLogicalOr(silent, 0) // [neurons]
		chosen = Where(GreaterThan(frac, Scalar(g, t.dtype, c.MaxMissing[l])), Const(g, int32(l)), chosen)
	}
	value := Scalar(g, t.dtype, c.BumpValue)
	if c.BumpDoubling {
		value = Where(Equal(chosen, lastVar.ValueGraph(g)), MulScalar(valueVar.ValueGraph(g), 2), value)
	}
	for l := range layers {
		wVar := ctx.In(fmt.Sprintf("layer_%d", l)).InspectVariableInScope("weights")
		w := wVar.ValueGraph(g)
		delta := Where(Equal(chosen, Const(g, int32(l))), value, ZerosLike(value))
		step := BroadcastToShape(delta, w.Shape())
		if c.BumpTargeted {
			step = Mul(step, InsertAxes(ConvertDType(missed[l], t.dtype), 0))
		}
		wVar.SetValueGraph(Add(w, step))
	}
	bumped := GreaterOrEqual(chosen, Const(g, int32(0)))
	valueVar.SetValueGraph(Where(bumped, value, valueVar.ValueGraph(g)))
	lastVar.SetValueGraph(chosen)
	return chosen
}

// batch is one fixed-size mini-batch; the padding rows of a short last batch
// have mask false, so every batch has one shape and the graphs compile once.
type batch struct {
	x, labels, mask *tensors.Tensor
	n               int
}

func (t *TTFSTrainer) makeBatch(d *Dataset, indices []int, size int) batch {
	nf := d.NumFeatures
	labels := make([]int32, size)
	mask := make([]bool, size)
	var x *tensors.Tensor
	if t.dtype == dtypes.Float64 {
		feats := make([]float64, size*nf)
		for r, i := range indices {
			for f := range nf {
				feats[r*nf+f] = float64(d.Features[i*nf+f])
			}
		}
		x = tensors.FromFlatDataAndDimensions(feats, size, nf)
	} else {
		feats := make([]float32, size*nf)
		for r, i := range indices {
			copy(feats[r*nf:(r+1)*nf], d.Features[i*nf:(i+1)*nf])
		}
		x = tensors.FromFlatDataAndDimensions(feats, size, nf)
	}
	for r, i := range indices {
		labels[r] = d.Labels[i]
		mask[r] = true
	}
	return batch{
		x:      x,
		labels: tensors.FromFlatDataAndDimensions(labels, size),
		mask:   tensors.FromFlatDataAndDimensions(mask, size),
		n:      len(indices),
	}
}

func (t *TTFSTrainer) checkData(d *Dataset, role string) error {
	if d == nil || d.Size() == 0 {
		return fmt.Errorf("%s set is empty", role)
	}
	if d.NumFeatures != t.numInputs {
		return fmt.Errorf("%s set %q has %d features, the network expects %d", role, d.Name, d.NumFeatures, t.numInputs)
	}
	for i, l := range d.Labels {
		if l < 0 || int(l) >= t.numClasses {
			return fmt.Errorf("%s set %q: label %d of sample %d is outside [0, %d)", role, d.Name, l, i, t.numClasses)
		}
	}
	return nil
}

func scalarValue(tensor *tensors.Tensor) float64 {
	switch v := tensor.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int32:
		return float64(v)
	}
	panic(fmt.Sprintf("unexpected scalar %s", tensor.Shape()))
}

// LearningRateAt is the StepLR schedule: lr * gamma^(epoch / step size).
func (c Config) LearningRateAt(epoch int) float64 {
	return c.LearningRate * math.Pow(c.LRGamma, float64(epoch/c.LRStepSize))
}

// Fit trains for cfg.Epochs epochs starting at epoch `start` (0 for a fresh
// run), evaluating on val after each epoch. It stops with an error when the
// loss or the weights stop being finite, and when ctx is cancelled (the
// metrics of the finished epochs are returned in both cases).
func (t *TTFSTrainer) Fit(ctx context.Context, trainSet, val *Dataset, start int, hooks Hooks) ([]EpochMetrics, error) {
	if err := t.checkData(trainSet, "training"); err != nil {
		return nil, err
	}
	if err := t.checkData(val, "validation"); err != nil {
		return nil, err
	}
	c := t.cfg
	numBatches := (trainSet.Size() + c.BatchSize - 1) / c.BatchSize
	var history []EpochMetrics
	var spentSeconds float64
	for epoch := start; epoch < c.Epochs; epoch++ {
		began := time.Now()
		lr := c.LearningRateAt(epoch)
		if err := t.lrVar.SetValue(tensors.FromAnyValue(shapes.CastAsDType(lr, t.dtype))); err != nil {
			return history, fmt.Errorf("setting learning rate: %w", err)
		}
		// The order of an epoch depends only on (seed, epoch), so a resumed
		// run sees the same batches as an uninterrupted one.
		rng := rand.New(rand.NewPCG(uint64(c.Seed), uint64(epoch)))
		order := rng.Perm(trainSet.Size())
		var lossSum, correct float64
		seen, bumps := 0, 0
		for b := range numBatches {
			if err := ctx.Err(); err != nil {
				return history, fmt.Errorf("epoch %d interrupted: %w", epoch+1, err)
			}
			idx := order[b*c.BatchSize : min((b+1)*c.BatchSize, len(order))]
			bt := t.makeBatch(trainSet, idx, c.BatchSize)
			outs, err := t.trainStep.Exec(bt.x, bt.labels, bt.mask)
			if err != nil {
				return history, fmt.Errorf("epoch %d batch %d: %w", epoch+1, b+1, err)
			}
			loss := scalarValue(outs[0])
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return history, fmt.Errorf("epoch %d batch %d: training loss is %g: stopping before the weights are corrupted (lower learning_rate?)", epoch+1, b+1, loss)
			}
			lossSum += loss * float64(bt.n)
			correct += scalarValue(outs[1])
			bumped := int(scalarValue(outs[2]))
			if bumped >= 0 {
				bumps++
			}
			seen += bt.n
			if hooks.OnBatch != nil {
				spe := 0.0
				if epoch > start {
					spe = spentSeconds / float64(epoch-start)
				}
				hooks.OnBatch(Progress{Epoch: epoch + 1, Epochs: c.Epochs, Batch: b + 1, Batches: numBatches,
					Loss: lossSum / float64(seen), Accuracy: correct / float64(seen), LearningRate: lr, BumpedLayer: bumped,
					ElapsedInEpoch: time.Since(began), SecondsPerEpoch: spe})
			}
		}
		if err := t.checkWeights(); err != nil {
			return history, fmt.Errorf("after epoch %d: %w", epoch+1, err)
		}
		valLoss, valAcc, err := t.Evaluate(val)
		if err != nil {
			return history, fmt.Errorf("validation after epoch %d: %w", epoch+1, err)
		}
		seconds := time.Since(began).Seconds()
		spentSeconds += seconds
		m := EpochMetrics{Epoch: epoch + 1, TrainLoss: lossSum / float64(seen), TrainAccuracy: correct / float64(seen),
			ValLoss: valLoss, ValAccuracy: valAcc, LearningRate: lr, Bumps: bumps, Seconds: seconds}
		history = append(history, m)
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(m)
		}
	}
	return history, nil
}

// Evaluate returns the mean loss and the accuracy on d.
func (t *TTFSTrainer) Evaluate(d *Dataset) (loss, accuracy float64, err error) {
	if err := t.checkData(d, "evaluation"); err != nil {
		return 0, 0, err
	}
	size := t.cfg.EvalBatchSize
	var lossSum, correct float64
	for start := 0; start < d.Size(); start += size {
		idx := make([]int, 0, size)
		for i := start; i < min(start+size, d.Size()); i++ {
			idx = append(idx, i)
		}
		bt := t.makeBatch(d, idx, size)
		outs, err := t.evalStep.Exec(bt.x, bt.labels, bt.mask)
		if err != nil {
			return 0, 0, err
		}
		lossSum += scalarValue(outs[0])
		correct += scalarValue(outs[1])
	}
	n := float64(d.Size())
	return lossSum / n, correct / n, nil
}

// checkWeights stops a run whose weights went NaN or infinite, before they
// are written anywhere.
func (t *TTFSTrainer) checkWeights() error {
	for v := range t.ctx.IterVariables() {
		if !v.Trainable {
			continue
		}
		value, err := v.Value()
		if err != nil {
			return err
		}
		bad := false
		if t.dtype == dtypes.Float64 {
			for _, x := range tensors.MustCopyFlatData[float64](value) {
				bad = bad || math.IsNaN(x) || math.IsInf(x, 0)
			}
		} else {
			for _, x := range tensors.MustCopyFlatData[float32](value) {
				bad = bad || math.IsNaN(float64(x)) || math.IsInf(float64(x), 0)
			}
		}
		if bad {
			return fmt.Errorf("variable %s holds NaN or Inf", v.ScopeAndName())
		}
	}
	return nil
}
