package train

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gosnn/gosnn/snn"
)

// Config is one training experiment: network, neuron, loss and optimizer
// settings. Its JSON form is written into every results folder, so that the
// run can be repeated from the folder alone.
type Config struct {
	Task   string `json:"task"`
	Method string `json:"method"`
	Seed   int64  `json:"seed"`
	DType  string `json:"dtype"`

	Epochs        int       `json:"epochs"`
	BatchSize     int       `json:"batch_size"`
	EvalBatchSize int       `json:"eval_batch_size"`
	LearningRate  float64   `json:"learning_rate"`
	LRStepSize    int       `json:"lr_step_size"`
	LRGamma       float64   `json:"lr_gamma"`
	Hidden        []int     `json:"hidden"`
	WeightMeans   []float64 `json:"weight_means"`
	WeightStds    []float64 `json:"weight_stds"`
	BiasTime      float64   `json:"bias_time"`

	Neuron      snn.LIF      `json:"neuron"`
	Encoding    snn.Latency  `json:"encoding"`
	Loss        snn.TTFSLoss `json:"loss"`
	MaxGradNorm float64      `json:"max_grad_norm"`

	// Capacities holds, for the event-based methods, the number of output
	// spikes each layer records per sample (hidden layers, then the output
	// layer); the recurrent method uses their sum for its single layer.
	Capacities []int `json:"capacities,omitempty"`

	// Weight bumping (fastAndDeep): after a batch in which more than
	// MaxMissing[l] of layer l's spikes were missing, the incoming weights
	// of that layer's silent neurons (all neurons if not targeted) grow by
	// BumpValue, doubled while the same layer needs it batch after batch.
	MaxMissing   []float64 `json:"max_missing"`
	BumpValue    float64   `json:"bump_value"`
	BumpDoubling bool      `json:"bump_doubling"`
	BumpTargeted bool      `json:"bump_targeted"`
	// BumpSkipsStep makes a batch that bumps take no optimizer step (its
	// weights, Adam moments and step count stay as they were), as
	// fastAndDeep's training loop does: the bump alone moves the weights.
	BumpSkipsStep bool `json:"bump_skips_step"`

	// Devices > 1 trains data-parallel: every batch is split across that
	// many devices of the backend (XLA), the weights are replicated, and
	// XLA's sharding propagation (GoMLX AutoSharding) inserts the
	// cross-device sums. 0 and 1 mean one device. Batch sizes must be
	// multiples of it.
	Devices int `json:"devices,omitempty"`
}

// The training methods.
const (
	// MethodTTFS: closed-form first-spike layers, one spike per neuron
	// (Göltz et al. 2021), as in fastAndDeep.
	MethodTTFS = "ttfs"
	// MethodEventProp: stacked feed-forward event-based layers whose
	// neurons may spike many times, with EventProp gradients.
	MethodEventProp = "eventprop"
	// MethodEventPropRecurrent: one recurrent event-based layer whose
	// connectivity emulates the stacked network (jaxsnn's
	// yinyang_event_prop).
	MethodEventPropRecurrent = "eventprop-recurrent"
)

// Methods lists the training methods.
var Methods = []string{MethodTTFS, MethodEventProp, MethodEventPropRecurrent}

// DefaultYinYang returns gosnn's Yin-Yang recipe: fastAndDeep's
// yin_yang.yaml with its original TTFS loss (ξ = 0.2, α = 0.005, β = 1),
// 4 inputs + bias -> 120 hidden + bias -> 3 outputs, Adam with learning
// rate 0.005 decayed by 0.95 every 20 epochs, batch 150, except for the
// weight bumping: every batch takes its optimizer step (one graph per
// batch) and the bump value is the learning rate, 0.005, ten times
// fastAndDeep's. Adam moves each weight by about the learning rate per
// step whatever the gradient's size, and the TTFS loss keeps pushing
// wrong-class output neurons towards silence; a bump ten times smaller
// than that step loses (measured on xla:cpu, seed 1, epochs 10-60: with
// 0.0005, 5.7 % of the output (sample, neuron) pairs silent on average,
// 15.8 % at worst, and epoch training losses up to 1.63, from samples
// whose correct neuron fell silent (loss 100 each); with 0.005, 0.6 %,
// 1.5 % and 0.40). FastAndDeepYinYang is the paper's recipe.
func DefaultYinYang() Config {
	cfg := FastAndDeepYinYang()
	cfg.BumpValue = 0.005
	cfg.BumpSkipsStep = false
	return cfg
}

