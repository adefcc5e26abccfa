package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

var tasks = []string{"yinyang"}

func trainCommand(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := train.DefaultYinYang()
	fs := flag.NewFlagSet("gosnn train", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	fs.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "number of training epochs")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the weight initialisation and the batch order")
	fs.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "training mini-batch size")
	fs.Float64Var(&cfg.LearningRate, "lr", cfg.LearningRate, "initial Adam learning rate")
	hidden := fs.Int("hidden", cfg.Hidden[0], "number of hidden neurons")
	method := fs.String("method", cfg.Method, "training method: "+strings.Join(train.Methods, ", "))
	capacity := fs.String("capacity", "", `event methods: output spikes kept per sample, "hidden,output" (default: see README)`)
	reset := fs.Float64("reset", math.NaN(), "reset potential of the LIF neurons (default: the method's)")
	fs.StringVar(&cfg.DType, "dtype", cfg.DType, "float32 or float64")
	out := fs.String("out", "results", "folder that receives the results folder of this run")
	backendFlag := fs.String("backend", "", `computation backend: "go" (pure Go, the default), "xla:cpu", "xla:cuda" (default: $GOMLX_BACKEND, else go)`)
	fs.IntVar(&cfg.Devices, "devices", cfg.Devices, "data-parallel training: split every batch across this many devices of the xla backend (0: one device)")
	quiet := fs.Bool("quiet", false, "print only the final result")
	help := func() string {
		var b strings.Builder
		b.WriteString("usage: gosnn train <task> [flags]\ntasks: " + strings.Join(tasks, ", ") + "\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return b.String()
	}

	var task string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		task, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, help())
			return nil
		}
		return usagef("train: %v", err)
	}
	if task == "" && fs.NArg() > 0 {
		task = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usagef("train: %v", err)
		}
	}
	if fs.NArg() > 0 {
		return usagef("train: unexpected argument %q", fs.Arg(0))
	}
	switch task {
	case "":
		return usagef("train: no task given (tasks: %s)", strings.Join(tasks, ", "))
	case "yinyang":
	default:
		return usagef("train: unknown task %q (tasks: %s)", task, strings.Join(tasks, ", "))
	}
	cfg.Task = task
	cfg, err := yinYangConfig(cfg, methodSettings{Method: *method, Hidden: *hidden, Capacity: *capacity, Reset: *reset})
	if err != nil {
		return usagef("train: %w", err)
	}

	backend, choice, err := graph.NewBackend(*backendFlag)
	if err != nil {
		return usagef("train: %v", err)
	}
	trainSet, valSet, testSet, err := train.YinYangSplits()
	if err != nil {
		return err
	}
	trainer, err := train.NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	if err != nil {
		return err
	}
	started := time.Now()
	dir, err := train.NewRunDir(*out, cfg.Task+"_"+cfg.Method, started)
	if err != nil {
		return err
	}
	if err := train.WriteJSON(filepath.Join(dir, "config.json"), runConfig{Config: cfg, Backend: choice.Config}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gosnn: training %s (%s), %d-%d-%d, %d epochs, seed %d, backend %s (%s)\n",
		cfg.Task, cfg.Method, trainSet.NumFeatures, cfg.Hidden[0], trainSet.NumClasses, cfg.Epochs, cfg.Seed,
		choice.Config, choice.Source)
	if cfg.Devices > 1 {
		fmt.Fprintf(stdout, "gosnn: data-parallel over %d of the backend's %d devices\n", cfg.Devices, backend.NumDevices())
	}

	progress := newProgressPrinter(stdout, *quiet, isTerminal(stdout))
	var soFar []train.EpochMetrics
	history, fitErr := trainer.Fit(ctx, trainSet, valSet, 0, train.Hooks{
		OnBatch: progress.batch,
		OnEpoch: func(m train.EpochMetrics) {
			progress.epoch(m, cfg.Epochs)
			// Keep the metrics on disk as the run goes: an interrupted run
			// still leaves its history.
			soFar = append(soFar, m)
			_ = train.WriteMetricsCSV(filepath.Join(dir, "metrics.csv"), soFar)
		},
	})
	progress.done()
	summary := train.Summary{
		Task: cfg.Task, Method: cfg.Method, Status: "finished", Seed: cfg.Seed, Backend: choice.Config,
		Epochs: len(history), StartedAt: started, Versions: train.CurrentVersions(), History: history,
	}
	if fitErr != nil {
		summary.Status = "interrupted: " + fitErr.Error()
	} else {
		if summary.TestLoss, summary.TestAccuracy, err = trainer.Evaluate(testSet); err != nil {
			return fmt.Errorf("test set: %w", err)
		}
		if summary.TrainLoss, summary.TrainAccuracy, err = trainer.Evaluate(trainSet); err != nil {
			return fmt.Errorf("training set: %w", err)
		}
		if summary.ValLoss, summary.ValAccuracy, err = trainer.Evaluate(valSet); err != nil {
			return fmt.Errorf("validation set: %w", err)
		}
		if err := train.SaveWeights(trainer.Context(), filepath.Join(dir, "weights.json")); err != nil {
			return err
		}
	}
	summary.CompileSeconds = trainer.CompileSeconds()
	summary.FinishedAt = time.Now()
	summary.TotalSeconds = summary.FinishedAt.Sub(started).Seconds()
	for _, m := range history {
		summary.SecondsPerEpoch += m.Seconds / float64(len(history))
	}
	if err := train.WriteMetricsCSV(filepath.Join(dir, "metrics.csv"), history); err != nil {
		return err
	}
	if err := train.WriteJSON(filepath.Join(dir, "summary.json"), summary); err != nil {
		return err
	}
	if fitErr != nil {
		return fmt.Errorf("%w (results so far in %s)", fitErr, dir)
	}
	fmt.Fprintf(stdout, "test accuracy: %.2f%%  (validation %.2f%%, train %.2f%%; %.2f s/epoch, %.1f s compiling, %.0f s in all)\n",
		100*summary.TestAccuracy, 100*summary.ValAccuracy, 100*summary.TrainAccuracy,
		summary.SecondsPerEpoch, summary.CompileSeconds, summary.TotalSeconds)
	fmt.Fprintf(stdout, "results: %s\n", dir)
	return nil
}

