package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
	"github.com/gosnn/gosnn/train"
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
		{"unknown task", []string{"train", "cifar10", "--out", out}, `"cifar10" is neither a config file nor a task`, true},
		{"no task", []string{"train", "--out", out}, "no config given", true},
		{"zero epochs", []string{"train", "yinyang", "--epochs", "0", "--out", out}, "epochs: must be >= 1", true},
		{"negative epochs", []string{"train", "yinyang", "--epochs=-3", "--out", out}, "epochs: must be >= 1", true},
		{"malformed epochs", []string{"train", "yinyang", "--epochs", "ten", "--out", out}, `invalid value "ten" for flag -epochs`, true},
		{"malformed lr", []string{"train", "yinyang", "--lr", "fast", "--out", out}, `invalid value "fast" for flag -lr`, true},
		{"unknown flag", []string{"train", "yinyang", "--epoch", "3", "--out", out}, "flag provided but not defined: -epoch", true},
		{"bad dtype", []string{"train", "yinyang", "--dtype", "float16", "--out", out}, "dtype: must be float32 or float64", true},
		{"unknown backend", []string{"train", "yinyang", "--backend", "tpu", "--out", out}, `unknown backend "tpu"`, true},
		{"unwritable out", []string{"train", "yinyang", "--epochs", "1", "--out", filepath.Join(file, "sub")}, "results folder", false},
		{"unknown command", []string{"fly"}, `unknown command "fly"`, true},
		{"unknown method", []string{"train", "yinyang", "--method", "bptt", "--out", out}, `--method: unknown method "bptt" (methods: ttfs, eventprop, eventprop-recurrent, discrete)`, true},
		{"malformed capacity", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "120,x", "--out", out}, `--capacity: want "hidden,output", two integers, got "120,x"`, true},
		{"zero capacity", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "0,3", "--out", out}, "network.nodes[3] (hidden).capacity: must be >= 1, got 0", true},
		{"capacity count", []string{"train", "yinyang", "--method", "eventprop", "--capacity", "120", "--out", out}, `--capacity: want "hidden,output", two integers, got "120"`, true},
		{"devices not dividing the batch", []string{"train", "yinyang", "--devices", "3", "--out", out}, "devices: batch_size (64) and eval_batch_size (500) must be multiples of devices (3)", true},
		{"devices on the pure-Go backend", []string{"train", "yinyang", "--devices", "2", "--backend", "go", "--out", out}, "has 1 device(s), 2 asked for", false},
		{"capacity of a ttfs network", []string{"train", "yinyang", "--capacity", "3,3", "--out", out}, `population "hidden" is ttfs, capacities are for lif populations`, true},
		{"reset of a ttfs network", []string{"train", "yinyang", "--reset", "0", "--out", out}, `config "yin_yang" has no lif population`, true},
		{"missing config file", []string{"train", filepath.Join(tmp, "nope.yaml"), "--out", out}, "nope.yaml: no such file", true},
		{"batch larger than the training set", []string{"train", "yinyang", "--batch-size", "6000", "--out", out}, "batch_size 6000 is larger than the training set (5000 samples)", true},
		{"method with a config file", []string{"train", file + ".yaml", "--method", "ttfs", "--out", out}, "--method chooses a shipped config", true},
		{"cpuprofile on xla", []string{"train", "yinyang", "--backend", "xla:cpu", "--cpuprofile", filepath.Join(tmp, "cpu.prof"), "--out", out}, "--cpuprofile profiles the pure-Go backend only", true},
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
	for _, name := range []string{"config.yaml", "summary.json", "metrics.csv", "weights.json"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 5, "config, summary, metrics, weights, checkpoints; no temporary files may be left")
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

