package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	// The simulation families register their lowerings (topology.Lower).
	_ "github.com/gosnn/gosnn/discrete"
	_ "github.com/gosnn/gosnn/event"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
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

	BumpValue float64 // value added to the bumped layer's weights, 0 for none
	BatchLoss float64 // mean loss of this batch alone
	// Silent is the fraction of silent (sample, neuron) pairs of every
	// layer in this batch (before its update).
	Silent []float64
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
	// MaxBumpValue is the largest value added to weights by one bump in the
	// epoch (it doubles with every consecutive bump of the same layer).
	MaxBumpValue float64 `json:"max_bump_value"`
	// The spread of the training batches' mean losses within the epoch.
	TrainLossMin float64 `json:"train_loss_min"`
	TrainLossMax float64 `json:"train_loss_max"`
	TrainLossStd float64 `json:"train_loss_std"`
	// Silent is, for every layer, the fraction of (sample, neuron) pairs
	// without a spike, over the epoch's training batches.
	Silent []float64 `json:"silent"`
	// Overflow counts the spikes of the epoch's training batches that did
	// not fit into the event layers' capacities (always 0 for ttfs).
	Overflow int     `json:"overflow"`
	Seconds  float64 `json:"seconds"`
	// Monitor holds, after the epoch, the weight and delay statistics of
	// the projections with monitor: true (see Trainer.monitorStats).
	Monitor []Stat `json:"monitor,omitempty"`
	// ClippedWeights is, with hardware in the loop, the largest number of
	// weights beyond the backend's range (clipped on the hardware) over
	// the epoch's batches; nil without hardware.
	ClippedWeights *int `json:"clipped_weights,omitempty"`
}

// Hooks receive progress; nil hooks are skipped. They run on the training
// goroutine: keep them cheap.
type Hooks struct {
	OnBatch func(Progress)
	OnEpoch func(EpochMetrics)
}

// Trainer trains a spiking network of the configured method (TTFS layers,
// stacked or recurrent EventProp LIF layers; package event) on a
// classification data set whose features lie in [0, 1], on one device or
// data-parallel over Config.Devices. Fit keeps a copy of the variables
// after its best validation epoch (BestValidation, RestoreBest,
// EvaluateBest; State and SetState copy them in general).
type Trainer struct {
	cfg        Config
	dtype      dtypes.DType
	ctx        *mlctx.Context
	trainStep  *mlctx.Exec
	evalStep   *mlctx.Exec
	lrVar      *mlctx.Variable
	numClasses int
	numInputs  int
	// The first call of each graph compiles it; the time of the first and of
	// the later calls estimates the compile time (see CompileSeconds).
	trainCalls, evalCalls callTimes
	// batchSpec shards a batch's first axis across the devices of a
	// data-parallel run; nil on one device.
	batchSpec *distributed.ShardingSpec
	// hw runs every batch on the BrainScaleS-2 chip or its mock first
	// (Config.Hardware; train/hardware.go); nil: software only.
	hw *hardwareLoop
	// best is the epoch of Fit's highest validation accuracy so far and a
	// copy of the variables after it.
	best struct {
		epoch    int
		accuracy float64
		state    State
	}
}

// State is a copy of the values of every variable of a trainer's context
// (weights, optimizer moments, bumping state), by scope and name.
type State map[string]*tensors.Tensor

// State copies the current values of all variables to the host.
func (t *Trainer) State() (State, error) {
	s := State{}
	for v := range t.ctx.IterVariables() {
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v.ScopeAndName(), err)
		}
		// A copy: the variable's own buffer may be donated to the next step.
		c, err := value.LocalClone()
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", v.ScopeAndName(), err)
		}
		s[v.ScopeAndName()] = c
	}
	return s, nil
}

