package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func bash(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestGPUCheckDryRun runs scripts/gpu-check.sh --dry-run: it must list
// every step with its command, in order, and create nothing.
func TestGPUCheckDryRun(t *testing.T) {
	results := filepath.Join(t.TempDir(), "results")
	wheels := filepath.Join(t.TempDir(), "wheels")
	out, err := bash(t, "gpu-check.sh", "--dry-run", "--out", results, "--wheels", wheels)
	require.NoError(t, err, out)
	steps := []struct{ name, command string }{
		{"machine", "machine_info " + results},
		{"install-cpu", "scripts/install-pjrt.sh cpu pjrt --wheels " + wheels},
		{"install-cuda", "scripts/install-pjrt.sh cuda12 pjrt --with-nvidia --wheels " + wheels},
		{"build", "go build -o <tmp>/gosnn ./cmd/gosnn"},
		{"devices", "nvidia-smi -L"},
		{"smoke", "train yinyang --backend xla:cuda --epochs 2"},
		{"agree", "GOSNN_XLA_BACKEND=xla:cuda go test"},
		{"bench", "bench --backends xla:cuda,xla:cpu --methods ttfs,eventprop,eventprop-recurrent --epochs 3"},
	}
	sizes := []string{"64", "1024", "8192", "256", "4096", "128", "512", "2048"}
	for _, b := range sizes {
		steps = append(steps, struct{ name, command string }{"sweep-cuda-b" + b,
			"bench --backends xla:cuda --methods ttfs,eventprop,eventprop-recurrent --batch-size " + b + " --epochs 2 --quiet --out " + results + "/sweep/cuda-b" + b})
	}
	steps = append(steps, struct{ name, command string }{"data-parallel", "bench --backends xla:cuda --methods ttfs,eventprop,eventprop-recurrent --devices N"})
	for _, b := range sizes {
		steps = append(steps, struct{ name, command string }{"sweep-cpu-b" + b,
			"bench --backends xla:cpu --methods ttfs,eventprop,eventprop-recurrent --batch-size " + b + " --epochs 2 --quiet --out " + results + "/sweep/cpu-b" + b})
	}
	steps = append(steps,
		struct{ name, command string }{"jaxsnn", "jaxsnn==0.3.0"},
		struct{ name, command string }{"summary", "summarize " + results},
	)
	lines := strings.Split(out, "\n")
	at := 0
	for i, s := range steps {
		found := false
		for ; at < len(lines); at++ {
			f := strings.Fields(lines[at])
			if len(f) >= 2 && f[1] == s.name {
				num, err := strconv.Atoi(strings.TrimSuffix(f[0], "."))
				require.NoError(t, err, "numbered: %q", lines[at])
				require.Equal(t, i+1, num, "step %s is number %d", s.name, i+1)
				block := lines[at]
				for j := at + 1; j < len(lines) && strings.HasPrefix(lines[j], "    "); j++ {
					block += "\n" + lines[j]
				}
				require.Contains(t, block, s.command, "step %s", s.name)
				found = true
				break
			}
		}
		require.True(t, found, "step %s missing (or out of order) in:\n%s", s.name, out)
	}
	require.Contains(t, out, "source pjrt/nvidia-cuda12.env")
	require.Contains(t, out, "export GOMLX_NO_AUTO_INSTALL=1")
	require.NoDirExists(t, results, "a dry run writes nothing")
	require.NoDirExists(t, wheels, "a dry run writes nothing")

	out, err = bash(t, "gpu-check.sh", "--dry-run", "--cuda", "cuda13", "--batch-sizes", "32,16384", "--no-jaxsnn", "--skip", "bench")
	require.NoError(t, err, out)
	require.Contains(t, out, "install-pjrt.sh cuda13 pjrt --with-nvidia")
	require.Contains(t, out, "sweep-cuda-b16384")
	require.Contains(t, out, "sweep-cpu-b32")
	require.NotContains(t, out, "sweep-cuda-b64 ")
	require.NotContains(t, out, "jaxsnn==")
	require.Contains(t, out, "bench: skipped (--skip)")
}

// TestGPUCheckBadArguments: mistakes are refused with status 2 and a line
// naming the flag.
func TestGPUCheckBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--budget", "abc"}, "--budget must be a whole number"},
		{[]string{"--budget", "10"}, "--budget must be a whole number of seconds >= 60"},
		{[]string{"--cuda", "cuda11"}, "--cuda must be cuda12 or cuda13"},
		{[]string{"--batch-sizes", "64,,8"}, "--batch-sizes must be"},
		{[]string{"--bogus"}, "unknown argument '--bogus'"},
		{[]string{"--out"}, "--out needs a value"},
	} {
		out, err := bash(t, append([]string{"gpu-check.sh", "--dry-run"}, tc.args...)...)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v: %s", tc.args, out)
		require.Equal(t, 2, exit.ExitCode(), "%v", tc.args)
		require.Contains(t, out, tc.want)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, "one line: %q", out)
	}
}

