package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

// benchSecondsNote explains the timing columns in bench.json, so the file
// can be read without this source.
const benchSecondsNote = "seconds_per_epoch: mean of epochs 2..N of the training loop (each epoch includes " +
	"its validation pass); the first epoch includes building and compiling the graphs and is reported " +
	"apart (first_epoch_seconds). With one epoch, seconds_per_epoch is that epoch and includes_first_epoch " +
	"is true. compile_seconds estimates the compilation inside the first epoch. " +
	"train_samples_per_second = training samples / seconds_per_epoch."

// benchArgs are the parsed flags of "gosnn bench", recorded in bench.json.
type benchArgs struct {
	Methods   []string `json:"methods"`
	Backends  []string `json:"backends"`
	Epochs    int      `json:"epochs"`
	BatchSize int      `json:"batch_size"`
	Hidden    int      `json:"hidden"`
	Seed      int64    `json:"seed"`
	Devices   int      `json:"devices"`
	Out       string   `json:"out"`
	Quiet     bool     `json:"quiet"`
}

// benchRow is one method on one backend. The numbers of a failed run are
// those measured before it failed (zero otherwise); Error says why.
type benchRow struct {
	Method             string       `json:"method"`
	Backend            string       `json:"backend"`                  // as given to --backends
	BackendConfig      string       `json:"backend_config,omitempty"` // as handed to GoMLX
	Epochs             int          `json:"epochs"`                   // epochs finished
	SecondsPerEpoch    float64      `json:"seconds_per_epoch"`
	IncludesFirstEpoch bool         `json:"includes_first_epoch"`
	FirstEpochSeconds  float64      `json:"first_epoch_seconds"`
	CompileSeconds     float64      `json:"compile_seconds"`
	SamplesPerSecond   float64      `json:"train_samples_per_second"`
	TestAccuracy       float64      `json:"test_accuracy"`
	TestLoss           float64      `json:"test_loss"`
	EpochSeconds       []float64    `json:"epoch_seconds"`
	TotalSeconds       float64      `json:"total_seconds"` // backend creation to the end of the test evaluation
	Error              string       `json:"error,omitempty"`
	Config             train.Config `json:"config"`
}

// benchFile is bench.json. It is rewritten after every run, so an
// interrupted or crashed benchmark still leaves the rows it finished.
type benchFile struct {
	benchHeader
	Args            benchArgs      `json:"args"`
	TrainSamples    int            `json:"train_samples"`
	SecondsPerEpoch string         `json:"seconds_per_epoch_note"`
	Versions        train.Versions `json:"versions"`
	Rows            []benchRow     `json:"rows"`
}

// benchRun is one planned row: a method's configuration on a backend.
type benchRun struct {
	method, backend string
	cfg             train.Config
}

func benchCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if isCompileBench(args) {
		return compileBenchCommand(ctx, args, stdout)
	}
	a, runs, err := parseBenchArgs(args, stdout)
	if err != nil || runs == nil { // runs == nil without error: -h was answered
		return err
	}
	trainSet, valSet, testSet, err := train.YinYangSplits()
	if err != nil {
		return fmt.Errorf("bench: loading the Yin-Yang data: %w", err)
	}
	started := time.Now()
	// The folder is made only after every flag has been checked: bad input
	// writes nothing.
	dir, err := train.NewRunDir(a.Out, "bench", started)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	path := filepath.Join(dir, "bench.json")
	doc := benchFile{
		benchHeader: newBenchHeader(started, args), Args: a, TrainSamples: trainSet.Size(),
		SecondsPerEpoch: benchSecondsNote, Versions: train.CurrentVersions(), Rows: []benchRow{},
	}
	if err := train.WriteJSON(path, doc); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if !a.Quiet {
		fmt.Fprintf(stdout, "gosnn: benchmarking %d run(s) on Yin-Yang (%s on %s), %d epoch(s), batch %d, hidden %d, seed %d\n",
			len(runs), strings.Join(a.Methods, ","), strings.Join(a.Backends, ","), a.Epochs, a.BatchSize, a.Hidden, a.Seed)
	}
	for i, r := range runs {
		if ctx.Err() != nil {
			break
		}
		if i > 0 {
			// Free the previous run's graphs and tensors now, so that its
			// garbage is not collected (and timed) inside the next run.
			runtime.GC()
		}
		if !a.Quiet {
			fmt.Fprintf(stdout, "gosnn: [%d/%d] %s on %s\n", i+1, len(runs), r.method, r.backend)
		}
		row := benchOne(ctx, r, trainSet, valSet, testSet, stdout, a.Quiet)
		doc.Rows = append(doc.Rows, row)
		if err := train.WriteJSON(path, doc); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if err := finishBench(ctx, &doc.benchHeader, path, &doc, func() { printBenchTable(stdout, doc.Rows) }, stdout); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench interrupted after %d of %d run(s): %w (results so far in %s)", len(doc.Rows), len(runs), err, path)
	}
	failed := 0
	for _, row := range doc.Rows {
		if row.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		// The other rows are complete; a non-zero exit status still tells
		// scripts that the table has holes.
		return fmt.Errorf("bench: %d of %d run(s) failed (see the error column; results in %s)", failed, len(runs), path)
	}
	return nil
}