// SetState sets every variable held in s to (a copy of) its value there; s
// stays usable. Variables that s does not hold keep their values.
func (t *Trainer) SetState(s State) error {
	for v := range t.ctx.IterVariables() {
		value, ok := s[v.ScopeAndName()]
		if !ok {
			continue
		}
		if !value.Shape().Equal(v.Shape()) {
			return fmt.Errorf("state of %s has shape %s, the variable %s", v.ScopeAndName(), value.Shape(), v.Shape())
		}
		c, err := value.LocalClone()
		if err != nil {
			return fmt.Errorf("copying %s: %w", v.ScopeAndName(), err)
		}
		if err := v.SetValue(c); err != nil {
			return fmt.Errorf("setting %s: %w", v.ScopeAndName(), err)
		}
	}
	return nil
}

// BestValidation returns the epoch (1-based, 0 before any) at which Fit saw
// the highest validation accuracy (the first such epoch on ties) and that
// accuracy. Fit keeps a copy of the variables after that epoch:
// RestoreBest puts it back, EvaluateBest evaluates it.
func (t *Trainer) BestValidation() (epoch int, accuracy float64) {
	return t.best.epoch, t.best.accuracy
}

// SetBest makes s, the variables after epoch with the given validation
// accuracy, the best-validation weights that Fit compares later epochs with
// (a resumed run). The shapes must be those of the trainer's variables.
func (t *Trainer) SetBest(epoch int, accuracy float64, s State) error {
	for v := range t.ctx.IterVariables() {
		value, ok := s[v.ScopeAndName()]
		if !ok {
			return fmt.Errorf("best-validation weights: variable %s is missing", v.ScopeAndName())
		}
		if !value.Shape().Equal(v.Shape()) {
			return fmt.Errorf("best-validation weights: %s has shape %s, the variable %s", v.ScopeAndName(), value.Shape(), v.Shape())
		}
	}
	t.best.epoch, t.best.accuracy, t.best.state = epoch, accuracy, s
	return nil
}

// RestoreBest sets the variables to their values after the epoch of the
// best validation accuracy (see BestValidation).
func (t *Trainer) RestoreBest() error {
	if t.best.state == nil {
		return errors.New("no best-validation weights: Fit has not finished an epoch")
	}
	return t.SetState(t.best.state)
}

// EvaluateBest is Evaluate with the best-validation weights; the trainer's
// variables are left as they were.
func (t *Trainer) EvaluateBest(d *Dataset) (loss, accuracy float64, err error) {
	current, err := t.State()
	if err != nil {
		return 0, 0, err
	}
	if err := t.RestoreBest(); err != nil {
		return 0, 0, err
	}
	loss, accuracy, err = t.Evaluate(d)
	if restoreErr := t.SetState(current); restoreErr != nil && err == nil {
		err = restoreErr
	}
	return loss, accuracy, err
}

// callTimes keeps the duration of a graph's first call and the mean of the
// later ones.
type callTimes struct {
	first     time.Duration
	rest      time.Duration
	restCount int
}

func (c *callTimes) add(d time.Duration) {
	if c.first == 0 {
		c.first = d
		return
	}
	c.rest += d
	c.restCount++
}

// compile estimates the compile time: the first call minus a later call.
func (c callTimes) compile() float64 {
	if c.restCount == 0 {
		return c.first.Seconds()
	}
	return max(0, (c.first - c.rest/time.Duration(c.restCount)).Seconds())
}

// CompileSeconds estimates the time spent building and compiling the
// training and evaluation graphs (each is compiled once: batches keep one
// shape). It is the first call's time minus the mean of the later calls.
func (t *Trainer) CompileSeconds() float64 { return t.trainCalls.compile() + t.evalCalls.compile() }

