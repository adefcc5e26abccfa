package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain lets the crash tests run this test binary as the gosnn command
// (GOSNN_RUN_MAIN=1), so that a real process can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("GOSNN_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashArgs is a small, quick run with a checkpoint after every epoch.
var crashArgs = []string{"train", "yinyang", "--epochs", "4", "--hidden", "10", "--batch-size", "500", "--checkpoint-every", "1", "--quiet"}

// onlyRun returns the one results folder under out.
func onlyRun(t *testing.T, out string) string {
	dirs, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	return filepath.Join(out, dirs[0].Name())
}

// metricsWithoutTime reads metrics.csv without its seconds column (timing
// differs between runs, nothing else may).
func metricsWithoutTime(t *testing.T, dir string) [][]string {
	f, err := os.Open(filepath.Join(dir, "metrics.csv"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	col := -1
	for i, name := range rows[0] {
		if name == "seconds" {
			col = i
		}
	}
	require.GreaterOrEqual(t, col, 0)
	for i, r := range rows {
		rows[i] = append(append([]string{}, r[:col]...), r[col+1:]...)
	}
	return rows
}

// summaryNumbers is summary.json less its timing and dates.
func summaryNumbers(t *testing.T, dir string) map[string]any {
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal(data, &s))
	for _, k := range []string{"started_at", "finished_at", "total_seconds", "seconds_per_epoch", "compile_seconds", "history"} {
		delete(s, k)
	}
	return s
}

// TestKilledRunContinuesExactly kills a training process with SIGKILL at
// three moments — half-way through an epoch, while a checkpoint is being
// written, while metrics.csv is being written — continues it, and requires
// the final weights, metrics and summary of the uninterrupted run.
func TestKilledRunContinuesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains several short runs")
	}
	refOut := t.TempDir()
	require.NoError(t, run(context.Background(), append(crashArgs, "--out", refOut), &bytes.Buffer{}))
	ref := onlyRun(t, refOut)
	refWeights, err := os.ReadFile(filepath.Join(ref, "weights.json"))
	require.NoError(t, err)

	for _, point := range []string{"mid-epoch:2", "checkpoint:2", "metrics:3"} {
		t.Run(point, func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(os.Args[0], append(crashArgs, "--out", out)...)
			cmd.Env = append(os.Environ(), "GOSNN_RUN_MAIN=1", "GOSNN_CRASH_POINT="+point)
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			reached := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				found := false
				for sc.Scan() {
					if strings.Contains(sc.Text(), "at crash point "+point) && !found {
						found = true
						reached <- true
					}
				}
				if !found {
					reached <- false
				}
			}()
			select {
			case ok := <-reached:
				require.True(t, ok, "the run ended without reaching the crash point")
			case <-time.After(3 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatal("the run did not reach the crash point in time")
			}
			require.NoError(t, cmd.Process.Kill()) // SIGKILL
			_ = cmd.Wait()
			dir := onlyRun(t, out)
			_, err = os.Stat(filepath.Join(dir, "summary.json"))
			require.True(t, os.IsNotExist(err), "a killed run has no summary yet")

			require.NoError(t, run(context.Background(), []string{"continue", dir, "--quiet"}, &bytes.Buffer{}))
			weights, err := os.ReadFile(filepath.Join(dir, "weights.json"))
			require.NoError(t, err)
			require.Equal(t, string(refWeights), string(weights), "final weights equal the uninterrupted run's")
			require.Equal(t, metricsWithoutTime(t, ref), metricsWithoutTime(t, dir))
			require.Equal(t, summaryNumbers(t, ref), summaryNumbers(t, dir))
			for _, d := range []string{dir, filepath.Join(dir, "checkpoints")} {
				entries, err := os.ReadDir(d)
				require.NoError(t, err)
				for _, e := range entries {
					require.False(t, strings.HasPrefix(e.Name(), "."), "temporary %s left behind", e.Name())
				}
			}
		})
	}
}

// TestSameRunTwiceIsBitIdentical trains the same config twice on the
// pure-Go backend.
func TestSameRunTwiceIsBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two short runs")
	}
	var weights []string
	var metrics [][][]string
	for range 2 {
		out := t.TempDir()
		require.NoError(t, run(context.Background(), append(crashArgs, "--out", out, "--epochs", "2", "--backend", "go"), &bytes.Buffer{}))
		dir := onlyRun(t, out)
		w, err := os.ReadFile(filepath.Join(dir, "weights.json"))
		require.NoError(t, err)
		weights = append(weights, string(w))
		metrics = append(metrics, metricsWithoutTime(t, dir))
	}
	require.Equal(t, weights[0], weights[1])
	require.Equal(t, metrics[0], metrics[1])
}

