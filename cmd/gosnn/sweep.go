package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gosnn/gosnn/train/plots"
	"github.com/gosnn/gosnn/train/sweep"
)

const sweepUsage = `usage: gosnn sweep <command> [arguments]

  run SWEEP_FILE [--out results] [--workers N]
                     make the sweep folder <out>/<name>_<timestamp> (every
                     point's config) and run its points, N at a time
  continue SWEEP_DIR [--workers N]
                     run the points that are not done (pending, failed,
                     interrupted), resuming each from its checkpoint
  state SWEEP_DIR    the state of every point, with the last error line
  collect SWEEP_DIR  write SWEEP_DIR/results.csv: swept values and final metrics
  plot SWEEP_DIR     draw test accuracy against each swept key (SWEEP_DIR/plots)
  slurm SWEEP_FILE|SWEEP_DIR [--out results] [--gosnn PATH] [--sbatch OPTION]...
                     write SWEEP_DIR/slurm.sh, a Slurm array job of one task
                     per point (resubmitting skips the finished points)
  point SWEEP_DIR INDEX
                     run one point (what each Slurm task does)

A sweep file names a base config, keys set for every point and the swept
keys (grid: every combination; zip: lists walked together), e.g.

  name: hidden_lr
  base: yin_yang
  set: {epochs: 20}
  grid:
    network.nodes.hidden.size: [30, 120]
    learning_rate: [0.001, 0.005]
    seed: [1, 2, 3]

A key is a path into the config's YAML: keys joined by dots, [i] indexes a
list, and the nodes of network.nodes are also reached by name.`

func sweepCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("sweep: no sweep command given\n%s", sweepUsage)
	}
	fs := flag.NewFlagSet("gosnn sweep "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	workers := fs.Int("workers", 1, "points run at once on this machine")
	out := fs.String("out", "results", "folder that receives the sweep folder")
	gosnnPath := fs.String("gosnn", "", "slurm: the gosnn executable on the cluster (default: this one)")
	var sbatch multiFlag
	fs.Var(&sbatch, "sbatch", `slurm: an extra #SBATCH option, such as "--time=02:00:00" (repeatable)`)
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(stdout, sweepUsage)
		return nil
	}
	want := map[string]int{"run": 1, "continue": 1, "state": 1, "collect": 1, "plot": 1, "slurm": 1, "point": 2}
	n, ok := want[sub]
	if !ok {
		return usagef("sweep: unknown command %q\n%s", sub, sweepUsage)
	}
	pos, err := positional(fs, args[1:], n)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, sweepUsage+"\nflags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return usagef("sweep %s: %v", sub, err)
	}
	if len(pos) != n {
		return usagef("sweep %s: want %d argument(s)\n%s", sub, n, sweepUsage)
	}
	if *workers < 1 {
		return usagef("sweep %s: --workers must be >= 1, got %d", sub, *workers)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("sweep: finding the gosnn executable: %w", err)
	}
	switch sub {
	case "run":
		s, err := createSweep(pos[0], *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gosnn: sweep %s: %d points in %s, %d worker(s)\n", s.Manifest.Name, len(s.Manifest.Points), s.Dir, *workers)
		return runSweep(ctx, s, exe, *workers, stdout)
	case "continue":
		s, err := sweep.Open(pos[0])
		if err != nil {
			return usagef("sweep continue: %v", err)
		}
		return runSweep(ctx, s, exe, *workers, stdout)
	case "state":
		s, err := sweep.Open(pos[0])
		if err != nil {
			return usagef("sweep state: %v", err)
		}
		results, err := s.Collect()
		if err != nil {
			return err
		}
		printState(stdout, s, results)
		return nil
	case "collect":
		s, err := sweep.Open(pos[0])
		if err != nil {
			return usagef("sweep collect: %v", err)
		}
		results, err := s.Collect()
		if err != nil {
			return err
		}
		path, err := s.WriteCSV(results)
		if err != nil {
			return err
		}
		c := sweep.Counts(results)
		fmt.Fprintf(stdout, "gosnn: %s: %d points, %d done\n", path, len(results), c[sweep.Done])
		return nil
	case "plot":
		s, err := sweep.Open(pos[0])
		if err != nil {
			return usagef("sweep plot: %v", err)
		}
		return plotSweep(s, stdout)
	case "slurm":
		s, err := sweep.Open(pos[0])
		if err != nil {
			if st, serr := os.Stat(pos[0]); serr == nil && st.IsDir() {
				return usagef("sweep slurm: %v", err)
			}
			if s, err = createSweep(pos[0], *out); err != nil {
				return err
			}
		}
		command := *gosnnPath
		if command == "" {
			command = exe
		}
		path, err := s.WriteSlurm(command, sbatch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gosnn: wrote %s (%d array tasks); submit it with: sbatch %s\n", path, len(s.Manifest.Points), path)
		return nil
	case "point":
		s, err := sweep.Open(pos[0])
		if err != nil {
			return usagef("sweep point: %v", err)
		}
		i, err := strconv.Atoi(pos[1])
		if err != nil || i < 0 || i >= len(s.Manifest.Points) {
			return usagef("sweep point: INDEX must be 0..%d, got %q", len(s.Manifest.Points)-1, pos[1])
		}
		r := &sweep.Runner{Command: []string{exe}, Job: slurmJob()}
		st, err := r.RunPoint(ctx, s, i)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gosnn: point %d: %s %s\n", i, st.State, st.Error)
		if st.State != sweep.Done {
			return fmt.Errorf("point %d: %s: %s", i, st.State, st.Error)
		}
		return nil
	}
	return nil
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// slurmJob names the Slurm job and array task this process runs in, "".
func slurmJob() string {
	job, task := os.Getenv("SLURM_JOB_ID"), os.Getenv("SLURM_ARRAY_TASK_ID")
	if job == "" {
		return ""
	}
	if j := os.Getenv("SLURM_ARRAY_JOB_ID"); j != "" {
		job = j
	}
	return job + "_" + task
}

// createSweep reads a sweep file (every point's config is built and
// checked first: a bad key leaves nothing behind) and makes its folder.
func createSweep(file, out string) (*sweep.Sweep, error) {
	plan, err := sweep.ReadFile(file)
	if err != nil {
		return nil, usageError{err}
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return sweep.Create(plan, text, out, time.Now())
}

// runSweep runs the points that are not done on a local pool and prints
// every change, then the state table.
func runSweep(ctx context.Context, s *sweep.Sweep, exe string, workers int, stdout io.Writer) error {
	todo, err := s.ToRun()
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		fmt.Fprintf(stdout, "gosnn: sweep %s: nothing to run\n", s.Dir)
	}
	r := &sweep.Runner{Command: []string{exe}, Workers: workers, OnChange: func(i int, st sweep.State) {
		line := fmt.Sprintf("point %d (%s): %s", i, describe(s, i), st.State)
		if st.State == sweep.Done {
			if sum, err := s.Summary(i, st); err == nil {
				line += fmt.Sprintf(", test accuracy %.2f%%", 100*sum.TestAccuracy)
			}
		} else if st.Error != "" {
			line += ": " + st.Error
		}
		fmt.Fprintln(stdout, line)
	}}
	runErr := r.Run(ctx, s, todo)
	results, err := s.Collect()
	if err == nil {
		printState(stdout, s, results)
	}
	if runErr != nil {
		return fmt.Errorf("sweep %s: %w (gosnn sweep continue %s resumes it)", s.Dir, runErr, s.Dir)
	}
	return err
}

// describe writes a point's swept values as key=value.
func describe(s *sweep.Sweep, i int) string {
	var parts []string
	for k, key := range s.Manifest.Keys {
		parts = append(parts, key+"="+s.Manifest.Points[i].Values[k])
	}
	return strings.Join(parts, ", ")
}

// printState prints one row per point and the counts.
func printState(w io.Writer, s *sweep.Sweep, results []sweep.Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "point\tstate\t%s\ttest acc.\tlast error\n", strings.Join(s.Manifest.Keys, "\t"))
	for _, r := range results {
		acc := ""
		if r.Summary != nil {
			acc = fmt.Sprintf("%.2f%%", 100*r.Summary.TestAccuracy)
		}
		errText := ""
		if r.State.State != sweep.Done {
			errText = r.State.Error
			if len(errText) > 120 {
				errText = errText[:117] + "..."
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Point, r.State.State, strings.Join(r.Values, "\t"), acc, errText)
	}
	_ = tw.Flush()
	c := sweep.Counts(results)
	fmt.Fprintf(w, "%d points: %d done, %d running, %d pending, %d failed, %d interrupted\n", len(results),
		c[sweep.Done], c[sweep.Running], c[sweep.Pending], c[sweep.Failed], c[sweep.Interrupted])
}

// plotSweep draws test accuracy against each swept key from the done
// points, and writes results.csv beside the plots.
func plotSweep(s *sweep.Sweep, stdout io.Writer) error {
	results, err := s.Collect()
	if err != nil {
		return err
	}
	if _, err := s.WriteCSV(results); err != nil {
		return err
	}
	var points []plots.SweepPoint
	for _, r := range results {
		if r.Summary != nil {
			points = append(points, plots.SweepPoint{Values: r.Values, TestAccuracy: r.Summary.TestAccuracy})
		}
	}
	if len(points) == 0 {
		return fmt.Errorf("sweep plot: no point of %s is done yet", s.Dir)
	}
	dir := filepath.Join(s.Dir, "plots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep plot: %w", err)
	}
	fmt.Fprintf(stdout, "gosnn: plots of %s (%d of %d points done):\n", s.Dir, len(points), len(results))
	for _, f := range plots.SweepAccuracy(s.Manifest.Keys, points) {
		paths, err := f.Save(dir)
		if err != nil {
			return err
		}
		for _, p := range paths {
			fmt.Fprintln(stdout, "  "+p)
		}
	}
	return nil
}