// NewTrainer validates cfg and builds (lazily compiled) train and
// evaluation graphs on backend for numInputs features and numClasses
// classes. Weights are drawn from cfg.Seed.
func NewTrainer(backend backends.Backend, cfg Config, numInputs, numClasses int) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if numInputs < 1 || numClasses < 2 {
		return nil, fmt.Errorf("trainer: need >= 1 input and >= 2 classes, got %d and %d", numInputs, numClasses)
	}
	for _, n := range cfg.Network.Nodes {
		if n.Kind == topology.KindInput && cfg.Network.InputFeatures() != numInputs {
			if n.Shape != nil {
				return nil, fmt.Errorf("network input %q takes %d steps of %d features (shape %v), %d features; the data set has %d", n.Name, cfg.Network.Steps, n.Size, n.Shape, cfg.Network.InputFeatures(), numInputs)
			}
			return nil, fmt.Errorf("network input %q has size %d, the data set has %d features", n.Name, n.Size, numInputs)
		}
	}
	if out := cfg.Network.Node(cfg.Network.Output); out.Size != numClasses {
		return nil, fmt.Errorf("network output %q has %d neurons, the data set has %d classes", out.Name, out.Size, numClasses)
	}
	t := &Trainer{cfg: cfg, dtype: dtypes.Float32, ctx: mlctx.New(), numInputs: numInputs, numClasses: numClasses}
	if cfg.DType == "float64" {
		t.dtype = dtypes.Float64
	}
	if err := t.ctx.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("seeding weights: %w", err)
	}
	if cfg.Hardware != nil {
		hw, err := newHardwareLoop(backend, cfg, numInputs)
		if err != nil {
			return nil, err
		}
		t.hw = hw
	}
	opt := newOptimizer(cfg)
	var err error
	t.trainStep, err = mlctx.NewExecAny(backend, t.ctx, func(ctx *mlctx.Context, x, labels, mask *Node) []*Node {
		ctx.SetTraining(x.Graph(), true) // dropout acts in this graph only
		net := t.network(ctx, x)
		out := net.Readout
		perSample := t.perSample(net, labels)
		maskF := ConvertDType(mask, t.dtype)
		n := ReduceAllSum(maskF)
		loss := Div(ReduceAllSum(Mul(perSample, maskF)), n)
		opt.UpdateGraph(ctx, x.Graph(), loss)
		t.applyTuning(x.Graph(), net.Tuned)
		bump := t.bumpWeights(ctx, net, mask)
		if t.hw != nil {
			t.hw.clampWeights(ctx, x.Graph())
		}
		t.updateAverages(ctx, x.Graph())
		correct := snn.CountCorrect(t.cfg.Loss.Predict(out), labels, mask, t.dtype)
		return []*Node{loss, correct, bump.layer, net.Overflow, bump.value, bump.silent, allFinite(ctx, x.Graph(), t.dtype)}
	})
	if err != nil {
		return nil, fmt.Errorf("building train step: %w", err)
	}
	t.evalStep, err = mlctx.NewExecAny(backend, t.ctx, func(ctx *mlctx.Context, x, labels, mask *Node) []*Node {
		ctx = ctx.Reuse()
		// No gradient is taken here: the event layers skip their EventProp
		// terms (same values, a smaller graph to compile and run).
		topology.SetValuesOnly(ctx, x.Graph())
		net := t.network(ctx, x)
		out := net.Readout
		maskF := ConvertDType(mask, t.dtype)
		lossSum := ReduceAllSum(Mul(t.perSample(net, labels), maskF))
		correct := snn.CountCorrect(t.cfg.Loss.Predict(out), labels, mask, t.dtype)
		return []*Node{lossSum, correct}
	})
	if err != nil {
		return nil, fmt.Errorf("building evaluation: %w", err)
	}
	if cfg.Devices > 1 {
		if err := t.distribute(backend, cfg.Devices); err != nil {
			return nil, err
		}
	}
	t.lrVar = optimizers.LearningRateVar(t.ctx, t.dtype, cfg.LearningRate)
	return t, nil
}

// Context holds the network's variables (weights, optimizer state).
func (t *Trainer) Context() *mlctx.Context { return t.ctx }

// network is one forward pass of the configured network, lowered by its
// simulation family.
func (t *Trainer) network(ctx *mlctx.Context, x *Node) topology.Lowered {
	if t.hw != nil {
		return t.hw.lower(ctx, &t.cfg.Network, x)
	}
	return topology.Lower(ctx, &t.cfg.Network, x)
}

// perSample is the configured loss of each sample of a batch, [batch]:
// the loss of the read-out plus the loss's penalty on the populations'
// spikes (the rate regulariser of the trace losses), if any.
func (t *Trainer) perSample(net topology.Lowered, labels *Node) *Node {
	loss := t.cfg.Loss.PerSample(net.Readout, labels)
	spikes := make([]*Node, len(net.Populations))
	for i, p := range net.Populations {
		spikes[i] = p.Spikes
	}
	if penalty := t.cfg.Loss.Penalty(spikes); penalty != nil {
		loss = Add(loss, penalty)
	}
	return loss
}

