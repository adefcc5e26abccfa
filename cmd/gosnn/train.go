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
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

// methods maps the --method names of the Yin-Yang task to their shipped
// configs; the trainer itself knows no method.
var methods = []struct{ name, config string }{
	{"ttfs", "yin_yang"},
	{"eventprop", "yin_yang_eventprop"},
	{"eventprop-recurrent", "yin_yang_eventprop_recurrent"},
	{"discrete", "yin_yang_discrete"},
}

func methodNames() []string {
	var out []string
	for _, m := range methods {
		out = append(out, m.name)
	}
	return out
}

// methodConfig returns the shipped config of a method.
func methodConfig(method string) (train.Config, error) {
	for _, m := range methods {
		if m.name == method {
			return train.ShippedConfig(m.config)
		}
	}
	return train.Config{}, fmt.Errorf("--method: unknown method %q (methods: %s)", method, strings.Join(methodNames(), ", "))
}

// overrides are the command-line settings that replace config keys; a
// flag left unset keeps the config's value.
type overrides struct {
	fs                         *flag.FlagSet
	epochs, batchSize, devices int
	seed                       int64
	lr, reset                  float64
	hidden                     int
	capacity, dtype, backend   string
	checkpointEvery            int
	savePoints                 string
	dataDir                    string
}

func (o *overrides) register(fs *flag.FlagSet) {
	o.fs = fs
	fs.IntVar(&o.epochs, "epochs", 0, "number of training epochs (key epochs)")
	fs.Int64Var(&o.seed, "seed", 0, "seed of the weight initialisation and the batch order (key seed)")
	fs.IntVar(&o.batchSize, "batch-size", 0, "training mini-batch size (key batch_size)")
	fs.Float64Var(&o.lr, "lr", 0, "initial learning rate (key learning_rate)")
	fs.IntVar(&o.hidden, "hidden", 0, `size of the population named "hidden"`)
	fs.StringVar(&o.capacity, "capacity", "", `lif populations: spikes kept per sample, "hidden,output" (the populations of those names)`)
	fs.Float64Var(&o.reset, "reset", math.NaN(), "reset potential of every lif population")
	fs.StringVar(&o.dtype, "dtype", "", "float32 or float64 (key dtype)")
	fs.StringVar(&o.backend, "backend", "", `computation backend: "go" (pure Go), "xla:cpu", "xla:cuda" (key backend; default: $GOMLX_BACKEND, else go)`)
	fs.IntVar(&o.devices, "devices", 0, "data-parallel training: split every batch across this many devices of the xla backend (key devices)")
	fs.IntVar(&o.checkpointEvery, "checkpoint-every", 0, "rewrite the resume checkpoint every N epochs (key checkpoint_every)")
	fs.StringVar(&o.savePoints, "savepoints", "", "epochs whose checkpoints are kept, comma separated (key save_points)")
	fs.StringVar(&o.dataDir, "data-dir", "", "folder of a data set read from files: mnist's IDX files, nmnist's train/ and test/ folders (key data_dir)")
}

// apply writes the flags that were set into cfg and validates it.
func (o *overrides) apply(cfg *train.Config) error {
	var err error
	o.fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		switch f.Name {
		case "epochs":
			cfg.Epochs = o.epochs
		case "seed":
			cfg.Seed = o.seed
		case "batch-size":
			cfg.BatchSize = o.batchSize
		case "lr":
			cfg.LearningRate = o.lr
		case "dtype":
			cfg.DType = o.dtype
		case "backend":
			cfg.Backend = o.backend
		case "devices":
			cfg.Devices = o.devices
		case "checkpoint-every":
			cfg.CheckpointEvery = o.checkpointEvery
		case "data-dir":
			// Absolute, so that the run's config.yaml still finds the data
			// from another working directory (eval, continue, sweeps).
			cfg.DataDir, err = filepath.Abs(o.dataDir)
		case "savepoints":
			cfg.SavePoints, err = parseInts(o.savePoints)
			if err != nil {
				err = fmt.Errorf("--savepoints: %w", err)
			}
		case "hidden":
			if err = setHidden(cfg, o.hidden, !o.isSet("capacity")); err != nil {
				err = fmt.Errorf("--hidden: %w", err)
			}
		case "capacity":
			caps, perr := parseInts(o.capacity)
			if perr != nil || len(caps) != 2 {
				err = fmt.Errorf("--capacity: want \"hidden,output\", two integers, got %q", o.capacity)
				return
			}
			for i, name := range []string{"hidden", "output"} {
				n, perr := cfg.Population(name)
				if perr != nil {
					err = fmt.Errorf("--capacity: %w", perr)
					return
				}
				if n.Kind != "lif" {
					err = fmt.Errorf("--capacity: population %q is %s, capacities are for lif populations", name, n.Kind)
					return
				}
				n.Capacity = caps[i]
			}
		case "reset":
			found := false
			for i := range cfg.Network.Nodes {
				if n := &cfg.Network.Nodes[i]; n.Kind == "lif" {
					n.Neuron.Reset = o.reset
					found = true
				}
			}
			if !found {
				err = fmt.Errorf("--reset: the network of config %q has no lif population", cfg.Name)
			}
		}
	})
	if err != nil {
		return err
	}
	return cfg.Validate()
}

