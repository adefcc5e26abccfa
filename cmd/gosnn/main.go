// Command gosnn trains spiking neural networks.
//
//	gosnn train CONFIG [flags]    train (a YAML config, a shipped config, or yinyang)
//	gosnn continue RUN_DIR [EPOCH] resume a run from a checkpoint
//	gosnn inference RUN_DIR [EPOCH] accuracy of a saved network
//	gosnn eval RUN_DIR [EPOCH]    draw the plots of a results folder
//	gosnn sweep run|continue|state|collect|plot|slurm ...
//	                              a grid of runs over config keys
//	gosnn bench [flags]           time every method on every backend (Yin-Yang)
//	gosnn backends                list the compiled-in backends
//	gosnn version                 print the versions
//
// Run "gosnn train -h" or "gosnn bench -h" for the flags. bench is the Go
// side of the comparison with jaxsnn (scripts/bench/run.py): it runs the
// same configurations as "gosnn train yinyang --method M" in one process and
// writes bench.json with seconds per epoch, compile time and test accuracy.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosnn: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks mistakes in the command line (exit status 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

const usage = `usage: gosnn <command> [arguments]

commands:
  train CONFIG [flags]   train a network: a YAML config, a shipped config
                         (yin_yang, ...) or the task yinyang; see train -h
  continue RUN_DIR [EPOCH]
                         resume a run from its newest checkpoint (or EPOCH's)
  inference RUN_DIR [EPOCH] [--split test|val|train]
                         accuracy and loss of a saved network
  eval RUN_DIR [EPOCH]   draw the plots of a results folder (RUN_DIR/plots)
  sweep run|continue|state|collect|plot|slurm ...
                         a grid of runs over config keys; see sweep -h
  bench [flags]          time each method on each backend (Yin-Yang): seconds
                         per epoch, compile time, test accuracy; see bench -h
  bench --compile [flags]
                         compile time of every shipped config's graphs
  hw <command>           BrainScaleS-2: train with the chip or its mock in the loop, map, mock-check, calibrate
  backends               list the compiled-in computation backends
  version                print the versions of gosnn, GoMLX and Go

global flags (anywhere on the command line):
  --verbose              show GoMLX's and go-xla's own log lines, on stderr`

func run(ctx context.Context, args []string, stdout io.Writer) error {
	args = globalFlags(args)
	if len(args) == 0 {
		return usagef("no command given\n%s", usage)
	}
	switch args[0] {
	case "train":
		return trainCommand(ctx, args[1:], stdout)
	case "bench":
		return benchCommand(ctx, args[1:], stdout)
	case "continue":
		return continueCommand(ctx, args[1:], stdout)
	case "inference":
		return inferenceCommand(ctx, args[1:], stdout)
	case "eval":
		return evalCommand(ctx, args[1:], stdout)
	case "sweep":
		return sweepCommand(ctx, args[1:], stdout)
	case "hw":
		return hwCommand(ctx, args[1:], stdout)
	case "backends":
		fmt.Fprintln(stdout, strings.Join(graph.AvailableBackends(), "\n"))
		return nil
	case "version":
		v := train.CurrentVersions()
		fmt.Fprintf(stdout, "gosnn %s\nGoMLX %s\n%s %s/%s\n", v.Gosnn, v.GoMLX, v.Go, v.OS, v.Arch)
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usagef("unknown command %q\n%s", args[0], usage)
}

// globalFlags takes the flags that every command understands out of args
// (before a "--"), so that the commands' own flag sets never see them.
func globalFlags(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--verbose" || a == "-verbose" {
			graph.SetVerbose(true)
			continue
		}
		out = append(out, a)
	}
	return out
}