// bumpResult is what bumpWeights reports of one batch: the bumped layer
// (int32 scalar, -1 for none), the value added to its weights (0 when
// none) and the fraction of silent (sample, neuron) pairs of every layer
// ([layers]).
type bumpResult struct {
	layer, value, silent *Node
}

// bumpWeights is fastAndDeep's check_bump_weights, in the graph: the first
// layer whose fraction of missing spikes exceeds its MaxMissing gets
// BumpValue added to the incoming weights of its silent neurons; the value
// doubles while the same layer needs bumping batch after batch. With
// BumpSkipsStep, as in fastAndDeep, a batch that bumps takes no optimizer
// step: every variable the optimizer changed (weights, Adam's moments and
// step count) keeps its value from before the batch. One graph per batch
// either way, no second forward pass.
func (t *Trainer) bumpWeights(ctx *mlctx.Context, net topology.Lowered, mask *Node) bumpResult {
	c := t.cfg
	g := mask.Graph()
	pops := net.Populations
	bctx := ctx.In("bumping").Checked(false)
	valueVar := bctx.VariableWithValue("value", shapes.CastAsDType(c.BumpValue, t.dtype)).SetTrainable(false)
	lastVar := bctx.VariableWithValue("last_layer", int32(-1)).SetTrainable(false)

	// Frozen weights (trainable: false) are never bumped, and a population
	// whose incoming weights are all frozen is never chosen: bumping could
	// not wake it, and with BumpSkipsStep it would stop training.
	frozen := map[*mlctx.Variable]bool{}
	for _, tv := range net.Tuned {
		if tv.Frozen {
			frozen[tv.Variable] = true
		}
	}
	bumpable := func(l int) bool {
		for _, target := range pops[l].Incoming {
			if !frozen[target.Variable] {
				return true
			}
		}
		return false
	}
	chosen := Const(g, int32(-1))
	missed := make([]*Node, len(pops))
	fracs := make([]*Node, len(pops))
	sampleMask := InsertAxes(mask, 1)
	numSamples := ReduceAllSum(ConvertDType(mask, t.dtype))
	for l := len(pops) - 1; l >= 0; l-- { // reverse, so the first population in order wins
		silent := LogicalAnd(LogicalNot(IsFinite(pops[l].FirstTimes)), sampleMask)
		frac := Div(ReduceAllSum(ConvertDType(silent, t.dtype)), MulScalar(numSamples, float64(pops[l].FirstTimes.Shape().Dim(1))))
		fracs[l] = frac
		missed[l] = ConvertDType(ReduceLogicalOr(silent, 0), t.dtype) // [neurons]
		if bumpable(l) {
			chosen = Where(GreaterThan(frac, Scalar(g, t.dtype, pops[l].MaxMissing)), Const(g, int32(l)), chosen)
		}
	}
	bumped := GreaterOrEqual(chosen, Const(g, int32(0)))
	if c.BumpSkipsStep {
		t.undoUpdates(ctx, g, bumped)
	}
	value := Scalar(g, t.dtype, c.BumpValue)
	if c.BumpDoubling {
		value = Where(Equal(chosen, lastVar.ValueGraph(g)), MulScalar(valueVar.ValueGraph(g), 2), value)
	}
	// anneal is the factor of BumpAnneal on what a bump adds (1 without);
	// the doubling runs on the unscaled value.
	anneal := ScalarOne(g, t.dtype)
	if c.BumpAnneal {
		lr := optimizers.LearningRateVar(ctx, t.dtype, c.LearningRate).ValueGraph(g)
		anneal = DivScalar(ConvertDType(lr, t.dtype), c.LearningRate)
	}
	// deltas[l] is what population l's weights grow by.
	deltas := make([]*Node, len(pops))
	for l := range pops {
		deltas[l] = Where(Equal(chosen, Const(g, int32(l))), value, ZerosLike(value))
	}
	reported := value
	if c.BumpEveryLayer {
		// Each population on its own: its value doubles while it was
		// bumped in the previous batch too.
		valuesVar := bctx.VariableWithValue("values", shapes.CastAsDType(make([]float64, len(pops)), t.dtype)).SetTrainable(false)
		lastBumpedVar := bctx.VariableWithValue("last_bumped", make([]bool, len(pops))).SetTrainable(false)
		values, lastBumped := valuesVar.ValueGraph(g), lastBumpedVar.ValueGraph(g)
		newValues, nowBumped := make([]*Node, len(pops)), make([]*Node, len(pops))
		reported = ZerosLike(value)
		for l := range pops {
			beyond := GreaterThan(fracs[l], Scalar(g, t.dtype, pops[l].MaxMissing))
			v := value
			if c.BumpDoubling {
				v = Where(Slice(lastBumped, AxisElem(l)), MulScalar(Slice(values, AxisElem(l)), 2), Scalar(g, t.dtype, c.BumpValue))
				v = Reshape(v)
			}
			deltas[l] = Where(beyond, v, ZerosLike(v))
			reported = Max(reported, deltas[l])
			newValues[l] = Where(beyond, v, Reshape(Slice(values, AxisElem(l))))
			nowBumped[l] = beyond
		}
		valuesVar.SetValueGraph(Stack(newValues, 0))
		lastBumpedVar.SetValueGraph(Stack(nowBumped, 0))
	}
	for l := range pops {
		delta := Mul(deltas[l], anneal)
		for _, target := range pops[l].Incoming {
			if frozen[target.Variable] {
				continue
			}
			w := target.Variable.ValueGraph(g)
			rows, cols := w.Shape().Dim(0), w.Shape().Dim(1)
			columns := OnesLike(missed[l])
			if c.BumpTargeted {
				columns = missed[l]
			}
			// Place the layer's columns at their offset in the variable.
			n := columns.Shape().Dim(0)
			parts := []*Node{columns}
			if target.Offset > 0 {
				parts = append([]*Node{Zeros(g, shapes.Make(t.dtype, target.Offset))}, parts...)
			}
			if rest := cols - target.Offset - n; rest > 0 {
				parts = append(parts, Zeros(g, shapes.Make(t.dtype, rest)))
			}
			step := Mul(BroadcastToDims(InsertAxes(Concatenate(parts, 0), 0), rows, cols), delta)
			target.Variable.SetValueGraph(Add(w, step))
		}
	}
	valueVar.SetValueGraph(Where(bumped, value, valueVar.ValueGraph(g)))
	lastVar.SetValueGraph(chosen)
	return bumpResult{
		layer:  chosen,
		value:  Where(bumped, Mul(reported, anneal), ZerosLike(value)),
		silent: Stack(fracs, 0),
	}
}

