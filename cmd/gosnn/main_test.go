package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTrainBadInput(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	out := filepath.Join(tmp, "results")
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"unknown task", []string{"train", "mnist", "--out", out}, `unknown task "mnist"`, true},
		{"no task", []string{"train", "--out", out}, "no task given", true},
		{"zero epochs", []string{"train", "yinyang", "--epochs", "0", "--out", out}, "epochs must be >= 1", true},
		{"negative epochs", []string{"train", "yinyang", "--epochs=-3", "--out", out}, "epochs must be >= 1", true},
		{"malformed epochs", []string{"train", "yinyang", "--epochs", "ten", "--out", out}, `invalid value "ten" for flag -epochs`, true},
		{"malformed lr", []string{"train", "yinyang", "--lr", "fast", "--out", out}, `invalid value "fast" for flag -lr`, true},
		{"unknown flag", []string{"train", "yinyang", "--epoch", "3", "--out", out}, "flag provided but not defined: -epoch", true},
		{"bad dtype", []string{"train", "yinyang", "--dtype", "float16", "--out", out}, "dtype must be float32 or float64", true},
		{"unknown backend", []string{"train", "yinyang", "--backend", "tpu", "--out", out}, `unknown backend "tpu"`, true},
		{"unwritable out", []string{"train", "yinyang", "--epochs", "1", "--out", filepath.Join(file, "sub")}, "results folder", false},
		{"unknown command", []string{"fly"}, `unknown command "fly"`, true},
		{"unknown method", []string{"train", "yinyang", "--method", "bptt", "--out", out}, `method must be one of [ttfs eventprop eventprop-recurrent], got "bptt"`, true},
		{"malformed capacity", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "120,x", "--out", out}, `--capacity: "120,x" is not a list of integers`, true},
		{"zero capacity", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "0,3", "--out", out}, "capacities[0] must be >= 1, got 0", true},
		{"capacity count", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "120", "--out", out}, "capacities needs 2 entries", true},
		{"devices not dividing the batch", []string{"train", "yinyang", "--devices", "4", "--out", out}, "batch_size (150) and eval_batch_size (200) must be multiples of devices (4)", true},
		{"devices on the pure-Go backend", []string{"train", "yinyang", "--devices", "2", "--backend", "go", "--out", out}, "has 1 device(s), 2 asked for", false},
		{"reset above threshold", []string{"train", "yinyang", "--method", "eventprop", "--reset", "2", "--out", out}, "threshold (1) must be above reset (2)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(context.Background(), tc.args, &stdout)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			var u usageError
			require.Equal(t, tc.usage, errors.As(err, &u), "usage error (exit 2)?")
			_, statErr := os.Stat(out)
			require.True(t, os.IsNotExist(statErr), "nothing may be written for bad input")
		})
	}
}

// TestTrainWritesResults runs one short epoch end to end and checks the
// results folder.
func TestTrainWritesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for one epoch")
	}
	out := t.TempDir()
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"train", "yinyang", "--epochs", "1", "--seed", "7", "--out", out}, &stdout))
	require.Contains(t, stdout.String(), "test accuracy:")
	dirs, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	dir := filepath.Join(out, dirs[0].Name())
	for _, name := range []string{"config.json", "summary.json", "metrics.csv", "weights.json"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 4, "no temporary files may be left")
	var summary map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &summary))
	for _, key := range []string{"test_accuracy", "val_accuracy", "train_accuracy", "epochs", "seed", "backend", "seconds_per_epoch", "history"} {
		require.Contains(t, summary, key)
	}
	require.EqualValues(t, 7, summary["seed"])
	require.EqualValues(t, 1, summary["epochs"])
	require.Greater(t, summary["test_accuracy"].(float64), 0.4, "one epoch already beats chance (1/3)")
}
