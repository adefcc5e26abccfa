package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/distributed"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Splits returns the training, validation and test sets of a config's
// data set.
func Splits(cfg Config) (trainSet, val, test *Dataset, err error) {
	switch cfg.Data {
	case "yinyang":
		return YinYangSplitsSized(cfg.TrainSize, cfg.ValSize, cfg.TestSize)
	case "mnist":
		return MNISTSplits(cfg.DataDir)
	case "nmnist":
		return NMNISTSplits(cfg)
	}
	return nil, nil, nil, fmt.Errorf("data: unknown data set %q (known: %s)", cfg.Data, strings.Join(DataSets, ", "))
}

// Run is one training run in a results folder: the config as run
// (config.yaml, written by the caller before), metrics.csv after every
// epoch, a checkpoint at every CheckpointEvery-th epoch, at the save points
// and at the end, then the final evaluation in summary.json and the
// weights in weights.json.
type Run struct {
	Dir         string           // the results folder
	Config      Config           // as run
	Backend     backends.Backend // where it runs
	BackendName string           // as recorded (e.g. "go:parallelism=-1")
	Hooks       Hooks            // progress, called on the training goroutine
	// From resumes the run from a checkpoint (nil: a fresh run).
	From *Checkpoint
	// Keep is whose weights are reported and written to weights.json:
	// KeepFinal (fastAndDeep's choice, the default) or KeepBestVal, the
	// epoch of the best validation accuracy seen in this process.
	Keep string
}

