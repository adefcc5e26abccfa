package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// Config is one training experiment: data, network, loss, optimizer and
// schedule, save points, backend. It is what a YAML config file holds
// (ReadConfig), and its YAML form is written into every results folder as
// config.yaml, so that the run can be repeated and continued from the
// folder alone. The trainer knows no network by name: everything about
// the network is in Network.
type Config struct {
	// Name names the experiment; results go to <out>/<name>_<timestamp>.
	Name string `json:"name" yaml:"name"`
	// Data is the data set: "yinyang" (generated), "mnist" (read from
	// the IDX files in DataDir) or "nmnist" (the event files of DataDir's
	// train/ and test/ folders, binned into frames).
	Data string `json:"data" yaml:"data"`
	// DataDir is the folder of a data set read from files (mnist, nmnist);
	// gosnn downloads nothing.
	DataDir string `json:"data_dir,omitempty" yaml:"data_dir,omitempty"`
	// FrameUS is the duration in microseconds of one frame of an event
	// data set (nmnist): each sample's events are counted in network.steps
	// frames of FrameUS, and events after the last frame are left out.
	FrameUS float64 `json:"frame_us,omitempty" yaml:"frame_us,omitempty"`

	Seed  int64  `json:"seed" yaml:"seed"`
	DType string `json:"dtype" yaml:"dtype"`
	// Backend is the computation backend ("go", "xla:cpu", ...); empty
	// means $GOMLX_BACKEND, else the pure-Go backend.
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"`
	// Devices > 1 trains data-parallel: every batch is split across that
	// many devices of the backend (XLA), the weights are replicated, and
	// XLA's sharding propagation (GoMLX AutoSharding) inserts the
	// cross-device sums. 0 and 1 mean one device. Batch sizes must be
	// multiples of it.
	Devices int `json:"devices,omitempty" yaml:"devices,omitempty"`

	Epochs        int `json:"epochs" yaml:"epochs"`
	BatchSize     int `json:"batch_size" yaml:"batch_size"`
	EvalBatchSize int `json:"eval_batch_size" yaml:"eval_batch_size"`

	// Sizes of the data set's splits; 0 keeps the data set's reference
	// size (Yin-Yang: 5000 training, 1000 validation, 1000 test samples).
	// jaxsnn's examples train on 4992 and test on 2944 after every epoch.
	TrainSize int `json:"train_size,omitempty" yaml:"train_size,omitempty"`
	ValSize   int `json:"val_size,omitempty" yaml:"val_size,omitempty"`
	TestSize  int `json:"test_size,omitempty" yaml:"test_size,omitempty"`

	// Optimizer is "adam" (GoMLX's Adam with its default betas).
	Optimizer    string  `json:"optimizer" yaml:"optimizer"`
	LearningRate float64 `json:"learning_rate" yaml:"learning_rate"`
	// AdamEpsilon is Adam's epsilon, the term added to the root of the
	// second moment before dividing by it (0: GoMLX's default, 1e-7).
	// A spiking layer's gradient component is zero in the many batches
	// where its neuron's spike does not change the loss; Adam's second
	// moment then decays, and the next non-zero gradient takes a step of
	// several times the learning rate. An epsilon near the gradients' own
	// scale bounds those steps.
	AdamEpsilon float64 `json:"adam_epsilon,omitempty" yaml:"adam_epsilon,omitempty"`
	// WeightAverage, when in (0, 1), keeps an exponential moving average
	// of every trainable variable over the training steps with this decay
	// (Polyak averaging; 0.99 averages over ~100 steps), and evaluates,
	// checkpoints and reports the averaged network: validation and test
	// accuracy, weights.json, inference. Training continues from the
	// optimizer's own weights. At a large learning rate single steps move
	// the network by several points of accuracy and back (issue 17); their
	// average does not swing.
	WeightAverage float64 `json:"weight_average,omitempty" yaml:"weight_average,omitempty"`
	// GradScale and GradClip transform the gradient before the optimizer
	// sees it, as jaxsnn's optax.chain(scale(1/tau_syn), clip(0.01), adam):
	// every gradient component is multiplied by GradScale (0: 1), then
	// clipped to [-GradClip, GradClip] (0: no clipping).
	GradScale float64 `json:"grad_scale,omitempty" yaml:"grad_scale,omitempty"`
	GradClip  float64 `json:"grad_clip,omitempty" yaml:"grad_clip,omitempty"`
	// LRSchedule is "step" (the default: StepLR, the learning rate is
	// multiplied by LRGamma every LRStepSize epochs) or "cosine" (cosine
	// annealing from LearningRate at the first epoch to LRMin at the last,
	// Loshchilov & Hutter 2017, SGDR, without restarts: the final epochs
	// take small steps, so the final-epoch weights do not depend on where
	// a large last step happened to land).
	LRSchedule string  `json:"lr_schedule,omitempty" yaml:"lr_schedule,omitempty"`
	LRMin      float64 `json:"lr_min,omitempty" yaml:"lr_min,omitempty"`
	LRStepSize int     `json:"lr_step_size" yaml:"lr_step_size"`
	LRGamma    float64 `json:"lr_gamma" yaml:"lr_gamma"`

	Network topology.Network `json:"network" yaml:"network"`
	// Loss is the TTFS cross-entropy (fastAndDeep; kind ttfs, the default)
	// or jaxsnn's MSE on first-spike times (kind mse).
	Loss snn.Loss `json:"loss" yaml:"loss"`

	// Weight bumping (fastAndDeep): after a batch in which more than
	// MaxMissing of a population's first spikes were missing, the incoming
	// weights of its silent neurons (all neurons if not targeted) grow by
	// BumpValue, doubled while the same population needs it batch after
	// batch.
	BumpValue    float64 `json:"bump_value" yaml:"bump_value"`
	BumpDoubling bool    `json:"bump_doubling" yaml:"bump_doubling"`
	BumpTargeted bool    `json:"bump_targeted" yaml:"bump_targeted"`
	// BumpSkipsStep makes a batch that bumps take no optimizer step (its
	// weights, Adam moments and step count stay as they were), as
	// fastAndDeep's training loop does: the bump alone moves the weights.
	BumpSkipsStep bool `json:"bump_skips_step,omitempty" yaml:"bump_skips_step,omitempty"`
	// BumpEveryLayer bumps, in one batch, every population beyond its
	// MaxMissing, each by its own value (doubled while that population
	// needs it batch after batch), instead of the first one only
	// (fastAndDeep). With the first only, a hidden layer that sits at its
	// MaxMissing takes nearly every bump and starves the output's: with
	// the chip in the loop (issue 16, 120 hidden) 5 % of the output spikes
	// stayed missing for 40 epochs while every batch bumped the hidden
	// layer.
	BumpEveryLayer bool `json:"bump_every_layer,omitempty" yaml:"bump_every_layer,omitempty"`
	// BumpAnneal scales the bump value by the learning rate's schedule
	// (value x lr / learning_rate), so that bumps fade with the steps and
	// the final epochs are not moved by bumps alone. Without it, at the end
	// of a cosine schedule the bumps of an output that falls silent for a
	// few samples (max_missing 0) moved its weights more than Adam's steps
	// did (issue 16: 20 bumps of 5e-4 per epoch against 79 steps of 1e-4).
	BumpAnneal bool `json:"bump_anneal,omitempty" yaml:"bump_anneal,omitempty"`

	// SavePoints are the epochs whose checkpoints are kept (inference and
	// continue can start from them); the final epoch is always kept, and
	// save points after the last epoch are never reached.
	SavePoints []int `json:"save_points,omitempty" yaml:"save_points,omitempty,flow"`
	// CheckpointEvery is how often (in epochs) the resume checkpoint is
	// rewritten, so that a killed run loses at most that many epochs
	// (0: every epoch).
	CheckpointEvery int `json:"checkpoint_every,omitempty" yaml:"checkpoint_every,omitempty"`

	// Hardware, when set, trains with the BrainScaleS-2 chip or its mock
	// in the loop (see HardwareConfig).
	Hardware *HardwareConfig `json:"hardware,omitempty" yaml:"hardware,omitempty"`
}

