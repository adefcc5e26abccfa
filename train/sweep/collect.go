package sweep

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gosnn/gosnn/train"
)

// Result is one point's state and, when done, its summary.
type Result struct {
	Point   int
	Values  []string // the swept keys' values, in Manifest.Keys order
	State   State
	Summary *train.Summary // nil unless done
}

// Collect reads every point's state and summary.
func (s *Sweep) Collect() ([]Result, error) {
	var out []Result
	for i, p := range s.Manifest.Points {
		st, err := s.PointState(i)
		if err != nil {
			return nil, err
		}
		r := Result{Point: i, Values: p.Values, State: st}
		if st.State == Done {
			if r.Summary, err = s.Summary(i, st); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ResultsFile is the CSV that WriteCSV writes into the sweep folder.
const ResultsFile = "results.csv"

// WriteCSV writes one row per point into the sweep folder's results.csv:
// the point, its state, the swept keys' values, the final metrics of done
// points (test, validation and training accuracy and loss, epochs, seconds
// per epoch), its results folder and, for failed points, the error. It
// returns the file's path.
func (s *Sweep) WriteCSV(results []Result) (string, error) {
	var buf strings.Builder
	w := csv.NewWriter(&buf)
	header := append([]string{"point", "state"}, s.Manifest.Keys...)
	header = append(header, "test_accuracy", "val_accuracy", "train_accuracy", "test_loss", "val_loss", "train_loss",
		"epochs", "seconds_per_epoch", "run_dir", "error")
	_ = w.Write(header)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for _, r := range results {
		row := append([]string{strconv.Itoa(r.Point), r.State.State}, r.Values...)
		if sum := r.Summary; sum != nil {
			row = append(row, f(sum.TestAccuracy), f(sum.ValAccuracy), f(sum.TrainAccuracy), f(sum.TestLoss), f(sum.ValLoss),
				f(sum.TrainLoss), strconv.Itoa(sum.Epochs), f(sum.SecondsPerEpoch))
		} else {
			row = append(row, "", "", "", "", "", "", "", "")
		}
		runDir := ""
		if r.State.RunDir != "" {
			runDir = filepath.Join(s.Manifest.Points[r.Point].Dir, r.State.RunDir)
		}
		errText := ""
		if r.State.State != Done {
			errText = r.State.Error
		}
		_ = w.Write(append(row, runDir, errText))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return "", fmt.Errorf("writing %s: %w", ResultsFile, err)
	}
	path := filepath.Join(s.Dir, ResultsFile)
	return path, train.WriteFileAtomic(path, []byte(buf.String()))
}

// Counts tallies the points by state.
func Counts(results []Result) map[string]int {
	c := map[string]int{}
	for _, r := range results {
		c[r.State.State]++
	}
	return c
}

// WriteSlurm writes the sweep folder's slurm.sh: a Slurm array job with
// one task per point, each running "gosnn sweep point DIR INDEX" (which
// runs "gosnn train" on the point's config into the point's folder, or
// continues it from its checkpoint, and exits at once when the point is
// done: resubmitting the script runs only what is left). command is the
// gosnn executable on the cluster; sbatch lines are the extra #SBATCH
// options (such as "--partition=cpu", "--time=02:00:00").
func (s *Sweep) WriteSlurm(command string, sbatch []string) (string, error) {
	abs, err := filepath.Abs(s.Dir)
	if err != nil {
		return "", fmt.Errorf("slurm: %w", err)
	}
	for _, o := range sbatch {
		if strings.ContainsAny(o, "\n\r") {
			return "", fmt.Errorf("slurm: the sbatch option %q holds a line break", o)
		}
	}
	n := len(s.Manifest.Points)
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# Slurm array job of the gosnn sweep %s: one task per point (%d points).\n", s.Manifest.Name, n)
	fmt.Fprintf(&b, "# Submit with: sbatch %s\n", shellQuote(filepath.Join(abs, "slurm.sh")))
	fmt.Fprintf(&b, "# Each task runs gosnn train on its point's config (points/NNNN/config.yaml) into\n")
	fmt.Fprintf(&b, "# the point's folder, or continues it from its checkpoint; a finished point's\n")
	fmt.Fprintf(&b, "# task exits at once, so resubmitting runs only what is left. Watch the\n")
	fmt.Fprintf(&b, "# points with: gosnn sweep state %s\n", shellQuote(abs))
	fmt.Fprintf(&b, "#SBATCH --job-name=gosnn-%s\n", s.Manifest.Name)
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", n-1)
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(abs, "slurm", "%A_%a.out"))
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	for _, o := range sbatch {
		fmt.Fprintf(&b, "#SBATCH %s\n", o)
	}
	fmt.Fprintf(&b, "set -euo pipefail\n")
	fmt.Fprintf(&b, "exec %s sweep point %s \"$SLURM_ARRAY_TASK_ID\"\n", shellQuote(command), shellQuote(abs))
	if err := os.MkdirAll(filepath.Join(abs, "slurm"), 0o755); err != nil {
		return "", fmt.Errorf("slurm: %w", err)
	}
	path := filepath.Join(abs, "slurm.sh")
	if err := train.WriteFileAtomic(path, []byte(b.String())); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o755)
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