// Execute trains and evaluates. It returns the summary it wrote; when the
// run stops early (interrupt, non-finite loss) summary.json holds the
// status and the epochs finished, and the newest checkpoint is the last
// good state to continue from.
func (r *Run) Execute(ctx context.Context) (Summary, error) {
	cfg := r.Config
	started := time.Now()
	summary := Summary{Name: cfg.Name, Data: cfg.Data, Status: "finished", Seed: cfg.Seed, Backend: r.BackendName,
		StartedAt: started, Versions: CurrentVersions()}
	trainSet, valSet, testSet, err := Splits(cfg)
	if err != nil {
		return summary, err
	}
	if cfg.BatchSize > trainSet.Size() {
		return summary, fmt.Errorf("batch_size %d is larger than the training set (%d samples)", cfg.BatchSize, trainSet.Size())
	}
	trainer, err := NewTrainer(r.Backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	if err != nil {
		return summary, err
	}
	var history []EpochMetrics
	start := 0
	if r.From != nil {
		if err := trainer.Restore(r.From); err != nil {
			return summary, err
		}
		start = r.From.Manifest.Epoch
		history = slices.Clone(r.From.Manifest.History)
		if err := restoreBest(trainer, r.Dir, start); err != nil {
			return summary, err
		}
		// Temporary files of a killed process's atomic writes.
		leftovers, _ := filepath.Glob(filepath.Join(r.Dir, ".*.tmp-*"))
		for _, f := range leftovers {
			_ = os.Remove(f)
		}
		// metrics.csv may be ahead of the checkpoint (killed in between):
		// the checkpoint's history is the truth.
		if err := WriteMetricsCSV(filepath.Join(r.Dir, "metrics.csv"), history); err != nil {
			return summary, err
		}
	}
	every := max(cfg.CheckpointEvery, 1)
	var saveErr error
	_, fitErr := trainer.Fit(ctx, trainSet, valSet, start, Hooks{
		OnBatch: r.Hooks.OnBatch,
		OnEpoch: func(m EpochMetrics) {
			history = append(history, m)
			if err := WriteMetricsCSV(filepath.Join(r.Dir, "metrics.csv"), history); err != nil && saveErr == nil {
				saveErr = err
			}
			if m.Epoch%every == 0 || m.Epoch == cfg.Epochs || slices.Contains(cfg.SavePoints, m.Epoch) {
				if err := SaveCheckpoint(trainer, r.Dir, m.Epoch, history, r.BackendName, append(slices.Clone(cfg.SavePoints), cfg.Epochs)); err != nil && saveErr == nil {
					saveErr = err
				}
			}
			if best, _ := trainer.BestValidation(); best == m.Epoch {
				if err := SaveBestCheckpoint(trainer, r.Dir, m.Epoch, history, r.BackendName); err != nil && saveErr == nil {
					saveErr = err
				}
			}
			if r.Hooks.OnEpoch != nil {
				r.Hooks.OnEpoch(m)
			}
		},
	})
	if fitErr == nil && saveErr != nil {
		fitErr = saveErr
	}
	summary.Epochs = len(history)
	summary.History = history
	summary.Kept = KeepFinal
	summary.SetStability()
	if fitErr != nil {
		summary.Status = "interrupted: " + fitErr.Error()
	} else {
		if epoch, _ := trainer.BestValidation(); epoch > 0 {
			if _, summary.BestValTestAccuracy, err = trainer.EvaluateBest(testSet); err != nil {
				return summary, fmt.Errorf("test set with the best-validation weights: %w", err)
			}
		}
		if r.Keep == KeepBestVal {
			if err := trainer.RestoreBest(); err != nil {
				return summary, err
			}
			summary.Kept = KeepBestVal
		}
		for _, e := range []struct {
			d         *Dataset
			loss, acc *float64
			name      string
		}{{testSet, &summary.TestLoss, &summary.TestAccuracy, "test"}, {trainSet, &summary.TrainLoss, &summary.TrainAccuracy, "training"},
			{valSet, &summary.ValLoss, &summary.ValAccuracy, "validation"}} {
			if *e.loss, *e.acc, err = trainer.Evaluate(e.d); err != nil {
				return summary, fmt.Errorf("%s set: %w", e.name, err)
			}
		}
		if err := trainer.withAverages(func() error { return SaveWeights(trainer.Context(), filepath.Join(r.Dir, "weights.json")) }); err != nil {
			return summary, err
		}
	}
	summary.CompileSeconds = trainer.CompileSeconds()
	summary.FinishedAt = time.Now()
	summary.TotalSeconds = summary.FinishedAt.Sub(started).Seconds()
	for _, m := range history {
		summary.SecondsPerEpoch += m.Seconds / float64(len(history))
	}
	if err := WriteJSON(filepath.Join(r.Dir, "summary.json"), summary); err != nil {
		return summary, err
	}
	return summary, fitErr
}

// buildGraphs builds and compiles the training graph without running it,
// so that every variable of the network (weights, optimizer and bumping
// state) exists. GoMLX's PreCompile hands the buffers of the variables the
// graph updates to the graph and, as it does not run it, leaves those
// variables without a value: only for a trainer whose variables are set
// right after (Restore). The evaluation graph reuses the variables and is
// built at its first use.
func (t *Trainer) buildGraphs() error {
	for _, step := range []struct {
		name string
		size int
	}{{"training", t.cfg.BatchSize}} {
		var x *tensors.Tensor
		if t.dtype == dtypes.Float64 {
			x = tensors.FromShape(shapes.Make(dtypes.Float64, step.size, t.numInputs))
		} else {
			x = tensors.FromShape(shapes.Make(dtypes.Float32, step.size, t.numInputs))
		}
		args := []*tensors.Tensor{x, tensors.FromShape(shapes.Make(dtypes.Int32, step.size)), tensors.FromShape(shapes.Make(dtypes.Bool, step.size))}
		exec := t.trainStep
		inputs := make([]any, len(args))
		for i, a := range args {
			inputs[i] = a
			if t.batchSpec != nil {
				sharded, err := distributed.ShardTensor(t.batchSpec, a)
				if err != nil {
					return fmt.Errorf("building the %s graph: %w", step.name, err)
				}
				inputs[i] = sharded
			}
		}
		if err := exec.PreCompile(inputs...); err != nil {
			return fmt.Errorf("building the %s graph: %w", step.name, err)
		}
	}
	return nil
}

// crashPoint lets the crash-safety tests stop a run at a chosen moment:
// with GOSNN_CRASH_POINT=NAME:EPOCH in the environment, the process
// announces the point on stderr and sleeps there until it is killed. The
// points: mid-epoch (half-way through an epoch's batches), checkpoint
// (a checkpoint written but not yet renamed into place), metrics
// (metrics.csv written to its temporary file, not yet renamed). Without the
// variable (always, outside those tests) it does nothing.
func crashPoint(name string, epoch int) {
	want := os.Getenv("GOSNN_CRASH_POINT")
	if want == "" || want != fmt.Sprintf("%s:%d", name, epoch) {
		return
	}
	fmt.Fprintf(os.Stderr, "gosnn: at crash point %s\n", want)
	time.Sleep(time.Hour)
}

// restoreBest gives a resumed trainer the best-validation weights of the
// epochs before start from the run's best-validation checkpoint, so that a
// continued run reports the same best epoch as an uninterrupted one. A
// checkpoint from after start (the run continues from an earlier save
// point, on a new course) is ignored: the next epoch's weights replace it.
func restoreBest(t *Trainer, runDir string, start int) error {
	dir := BestValDir(runDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	c, err := ReadCheckpoint(dir)
	if err != nil {
		return fmt.Errorf("best-validation checkpoint: %w", err)
	}
	m := c.Manifest
	if m.Epoch > start || len(m.History) < m.Epoch {
		return nil
	}
	return t.SetBest(m.Epoch, m.History[m.Epoch-1].ValAccuracy, State(c.values))
}