// setHidden sets the size of the population named "hidden" and, when
// withCapacity, its capacity to one spike per neuron as in the shipped
// configs.
func setHidden(cfg *train.Config, size int, withCapacity bool) error {
	n, err := cfg.Population("hidden")
	if err != nil {
		return err
	}
	n.Size = size
	if n.Capacity > 0 && withCapacity {
		n.Capacity = size
	}
	return nil
}

func (o *overrides) isSet(name string) bool {
	set := false
	o.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loadConfig resolves the config argument of train: a YAML file, a
// shipped config's name, or the task "yinyang" (its --method's config).
func loadConfig(arg, method string) (train.Config, error) {
	switch {
	case arg == "yinyang":
		if method == "" {
			method = "ttfs"
		}
		return methodConfig(method)
	case method != "":
		return train.Config{}, fmt.Errorf("--method chooses a shipped config of the yinyang task; with a config file (%s) leave it out", arg)
	case strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, os.PathSeparator):
		return train.ReadConfig(arg)
	}
	cfg, err := train.ShippedConfig(arg)
	if err != nil {
		return cfg, fmt.Errorf("%q is neither a config file nor a task: %w", arg, err)
	}
	return cfg, nil
}

func trainCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn train", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	var o overrides
	o.register(fs)
	method := fs.String("method", "", "yinyang task: train the shipped config of this method: "+strings.Join(methodNames(), ", "))
	out := fs.String("out", "results", "folder that receives the results folder of this run")
	quiet := fs.Bool("quiet", false, "print only the final result")
	keep := fs.String("keep", train.KeepFinal, "weights to report and keep: final (fastAndDeep's choice) or best-val (the epoch of the best validation accuracy)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof FILE); pure-Go backend only")
	help := func() string {
		var b strings.Builder
		b.WriteString("usage: gosnn train CONFIG [flags]\n" +
			"CONFIG: a YAML config file, a shipped config (" + strings.Join(train.ShippedConfigs(), ", ") + "),\n" +
			"or the task yinyang (= yin_yang, or the config of --method). Flags override the config's keys.\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		return b.String()
	}
	arg, err := parseWithArg(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, help())
			return nil
		}
		return usagef("train: %v", err)
	}
	if arg == "" {
		return usagef("train: no config given (a YAML file, a shipped config: %s, or the task yinyang)", strings.Join(train.ShippedConfigs(), ", "))
	}
	cfg, err := loadConfig(arg, *method)
	if err != nil {
		return usagef("train: %v", err)
	}
	if err := o.apply(&cfg); err != nil {
		return usagef("train: %v", err)
	}
	if *keep != train.KeepFinal && *keep != train.KeepBestVal {
		return usagef("train: --keep must be %s or %s, got %q", train.KeepFinal, train.KeepBestVal, *keep)
	}
	if *cpuProfile != "" {
		// Go's profiling signal (SIGPROF) also lands on the PJRT plugin's
		// own threads, which it crashes: every xla:cpu run tried (discrete,
		// TTFS, analytical configs) died of a segmentation fault or a
		// corrupted heap within its first epochs, and the profile would
		// not see inside the plugin anyway.
		if choice, err := graph.ResolveBackend(cfg.Backend); err == nil && choice.Name() != graph.DefaultBackend {
			return usagef("train: --cpuprofile profiles the pure-Go backend only: Go's profiling signal crashes the %s backend's native threads; profile it with `perf record -g gosnn train ...` instead", choice.Name())
		}
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return fmt.Errorf("train: --cpuprofile: %w", err)
		}
		defer stop()
	}
	return runTraining(ctx, cfg, *out, *quiet, *keep, stdout)
}

