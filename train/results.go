package train

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// Summary is the summary.json of a results folder: what was run, on what,
// and how well it did.
type Summary struct {
	Name            string         `json:"name"` // the config's name
	Data            string         `json:"data"`
	Status          string         `json:"status"` // "finished" or "interrupted: <reason>"
	Seed            int64          `json:"seed"`
	Backend         string         `json:"backend"`
	Epochs          int            `json:"epochs"`
	TestAccuracy    float64        `json:"test_accuracy"`
	TestLoss        float64        `json:"test_loss"`
	ValAccuracy     float64        `json:"val_accuracy"`
	ValLoss         float64        `json:"val_loss"`
	TrainAccuracy   float64        `json:"train_accuracy"`
	TrainLoss       float64        `json:"train_loss"`
	SecondsPerEpoch float64        `json:"seconds_per_epoch"`
	CompileSeconds  float64        `json:"compile_seconds"` // estimated graph build and compile time, inside the first epoch
	TotalSeconds    float64        `json:"total_seconds"`
	StartedAt       time.Time      `json:"started_at"`
	FinishedAt      time.Time      `json:"finished_at"`
	Versions        Versions       `json:"versions"`
	History         []EpochMetrics `json:"history"`

	// Kept says whose weights the accuracies above and weights.json are:
	// "final" (the last epoch's, fastAndDeep's choice) or "best-val" (the
	// epoch of BestValEpoch).
	Kept string `json:"kept"`
	// The epoch of the highest validation accuracy (the first on ties),
	// that accuracy and the test accuracy of that epoch's weights.
	BestValEpoch        int     `json:"best_val_epoch"`
	BestValAccuracy     float64 `json:"best_val_accuracy"`
	BestValTestAccuracy float64 `json:"best_val_test_accuracy"`
	// MaxValDrop is the largest drop of the validation accuracy below its
	// running maximum (from epoch 1) within the last MaxValDropWindow
	// epochs (see MaxValDrop).
	MaxValDrop       float64 `json:"max_val_drop"`
	MaxValDropWindow int     `json:"max_val_drop_window"`
}

// Versions identify the code that produced a result.
type Versions struct {
	Go     string `json:"go"`
	GoMLX  string `json:"gomlx"`
	Gosnn  string `json:"gosnn"`
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	NumCPU int    `json:"num_cpu"`
}

// CurrentVersions reads the versions from the binary's build information.
func CurrentVersions() Versions {
	v := Versions{Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), Gosnn: "devel"}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/gomlx/gomlx" {
				v.GoMLX = dep.Version
			}
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				v.Gosnn = s.Value
			}
		}
	}
	return v
}

// NewRunDir creates a fresh folder root/<name>_<timestamp> for one run and
// checks that it is writable, so that a bad --out fails before training.
func NewRunDir(root, name string, now time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("results folder %s: %w", root, err)
	}
	base := filepath.Join(root, name+"_"+now.Format("20060102-150405"))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("results folder %s: %w", dir, err)
		}
		dir = base + "_" + strconv.Itoa(i)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		_ = os.Remove(dir)
		return "", fmt.Errorf("results folder %s is not writable: %w", dir, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return dir, nil
}

// WriteFileAtomic writes data to a temporary file in path's folder, syncs
// it and renames it over path: readers see the old file or the new one,
// never a half-written one.
func WriteFileAtomic(path string, data []byte) error { return writeFileAtomic(path, data, nil) }

// writeFileAtomic is WriteFileAtomic with a hook called between the
// temporary file's sync and the rename (the crash tests stop there).
func writeFileAtomic(path string, data []byte, beforeRename func()) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Results are for other people too (CreateTemp makes the file 0600).
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if beforeRename != nil {
		beforeRename()
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes v as indented JSON, atomically.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(data, '\n'))
}

// Which weights a run reports and keeps (Summary.Kept, `gosnn train
// --keep`): the final epoch's, as fastAndDeep does, or those of the epoch
// with the best validation accuracy (Trainer.RestoreBest).
const (
	KeepFinal   = "final"
	KeepBestVal = "best-val"
)

// StabilityWindow is the number of final epochs over which summaries
// report MaxValDrop (issue 17: 50).
const StabilityWindow = 50

// BestEpoch returns the 1-based epoch with the highest validation
// accuracy in history (the first on ties) and that accuracy; 0, 0 for an
// empty history.
func BestEpoch(history []EpochMetrics) (epoch int, accuracy float64) {
	for _, m := range history {
		if epoch == 0 || m.ValAccuracy > accuracy {
			epoch, accuracy = m.Epoch, m.ValAccuracy
		}
	}
	return epoch, accuracy
}