// TestShellcheck keeps the scripts shellcheck-clean where shellcheck is
// installed (apt-get install shellcheck).
func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed")
	}
	scripts, err := filepath.Glob("*.sh")
	require.NoError(t, err)
	more, err := filepath.Glob("*/*.sh")
	require.NoError(t, err)
	scripts = append(scripts, more...)
	require.Contains(t, scripts, "gpu-check.sh")
	out, err := exec.Command("shellcheck", scripts...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestGPUCheckDryRunOffline: the plan for a lent machine without PyPI or Go
// (--bin from --build-bins, the CUDA plugin from python3's jax).
func TestGPUCheckDryRunOffline(t *testing.T) {
	bins := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bins, "pjrt_c_api_cpu_plugin.so.xz"), []byte("x"), 0o644))
	out, err := bash(t, "gpu-check.sh", "--dry-run", "--bin", bins, "--from-python", "python3", "--cuda", "cuda13", "--jaxsnn-python", "python3",
		"--out", "/tmp/r/gpu-check", "--tar", "/tmp/r.tgz")
	require.NoError(t, err, out)
	for _, want := range []string{
		"unpack_cpu " + bins, "pjrt_c_api_cpu_plugin.so.xz (from --build-bins)",
		"scripts/install-pjrt.sh cuda13 pjrt --from-python python3",
		"(--bin: " + bins + " unpacked",
		"<tmp>/<pkg>.test -test.v -test.run TestHostCUDA", "--target <venv>/site jaxsnn==0.3.0",
		"tar -czf /tmp/r.tgz -C /tmp/r gpu-check",
	} {
		require.Contains(t, out, want)
	}
	require.NotRegexp(t, `(?m)^\s*\d+\. build `, out, "no build step with --bin")
	require.NotContains(t, out, "--with-nvidia")

	_, err = bash(t, "gpu-check.sh", "--dry-run", "--bin", filepath.Join(bins, "missing"))
	require.Error(t, err)
}

// TestInstallPJRTFromPython: install-pjrt.sh cuda13 --from-python copies
// the plugin of a (fake) Python environment with CUDA jax and writes the
// env file for its NVIDIA libraries and ptxas, without any download.
func TestInstallPJRTFromPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	site := t.TempDir()
	for _, d := range []string{"jax_plugins/xla_cuda13", "jax_cuda13_pjrt-0.11.2.dist-info", "nvidia/cu13/lib", "nvidia/cudnn/lib",
		"nvidia/cu13/bin", "nvidia/cu13/nvvm/libdevice"} {
		require.NoError(t, os.MkdirAll(filepath.Join(site, d), 0o755))
	}
	plugin := make([]byte, 2<<20)
	for i := range plugin {
		plugin[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(filepath.Join(site, "jax_plugins/xla_cuda13/xla_cuda_plugin.so"), plugin, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(site, "jax_cuda13_pjrt-0.11.2.dist-info/METADATA"),
		[]byte("Metadata-Version: 2.1\nName: jax-cuda13-pjrt\nVersion: 0.11.2\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(site, "nvidia/cu13/bin/ptxas"), nil, 0o755))
	dest := filepath.Join(t.TempDir(), "pjrt")

	run := func() string {
		cmd := exec.Command("bash", "install-pjrt.sh", "cuda13", dest, "--from-python", "python3")
		cmd.Env = append(os.Environ(), "PYTHONPATH="+site, "PIP_INDEX_URL=http://127.0.0.1:9/none")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run(), "installed "+dest+"/pjrt_c_api_cuda_plugin.so (jax-cuda13-pjrt==0.11.2")
	got, err := os.ReadFile(filepath.Join(dest, "pjrt_c_api_cuda_plugin.so"))
	require.NoError(t, err)
	require.Equal(t, plugin, got)
	version, err := os.ReadFile(filepath.Join(dest, "pjrt_c_api_cuda_plugin.version"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(version), "jax-cuda13-pjrt==0.11.2 "), "%s", version)
	env, err := os.ReadFile(filepath.Join(dest, "nvidia-cuda13.env"))
	require.NoError(t, err)
	require.Contains(t, string(env), `export LD_LIBRARY_PATH="`+site+"/nvidia/cu13/lib:"+site+"/nvidia/cudnn/lib")
	require.Contains(t, string(env), "--xla_gpu_cuda_data_dir="+site+"/nvidia/cu13")
	require.Contains(t, string(env), `export PATH="`+site+"/nvidia/cu13/bin:")
	require.Contains(t, run(), "up to date: "+dest+"/pjrt_c_api_cuda_plugin.so")

	// Without jax's plugin in the environment: one clear error.
	cmd := exec.Command("bash", "install-pjrt.sh", "cuda12", dest, "--from-python", "python3")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "no module jax_plugins.xla_cuda12")
}
