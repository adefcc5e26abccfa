//go:build ((linux && amd64) || darwin) && !noxla

package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// pluginInstallHint is the command that installs the PJRT plugins.
const pluginInstallHint = "scripts/install-pjrt.sh"

// isCUDAPlugin mirrors go-xla's isCuda: its CUDA-specific handling (the GPU
// probe, the nvidia/ folder and XLA_FLAGS) applies to every plugin whose
// name or path says CUDA or NVIDIA.
func isCUDAPlugin(plugin string) bool {
	u := strings.ToUpper(plugin)
	return strings.Contains(u, "CUDA") || strings.Contains(u, "NVIDIA")
}

// prepareBackend disables GoMLX's plugin auto-installer (its download sites
// are unreachable from the machines gosnn targets, and a silent download is
// not reproducible) and checks that the requested PJRT plugin can work, so
// that a missing piece gives an error that says how to install it. The
// returned check turns the outcome of creating the backend into such an
// error too.
func prepareBackend(choice BackendChoice) (func(backends.Backend, error) error, error) {
	xla.EnableAutoInstall(false)
	passThrough := func(_ backends.Backend, err error) error { return err }
	if choice.Name() != "xla" {
		return passThrough, nil
	}
	_, opts, _ := strings.Cut(choice.Config, ":")
	plugin, _, _ := strings.Cut(opts, ",")
	if plugin == "" {
		plugin = "cpu"
	}
	if isCUDAPlugin(plugin) {
		return prepareCUDA(plugin)
	}
	if strings.HasSuffix(plugin, ".so") {
		if _, err := os.Stat(plugin); err != nil {
			return nil, fmt.Errorf("PJRT plugin %s: %w", plugin, err)
		}
		return passThrough, checkPluginFile(plugin)
	}
	if slices.Contains(xla.GetAvailablePlugins(), plugin) {
		return passThrough, nil
	}
	return nil, fmt.Errorf("PJRT plugin %q not found in $%s=%q or the default folders; install it with %s %s",
		plugin, PluginPathEnvVar, os.Getenv(PluginPathEnvVar), pluginInstallHint, plugin)
}

// prepareCUDA runs DiagnoseCUDA on this machine before go-xla looks (go-xla
// drops a CUDA plugin it cannot use without saying why), points XLA at the
// ptxas/libdevice folder it found, and classifies the errors of creating
// the client.
func prepareCUDA(plugin string) (func(backends.Backend, error) error, error) {
	report, err := DiagnoseCUDA(HostCUDAEnv(), plugin)
	if Verbose() {
		fmt.Fprint(os.Stderr, report.Summary())
	}
	if err != nil && os.Getenv(SkipCUDAChecksEnvVar) == "" {
		return nil, err
	}
	// go-xla v0.1.4 sets --xla_gpu_cuda_data_dir to a hard-coded folder of
	// its author's machine whenever a folder "nvidia" lies beside the
	// plugin's folder and XLA_FLAGS does not set it: set it first.
	if flags := os.Getenv("XLA_FLAGS"); report.CUDADataDir != "" && !strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
		flags = strings.TrimSpace(flags + " --xla_gpu_cuda_data_dir=" + report.CUDADataDir)
		if err := os.Setenv("XLA_FLAGS", flags); err != nil {
			return nil, fmt.Errorf("setting $XLA_FLAGS: %w", err)
		}
	}
	if !strings.HasSuffix(plugin, ".so") && !slices.Contains(xla.GetAvailablePlugins(), plugin) {
		// Everything DiagnoseCUDA checks is there: dlopen itself failed, or
		// nvidia-smi ran and found no GPU (go-xla's probe without /dev/nvidia*).
		return nil, cudaErrorf(CUDAPluginUnusable, "go-xla skipped the plugin %s: dlopen failed or nvidia-smi found no GPU (check: ldd %s and nvidia-smi, or rerun with --verbose for go-xla's log)",
			report.Plugin, report.Plugin)
	}
	return func(b backends.Backend, err error) error {
		if err != nil {
			return ClassifyCUDAError(err, report)
		}
		if b.NumDevices() == 0 {
			return cudaErrorf(CUDANoGPU, "the CUDA plugin %s found no device; check nvidia-smi and $CUDA_VISIBLE_DEVICES, or use --backend xla:cpu",
				filepath.Base(report.Plugin))
		}
		return nil
	}, nil
}

// checkPluginFile rejects truncated plugin files, which crash go-xla's
// loader with SIGSEGV instead of an error.
func checkPluginFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() < 1<<20 {
		return fmt.Errorf("PJRT plugin %s is only %d bytes: truncated? reinstall it with %s",
			filepath.Base(path), st.Size(), pluginInstallHint)
	}
	return nil
}
