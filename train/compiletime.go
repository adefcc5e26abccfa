package train

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
)

// CompileTiming is what MeasureCompile measured of one config: the time
// the first call of its training step and of its evaluation step spent
// beyond a steady-state call (building the graph and compiling it), the
// steady-state call times, and from those an estimate of one epoch
// (training batches plus the validation pass, as Fit runs it).
type CompileTiming struct {
	TrainCompileSeconds float64 `json:"train_compile_seconds"` // first training call minus the median later one
	EvalCompileSeconds  float64 `json:"eval_compile_seconds"`  // the same for the evaluation step
	TrainStepSeconds    float64 `json:"train_step_seconds"`    // median of the later training calls
	EvalStepSeconds     float64 `json:"eval_step_seconds"`     // median of the later evaluation calls
	// The same compile estimates in CPU time of the whole process (user +
	// system, all threads): on a shared machine they depend far less on
	// the other processes than the wall times. 0 where not measured.
	TrainCompileCPUSeconds float64 `json:"train_compile_cpu_seconds"`
	EvalCompileCPUSeconds  float64 `json:"eval_compile_cpu_seconds"`
	TrainStepCPUSeconds    float64 `json:"train_step_cpu_seconds"` // median CPU time of the later calls
	EvalStepCPUSeconds     float64 `json:"eval_step_cpu_seconds"`
	TrainBatches           int     `json:"train_batches"` // batches of one epoch
	EvalBatches            int     `json:"eval_batches"`  // batches of one validation pass
	EpochSeconds           float64 `json:"epoch_seconds_estimate"`
	// Synthetic is true when the config's data set could not be read (MNIST
	// or N-MNIST without its files): the graphs are timed on random
	// features of the same shape, which costs the same to compile and, for
	// these fixed-step graphs, about the same to run.
	Synthetic bool `json:"synthetic_data,omitempty"`
}

// CompileSeconds is the training and evaluation graphs' compile time.
func (c CompileTiming) CompileSeconds() float64 { return c.TrainCompileSeconds + c.EvalCompileSeconds }

// MeasureCompile builds a trainer of cfg on backend and times calls of its
// training step (on one batch of the config's training set) and of its
// evaluation step (one batch of its validation set): the first call of
// each builds and compiles its graph, the `repeats` later ones (>= 1) run
// the compiled graph. Nothing is written anywhere.
func MeasureCompile(backend backends.Backend, cfg Config, repeats int) (CompileTiming, error) {
	var ct CompileTiming
	if repeats < 1 {
		return ct, fmt.Errorf("compile timing: repeats must be >= 1, got %d", repeats)
	}
	trainSet, val, _, err := Splits(cfg)
	trainSize, valSize := 0, 0
	if err == nil {
		trainSize, valSize = trainSet.Size(), val.Size()
	} else {
		// The user's files are missing: one batch of each of the same
		// shapes, random values (the epoch estimate counts the data set's
		// own sizes, MNIST's and N-MNIST's 60000 and 10000).
		features := 784
		switch cfg.Data {
		case "mnist":
		case "nmnist":
			features = cfg.Network.InputFeatures() // the network's frames
		default:
			return ct, err
		}
		trainSize, valSize = 60000, 10000
		trainSet = syntheticSet(cfg.Data+"-synthetic", cfg.BatchSize, features, 10)
		val = syntheticSet(cfg.Data+"-synthetic", cfg.EvalBatchSize, features, 10)
		ct.Synthetic = true
	}
	trainer, err := NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	if err != nil {
		return ct, err
	}
	ct.TrainBatches = (trainSize + cfg.BatchSize - 1) / cfg.BatchSize
	ct.EvalBatches = (valSize + cfg.EvalBatchSize - 1) / cfg.EvalBatchSize
	timeCalls := func(d *Dataset, size int, train bool) (compile, step, compileCPU, stepCPU float64, err error) {
		idx := make([]int, min(size, d.Size()))
		for i := range idx {
			idx[i] = i
		}
		bt := trainer.makeBatch(d, idx, size)
		exec := trainer.evalStep
		if train {
			exec = trainer.trainStep
		}
		times := make([]float64, repeats+1)
		cpus := make([]float64, repeats+1)
		for i := range times {
			called, cpu := time.Now(), processCPU()
			if _, err := trainer.run(exec, bt); err != nil {
				return 0, 0, 0, 0, err
			}
			times[i] = time.Since(called).Seconds()
			cpus[i] = (processCPU() - cpu).Seconds()
		}
		median := func(xs []float64) float64 {
			xs = slices.Clone(xs)
			slices.Sort(xs)
			return xs[len(xs)/2]
		}
		step = median(times[1:])
		stepCPU = median(cpus[1:])
		return max(0, times[0]-step), step, max(0, cpus[0]-stepCPU), stepCPU, nil
	}
	if ct.TrainCompileSeconds, ct.TrainStepSeconds, ct.TrainCompileCPUSeconds, ct.TrainStepCPUSeconds, err = timeCalls(trainSet, cfg.BatchSize, true); err != nil {
		return ct, fmt.Errorf("training step: %w", err)
	}
	if ct.EvalCompileSeconds, ct.EvalStepSeconds, ct.EvalCompileCPUSeconds, ct.EvalStepCPUSeconds, err = timeCalls(val, cfg.EvalBatchSize, false); err != nil {
		return ct, fmt.Errorf("evaluation step: %w", err)
	}
	ct.EpochSeconds = float64(ct.TrainBatches)*ct.TrainStepSeconds + float64(ct.EvalBatches)*ct.EvalStepSeconds
	return ct, nil
}

// syntheticSet is a data set of uniform random features in [0, 1] and
// random labels, fixed by its size.
func syntheticSet(name string, size, features, classes int) *Dataset {
	rng := rand.New(rand.NewPCG(uint64(size), uint64(features)))
	d := &Dataset{Name: name, NumFeatures: features, NumClasses: classes,
		Features: make([]float32, size*features), Labels: make([]int32, size)}
	for i := range d.Features {
		d.Features[i] = rng.Float32()
	}
	for i := range d.Labels {
		d.Labels[i] = int32(rng.IntN(classes))
	}
	return d
}
