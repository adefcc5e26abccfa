package train

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/configs"
)

func TestShippedConfigsParseAndRoundTrip(t *testing.T) {
	names := ShippedConfigs()
	require.Subset(t, names, []string{"yin_yang", "yin_yang_eventprop", "yin_yang_eventprop_recurrent"})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg, err := ShippedConfig(name)
			require.NoError(t, err)
			require.Equal(t, name, cfg.Name, "a shipped config is named after its file")
			data, err := cfg.YAML()
			require.NoError(t, err)
			again, err := ParseConfig(data, "as-run.yaml")
			require.NoError(t, err, string(data))
			require.Equal(t, cfg, again, "config.yaml reads back as the config that ran")
		})
	}
}

// yinYangYAML is the text of the shipped fastAndDeep config.
func yinYangYAML(t *testing.T) string {
	data, err := configs.FS.ReadFile("yin_yang_fastanddeep.yaml")
	require.NoError(t, err)
	return string(data)
}

// lineOfText is the 1-based line of the first line containing s.
func lineOfText(t *testing.T, text, s string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the config", s)
	return 0
}

func TestParseConfigErrorsNameKeyAndLine(t *testing.T) {
	base := yinYangYAML(t)
	for _, tc := range []struct {
		name       string
		edit       func(string) string
		lineOf     string // the error names the line holding this text (after the edit)
		want       string
		wantNoLine bool
	}{
		{"unknown key", func(s string) string { return strings.Replace(s, "epochs: 300", "epochs: 300\nepoch_count: 3", 1) },
			"epoch_count", `unknown key "epoch_count"`, false},
		{"unknown key in a node", func(s string) string {
			return strings.Replace(s, "max_grad_norm: 0.2\n", "max_grad_norm: 0.2\n      colour: red\n", 1)
		},
			"colour", `unknown key "colour"`, false},
		{"wrong type", func(s string) string { return strings.Replace(s, "batch_size: 150", "batch_size: many", 1) },
			"batch_size", "cannot unmarshal !!str `many` into int", false},
		{"syntax error", func(s string) string { return strings.Replace(s, "lr_gamma: 0.95", "lr_gamma: [0.95", 1) },
			"", "did not find expected", true},
		{"impossible value", func(s string) string { return strings.Replace(s, "lr_gamma: 0.95", "lr_gamma: 1.5", 1) },
			"lr_gamma", "lr_gamma: must be in (0, 1], got 1.5", false},
		{"negative layer size", func(s string) string { return strings.Replace(s, "size: 120", "size: -120", 1) },
			"size: -120", "network.nodes[3] (hidden).size: must be >= 1, got -120", false},
		{"unknown node kind", func(s string) string { return strings.Replace(s, "kind: bias", "kind: biased", 1) },
			"kind: biased", `network.nodes[1] (bias).kind: unknown node kind "biased"`, false},
		{"edge to a missing node", func(s string) string { return strings.Replace(s, "- [hidden, to_output]", "- [hiden, to_output]", 1) },
			"[hiden, to_output]", `network.edges[3]: edge [hiden, to_output]: no node named "hiden"`, false},
		{"malformed edge", func(s string) string { return strings.Replace(s, "- [hidden, to_output]", "- [hidden]", 1) },
			"- [hidden]", "an edge is a list [from, to] of two node names", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.edit(base)
			require.NotEqual(t, base, text, "the edit must change the config")
			_, err := ParseConfig([]byte(text), "exp.yaml")
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			if !tc.wantNoLine {
				require.Contains(t, err.Error(), "exp.yaml:"+itoa(lineOfText(t, text, tc.lineOf))+":", err.Error())
			} else {
				require.Regexp(t, `^exp\.yaml:\d+: `, err.Error())
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestReadConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadConfig(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "missing.yaml: no such file")
	empty := filepath.Join(dir, "empty.yaml")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, err = ReadConfig(empty)
	require.ErrorContains(t, err, "empty.yaml: the config is empty")
	two := filepath.Join(dir, "two.yaml")
	require.NoError(t, os.WriteFile(two, []byte(yinYangYAML(t)+"\n---\nname: x\n"), 0o644))
	_, err = ReadConfig(two)
	require.ErrorContains(t, err, "more than one YAML document")
	list := filepath.Join(dir, "list.yaml")
	require.NoError(t, os.WriteFile(list, []byte("- 1\n- 2\n"), 0o644))
	_, err = ReadConfig(list)
	require.ErrorContains(t, err, "list.yaml:1: a config is a mapping")
}

// FuzzParseConfig feeds arbitrary text to the config reader: it may reject
// it, but never panic, and what it accepts is a valid config that writes
// and reads back unchanged. The seed corpus is in testdata/fuzz.
func FuzzParseConfig(f *testing.F) {
	for _, name := range ShippedConfigs() {
		data, err := configs.FS.ReadFile(name + ".yaml")
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte("name: x\nnetwork: {nodes: [{name: a, kind: input}], edges: [[a, a]]}\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			return
		}
		require.NoError(t, cfg.Validate())
		out, err := cfg.YAML()
		require.NoError(t, err)
		again, err := ParseConfig(out, "again.yaml")
		require.NoError(t, err)
		require.Equal(t, cfg.Clone(), again.Clone())
	})
}

// TestDiscreteConfigErrors edits the shipped discrete config: each error
// names the file's line and the key.
func TestDiscreteConfigErrors(t *testing.T) {
	data, err := configs.FS.ReadFile("yin_yang_discrete.yaml")
	require.NoError(t, err)
	base := string(data)
	for _, tc := range []struct {
		name, from, to, lineOf, want string
	}{
		{"dt >= tau", "euler: {tau_mem: 10, tau_syn: 5, threshold", "euler: {tau_mem: 0.4, tau_syn: 5, threshold", "tau_mem: 0.4",
			"network.nodes[3] (hidden).euler.tau_mem: dt (0.5) must be below tau_mem (0.4)"},
		{"first-spike loss on a trace", "loss: {kind: max_over_time, rate_target: 0.8, rate_rho: 0.00064}", "loss: {kind: mse, tau_mem: 10, correct_time: 1, wrong_time: 2}",
			"loss:", "loss.kind: a network of discrete populations has a read-out over time"},
		{"rate fields on a first-spike loss", "kind: max_over_time", "kind: ttfs", "loss:", "rate_target and rate_rho belong to the trace losses"},
		{"no steps", "  steps: 60\n", "", "dt: 0.5", "network.steps: a discrete network needs steps >= 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(base, tc.from, tc.to, 1)
			require.NotEqual(t, base, text)
			_, err := ParseConfig([]byte(text), "d.yaml")
			require.ErrorContains(t, err, tc.want)
			require.Contains(t, err.Error(), "d.yaml:"+itoa(lineOfText(t, text, tc.lineOf))+":")
		})
	}
}