// methodSettings are the command-line settings whose defaults depend on
// the training method.
type methodSettings struct {
	Method   string
	Hidden   int     // neurons of the one hidden layer
	Capacity string  // "hidden,output" spikes kept per sample; "" for the method's default
	Reset    float64 // reset potential; NaN for the method's default
}

// yinYangConfig applies a method and its settings to base (the Yin-Yang
// defaults with the method-independent flags already set) and validates the
// result. It is the one place where the command line turns into a Config:
// "gosnn train" and "gosnn bench" both use it, so that a benchmark row is
// exactly the run "gosnn train yinyang --method M" would do.
func yinYangConfig(base train.Config, s methodSettings) (train.Config, error) {
	cfg := base
	if s.Hidden < 1 {
		return cfg, fmt.Errorf("--hidden must be >= 1, got %d", s.Hidden)
	}
	cfg.Hidden = []int{s.Hidden}
	cfg.Method = s.Method
	if cfg.Method != train.MethodTTFS {
		cfg = train.EventPropDefaults(cfg)
	}
	if s.Capacity != "" {
		caps, err := parseInts(s.Capacity)
		if err != nil {
			return cfg, fmt.Errorf("--capacity: %w", err)
		}
		cfg.Capacities = caps
	}
	if !math.IsNaN(s.Reset) {
		cfg.Neuron.Reset = s.Reset
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseInts reads a comma-separated list of integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a list of integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// runConfig is config.json: the configuration plus the backend it ran on.
type runConfig struct {
	train.Config
	Backend string `json:"backend"`
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter draws a one-line progress bar on terminals and prints a
// line every few epochs elsewhere (logs, CI).
type progressPrinter struct {
	w        io.Writer
	quiet    bool
	terminal bool
	lastVal  float64
	every    int
}

func newProgressPrinter(w io.Writer, quiet, terminal bool) *progressPrinter {
	return &progressPrinter{w: w, quiet: quiet, terminal: terminal}
}

func (p *progressPrinter) batch(pr train.Progress) {
	if p.quiet || !p.terminal {
		return
	}
	const width = 24
	done := width * pr.Batch / pr.Batches
	bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
	eta := ""
	if pr.SecondsPerEpoch > 0 {
		left := time.Duration(pr.SecondsPerEpoch*float64(pr.Epochs-pr.Epoch+1)*float64(time.Second)) - pr.ElapsedInEpoch
		eta = fmt.Sprintf("  %.2fs/epoch  ETA %s", pr.SecondsPerEpoch, left.Round(time.Second))
	}
	fmt.Fprintf(p.w, "\repoch %3d/%d [%s] loss %.4f  acc %5.1f%%  val %5.1f%%%s\033[K",
		pr.Epoch, pr.Epochs, bar, pr.Loss, 100*pr.Accuracy, 100*p.lastVal, eta)
}

func (p *progressPrinter) epoch(m train.EpochMetrics, epochs int) {
	p.lastVal = m.ValAccuracy
	if p.quiet || p.terminal {
		return
	}
	if p.every == 0 {
		p.every = max(1, epochs/20)
	}
	if m.Epoch == 1 || m.Epoch%p.every == 0 || m.Epoch == epochs {
		fmt.Fprintf(p.w, "epoch %3d/%d  loss %.4f  acc %5.1f%%  val loss %.4f  val acc %5.1f%%  lr %.5f  bumps %d  overflow %d  %.2fs\n",
			m.Epoch, epochs, m.TrainLoss, 100*m.TrainAccuracy, m.ValLoss, 100*m.ValAccuracy, m.LearningRate, m.Bumps, m.Overflow, m.Seconds)
	}
}

func (p *progressPrinter) done() {
	if p.terminal && !p.quiet {
		fmt.Fprintln(p.w)
	}
}
