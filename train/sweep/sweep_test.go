package sweep

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseExpandsGridAndZip(t *testing.T) {
	plan, err := Parse([]byte(`name: s
base: yin_yang
set:
  epochs: 3
  save_points: [1, 2]
grid:
  network.nodes.hidden.size: [10, 20]
  network.nodes[5].max_missing: [0, 0.1, 0.2]
zip:
  lr_step_size: [5, 10]
  lr_gamma: [0.5, 0.9]
`), "s.yaml", ".")
	require.NoError(t, err)
	require.Len(t, plan.Points, 2*3*2)
	var keys []string
	for _, a := range plan.Axes {
		keys = append(keys, a.Key)
	}
	require.Equal(t, []string{"network.nodes.hidden.size", "network.nodes[5].max_missing", "lr_step_size", "lr_gamma"}, keys)
	// The first grid key varies slowest, the zip rows fastest.
	text := func(p Point) string {
		var parts []string
		for _, s := range p.Settings {
			parts = append(parts, s.Text())
		}
		return strings.Join(parts, " ")
	}
	require.Equal(t, "10 0 5 0.5", text(plan.Points[0]))
	require.Equal(t, "10 0 10 0.9", text(plan.Points[1]))
	require.Equal(t, "10 0.1 5 0.5", text(plan.Points[2]))
	require.Equal(t, "20 0.2 10 0.9", text(plan.Points[11]))
	for i, cfg := range plan.Configs {
		require.Equal(t, 3, cfg.Epochs)
		require.Equal(t, []int{1, 2}, cfg.SavePoints)
		want := 10
		if i >= 6 {
			want = 20
		}
		require.Equal(t, want, cfg.Network.Node("hidden").Size)
		require.Equal(t, "output", cfg.Network.Nodes[5].Name)
	}
	require.Equal(t, 0.2, plan.Configs[11].Network.Node("output").MaxMissing)
	require.Equal(t, 0.9, plan.Configs[11].LRGamma)
	require.Equal(t, 10, plan.Configs[11].LRStepSize)
	require.Equal(t, 100, plan.Base.Network.Node("hidden").Size, "the base is left alone")
}