// undoUpdates makes every variable changed so far in g keep, where skip is
// true, the value it had before the graph ran (its parameter node).
func (t *Trainer) undoUpdates(ctx *mlctx.Context, g *Graph, skip *Node) {
	for v := range ctx.IterVariables() {
		if !v.ChangedInGraph(g) {
			continue
		}
		before := g.GetParameterByName(v.ParameterName())
		v.SetValueGraph(Where(skip, before, v.ValueGraph(g)))
	}
}

// allFinite is 1 when every trainable variable's new value in g is finite,
// else 0, so that a run stops at the batch that broke the weights.
func allFinite(ctx *mlctx.Context, g *Graph, dtype dtypes.DType) *Node {
	ok := Const(g, true)
	for v := range ctx.IterVariables() {
		if v.Trainable && v.Shape().DType.IsFloat() {
			ok = LogicalAnd(ok, ReduceLogicalAnd(IsFinite(v.ValueGraph(g))))
		}
	}
	return ConvertDType(ok, dtype)
}

// distribute makes both steps data-parallel over the first `devices`
// devices of the backend: batches are sharded along their first axis, the
// variables (weights, optimizer state) and the outputs are replicated. The
// graphs are written for one device; XLA's sharding propagation (Shardy,
// GoMLX's AutoSharding strategy) partitions them and adds the all-reduces
// of the gradients and of the batch sums.
func (t *Trainer) distribute(backend backends.Backend, devices int) error {
	if n := backend.NumDevices(); n < devices {
		return fmt.Errorf("devices: backend %s has %d device(s), %d asked for (data-parallel training needs the xla backend)", backend.Name(), n, devices)
	}
	mesh, err := distributed.NewDeviceMesh([]int{devices}, []string{"batch"})
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	t.batchSpec, err = distributed.BuildSpec(mesh).S("batch").Done()
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	replicated := distributed.NewReplicatedShardingSpec(mesh)
	for _, e := range []**mlctx.Exec{&t.trainStep, &t.evalStep} {
		*e = (*e).AutoSharding(mesh).WithInputShardingSpecs(t.batchSpec, t.batchSpec, t.batchSpec).WithOutputShardingSpecs(replicated)
		if err := (*e).SetDefaultShardingSpec(replicated); err != nil {
			return fmt.Errorf("devices: %w", err)
		}
	}
	return nil
}