// MaxValDrop returns the largest amount by which the validation accuracy
// of one of the last `window` epochs of history lies below its running
// maximum, the highest validation accuracy of all epochs up to that one:
//
//	max over e in the last window epochs of (max_{e' <= e} val[e']) - val[e].
//
// 0 means the accuracy never fell back in the window. A run whose final
// weights are as good as its best has a small value.
func MaxValDrop(history []EpochMetrics, window int) float64 {
	var runMax, drop float64
	for i, m := range history {
		runMax = max(runMax, m.ValAccuracy)
		if i >= len(history)-window {
			drop = max(drop, runMax-m.ValAccuracy)
		}
	}
	return drop
}

// SetStability fills the summary's MaxValDrop (over StabilityWindow
// epochs), BestValEpoch and BestValAccuracy from its History; the test
// accuracy of the best epoch's weights needs the trainer
// (Trainer.EvaluateBest).
func (s *Summary) SetStability() {
	s.BestValEpoch, s.BestValAccuracy = BestEpoch(s.History)
	s.MaxValDrop, s.MaxValDropWindow = MaxValDrop(s.History, StabilityWindow), StabilityWindow
}

// WriteMetricsCSV writes the per-epoch metrics as CSV, atomically: besides
// losses and accuracies, the bumps of the epoch and the largest bump value,
// the spread of the training batches' losses (min, max, standard
// deviation), per layer l, the fraction silent_l<l> of silent
// (sample, neuron) pairs, and the statistics of monitored projections
// (monitor: true; "<node>_weights_mean", ..., "<node>_delays_max").
// With hardware in the loop also clipped_weights (the most weights beyond
// the hardware's range in one batch of the epoch).
func WriteMetricsCSV(path string, history []EpochMetrics) error {
	var buf csvBuffer
	w := csv.NewWriter(&buf)
	header := []string{"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "bumps",
		"max_bump_value", "train_loss_min", "train_loss_max", "train_loss_std", "overflow", "seconds"}
	layers := 0
	for _, m := range history {
		layers = max(layers, len(m.Silent))
	}
	for l := range layers {
		header = append(header, "silent_l"+strconv.Itoa(l))
	}
	var monitored []string // the monitor columns, in first-seen order
	column := map[string]bool{}
	for _, m := range history {
		for _, s := range m.Monitor {
			if !column[s.Name] {
				column[s.Name] = true
				monitored = append(monitored, s.Name)
			}
		}
	}
	header = append(header, monitored...)
	hardware := slices.ContainsFunc(history, func(m EpochMetrics) bool { return m.ClippedWeights != nil })
	if hardware {
		header = append(header, "clipped_weights")
	}
	_ = w.Write(header)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for _, m := range history {
		row := []string{strconv.Itoa(m.Epoch), f(m.TrainLoss), f(m.TrainAccuracy), f(m.ValLoss), f(m.ValAccuracy),
			f(m.LearningRate), strconv.Itoa(m.Bumps), f(m.MaxBumpValue), f(m.TrainLossMin), f(m.TrainLossMax),
			f(m.TrainLossStd), strconv.Itoa(m.Overflow), f(m.Seconds)}
		for l := range layers {
			cell := ""
			if l < len(m.Silent) {
				cell = f(m.Silent[l])
			}
			row = append(row, cell)
		}
		values := map[string]float64{}
		for _, s := range m.Monitor {
			values[s.Name] = s.Value
		}
		for _, name := range monitored {
			cell := ""
			if x, ok := values[name]; ok {
				cell = f(x)
			}
			row = append(row, cell)
		}
		if hardware {
			cell := ""
			if m.ClippedWeights != nil {
				cell = strconv.Itoa(*m.ClippedWeights)
			}
			row = append(row, cell)
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeFileAtomic(path, buf, func() { crashPoint("metrics", len(history)) })
}

type csvBuffer []byte

func (b *csvBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// WeightsFile is the JSON form of a network's trainable variables.
type WeightsFile struct {
	Variables map[string]WeightTensor `json:"variables"`
}

// WeightTensor is one variable: its shape and row-major values.
type WeightTensor struct {
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

// SaveWeights writes ctx's trainable variables to path, atomically.
func SaveWeights(ctx *mlctx.Context, path string) error {
	out, err := TrainableWeights(ctx)
	if err != nil {
		return err
	}
	return WriteJSON(path, out)
}

// TrainableWeights copies ctx's trainable variables.
func TrainableWeights(ctx *mlctx.Context) (WeightsFile, error) {
	out := WeightsFile{Variables: map[string]WeightTensor{}}
	for v := range ctx.IterVariables() {
		if !v.Trainable {
			continue
		}
		value, err := v.Value()
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", v.ScopeAndName(), err)
		}
		out.Variables[v.ScopeAndName()] = WeightTensor{Shape: value.Shape().Dimensions, Values: flatFloat64(value)}
	}
	return out, nil
}

func flatFloat64(t *tensors.Tensor) []float64 {
	var vals []float64
	t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, x := range f {
				vals = append(vals, float64(x))
			}
		case []float64:
			vals = append(vals, f...)
		}
	})
	return vals
}