// Data sets known to the trainer.
var DataSets = []string{"yinyang", "mnist", "nmnist"}

// Optimizers known to the trainer.
var Optimizers = []string{"adam"}

// Validate names every field with an unusable value; each error is a
// *topology.FieldError whose Path is the YAML key.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &topology.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Name == "" || strings.ContainsAny(c.Name, "/\\ \t") {
		add("name", "must be a non-empty name without '/' or spaces, got %q", c.Name)
	}
	if !slices.Contains(DataSets, c.Data) {
		add("data", "must be one of %v, got %q", DataSets, c.Data)
	}
	if c.Data == "nmnist" {
		errs = append(errs, c.validateNMNIST()...)
	} else if c.FrameUS != 0 {
		add("frame_us", "used only by event data sets (data: nmnist), not by %q", c.Data)
	}
	if c.Epochs < 1 {
		add("epochs", "must be >= 1, got %d", c.Epochs)
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be >= 1, got %d", c.BatchSize)
	}
	if c.EvalBatchSize < 1 {
		add("eval_batch_size", "must be >= 1, got %d", c.EvalBatchSize)
	}
	if c.Devices < 0 {
		add("devices", "must be >= 0, got %d", c.Devices)
	} else if c.Devices > 1 && (c.BatchSize%c.Devices != 0 || c.EvalBatchSize%c.Devices != 0) {
		add("devices", "batch_size (%d) and eval_batch_size (%d) must be multiples of devices (%d)", c.BatchSize, c.EvalBatchSize, c.Devices)
	}
	if !slices.Contains(Optimizers, c.Optimizer) {
		add("optimizer", "must be one of %v, got %q", Optimizers, c.Optimizer)
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		add("learning_rate", "must be a positive finite number, got %g", c.LearningRate)
	}
	if !(c.WeightAverage >= 0 && c.WeightAverage < 1) {
		add("weight_average", "must be a decay in [0, 1) (0: no averaging), got %g", c.WeightAverage)
	}
	if c.AdamEpsilon < 0 || math.IsNaN(c.AdamEpsilon) || math.IsInf(c.AdamEpsilon, 0) {
		add("adam_epsilon", "must be a finite number >= 0, got %g", c.AdamEpsilon)
	}
	if c.LRStepSize < 1 {
		add("lr_step_size", "must be >= 1, got %d", c.LRStepSize)
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"train_size", c.TrainSize}, {"val_size", c.ValSize}, {"test_size", c.TestSize}} {
		if f.v < 0 {
			add(f.key, "must be >= 0 (0: the data set's reference size), got %d", f.v)
		}
	}
	if !(c.GradScale >= 0) || math.IsInf(c.GradScale, 0) {
		add("grad_scale", "must be >= 0 and finite (0: no scaling), got %g", c.GradScale)
	}
	if !(c.GradClip >= 0) || math.IsInf(c.GradClip, 0) {
		add("grad_clip", "must be >= 0 and finite (0: no clipping), got %g", c.GradClip)
	}
	if !(c.LRGamma > 0 && c.LRGamma <= 1) {
		add("lr_gamma", "must be in (0, 1], got %g", c.LRGamma)
	}
	if !slices.Contains(LRSchedules, c.LRSchedule) {
		add("lr_schedule", "must be one of %q, got %q", LRSchedules[1:], c.LRSchedule)
	}
	if !(c.LRMin >= 0 && c.LRMin <= c.LearningRate) {
		add("lr_min", "must be in [0, learning_rate = %g], got %g", c.LearningRate, c.LRMin)
	}
	if c.DType != "float32" && c.DType != "float64" {
		add("dtype", "must be float32 or float64, got %q", c.DType)
	}
	if !(c.BumpValue >= 0) || math.IsInf(c.BumpValue, 0) {
		add("bump_value", "must be >= 0 and finite, got %g", c.BumpValue)
	}
	for i, e := range c.SavePoints {
		if e < 1 {
			add(fmt.Sprintf("save_points[%d]", i), "must be an epoch >= 1, got %d", e)
		}
	}
	if c.CheckpointEvery < 0 {
		add("checkpoint_every", "must be >= 0, got %d", c.CheckpointEvery)
	}
	if err := c.Loss.Validate(); err != nil {
		add("loss", "%v", err)
	}
	if err := c.Network.Validate("network"); err != nil {
		errs = append(errs, unjoin(err)...)
	} else if discrete := c.Network.Family() == topology.FamilyDiscrete; discrete != c.Loss.IsTrace() {
		if discrete {
			add("loss.kind", "a network of discrete populations has a read-out over time: the loss kind must be one of %s, %s, %s, got %q", snn.LossMaxOverTime, snn.LossSpikeCount, snn.LossMeanMembrane, c.Loss.Kind)
		} else {
			add("loss.kind", "%q reads a discrete network's trace; this network's read-out is first-spike times (kinds %s, %s)", c.Loss.Kind, snn.LossTTFS, snn.LossMSE)
		}
	}
	if c.Hardware != nil {
		errs = append(errs, c.Hardware.validate(c)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	return nil
}

// unjoin flattens an errors.Join.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// LRSchedules are the learning-rate schedules ("" is "step").
var LRSchedules = []string{"", "step", "cosine"}

// LearningRateAt is the learning rate of an epoch (0-based): StepLR,
// lr * gamma^(epoch / step size), or cosine annealing,
// lr_min + (lr - lr_min) (1 + cos(pi epoch / (epochs - 1))) / 2.
func (c Config) LearningRateAt(epoch int) float64 {
	if c.LRSchedule == "cosine" {
		if c.Epochs <= 1 {
			return c.LearningRate
		}
		phase := math.Pi * float64(min(epoch, c.Epochs-1)) / float64(c.Epochs-1)
		return c.LRMin + (c.LearningRate-c.LRMin)*(1+math.Cos(phase))/2
	}
	return c.LearningRate * math.Pow(c.LRGamma, float64(epoch/c.LRStepSize))
}

// Population returns the network's population node of that name, or an
// error naming what is there instead; command-line shortcuts (--hidden,
// --capacity) use it to reach the nodes of the shipped configs.
func (c *Config) Population(name string) (*topology.Node, error) {
	n := c.Network.Node(name)
	if n == nil || !topology.IsPopulation(n.Kind) {
		return nil, fmt.Errorf("the network of config %q has no population named %q", c.Name, name)
	}
	return n, nil
}

// NumPopulations counts the network's neuron populations (the layers of
// the per-population metrics, in node order).
func (c Config) NumPopulations() int {
	n := 0
	for _, node := range c.Network.Nodes {
		if topology.IsPopulation(node.Kind) {
			n++
		}
	}
	return n
}
