package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

// compileNote explains compile.json's columns.
const compileNote = "train_compile_seconds / eval_compile_seconds: the first call of the training step (one batch of " +
	"batch_size) and of the evaluation step (one batch of eval_batch_size) minus the median of `repeats` later calls; " +
	"it is the graph building plus the backend's compilation. train_step_seconds / eval_step_seconds: those medians. " +
	"epoch_seconds_estimate = train_batches x train_step_seconds + eval_batches x eval_step_seconds."

// compileRow is one config on one backend.
type compileRow struct {
	Config        string `json:"config"`
	Backend       string `json:"backend"`
	BackendConfig string `json:"backend_config,omitempty"`
	train.CompileTiming
	Error string `json:"error,omitempty"`
}

// compileFile is compile.json, rewritten after every row.
type compileFile struct {
	benchHeader
	Repeats  int            `json:"repeats"`
	XLAFlags string         `json:"xla_flags"` // $XLA_FLAGS as the CPU plugin saw it
	Note     string         `json:"note"`
	Versions train.Versions `json:"versions"`
	Rows     []compileRow   `json:"rows"`
}

// isCompileBench reports whether bench's arguments ask for the compile-time
// mode (--compile), which has flags of its own.
func isCompileBench(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--compile" || a == "-compile" {
			return true
		}
	}
	return false
}

// compileBenchCommand is "gosnn bench --compile": for each config (all
// shipped ones by default) on each backend, the compile time of its
// training and evaluation graphs and their steady-state call times.
func compileBenchCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn bench --compile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Bool("compile", true, "time the compilation of configs instead of training methods")
	configList := fs.String("configs", strings.Join(train.ShippedConfigs(), ","), "configs to time, comma separated (shipped names or YAML files)")
	backendList := fs.String("backends", "xla:cpu", "backends, comma separated")
	repeats := fs.Int("repeats", 3, "steady-state calls timed after each first call")
	out := fs.String("out", "results", "folder that receives the bench_<timestamp> folder")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			b.WriteString("usage: gosnn bench --compile [flags]\n" +
				"Builds each config's trainer and times the first and later calls of its training and evaluation\n" +
				"steps (compile time = first - steady state); prints a table and writes compile.json.\n" +
				"The xla backend's compiler reads $XLA_FLAGS (recorded in compile.json); set it to compare compiler options.\nflags:\n")
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fmt.Fprint(stdout, b.String())
			return nil
		}
		return usagef("bench --compile: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("bench --compile: unexpected argument %q (bench takes only flags)", fs.Arg(0))
	}
	if *repeats < 1 {
		return usagef("bench --compile: --repeats must be >= 1, got %d", *repeats)
	}
	names, err := splitList("--configs", *configList)
	if err != nil {
		return err
	}
	backs, err := splitList("--backends", *backendList)
	if err != nil {
		return err
	}
	cfgs := make([]train.Config, len(names))
	for i, n := range names {
		if cfgs[i], err = loadConfig(n, ""); err != nil {
			return usagef("bench --compile: --configs: %v", err)
		}
	}
	started := time.Now()
	dir, err := train.NewRunDir(*out, "bench", started)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	path := filepath.Join(dir, "compile.json")
	doc := compileFile{benchHeader: newBenchHeader(started, args), Repeats: *repeats,
		Note: compileNote, Versions: train.CurrentVersions(), Rows: []compileRow{}}
	for _, b := range backs {
		for i, cfg := range cfgs {
			if ctx.Err() != nil {
				break
			}
			runtime.GC()
			row := compileRow{Config: names[i], Backend: b}
			func() {
				defer func() {
					if p := recover(); p != nil {
						row.Error = fmt.Sprintf("panic: %v", p)
					}
				}()
				backend, choice, err := graph.NewBackend(b)
				if err != nil {
					row.Error = err.Error()
					return
				}
				defer backend.Finalize()
				row.BackendConfig = choice.Config
				doc.XLAFlags = os.Getenv("XLA_FLAGS") // after NewBackend, which may add to it (CUDA)
				if row.CompileTiming, err = train.MeasureCompile(backend, cfg, *repeats); err != nil {
					row.Error = err.Error()
				}
			}()
			fmt.Fprintf(stdout, "gosnn: %s on %s: compile %.2f s (train %.2f, eval %.2f; CPU %.2f, %.2f), steps %.4f / %.4f s (CPU %.4f / %.4f)%s\n",
				row.Config, row.Backend, row.CompileSeconds(), row.TrainCompileSeconds, row.EvalCompileSeconds,
				row.TrainCompileCPUSeconds, row.EvalCompileCPUSeconds, row.TrainStepSeconds, row.EvalStepSeconds, row.TrainStepCPUSeconds, row.EvalStepCPUSeconds, syntheticSuffix(row.Synthetic)+errSuffix(row.Error))
			doc.Rows = append(doc.Rows, row)
			if err := train.WriteJSON(path, doc); err != nil {
				return fmt.Errorf("bench: %w", err)
			}
		}
	}
	if err := finishBench(ctx, &doc.benchHeader, path, &doc, func() { printCompileTable(stdout, doc.Rows) }, stdout); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench --compile interrupted: %w (results so far in %s)", err, path)
	}
	if i := slices.IndexFunc(doc.Rows, func(r compileRow) bool { return r.Error != "" }); i >= 0 {
		return fmt.Errorf("bench --compile: %s on %s failed: %s (results in %s)", doc.Rows[i].Config, doc.Rows[i].Backend, doc.Rows[i].Error, path)
	}
	return nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": error: " + oneLine(e, 200)
}

func printCompileTable(w io.Writer, rows []compileRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "config\tbackend\tcompile s\ttrain compile s\teval compile s\tcompile CPU s\ttrain step s\teval step s\tepoch s (est.)\terror")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.4f\t%.4f\t%.2f\t%s\n", r.Config, r.Backend, r.CompileSeconds(),
			r.TrainCompileSeconds, r.EvalCompileSeconds, r.TrainCompileCPUSeconds+r.EvalCompileCPUSeconds,
			r.TrainStepSeconds, r.EvalStepSeconds, r.EpochSeconds, oneLine(r.Error, 120))
	}
	_ = tw.Flush()
}

// syntheticSuffix marks a row timed on random data of the data set's shapes
// (its files were not found).
func syntheticSuffix(synthetic bool) string {
	if synthetic {
		return " (synthetic data: the data set's files were not found)"
	}
	return ""
}