// FastAndDeepYinYang returns fastAndDeep's yin_yang.yaml exactly, with its
// original TTFS loss: DefaultYinYang's network and optimizer, weight
// bumping by 0.0005 (doubling while the same layer keeps needing it) and,
// as in fastAndDeep's training loop, no optimizer step in a batch that
// bumps.
func FastAndDeepYinYang() Config {
	return Config{
		Task: "yinyang", Method: "ttfs", Seed: 1, DType: "float32",
		Epochs: 300, BatchSize: 150, EvalBatchSize: 200,
		LearningRate: 0.005, LRStepSize: 20, LRGamma: 0.95,
		Hidden:      []int{120},
		WeightMeans: []float64{1.5, 0.5}, WeightStds: []float64{0.8, 0.8},
		BiasTime:    0.9,
		Neuron:      snn.FastAndDeepLIF(),
		Encoding:    snn.Latency{Early: 0.15, Late: 2.0},
		Loss:        snn.FastAndDeepTTFSLoss(),
		MaxGradNorm: 0.2,
		MaxMissing:  []float64{0.3, 0.0},
		BumpValue:   0.0005, BumpDoubling: true, BumpTargeted: true, BumpSkipsStep: true,
	}
}

// EventPropDefaults returns cfg set up for an event-based method
// (cfg.Method): the same network, data, loss and optimizer as the TTFS
// defaults, and, as in jaxsnn's yinyang_event_prop, a reset potential far
// below threshold (-1000) with capacity for one spike per neuron, so every
// spike is kept (no overflow). With Neuron.Reset = 0 and larger
// Capacities, neurons spike many times. max_dw_norm is a TTFS-only setting
// and is switched off.
func EventPropDefaults(cfg Config) Config {
	cfg.Neuron.Reset = -1000
	cfg.MaxGradNorm = 0
	cfg.Capacities = append(slices.Clone(cfg.Hidden), yinYangClasses)
	return cfg
}

// NumLayers counts the weight layers (hidden layers plus the output layer).
func (c Config) NumLayers() int { return len(c.Hidden) + 1 }

// Validate names every field with an unusable value.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !slices.Contains(Methods, c.Method) {
		add("method must be one of %v, got %q", Methods, c.Method)
	}
	if c.Method == MethodEventProp || c.Method == MethodEventPropRecurrent {
		if len(c.Capacities) != c.NumLayers() {
			add("capacities needs %d entries (one per layer) for method %s, got %d", c.NumLayers(), c.Method, len(c.Capacities))
		}
		for i, k := range c.Capacities {
			if k < 1 {
				add("capacities[%d] must be >= 1, got %d", i, k)
			}
		}
		if c.Method == MethodEventPropRecurrent && len(c.Hidden) != 1 {
			add("method %s emulates one hidden layer, got hidden %v", c.Method, c.Hidden)
		}
	}
	if c.Epochs < 1 {
		add("epochs must be >= 1, got %d", c.Epochs)
	}
	if c.BatchSize < 1 {
		add("batch_size must be >= 1, got %d", c.BatchSize)
	}
	if c.EvalBatchSize < 1 {
		add("eval_batch_size must be >= 1, got %d", c.EvalBatchSize)
	}
	if c.Devices < 0 {
		add("devices must be >= 0, got %d", c.Devices)
	} else if c.Devices > 1 && (c.BatchSize%c.Devices != 0 || c.EvalBatchSize%c.Devices != 0) {
		add("batch_size (%d) and eval_batch_size (%d) must be multiples of devices (%d)", c.BatchSize, c.EvalBatchSize, c.Devices)
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		add("learning_rate must be a positive finite number, got %g", c.LearningRate)
	}
	if c.LRStepSize < 1 {
		add("lr_step_size must be >= 1, got %d", c.LRStepSize)
	}
	if !(c.LRGamma > 0 && c.LRGamma <= 1) {
		add("lr_gamma must be in (0, 1], got %g", c.LRGamma)
	}
	if c.DType != "float32" && c.DType != "float64" {
		add("dtype must be float32 or float64, got %q", c.DType)
	}
	for i, n := range c.Hidden {
		if n < 1 {
			add("hidden[%d] must be >= 1, got %d", i, n)
		}
	}
	if len(c.WeightMeans) != c.NumLayers() || len(c.WeightStds) != c.NumLayers() {
		add("weight_means and weight_stds need %d entries (one per layer), got %d and %d",
			c.NumLayers(), len(c.WeightMeans), len(c.WeightStds))
	}
	for i, s := range c.WeightStds {
		if !(s >= 0) {
			add("weight_stds[%d] must be >= 0, got %g", i, s)
		}
	}
	if len(c.MaxMissing) != c.NumLayers() {
		add("max_missing needs %d entries (one per layer), got %d", c.NumLayers(), len(c.MaxMissing))
	}
	if !(c.BumpValue >= 0) {
		add("bump_value must be >= 0, got %g", c.BumpValue)
	}
	if math.IsNaN(c.BiasTime) || math.IsInf(c.BiasTime, 0) || c.BiasTime < 0 {
		add("bias_time must be finite and >= 0, got %g", c.BiasTime)
	}
	for _, err := range []error{c.Neuron.Validate(), c.Encoding.Validate(), c.Loss.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	return nil
}