// benchHeader opens bench.json and compile.json: how the benchmark
// stands, when it ran, and its command line.
type benchHeader struct {
	Status     string    `json:"status"` // "running", "finished" or "interrupted: <reason>"
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Command    []string  `json:"command"` // the arguments of "gosnn bench" as given
}

func newBenchHeader(started time.Time, args []string) benchHeader {
	return benchHeader{Status: "running", StartedAt: started, Command: args}
}

// finishBench marks a benchmark file finished (or interrupted, when ctx
// is done), writes doc (which holds h) to path, prints its table and says
// where it is. doc must be a pointer: h is one of its fields.
func finishBench(ctx context.Context, h *benchHeader, path string, doc any, printTable func(), stdout io.Writer) error {
	h.FinishedAt = time.Now()
	h.Status = "finished"
	if err := ctx.Err(); err != nil {
		h.Status = "interrupted: " + err.Error()
	}
	if err := train.WriteJSON(path, doc); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	printTable()
	fmt.Fprintf(stdout, "results: %s\n", path)
	return nil
}

// parseBenchArgs checks the command line and plans the runs. Every mistake
// is a usage error naming its flag. It returns no runs and no error when it
// printed the help.
func parseBenchArgs(args []string, stdout io.Writer) (benchArgs, []benchRun, error) {
	var a benchArgs
	fs := flag.NewFlagSet("gosnn bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	methods := fs.String("methods", strings.Join(methodNames(), ","), "training methods to time, comma separated")
	backendList := fs.String("backends", defaultBenchBackends(),
		"backends, comma separated, e.g. go,xla:cpu (xla:cpu is in the default when $"+graph.PluginPathEnvVar+" holds the CPU plugin)")
	fs.IntVar(&a.Epochs, "epochs", 3, "training epochs per run (the first includes compilation and is reported apart)")
	// jaxsnn's Yin-Yang tasks use batch 64 and 100 hidden neurons: the
	// defaults make the rows comparable with scripts/bench/run.py's.
	fs.IntVar(&a.BatchSize, "batch-size", 64, "training mini-batch size (jaxsnn's)")
	fs.IntVar(&a.Hidden, "hidden", 100, "number of hidden neurons (jaxsnn's)")
	fs.Int64Var(&a.Seed, "seed", 1, "seed of the weight initialisation and the batch order")
	fs.IntVar(&a.Devices, "devices", 0, "data-parallel training over this many devices of the xla backend (0: one device)")
	fs.StringVar(&a.Out, "out", "results", "folder that receives the bench_<timestamp> folder")
	fs.BoolVar(&a.Quiet, "quiet", false, "print only the table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			b.WriteString("usage: gosnn bench [flags]\n" +
				"Trains each method on each backend on Yin-Yang, as \"gosnn train yinyang --method M\" would,\n" +
				"and prints and writes (bench.json) seconds per epoch, compile time and test accuracy.\nflags:\n")
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fmt.Fprint(stdout, b.String())
			return a, nil, nil
		}
		return a, nil, usagef("bench: %v", err)
	}
	if fs.NArg() > 0 {
		return a, nil, usagef("bench: unexpected argument %q (bench takes only flags)", fs.Arg(0))
	}
	var err error
	if a.Methods, err = splitList("--methods", *methods); err != nil {
		return a, nil, err
	}
	for _, m := range a.Methods {
		if !slices.Contains(methodNames(), m) {
			return a, nil, usagef("bench: --methods: unknown method %q (methods: %s)", m, strings.Join(methodNames(), ", "))
		}
	}
	if a.Backends, err = splitList("--backends", *backendList); err != nil {
		return a, nil, err
	}
	known := graph.AvailableBackends()
	for _, b := range a.Backends {
		// Checked here rather than by graph.ResolveBackend, whose message
		// names train's --backend flag.
		if name, _, _ := strings.Cut(b, ":"); !slices.Contains(known, name) {
			return a, nil, usagef("bench: --backends: unknown backend %q (available: %s)", b, strings.Join(known, ", "))
		}
	}
	base := train.DefaultYinYang()
	switch {
	case a.Epochs < 1:
		return a, nil, usagef("bench: --epochs must be >= 1, got %d", a.Epochs)
	case a.BatchSize < 1:
		return a, nil, usagef("bench: --batch-size must be >= 1, got %d", a.BatchSize)
	case a.Hidden < 1:
		return a, nil, usagef("bench: --hidden must be >= 1, got %d", a.Hidden)
	case a.Devices < 0:
		return a, nil, usagef("bench: --devices must be >= 0, got %d", a.Devices)
	case a.Devices > 1 && (a.BatchSize%a.Devices != 0 || base.EvalBatchSize%a.Devices != 0):
		return a, nil, usagef("bench: --devices (%d) must divide --batch-size (%d) and the evaluation batch size (%d)",
			a.Devices, a.BatchSize, base.EvalBatchSize)
	}
	var runs []benchRun
	for _, b := range a.Backends {
		for _, m := range a.Methods {
			cfg, err := methodConfig(m)
			if err == nil {
				cfg.Epochs, cfg.BatchSize, cfg.Seed, cfg.Devices, cfg.Backend = a.Epochs, a.BatchSize, a.Seed, a.Devices, b
				err = setHidden(&cfg, a.Hidden, true)
			}
			if err == nil {
				err = cfg.Validate()
			}
			if err != nil {
				return a, nil, usagef("bench: method %s: %w", m, err)
			}
			runs = append(runs, benchRun{method: m, backend: b, cfg: cfg})
		}
	}
	return a, runs, nil
}