// run executes a step on one batch, on one device or split across the
// devices of a data-parallel run (whose outputs are replicated: each is
// read from the first device).
func (t *Trainer) run(e *mlctx.Exec, bt batch) ([]*tensors.Tensor, error) {
	if t.hw != nil {
		var err error
		if bt, err = t.hw.observe(t, bt); err != nil {
			return nil, err
		}
	}
	if t.batchSpec == nil {
		return e.Exec(bt.x, bt.labels, bt.mask)
	}
	inputs := make([]any, 3)
	for i, x := range []*tensors.Tensor{bt.x, bt.labels, bt.mask} {
		sharded, err := distributed.ShardTensor(t.batchSpec, x)
		if err != nil {
			return nil, fmt.Errorf("sharding batch input %d %s: %w", i, x.Shape(), err)
		}
		inputs[i] = sharded
	}
	outs, err := e.DistributedExec(inputs...)
	if err != nil {
		return nil, err
	}
	merged := make([]*tensors.Tensor, len(outs))
	for i, o := range outs {
		merged[i] = o.Shards()[0]
	}
	return merged, nil
}

// batch is one fixed-size mini-batch; the padding rows of a short last batch
// have mask false, so every batch has one shape and the graphs compile once.
type batch struct {
	x, labels, mask *tensors.Tensor
	n               int
}