func TestApplyKeyPaths(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		check      func(t *testing.T, p *Plan)
		err        string
	}{
		{"a key the config leaves out", "set: {devices: 2}", func(t *testing.T, p *Plan) { require.Equal(t, 2, p.Configs[0].Devices) }, ""},
		{"a list value", "grid: {save_points: [[3], [4, 5]]}", func(t *testing.T, p *Plan) {
			require.Equal(t, []int{4, 5}, p.Configs[1].SavePoints)
			require.Equal(t, "[4, 5]", p.Points[1].Settings[0].Text())
		}, ""},
		{"an item of a list", "set: {'network.nodes.bias.times[0]': 0.5}", func(t *testing.T, p *Plan) {
			require.Equal(t, []float64{0.5}, p.Configs[0].Network.Node("bias").Times)
		}, ""},
		{"a nested mapping", "set: {network.nodes.hidden.neuron.threshold: 1.25}", func(t *testing.T, p *Plan) {
			require.Equal(t, 1.25, p.Configs[0].Network.Node("hidden").Neuron.Threshold)
			require.Equal(t, 1.0, p.Configs[0].Network.Node("output").Neuron.Threshold, "the YAML anchor is not shared any more")
		}, ""},
		{"index out of range", "set: {'network.nodes[9].size': 3}", nil, `s.yaml:3: key "network.nodes[9].size": network.nodes has 6 items, no [9]`},
		{"index into a mapping", "set: {'network[0]': 3}", nil, `key "network[0]": network is not a list: no [0]`},
		{"key of a value", "set: {epochs.x: 3}", nil, `key "epochs.x": epochs is a single value: it has no key "x"`},
		{"bad index", "set: {'network.nodes[x].size': 3}", nil, `key "network.nodes[x].size": bad index in "nodes[x]"`},
		{"no values", "grid: {seed: []}", nil, `s.yaml:3: grid key "seed": a non-empty list of values, got []`},
		{"twice", "set: {seed: 1}\ngrid: {seed: [1, 2]}", nil, `s.yaml:4: key "seed" is given twice (also on line 3)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, err := Parse([]byte("name: s\nbase: yin_yang\n"+c.yaml+"\n"), "s.yaml", ".")
			if c.err != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			c.check(t, plan)
		})
	}
}

func TestBaseConfigFileIsRelativeToTheSweepFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cfg"), 0o755))
	base := "name: mine\ndata: yinyang\nseed: 1\ndtype: float32\nepochs: 1\nbatch_size: 10\neval_batch_size: 10\noptimizer: adam\n" +
		"learning_rate: 0.01\nlr_step_size: 1\nlr_gamma: 1\nloss: {xi: 0.2, alpha: 0.005, beta: 1, tau_syn: 1}\nbump_value: 0\n" +
		"network:\n  nodes:\n    - {name: input, kind: input, size: 4, encoding: {early: 0.15, late: 2}}\n" +
		"    - {name: to_output, kind: linear, init: {mean: 1, std: 1}}\n" +
		"    - {name: output, kind: ttfs, size: 3, neuron: {tau_syn: 1, tau_mem: 1, g_leak: 1, leak: 0, threshold: 1, reset: 0, refractory: 0}, max_missing: 0}\n" +
		"  edges: [[input, to_output], [to_output, output]]\n  output: output\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cfg", "mine.yaml"), []byte(base), 0o644))
	sweepFile := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(sweepFile, []byte("name: s\nbase: cfg/mine.yaml\ngrid: {seed: [1, 2]}\n"), 0o644))
	plan, err := ReadFile(sweepFile)
	require.NoError(t, err)
	require.Equal(t, "mine", plan.Configs[1].Name)
	require.Equal(t, int64(2), plan.Configs[1].Seed)

	s, err := Create(plan, []byte("text as given"), filepath.Join(dir, "out"), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "out", "s_20260102-030405"), s.Dir)
	again, err := Open(s.Dir)
	require.NoError(t, err)
	require.Equal(t, s.Manifest, again.Manifest)
	require.Equal(t, []string{"seed"}, again.Manifest.Keys)
	require.Equal(t, []string{"2"}, again.Manifest.Points[1].Values)
	text, err := os.ReadFile(filepath.Join(s.Dir, "sweep.yaml"))
	require.NoError(t, err)
	require.Equal(t, "text as given", string(text))
	for i := range 2 {
		st, err := s.PointState(i)
		require.NoError(t, err)
		require.Equal(t, Pending, st.State)
		info, err := os.Stat(filepath.Join(s.PointDir(i), "config.yaml"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), info.Mode().Perm())
	}
	todo, err := s.ToRun()
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, todo)
}

// TestWriteSlurm: the script passes bash -n, has one array task per point
// and quotes a folder with spaces and quotes in its name.
func TestWriteSlurm(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my sweeps 'x'")
	plan, err := Parse([]byte("name: s\nbase: yin_yang\ngrid: {seed: [1, 2, 3], epochs: [1, 2]}\n"), "s.yaml", ".")
	require.NoError(t, err)
	s, err := Create(plan, nil, dir, time.Now())
	require.NoError(t, err)
	path, err := s.WriteSlurm("/opt/gosnn bin/gosnn", []string{"--partition=cpu", "--time=01:00:00"})
	require.NoError(t, err)
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	script := string(text)
	require.True(t, strings.HasPrefix(script, "#!/bin/bash\n"))
	require.Contains(t, script, "#SBATCH --array=0-5\n")
	require.Contains(t, script, "#SBATCH --partition=cpu\n#SBATCH --time=01:00:00\n")
	require.Contains(t, script, `exec '/opt/gosnn bin/gosnn' sweep point '`+strings.ReplaceAll(s.Dir, "'", `'\''`)+`' "$SLURM_ARRAY_TASK_ID"`)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), info.Mode().Perm())
	if _, err := exec.LookPath("bash"); err == nil {
		out, err := exec.Command("bash", "-n", path).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	_, err = s.WriteSlurm("gosnn", []string{"--time=1\nrm -rf /"})
	require.ErrorContains(t, err, "holds a line break")
}

// TestREADMESweepFile parses the sweep file the README shows.
func TestREADMESweepFile(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "```yaml\nname: hidden_lr\n")
	require.True(t, ok, "the README shows the sweep file hidden_lr")
	text, _, _ := strings.Cut(rest, "```")
	plan, err := Parse([]byte("name: hidden_lr\n"+text), "README.md", ".")
	require.NoError(t, err)
	require.Len(t, plan.Points, 3*2*3*2)
	require.Equal(t, 0.95, plan.Configs[1].LRGamma)
}