// splitList reads a comma-separated flag value; empty entries are skipped
// (a trailing comma is harmless), duplicates would time a run twice and are
// refused.
func splitList(flagName, s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if slices.Contains(out, f) {
			return nil, usagef("bench: %s lists %q twice", flagName, f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, usagef("bench: %s is empty", flagName)
	}
	return out, nil
}

// defaultBenchBackends is go, plus xla:cpu when this binary has the xla
// backend and the CPU plugin is installed where it is looked for (as
// scripts/bench/run.py does).
func defaultBenchBackends() string {
	if graph.HasCPUPlugin() {
		return graph.DefaultBackend + ",xla:cpu"
	}
	return graph.DefaultBackend
}

// benchOne trains and tests one configuration on a fresh backend. A failure
// becomes the row's Error, so the benchmark goes on with the other runs.
func benchOne(ctx context.Context, r benchRun, trainSet, valSet, testSet *train.Dataset, stdout io.Writer, quiet bool) (row benchRow) {
	row = benchRow{Method: r.method, Backend: r.backend, Config: r.cfg, EpochSeconds: []float64{}}
	started := time.Now()
	err := func() (err error) {
		// GoMLX reports some failures by panicking; one run's panic must
		// not lose the rows of the others.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		// A fresh backend per run: every row pays its own start-up, and a
		// run that leaves a backend in a bad state cannot spoil the next.
		backend, choice, err := graph.NewBackend(r.backend)
		if err != nil {
			return err
		}
		row.BackendConfig = choice.Config
		trainer, err := train.NewTrainer(backend, r.cfg, trainSet.NumFeatures, trainSet.NumClasses)
		if err != nil {
			return fmt.Errorf("creating the trainer: %w", err)
		}
		progress := newProgressPrinter(stdout, quiet, isTerminal(stdout))
		history, fitErr := trainer.Fit(ctx, trainSet, valSet, 0, train.Hooks{
			OnBatch: progress.batch,
			OnEpoch: func(m train.EpochMetrics) { progress.epoch(m, r.cfg.Epochs) },
		})
		progress.done()
		row.setEpochs(history, trainSet.Size())
		row.CompileSeconds = trainer.CompileSeconds()
		if fitErr != nil {
			return fmt.Errorf("training: %w", fitErr)
		}
		if row.TestLoss, row.TestAccuracy, err = trainer.Evaluate(testSet); err != nil {
			return fmt.Errorf("test set: %w", err)
		}
		// Again after the test pass: its extra evaluation calls refine the
		// estimate of the evaluation graph's compile time.
		row.CompileSeconds = trainer.CompileSeconds()
		return nil
	}()
	row.TotalSeconds = time.Since(started).Seconds()
	if err != nil {
		row.Error = err.Error()
	}
	return row
}

// setEpochs fills the timing columns from the per-epoch history. The first
// epoch also builds and compiles the graphs, so the steady state is the mean
// of the later epochs; with a single epoch that is all there is, and the row
// says so.
func (row *benchRow) setEpochs(history []train.EpochMetrics, trainSamples int) {
	row.Epochs = len(history)
	row.EpochSeconds = make([]float64, len(history))
	for i, m := range history {
		row.EpochSeconds[i] = m.Seconds
	}
	row.SecondsPerEpoch, row.FirstEpochSeconds, row.IncludesFirstEpoch, row.SamplesPerSecond = 0, 0, false, 0
	switch len(history) {
	case 0:
		return
	case 1:
		row.SecondsPerEpoch, row.IncludesFirstEpoch = history[0].Seconds, true
	default:
		for _, s := range row.EpochSeconds[1:] {
			row.SecondsPerEpoch += s / float64(len(history)-1)
		}
	}
	row.FirstEpochSeconds = history[0].Seconds
	if row.SecondsPerEpoch > 0 {
		row.SamplesPerSecond = float64(trainSamples) / row.SecondsPerEpoch
	}
}

// printBenchTable prints one line per run; "-" marks numbers a failed run
// did not get to.
func printBenchTable(w io.Writer, rows []benchRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tbackend\ts/epoch\tfirst epoch s\tcompile s\tsamples/s\ttest acc %\terror")
	star := false
	for _, r := range rows {
		spe, first, compile, sps, acc := "-", "-", "-", "-", "-"
		if r.Epochs > 0 {
			spe = fmt.Sprintf("%.2f", r.SecondsPerEpoch)
			if r.IncludesFirstEpoch {
				spe += "*"
				star = true
			}
			first = fmt.Sprintf("%.2f", r.FirstEpochSeconds)
			compile = fmt.Sprintf("%.2f", r.CompileSeconds)
			sps = fmt.Sprintf("%.0f", r.SamplesPerSecond)
		}
		if r.Error == "" {
			acc = fmt.Sprintf("%.1f", 100*r.TestAccuracy)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Method, r.Backend, spe, first, compile, sps, acc, oneLine(r.Error, 120))
	}
	_ = tw.Flush()
	if star {
		fmt.Fprintln(w, "* one epoch only: includes compilation (run --epochs 2 or more for the steady state)")
	}
}

// oneLine shortens an error message for the table; bench.json keeps it whole.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