func (t *Trainer) makeBatch(d *Dataset, indices []int, size int) batch {
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

func (t *Trainer) checkData(d *Dataset, role string) error {
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

// Fit trains for cfg.Epochs epochs starting at epoch `start` (0 for a fresh
// run), evaluating on val after each epoch. It stops with an error when the
// loss or the weights stop being finite, and when ctx is cancelled (the
// metrics of the finished epochs are returned in both cases).
func (t *Trainer) Fit(ctx context.Context, trainSet, val *Dataset, start int, hooks Hooks) ([]EpochMetrics, error) {
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
		var lossSum, correct, maxBump float64
		seen, bumps, overflow := 0, 0, 0
		var losses []float64
		silent := make([]float64, c.NumPopulations())
		for b := range numBatches {
			if err := ctx.Err(); err != nil {
				return history, fmt.Errorf("epoch %d interrupted: %w", epoch+1, err)
			}
			idx := order[b*c.BatchSize : min((b+1)*c.BatchSize, len(order))]
			bt := t.makeBatch(trainSet, idx, c.BatchSize)
			called := time.Now()
			outs, err := t.run(t.trainStep, bt)
			t.trainCalls.add(time.Since(called))
			if err != nil {
				return history, fmt.Errorf("epoch %d batch %d: %w", epoch+1, b+1, err)
			}
			loss := scalarValue(outs[0])
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				where := "the weights are still finite"
				if err := t.checkWeights(); err != nil {
					where = err.Error()
				}
				return history, fmt.Errorf("epoch %d batch %d: training loss is %g (%s): stopped; the last checkpoint holds the last good weights (lower learning_rate?)", epoch+1, b+1, loss, where)
			}
			if scalarValue(outs[6]) == 0 {
				where := "a weight"
				if err := t.checkWeights(); err != nil {
					where = err.Error()
				}
				return history, fmt.Errorf("epoch %d batch %d: after the update, %s: stopped; the last checkpoint holds the last good weights (lower learning_rate?)", epoch+1, b+1, where)
			}
			lossSum += loss * float64(bt.n)
			correct += scalarValue(outs[1])
			bumped := int(scalarValue(outs[2]))
			if bumped >= 0 {
				bumps++
			}
			overflow += int(scalarValue(outs[3]))
			bumpValue := scalarValue(outs[4])
			maxBump = max(maxBump, bumpValue)
			batchSilent := flatFloat64(outs[5])
			for l, f := range batchSilent {
				silent[l] += f * float64(bt.n)
			}
			losses = append(losses, loss)
			seen += bt.n
			if b == numBatches/2 {
				crashPoint("mid-epoch", epoch+1)
			}
			if hooks.OnBatch != nil {
				spe := 0.0
				if epoch > start {
					spe = spentSeconds / float64(epoch-start)
				}
				hooks.OnBatch(Progress{Epoch: epoch + 1, Epochs: c.Epochs, Batch: b + 1, Batches: numBatches,
					Loss: lossSum / float64(seen), Accuracy: correct / float64(seen), LearningRate: lr,
					BumpedLayer: bumped, BumpValue: bumpValue, BatchLoss: loss, Silent: batchSilent,
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
			ValLoss: valLoss, ValAccuracy: valAcc, LearningRate: lr, Bumps: bumps, MaxBumpValue: maxBump,
			Overflow: overflow, Seconds: seconds, Silent: silent}
		m.TrainLossMin, m.TrainLossMax, m.TrainLossStd = spread(losses)
		if t.hw != nil {
			clipped := t.hw.epochClipped
			m.ClippedWeights = &clipped
			t.hw.epochClipped = 0
		}
		for l := range m.Silent {
			m.Silent[l] /= float64(seen)
		}
		if m.Monitor, err = t.monitorStats(); err != nil {
			return history, fmt.Errorf("after epoch %d: %w", epoch+1, err)
		}
		if t.best.state == nil || valAcc > t.best.accuracy {
			state, err := t.State()
			if err != nil {
				return history, fmt.Errorf("keeping the weights of epoch %d: %w", epoch+1, err)
			}
			t.best.epoch, t.best.accuracy, t.best.state = epoch+1, valAcc, state
		}
		history = append(history, m)
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(m)
		}
	}
	return history, nil
}

// spread returns the minimum, maximum and (population) standard deviation
// of xs.
func spread(xs []float64) (lo, hi, std float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	lo, hi = slices.Min(xs), slices.Max(xs)
	var mean float64
	for _, x := range xs {
		mean += x / float64(len(xs))
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean) / float64(len(xs))
	}
	return lo, hi, math.Sqrt(std)
}

// Evaluate returns the mean loss and the accuracy on d, of the averaged
// weights when Config.WeightAverage is set.
func (t *Trainer) Evaluate(d *Dataset) (loss, accuracy float64, err error) {
	if err := t.checkData(d, "evaluation"); err != nil {
		return 0, 0, err
	}
	err = t.withAverages(func() error {
		loss, accuracy, err = t.evaluate(d)
		return err
	})
	return loss, accuracy, err
}

// evaluate is Evaluate with the variables as they are.
func (t *Trainer) evaluate(d *Dataset) (loss, accuracy float64, err error) {
	size := t.cfg.EvalBatchSize
	var lossSum, correct float64
	for start := 0; start < d.Size(); start += size {
		idx := make([]int, 0, size)
		for i := start; i < min(start+size, d.Size()); i++ {
			idx = append(idx, i)
		}
		bt := t.makeBatch(d, idx, size)
		called := time.Now()
		outs, err := t.run(t.evalStep, bt)
		t.evalCalls.add(time.Since(called))
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
func (t *Trainer) checkWeights() error {
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
			return fmt.Errorf("variable %s (node %s) holds NaN or Inf", v.ScopeAndName(), strings.Trim(v.Scope(), "/"))
		}
	}
	return nil
}