func TestBenchBadInput(t *testing.T) {
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
		{"unknown method", []string{"--methods", "ttfs,bptt"}, `--methods: unknown method "bptt"`, true},
		{"no methods", []string{"--methods", " , "}, "--methods is empty", true},
		{"method twice", []string{"--methods", "ttfs,eventprop,ttfs"}, `--methods lists "ttfs" twice`, true},
		{"unknown backend", []string{"--backends", "go,tpu"}, `--backends: unknown backend "tpu"`, true},
		{"no backends", []string{"--backends", ""}, "--backends is empty", true},
		{"zero epochs", []string{"--epochs", "0"}, "--epochs must be >= 1, got 0", true},
		{"malformed epochs", []string{"--epochs", "three"}, `invalid value "three" for flag -epochs`, true},
		{"zero batch size", []string{"--batch-size", "0"}, "--batch-size must be >= 1, got 0", true},
		{"negative hidden", []string{"--hidden=-5"}, "--hidden must be >= 1, got -5", true},
		{"negative devices", []string{"--devices=-1"}, "--devices must be >= 0, got -1", true},
		{"devices not dividing the batch", []string{"--devices", "3"}, "--devices (3) must divide --batch-size (64)", true},
		{"train's flag", []string{"--method", "ttfs"}, "flag provided but not defined: -method", true},
		{"positional argument", []string{"yinyang"}, `unexpected argument "yinyang"`, true},
		{"unwritable out", []string{"--backends", "go", "--out", filepath.Join(file, "sub")}, "results folder", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench"}, tc.args...)
			if !slices.Contains(tc.args, "--out") {
				args = append(args, "--out", out)
			}
			var stdout bytes.Buffer
			err := run(context.Background(), args, &stdout)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			var u usageError
			require.Equal(t, tc.usage, errors.As(err, &u), "usage error (exit 2)?")
			_, statErr := os.Stat(out)
			require.True(t, os.IsNotExist(statErr), "nothing may be written for bad input")
			require.Empty(t, stdout.String(), "nothing may be printed for bad input")
		})
	}
}

// TestBenchPlansTrainConfigs checks that bench runs every backend x method
// with the configuration "gosnn train yinyang --method M" builds.
func TestBenchPlansTrainConfigs(t *testing.T) {
	a, runs, err := parseBenchArgs([]string{"--methods", "ttfs,eventprop", "--backends", "go,xla:cpu",
		"--epochs", "2", "--batch-size", "50", "--hidden", "8", "--seed", "9"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, []string{"ttfs", "eventprop"}, a.Methods)
	var got []string
	for _, r := range runs {
		got = append(got, r.backend+"/"+r.method)
		var stdout bytes.Buffer
		want, err := loadConfig("yinyang", r.method)
		require.NoError(t, err)
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		var o overrides
		o.register(fs)
		require.NoError(t, fs.Parse([]string{"--epochs", "2", "--batch-size", "50", "--hidden", "8", "--seed", "9", "--backend", r.backend}))
		require.NoError(t, o.apply(&want))
		require.Equal(t, want, r.cfg, stdout.String())
	}
	require.Equal(t, []string{"go/ttfs", "go/eventprop", "xla:cpu/ttfs", "xla:cpu/eventprop"}, got)
	require.Equal(t, 8, runs[1].cfg.Network.Node("hidden").Capacity, "eventprop's config: one spike per neuron")
	require.Equal(t, -1000.0, runs[1].cfg.Network.Node("hidden").Neuron.Reset)
}

func TestBenchDefaultBackends(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(graph.PluginPathEnvVar, filepath.Join(dir, "missing")+string(os.PathListSeparator)+dir)
	require.Equal(t, "go", defaultBenchBackends(), "no plugin file yet")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pjrt_c_api_cpu_plugin.so"), nil, 0o644))
	want := "go"
	if slices.Contains(graph.AvailableBackends(), "xla") {
		want = "go,xla:cpu"
	}
	require.Equal(t, want, defaultBenchBackends())
}

func TestBenchEpochTiming(t *testing.T) {
	epochs := func(seconds ...float64) []train.EpochMetrics {
		var h []train.EpochMetrics
		for i, s := range seconds {
			h = append(h, train.EpochMetrics{Epoch: i + 1, Seconds: s})
		}
		return h
	}
	for _, tc := range []struct {
		name                           string
		history                        []train.EpochMetrics
		perEpoch, first, samplesPerSec float64
		includesFirst                  bool
	}{
		{"none", nil, 0, 0, 0, false},
		{"one epoch includes compilation", epochs(10), 10, 10, 500, true},
		{"later epochs only", epochs(10, 2, 3), 2.5, 10, 2000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var row benchRow
			row.setEpochs(tc.history, 5000)
			require.Equal(t, len(tc.history), row.Epochs)
			require.InDelta(t, tc.perEpoch, row.SecondsPerEpoch, 1e-12)
			require.InDelta(t, tc.first, row.FirstEpochSeconds, 1e-12)
			require.InDelta(t, tc.samplesPerSec, row.SamplesPerSecond, 1e-9)
			require.Equal(t, tc.includesFirst, row.IncludesFirstEpoch)
			require.Len(t, row.EpochSeconds, len(tc.history))
		})
	}
}

