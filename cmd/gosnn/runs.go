package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
)

// openRun reads a results folder's config and picks its checkpoint: the
// newest, or the one of epochArg.
func openRun(dir, epochArg string) (train.Config, *train.Checkpoint, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return train.Config{}, nil, usagef("%s is not a results folder (no such folder)", dir)
	}
	cfg, err := train.ReadConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return cfg, nil, fmt.Errorf("%s is not a results folder of gosnn train: %w", dir, err)
	}
	epochs, err := train.ListCheckpoints(dir)
	if err != nil {
		return cfg, nil, err
	}
	if len(epochs) == 0 {
		return cfg, nil, fmt.Errorf("%s has no checkpoint (it stopped before its first save)", dir)
	}
	if epochArg == train.BestValCheckpoint {
		ckpt, err := train.ReadCheckpoint(train.BestValDir(dir))
		if errors.Is(err, fs.ErrNotExist) {
			return cfg, nil, fmt.Errorf("%s has no best-validation checkpoint (%s; runs before 2026-12-02 did not write one)", dir, train.BestValDir(dir))
		}
		return cfg, ckpt, err
	}
	epoch := epochs[len(epochs)-1]
	if epochArg != "" {
		epoch, err = strconv.Atoi(epochArg)
		if err != nil || epoch < 1 {
			return cfg, nil, usagef("EPOCH must be a positive integer or %s, got %q", train.BestValCheckpoint, epochArg)
		}
		found := false
		for _, e := range epochs {
			found = found || e == epoch
		}
		if !found {
			var list []string
			for _, e := range epochs {
				list = append(list, strconv.Itoa(e))
			}
			return cfg, nil, usagef("%s has no save point at epoch %d (checkpoints: %s)", dir, epoch, strings.Join(list, ", "))
		}
	}
	ckpt, err := train.ReadCheckpoint(train.CheckpointDir(dir, epoch))
	return cfg, ckpt, err
}

// positional parses flags around up to max positional arguments.
func positional(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		if len(pos) > max {
			return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		args = fs.Args()[1:]
	}
}

// parseRunArgs parses "gosnn CMD RUN_DIR [EPOCH] [flags]" and opens the
// run. It returns an empty dir and no error when it printed the help.
func parseRunArgs(fs *flag.FlagSet, args []string, cmd, about string, stdout io.Writer) (string, train.Config, *train.Checkpoint, error) {
	pos, err := positional(fs, args, 2)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: gosnn %s RUN_DIR [EPOCH] [flags]\n%s\nflags:\n", cmd, about)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return "", train.Config{}, nil, nil
	}
	if err != nil {
		return "", train.Config{}, nil, usagef("%s: %v", cmd, err)
	}
	if len(pos) == 0 {
		return "", train.Config{}, nil, usagef("%s: no results folder given (usage: gosnn %s RUN_DIR [EPOCH])", cmd, cmd)
	}
	epochArg := ""
	if len(pos) > 1 {
		epochArg = pos[1]
	}
	cfg, ckpt, err := openRun(pos[0], epochArg)
	if err != nil {
		return "", cfg, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return pos[0], cfg, ckpt, nil
}

func continueCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn continue", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	epochs := fs.Int("epochs", 0, "train to this many epochs in all (default: the config's)")
	savePoints := fs.String("savepoints", "", "epochs whose checkpoints are kept from now on, comma separated")
	backendFlag := fs.String("backend", "", "computation backend (default: the one the run used)")
	quiet := fs.Bool("quiet", false, "print only the final result")
	dir, cfg, ckpt, err := parseRunArgs(fs, args, "continue",
		"Resumes a run from its newest checkpoint (or that of EPOCH) in its results folder.", stdout)
	if err != nil || dir == "" {
		return err
	}
	if *epochs != 0 {
		cfg.Epochs = *epochs
	}
	if *savePoints != "" {
		if cfg.SavePoints, err = parseInts(*savePoints); err != nil {
			return usagef("continue: --savepoints: %v", err)
		}
	}
	if *backendFlag != "" {
		cfg.Backend = *backendFlag
	}
	if err := cfg.Validate(); err != nil {
		return usagef("continue: %v", err)
	}
	if ckpt.Manifest.Epoch > cfg.Epochs {
		return usagef("continue: the checkpoint is at epoch %d, beyond epochs %d", ckpt.Manifest.Epoch, cfg.Epochs)
	}
	backend, choice, err := graph.NewBackend(cfg.Backend)
	if err != nil {
		return usagef("continue: %v", err)
	}
	cfg.Backend = choice.Config
	yml, err := cfg.YAML()
	if err != nil {
		return err
	}
	if err := train.WriteFileAtomic(filepath.Join(dir, "config.yaml"), yml); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gosnn: continuing %s from epoch %d to %d, backend %s (%s)\n", dir, ckpt.Manifest.Epoch, cfg.Epochs, choice.Config, choice.Source)
	return execute(ctx, &train.Run{Dir: dir, Config: cfg, Backend: backend, BackendName: choice.Config, From: ckpt}, *quiet, stdout)
}

func inferenceCommand(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn inference", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	split := fs.String("split", "test", "data split to evaluate: test, val or train")
	backendFlag := fs.String("backend", "", "computation backend (default: $GOMLX_BACKEND, else go)")
	dir, cfg, ckpt, err := parseRunArgs(fs, args, "inference",
		"Accuracy and loss of a saved network (its newest checkpoint, that of EPOCH, or with EPOCH = best-val the weights of the best validation accuracy).", stdout)
	if err != nil || dir == "" {
		return err
	}
	backend, choice, err := graph.NewBackend(*backendFlag)
	if err != nil {
		return usagef("inference: %v", err)
	}
	trainSet, valSet, testSet, err := train.Splits(cfg)
	if err != nil {
		return err
	}
	sets := map[string]*train.Dataset{"test": testSet, "val": valSet, "train": trainSet}
	d, ok := sets[*split]
	if !ok {
		return usagef("inference: --split must be test, val or train, got %q", *split)
	}
	cfg.Devices = 0 // inference runs on one device
	trainer, err := train.NewTrainer(backend, cfg, trainSet.NumFeatures, trainSet.NumClasses)
	if err != nil {
		return err
	}
	if err := trainer.Restore(ckpt); err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	loss, acc, err := trainer.Evaluate(d)
	if err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	fmt.Fprintf(stdout, "%s accuracy: %.2f%%  (loss %.6g; %s, epoch %d, %d samples, backend %s)\n",
		*split, 100*acc, loss, dir, ckpt.Manifest.Epoch, d.Size(), choice.Config)
	fmt.Fprintf(stdout, "%s_accuracy %s\n", *split, strconv.FormatFloat(acc, 'g', -1, 64))
	return nil
}