// startCPUProfile profiles the process into path until the returned stop
// is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// parseWithArg parses flags around one positional argument (before or
// after the flags) and returns it.
func parseWithArg(fs *flag.FlagSet, args []string) (string, error) {
	var arg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if arg == "" && fs.NArg() > 0 {
		arg = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return arg, nil
}

// runTraining trains cfg into a new results folder under out.
func runTraining(ctx context.Context, cfg train.Config, out string, quiet bool, keep string, stdout io.Writer) error {
	backend, choice, err := graph.NewBackend(cfg.Backend)
	if err != nil {
		return usagef("train: %v", err)
	}
	trainSet, _, _, err := train.Splits(cfg)
	if err != nil {
		return err
	}
	if cfg.BatchSize > trainSet.Size() {
		return usagef("train: batch_size %d is larger than the training set (%d samples)", cfg.BatchSize, trainSet.Size())
	}
	// Build the network once before making the folder: a config whose
	// network does not fit the data leaves nothing behind.
	if _, err := train.NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses); err != nil {
		return err
	}
	dir, err := train.NewRunDir(out, cfg.Name, time.Now())
	if err != nil {
		return err
	}
	asRun := cfg.Clone()
	asRun.Backend = choice.Config
	yml, err := asRun.YAML()
	if err != nil {
		return err
	}
	if err := train.WriteFileAtomic(filepath.Join(dir, "config.yaml"), yml); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gosnn: training %s on %s, %s, %d epochs, seed %d, backend %s (%s)\n",
		cfg.Name, cfg.Data, networkShape(cfg), cfg.Epochs, cfg.Seed, choice.Config, choice.Source)
	if cfg.Devices > 1 {
		fmt.Fprintf(stdout, "gosnn: data-parallel over %d of the backend's %d devices\n", cfg.Devices, backend.NumDevices())
	}
	return execute(ctx, &train.Run{Dir: dir, Config: cfg, Backend: backend, BackendName: choice.Config, Keep: keep}, quiet, stdout)
}

// execute runs a training run with progress on stdout and prints its result.
func execute(ctx context.Context, run *train.Run, quiet bool, stdout io.Writer) error {
	progress := newProgressPrinter(stdout, quiet, isTerminal(stdout))
	run.Hooks = train.Hooks{
		OnBatch: progress.batch,
		OnEpoch: func(m train.EpochMetrics) { progress.epoch(m, run.Config.Epochs) },
	}
	summary, err := run.Execute(ctx)
	progress.done()
	if err != nil {
		return fmt.Errorf("%w (results so far in %s; gosnn continue %s resumes it)", err, run.Dir, run.Dir)
	}
	fmt.Fprintf(stdout, "test accuracy: %.2f%%  (validation %.2f%%, train %.2f%%; %.2f s/epoch, %.1f s compiling, %.0f s in all)\n",
		100*summary.TestAccuracy, 100*summary.ValAccuracy, 100*summary.TrainAccuracy,
		summary.SecondsPerEpoch, summary.CompileSeconds, summary.TotalSeconds)
	fmt.Fprintf(stdout, "best validation %.2f%% at epoch %d (test %.2f%% there); largest drop below the running best over the last %d epochs: %.1f points; reported: %s weights\n",
		100*summary.BestValAccuracy, summary.BestValEpoch, 100*summary.BestValTestAccuracy, train.StabilityWindow, 100*summary.MaxValDrop, summary.Kept)
	fmt.Fprintf(stdout, "results: %s\n", run.Dir)
	return nil
}

// networkShape writes the network's populations as "4-120-3".
func networkShape(cfg train.Config) string {
	parts := []string{}
	for _, n := range cfg.Network.Nodes {
		if n.Kind == "input" || n.Size > 0 && n.Kind != "bias" && n.Kind != "linear" {
			parts = append(parts, strconv.Itoa(n.Size))
		}
	}
	return strings.Join(parts, "-")
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