// TestBenchInterrupted checks that a cancelled context (Ctrl-C) stops the
// benchmark before the next run and still leaves bench.json.
func TestBenchInterrupted(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"bench", "--methods", "ttfs", "--backends", "go", "--quiet", "--out", out}, io.Discard)
	require.ErrorIs(t, err, context.Canceled)
	var u usageError
	require.False(t, errors.As(err, &u))
	doc := readBenchJSON(t, out)
	require.Equal(t, "interrupted: context canceled", doc["status"])
	require.Empty(t, doc["rows"])
}

// TestBenchWritesResults times one tiny run end to end and checks
// bench.json.
func TestBenchWritesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for one epoch")
	}
	// A budget, so that a machine too busy for this test fails it instead
	// of hanging the package's tests.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	var stdout bytes.Buffer
	require.NoError(t, run(ctx, []string{"bench", "--methods", "ttfs", "--backends", "go", "--epochs", "1",
		"--hidden", "8", "--batch-size", "50", "--quiet", "--out", out}, &stdout))
	require.Contains(t, stdout.String(), "s/epoch")
	require.Contains(t, stdout.String(), "bench.json")
	doc := readBenchJSON(t, out)
	require.Equal(t, "finished", doc["status"])
	require.Contains(t, doc, "versions")
	require.Contains(t, doc, "args")
	rows := doc["rows"].([]any)
	require.Len(t, rows, 1)
	row := rows[0].(map[string]any)
	require.NotContains(t, row, "error")
	require.Equal(t, "ttfs", row["method"])
	require.Equal(t, "go", row["backend"])
	require.Equal(t, true, row["includes_first_epoch"])
	acc := row["test_accuracy"].(float64)
	require.True(t, acc >= 0 && acc <= 1, "test accuracy %g", acc)
	require.Greater(t, row["seconds_per_epoch"].(float64), 0.0)
	require.Greater(t, row["train_samples_per_second"].(float64), 0.0)
}

// readBenchJSON reads the bench.json of the one bench folder in out.
func readBenchJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	dirs, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	require.True(t, strings.HasPrefix(dirs[0].Name(), "bench_"), dirs[0].Name())
	dir := filepath.Join(out, dirs[0].Name())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only bench.json, no temporary files")
	data, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	return doc
}

// TestTrainBadConfigFile: each broken config file gives one line naming the
// file, the line and the key or node, exit status 2, and no results folder.
func TestTrainBadConfigFile(t *testing.T) {
	good, err := os.ReadFile("../../configs/yin_yang_fastanddeep.yaml")
	require.NoError(t, err)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "results")
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"syntax error", "lr_gamma: 0.95", "lr_gamma: [0.95", "bad.yaml:14: did not find expected ',' or ']'"},
		{"unknown key", "epochs: 300", "epochs: 300\nepohcs: 3", `bad.yaml:10: unknown key "epohcs"`},
		{"negative layer size", "size: 120", "size: -120", "bad.yaml:30: network.nodes[3] (hidden).size: must be >= 1, got -120"},
		{"unknown node kind", "kind: bias", "kind: biases", `bad.yaml:26: network.nodes[1] (bias).kind: unknown node kind "biases"`},
		{"edge to a missing node", "- [hidden, to_output]", "- [hidden, to_out]", `network.edges[3]: edge [hidden, to_out]: no node named "to_out"`},
		{"wrong type", "epochs: 300", "epochs: many", "bad.yaml:9: epochs: cannot unmarshal !!str `many` into int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(string(good), tc.old, tc.new, 1)
			require.NotEqual(t, string(good), text)
			path := filepath.Join(tmp, "bad.yaml")
			require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
			err := run(context.Background(), []string{"train", path, "--out", out}, io.Discard)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "\n", "one line")
			var u usageError
			require.True(t, errors.As(err, &u), "exit status 2")
			_, statErr := os.Stat(out)
			require.True(t, os.IsNotExist(statErr), "nothing may be written for bad input")
		})
	}
}
