package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/train/sweep"
)

// tinySweep is a 2x2 grid of 1-epoch Yin-Yang runs with 4 or 8 hidden
// neurons.
const tinySweep = `name: tiny
base: yin_yang
set: {epochs: 1, batch_size: 500, save_points: []}
grid:
  network.nodes.hidden.size: [4, 8]
  seed: [1, 2]
`

// TestSweepInterruptContinueCollectPlot runs a 2x2 sweep with 2 workers in
// a process of its own, kills that process and its gosnn train children
// (SIGKILL to the process group) once the first point is done, then
// requires the state to show the killed points as interrupted, continue to
// finish every point, collect to write one CSV row per point with its test
// accuracy, plot to draw the accuracy against the hidden size, and the
// Slurm script to pass bash -n with one array task per point.
func TestSweepInterruptContinueCollectPlot(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 4 tiny runs")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.yaml")
	require.NoError(t, os.WriteFile(file, []byte(tinySweep), 0o644))
	out := filepath.Join(dir, "results")
	cmd := exec.Command(os.Args[0], "sweep", "run", file, "--out", out, "--workers", "2")
	cmd.Env = append(os.Environ(), "GOSNN_RUN_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	var s *sweep.Sweep
	deadline := time.Now().Add(2 * time.Minute)
	for done := false; !done; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "no point finished in time:\n%s", log.String())
		dirs, _ := filepath.Glob(filepath.Join(out, "tiny_*"))
		if len(dirs) != 1 {
			continue
		}
		if s == nil {
			if s, _ = sweep.Open(dirs[0]); s == nil {
				continue
			}
		}
		for i := range s.Manifest.Points {
			st, err := s.PointState(i)
			done = done || err == nil && st.State == sweep.Done
		}
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()
	time.Sleep(100 * time.Millisecond) // the children are reaped by init

	results, err := s.Collect()
	require.NoError(t, err)
	counts := sweep.Counts(results)
	require.Less(t, counts[sweep.Done], 4, "the kill came before the end:\n%s", log.String())
	require.Zero(t, counts[sweep.Running], "a killed point is not running any more")
	var state bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"sweep", "state", s.Dir}, &state))
	require.Contains(t, state.String(), "4 points: ")
	require.Contains(t, state.String(), "network.nodes.hidden.size")

	t.Setenv("GOSNN_RUN_MAIN", "1") // the workers run this test binary as gosnn
	var cont bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"sweep", "continue", s.Dir, "--workers", "2"}, &cont), cont.String())
	require.Contains(t, cont.String(), "4 points: 4 done")

	require.NoError(t, run(context.Background(), []string{"sweep", "collect", s.Dir}, &bytes.Buffer{}))
	f, err := os.Open(filepath.Join(s.Dir, "results.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	_ = f.Close()
	require.NoError(t, err)
	require.Len(t, rows, 5)
	require.Equal(t, []string{"point", "state", "network.nodes.hidden.size", "seed", "test_accuracy"}, rows[0][:5])
	want := [][]string{{"4", "1"}, {"4", "2"}, {"8", "1"}, {"8", "2"}}
	for i, r := range rows[1:] {
		require.Equal(t, "done", r[1])
		require.Equal(t, want[i], r[2:4])
		require.NotEmpty(t, r[4])
		cfg, err := os.ReadFile(filepath.Join(s.Dir, r[12], "config.yaml"))
		require.NoError(t, err, "run_dir names the point's results folder")
		require.Contains(t, string(cfg), "seed: "+want[i][1])
	}

	require.NoError(t, run(context.Background(), []string{"sweep", "plot", s.Dir}, &bytes.Buffer{}))
	for _, ext := range []string{"png", "svg"} {
		st, err := os.Stat(filepath.Join(s.Dir, "plots", "test_accuracy_vs_network.nodes.hidden.size."+ext))
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1000))
	}

	var slurm bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"sweep", "slurm", s.Dir, "--sbatch", "--time=00:10:00"}, &slurm))
	script := filepath.Join(s.Dir, "slurm.sh")
	if _, err := exec.LookPath("bash"); err == nil {
		outB, err := exec.Command("bash", "-n", script).CombinedOutput()
		require.NoError(t, err, string(outB))
	}
	text, err := os.ReadFile(script)
	require.NoError(t, err)
	require.Contains(t, string(text), "#SBATCH --array=0-3\n")
	require.Contains(t, string(text), "#SBATCH --time=00:10:00\n")
	require.Contains(t, string(text), " sweep point "+s.Dir+` "$SLURM_ARRAY_TASK_ID"`)

	// A Slurm task of a finished point returns at once, running nothing.
	before, err := os.ReadFile(filepath.Join(s.PointDir(0), "log.txt"))
	require.NoError(t, err)
	var point bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"sweep", "point", s.Dir, "0"}, &point))
	require.Contains(t, point.String(), "point 0: done")
	after, err := os.ReadFile(filepath.Join(s.PointDir(0), "log.txt"))
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))
}

// TestSweepBadInput: a bad sweep file or folder is one clear line naming
// the file, the line and the key, and leaves no sweep folder behind.
func TestSweepBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		want       string
	}{
		{"unknown key", "name: b\nbase: yin_yang\ngrid:\n  network.nodes.hidden.sizee: [4]\n",
			`b.yaml:4: key "network.nodes.hidden.sizee": "sizee" is not a config key at network.nodes.hidden`},
		{"unknown node", "name: b\nbase: yin_yang\ngrid:\n  network.nodes.hiddn.size: [4]\n",
			`b.yaml:4: key "network.nodes.hiddn.size": network.nodes has no item named "hiddn"`},
		{"unknown top key", "name: b\nbase: yin_yang\nset: {learning_rat: 0.1}\n",
			`b.yaml:3: key "learning_rat": "learning_rat" is not a config key at the top level`},
		{"bad value", "name: b\nbase: yin_yang\ngrid:\n  learning_rate: [0.1, abc]\n",
			`b.yaml:4: the point learning_rate=abc is not a valid config: learning_rate: cannot unmarshal`},
		{"impossible value", "name: b\nbase: yin_yang\ngrid:\n  epochs: [0]\n",
			`b.yaml:4: the point epochs=0 is not a valid config: epochs: must be >= 1, got 0`},
		{"unknown sweep key", "name: b\nbase: yin_yang\ngird: {seed: [1]}\n", `b.yaml:3: unknown key "gird" (a sweep file holds`},
		{"zip lengths", "name: b\nbase: yin_yang\nzip:\n  seed: [1, 2]\n  epochs: [1]\n", `b.yaml:5: zip key "epochs" has 1 values, "seed" has 2`},
		{"no base", "name: b\n", "b.yaml: base: give the base config"},
		{"bad base", "name: b\nbase: nope\n", `b.yaml: base: no shipped config "nope"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, "b.yaml")
			require.NoError(t, os.WriteFile(file, []byte(c.text), 0o644))
			out := filepath.Join(dir, "out")
			err := run(context.Background(), []string{"sweep", "run", file, "--out", out}, &bytes.Buffer{})
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.NotContains(t, err.Error(), "\n")
			_, statErr := os.Stat(out)
			require.True(t, os.IsNotExist(statErr), "nothing is written")
		})
	}
	err := run(context.Background(), []string{"sweep", "state", dir}, &bytes.Buffer{})
	require.ErrorContains(t, err, dir+" is not a sweep folder")
	err = run(context.Background(), []string{"sweep", "frobnicate", dir}, &bytes.Buffer{})
	require.ErrorContains(t, err, `unknown command "frobnicate"`)
	require.True(t, strings.HasPrefix(err.Error(), "sweep:"))
}