// TestConfigFileEqualsTask trains configs/yin_yang.yaml and the task
// yinyang: the same run.
func TestConfigFileEqualsTask(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two short runs")
	}
	var got []map[string]any
	for _, arg := range []string{"../../configs/yin_yang.yaml", "yinyang"} {
		out := t.TempDir()
		require.NoError(t, run(context.Background(), []string{"train", arg, "--seed", "1", "--epochs", "1", "--hidden", "10", "--out", out, "--quiet"}, &bytes.Buffer{}))
		got = append(got, summaryNumbers(t, onlyRun(t, out)))
	}
	require.Equal(t, got[0], got[1])
}

// TestInferencePrintsRecordedAccuracy evaluates a finished run's final
// checkpoint: exactly the test accuracy of its summary.json.
func TestInferencePrintsRecordedAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a short run")
	}
	out := t.TempDir()
	require.NoError(t, run(context.Background(), append(crashArgs, "--epochs", "2", "--savepoints", "1", "--out", out), &bytes.Buffer{}))
	dir := onlyRun(t, out)
	summary := summaryNumbers(t, dir)
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"inference", dir}, &stdout))
	want := strconv.FormatFloat(summary["test_accuracy"].(float64), 'g', -1, 64)
	require.Contains(t, stdout.String(), "\ntest_accuracy "+want+"\n")
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"inference", dir, "1", "--split", "val"}, &stdout))
	require.Contains(t, stdout.String(), "epoch 1")

	// The best-validation checkpoint holds the weights whose accuracies
	// summary.json records as best_val_*.
	for split, key := range map[string]string{"val": "best_val_accuracy", "test": "best_val_test_accuracy"} {
		stdout.Reset()
		require.NoError(t, run(context.Background(), []string{"inference", dir, "best-val", "--split", split}, &stdout))
		want := strconv.FormatFloat(summary[key].(float64), 'g', -1, 64)
		require.Contains(t, stdout.String(), "\n"+split+"_accuracy "+want+"\n")
		require.Contains(t, stdout.String(), fmt.Sprintf("epoch %d,", int(summary["best_val_epoch"].(float64))))
	}
}

// TestRunFolderBadInput: continue and inference name the folder or epoch
// at fault, with a non-zero exit and nothing written.
func TestRunFolderBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a short run")
	}
	out := t.TempDir()
	require.NoError(t, run(context.Background(), append(crashArgs, "--epochs", "2", "--checkpoint-every", "5", "--out", out), &bytes.Buffer{}))
	dir := onlyRun(t, out)
	missing := filepath.Join(out, "no-such-run")
	// A run of an older gosnn, without a best-validation checkpoint.
	noBest := filepath.Join(out, "older-run")
	require.NoError(t, os.CopyFS(noBest, os.DirFS(dir)))
	require.NoError(t, os.RemoveAll(filepath.Join(noBest, "checkpoints", "best-val")))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inference", missing}, missing + " is not a results folder (no such folder)"},
		{[]string{"continue", missing}, missing + " is not a results folder (no such folder)"},
		{[]string{"inference", dir, "1"}, dir + " has no save point at epoch 1 (checkpoints: 2)"},
		{[]string{"continue", dir, "7"}, dir + " has no save point at epoch 7 (checkpoints: 2)"},
		{[]string{"inference", dir, "two"}, `EPOCH must be a positive integer or best-val, got "two"`},
		{[]string{"inference", noBest, "best-val"}, noBest + " has no best-validation checkpoint"},
		{[]string{"inference", dir, "--split", "dev"}, `--split must be test, val or train, got "dev"`},
		{[]string{"inference"}, "no results folder given"},
		{[]string{"inference", out}, "is not a results folder of gosnn train"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			before := listTree(t, out)
			err := run(context.Background(), tc.args, &bytes.Buffer{})
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, before, listTree(t, out), "nothing may be written")
		})
	}
}

// listTree lists every path under root.
func listTree(t *testing.T, root string) []string {
	var paths []string
	require.NoError(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	return paths
}
