package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
	"github.com/gosnn/gosnn/train/plots"
)

// evalCommand draws the plots of a results folder from its files alone:
// the history and weights of a checkpoint, and a forward pass of that
// checkpoint over the test set (and, for Yin-Yang, over a grid of the
// input plane). Nothing is trained.
func evalCommand(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	backendFlag := fs.String("backend", "", "computation backend of the forward pass (default: $GOMLX_BACKEND, else go)")
	out := fs.String("out", "", "folder of the plots (default: RUN_DIR/plots)")
	gridSize := fs.Int("grid", 120, "Yin-Yang: points per side of the grid over the input plane")
	pos, err := positional(fs, args, 2)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: gosnn eval RUN_DIR [EPOCH] [flags]\n"+
			"Draws the plots of a results folder (PNG and SVG in RUN_DIR/plots) from its newest checkpoint (or EPOCH's).\nflags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return usagef("eval: %v", err)
	}
	if len(pos) == 0 {
		return usagef("eval: no results folder given (usage: gosnn eval RUN_DIR [EPOCH])")
	}
	if *gridSize < 2 || *gridSize > 1000 {
		return usagef("eval: --grid must be 2..1000, got %d", *gridSize)
	}
	epochArg := ""
	if len(pos) > 1 {
		epochArg = pos[1]
	}
	cfg, ckpt, err := openRun(pos[0], epochArg)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	backend, choice, err := graph.NewBackend(*backendFlag)
	if err != nil {
		return usagef("eval: %v", err)
	}
	_, _, testSet, err := train.Splits(cfg)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	cfg.Devices = 0 // the forward pass runs on one device
	trainer, err := train.NewTrainer(backend, cfg, testSet.NumFeatures, testSet.NumClasses)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := trainer.Restore(ckpt); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	sets := []*train.Dataset{testSet}
	var plane *train.Dataset
	if cfg.Data == "yinyang" {
		plane, _ = plots.YinYangGrid(*gridSize)
		sets = append(sets, plane)
	}
	runs, err := trainer.Inspect(backend, sets...)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	weights, err := train.TrainableWeights(trainer.Context())
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	in := plots.EvalInput{Config: cfg, Epoch: ckpt.Manifest.Epoch, History: ckpt.Manifest.History, Weights: weights,
		Test: testSet, TestRun: runs[0]}
	if plane != nil {
		in.Plane, in.PlaneRun = plane, runs[1]
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(pos[0], "plots")
	}
	files, err := plots.Eval(dir, in)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fmt.Fprintf(stdout, "gosnn: plots of %s, epoch %d (forward pass on backend %s):\n", pos[0], ckpt.Manifest.Epoch, choice.Config)
	for _, f := range files {
		fmt.Fprintln(stdout, "  "+f)
	}
	return nil
}
