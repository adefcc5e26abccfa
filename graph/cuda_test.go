package graph

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/stretchr/testify/require"
)

// fakeMachine builds a file system under a temporary root for DiagnoseCUDA.
type fakeMachine struct {
	t    *testing.T
	root string
	env  map[string]string
}

func newFakeMachine(t *testing.T) *fakeMachine {
	return &fakeMachine{t: t, root: t.TempDir(), env: map[string]string{"PATH": "/usr/bin:/bin"}}
}

// file creates the file at the absolute path p (under root), size bytes
// (sparse), mode 0755 when exec.
func (m *fakeMachine) file(p string, size int64, exec bool) {
	m.t.Helper()
	real := filepath.Join(m.root, p)
	require.NoError(m.t, os.MkdirAll(filepath.Dir(real), 0o755))
	mode := os.FileMode(0o644)
	if exec {
		mode = 0o755
	}
	f, err := os.OpenFile(real, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	require.NoError(m.t, err)
	require.NoError(m.t, f.Truncate(size))
	require.NoError(m.t, f.Close())
}

func (m *fakeMachine) write(p, content string) {
	m.t.Helper()
	real := filepath.Join(m.root, p)
	require.NoError(m.t, os.MkdirAll(filepath.Dir(real), 0o755))
	require.NoError(m.t, os.WriteFile(real, []byte(content), 0o644))
}

func (m *fakeMachine) symlink(target, p string) {
	m.t.Helper()
	real := filepath.Join(m.root, p)
	require.NoError(m.t, os.MkdirAll(filepath.Dir(real), 0o755))
	require.NoError(m.t, os.Symlink(target, real))
}

func (m *fakeMachine) cudaEnv() CUDAEnv {
	return CUDAEnv{Root: m.root, Home: "/home/u", WorkDir: "/work/gosnn", LookupEnv: func(k string) (string, bool) {
		v, ok := m.env[k]
		return v, ok
	}}
}

// plugin installs a plugin as install-pjrt.sh does (with its .version
// record) in dir.
func (m *fakeMachine) plugin(dir, variant string) {
	m.file(filepath.Join(dir, CUDAPluginFile), 2<<20, false)
	m.write(filepath.Join(dir, "pjrt_c_api_cuda_plugin.version"), "jax-"+variant+"-pjrt==0.8.1 0123abcd\n")
}

// gpuWithDriver is a machine with the plugin of variant installed in pjrt
// (on $PJRT_PLUGIN_LIBRARY_PATH), a GPU and the given driver ("": none).
func (m *fakeMachine) gpuWithDriver(pjrt, variant, driver string) {
	m.env[PluginPathEnvVar] = pjrt
	m.plugin(pjrt, variant)
	m.gpu()
	if driver != "" {
		m.driver(driver)
	}
}

func (m *fakeMachine) gpu() {
	m.file("/dev/nvidia0", 0, false)
	m.file("/dev/nvidiactl", 0, false)
	m.file("/usr/bin/nvidia-smi", 10, true)
}

func (m *fakeMachine) driver(version string) {
	m.write("/proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  "+version+"  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Oct 17 2024\nGCC version:  gcc version 12.3.0\n")
	m.file("/usr/lib/x86_64-linux-gnu/libcuda.so."+version, 100, false)
	m.symlink("libcuda.so."+version, "/usr/lib/x86_64-linux-gnu/libcuda.so.1")
}

// runtime installs the NVIDIA wheels' libraries under dir/nvidia/<pkg>/lib
// (a site-packages layout), leaving out the sonames in skip, and ptxas with
// libdevice under dir/nvidia/cuda_nvcc.
func (m *fakeMachine) runtime(dir, variant string, skip ...string) {
	for _, lib := range cudaVariants[variant].libraries {
		if !slices.Contains(skip, lib[0]) {
			pkg := strings.TrimPrefix(strings.Split(lib[0], ".")[0], "lib")
			m.file(filepath.Join(dir, "nvidia", pkg, "lib", lib[0]), 10, false)
		}
	}
	if !slices.Contains(skip, "ptxas") {
		m.file(filepath.Join(dir, "nvidia", "cuda_nvcc", "bin", "ptxas"), 10, true)
		m.file(filepath.Join(dir, "nvidia", "cuda_nvcc", "nvvm", "libdevice", "libdevice.10.bc"), 10, false)
	}
}

// TestDiagnoseCUDA produces every error of the way to a GPU on a fake
// machine: each is one line that names what is missing and the fix.
func TestDiagnoseCUDA(t *testing.T) {
	const pjrt = "/work/gosnn/pjrt"
	for _, tc := range []struct {
		name    string
		setup   func(m *fakeMachine)
		problem CUDAProblem // 0: no error
		want    []string    // substrings of the message
		check   func(t *testing.T, r CUDAReport)
	}{
		{
			name:    "plugin missing",
			setup:   func(m *fakeMachine) { m.env[PluginPathEnvVar] = pjrt; m.gpu(); m.driver("550.54.15") },
			problem: CUDAPluginMissing,
			want:    []string{`not found in $PJRT_PLUGIN_LIBRARY_PATH="/work/gosnn/pjrt"`, "scripts/install-pjrt.sh cuda12 pjrt --with-nvidia"},
		},
		{
			name:    "plugin missing, variable unset",
			setup:   func(m *fakeMachine) { m.gpu() },
			problem: CUDAPluginMissing,
			want:    []string{"$PJRT_PLUGIN_LIBRARY_PATH is unset", "~/.local/lib/go-xla", "install-pjrt.sh cuda12"},
		},
		{
			name:    "plugin in ./pjrt but the variable not exported",
			setup:   func(m *fakeMachine) { m.plugin(pjrt, "cuda12"); m.gpu() },
			problem: CUDAPluginMissing,
			want:    []string{"/work/gosnn/pjrt/pjrt_c_api_cuda_plugin.so exists", "export PJRT_PLUGIN_LIBRARY_PATH=/work/gosnn/pjrt"},
		},
		{
			name: "truncated plugin",
			setup: func(m *fakeMachine) {
				m.env[PluginPathEnvVar] = pjrt
				m.file(pjrt+"/"+CUDAPluginFile, 1000, false)
			},
			problem: CUDAPluginMissing,
			want:    []string{"only 1000 bytes", "install-pjrt.sh cuda12 /work/gosnn/pjrt"},
		},
		{
			name:    "plugin present, no GPU visible",
			setup:   func(m *fakeMachine) { m.env[PluginPathEnvVar] = pjrt; m.plugin(pjrt, "cuda12") },
			problem: CUDANoGPU,
			want:    []string{"no NVIDIA GPU visible", "no /dev/nvidia*", "no nvidia-smi", "--backend xla:cpu", pjrt + "/" + CUDAPluginFile},
		},
		{
			name: "GPU but no driver library",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "")
			},
			problem: CUDADriverMissing,
			want:    []string{"libcuda.so.1", "install the NVIDIA driver"},
		},
		{
			name: "driver library only in ldconfig's cache",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "")
				m.write("/proc/driver/nvidia/version", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar 5 2024\n")
				m.file("/usr/local/nvidia/lib64/libcuda.so.1", 100, false)
				m.write("/etc/ld.so.cache", "glibc-ld.so.cache1.1\x00libcuda.so.1\x00/usr/local/nvidia/lib64/libcuda.so.1\x00libc.so.6\x00/lib/libc.so.6\x00")
			},
			problem: CUDARuntimeMissing, // past the driver checks
			want:    []string{"libcudnn.so.9"},
		},
		{
			name: "driver too old for CUDA 12",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "520.61.05")
			},
			problem: CUDADriverTooOld,
			want:    []string{"driver 520.61.05 is older than 525.60.13", "CUDA 12", "jax-cuda12-pjrt==0.8.1", "upgrade the NVIDIA driver"},
		},
		{
			name: "driver too old for CUDA 13, fine for CUDA 12",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda13", "550.54.15")
			},
			problem: CUDADriverTooOld,
			want:    []string{"550.54.15 is older than 580.65.06", "scripts/install-pjrt.sh cuda12 /work/gosnn/pjrt --with-nvidia"},
		},
		{
			name: "driver version from libcuda's file name",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "470.82.01")
				require.NoError(m.t, os.Remove(filepath.Join(m.root, "/proc/driver/nvidia/version")))
			},
			problem: CUDADriverTooOld,
			want:    []string{"driver 470.82.01 is older than 525.60.13"},
		},
		{
			name: "runtime libraries missing",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "550.54.15")
			},
			problem: CUDARuntimeMissing,
			want: []string{"libcudart.so.12", "libcudnn.so.9", "libcublasLt.so.12", "ptxas", "nvidia-cudnn-cu12", "nvidia-cuda-nvcc-cu12",
				"scripts/install-pjrt.sh cuda12 /work/gosnn/pjrt --with-nvidia && source /work/gosnn/pjrt/nvidia-cuda12.env"},
		},
		{
			name: "wheels installed, env file not sourced",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "550.54.15")
				m.runtime(pjrt+"/nvidia-cuda12", "cuda12")
				m.write(pjrt+"/nvidia-cuda12.env", "export LD_LIBRARY_PATH=...\n")
			},
			problem: CUDARuntimeMissing,
			want:    []string{"libcudnn.so.9", "fix: source /work/gosnn/pjrt/nvidia-cuda12.env"},
		},
		{
			name: "only cuDNN missing",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "550.54.15")
				m.runtime("/work/gosnn", "cuda12", "libcudnn.so.9") // ../nvidia beside pjrt/
			},
			problem: CUDARuntimeMissing,
			want:    []string{"missing: libcudnn.so.9 (pip wheels nvidia-cudnn-cu12)"},
		},
		{
			name: "ready: wheels beside the plugin (RPATH)",
			setup: func(m *fakeMachine) {
				m.gpuWithDriver(pjrt, "cuda12", "550.54.15")
				m.runtime("/work/gosnn", "cuda12")
			},
			check: func(t *testing.T, r CUDAReport) {
				require.Equal(t, "/work/gosnn/nvidia/cudnn/lib/libcudnn.so.9", r.Libraries["libcudnn.so.9"])
				require.Equal(t, "/work/gosnn/nvidia/cuda_nvcc/bin/ptxas", r.Ptxas)
				require.Equal(t, "/work/gosnn/nvidia/cuda_nvcc", r.CUDADataDir)
			},
		},
		{
			name: "ready: install-pjrt.sh --with-nvidia, env file sourced",
			setup: func(m *fakeMachine) {
				m.env[PluginPathEnvVar] = pjrt
				m.plugin(pjrt, "cuda13")
				m.file("/dev/nvidia0", 0, false) // no nvidia-smi: the device file suffices
				m.driver("580.95.05")
				m.runtime(pjrt+"/nvidia-cuda13", "cuda13")
				var libs []string
				for _, lib := range cudaVariants["cuda13"].libraries {
					libs = append(libs, pjrt+"/nvidia-cuda13/nvidia/"+strings.TrimPrefix(strings.Split(lib[0], ".")[0], "lib")+"/lib")
				}
				m.env["LD_LIBRARY_PATH"] = strings.Join(libs, ":")
				m.env["XLA_FLAGS"] = "--xla_gpu_cuda_data_dir=" + pjrt + "/nvidia-cuda13/nvidia/cuda_nvcc"
			},
			check: func(t *testing.T, r CUDAReport) {
				require.Equal(t, "cuda13", r.Variant)
				require.Equal(t, "jax-cuda13-pjrt==0.8.1", r.Spec)
				require.Equal(t, "580.95.05", r.Driver)
				require.Equal(t, "/usr/lib/x86_64-linux-gnu/libcuda.so.1", r.LibCUDA)
				require.Len(t, r.Libraries, len(cudaVariants["cuda13"].libraries))
				require.Equal(t, pjrt+"/nvidia-cuda13/nvidia/cuda_nvcc/bin/ptxas", r.Ptxas)
				require.Empty(t, r.NvidiaSMI)
			},
		},
		{
			name: "ready: system CUDA via ld.so.conf, plugin in ~/.local/lib/go-xla",
			setup: func(m *fakeMachine) {
				m.plugin("/home/u/.local/lib/go-xla", "cuda12")
				m.gpu()
				m.driver("560.35.03")
				m.write("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
				m.write("/etc/ld.so.conf.d/cuda.conf", "# CUDA\n/usr/local/cuda/lib64\n")
				for _, lib := range cudaVariants["cuda12"].libraries {
					m.file("/usr/local/cuda/lib64/"+lib[0], 10, false)
				}
				m.file("/usr/local/cuda/bin/ptxas", 10, true)
			},
			check: func(t *testing.T, r CUDAReport) {
				require.Equal(t, "/home/u/.local/lib/go-xla/"+CUDAPluginFile, r.Plugin)
				require.Equal(t, "/usr/local/cuda/lib64/libcublas.so.12", r.Libraries["libcublas.so.12"])
				require.Equal(t, "/usr/local/cuda/bin/ptxas", r.Ptxas)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMachine(t)
			tc.setup(m)
			r, err := DiagnoseCUDA(m.cudaEnv(), "cuda")
			if tc.problem == 0 {
				require.NoError(t, err)
				tc.check(t, r)
				return
			}
			var cerr *CUDAError
			require.True(t, errors.As(err, &cerr), "want a *CUDAError, got %v", err)
			require.Equal(t, tc.problem, cerr.Problem, "%v", err)
			msg := err.Error()
			require.NotContains(t, msg, "\n", "one line")
			require.NotContains(t, msg, m.root, "paths without the fake root")
			require.True(t, strings.HasPrefix(msg, "xla:cuda: "), msg)
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
		})
	}
}

// TestDiagnoseCUDAExplicitPath: "xla:/path/to/plugin.so" skips the search.
func TestDiagnoseCUDAExplicitPath(t *testing.T) {
	m := newFakeMachine(t)
	_, err := DiagnoseCUDA(m.cudaEnv(), "/opt/x/pjrt_c_api_cuda_plugin.so")
	var cerr *CUDAError
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, CUDAPluginMissing, cerr.Problem)
	require.Contains(t, err.Error(), "/opt/x/pjrt_c_api_cuda_plugin.so does not exist")

	m.file("/opt/x/pjrt_c_api_cuda_plugin.so", 2<<20, false)
	r, err := DiagnoseCUDA(m.cudaEnv(), "/opt/x/pjrt_c_api_cuda_plugin.so")
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, CUDANoGPU, cerr.Problem)
	require.Equal(t, "/opt/x/pjrt_c_api_cuda_plugin.so", r.Plugin)
	require.Empty(t, r.Variant, "no install-pjrt.sh record")
}

// TestClassifyCUDAError maps PJRT/CUDA failure messages to one-line errors.
func TestClassifyCUDAError(t *testing.T) {
	r := CUDAReport{Plugin: "/w/pjrt/pjrt_c_api_cuda_plugin.so", Variant: "cuda12", Driver: "520.61.05"}
	for _, tc := range []struct {
		msg     string
		problem CUDAProblem
		want    string
	}{
		{"while creating plugin cuda for backend \"xla\":\nINTERNAL: no supported devices found for platform CUDA", CUDANoGPU, "found no usable GPU"},
		{"failed call to cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected", CUDANoGPU, "CUDA_ERROR_NO_DEVICE"},
		{"INTERNAL: failed call to cuInit: CUDA_ERROR_INSUFFICIENT_DRIVER\nmore", CUDADriverTooOld, "driver 520.61.05 is too old"},
		{"Could not load dynamic library 'libcudnn.so.9'; dlerror: libcudnn.so.9: cannot open shared object file: No such file or directory", CUDARuntimeMissing, "libcudnn.so.9"},
		{"INTERNAL: Unable to load cuBLAS: libcublasLt.so.12: cannot open shared object file", CUDARuntimeMissing, "libcublasLt.so.12"},
		{"something else\nwith details", CUDAPluginUnusable, "failed: something else (rerun with --verbose"},
	} {
		err := ClassifyCUDAError(errors.New(tc.msg), r)
		var cerr *CUDAError
		require.ErrorAs(t, err, &cerr, tc.msg)
		require.Equal(t, tc.problem, cerr.Problem, "%q -> %v", tc.msg, err)
		require.NotContains(t, err.Error(), "\n")
		require.Contains(t, err.Error(), tc.want)
	}
	require.NoError(t, ClassifyCUDAError(nil, r))
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"525.60.13", "525.60.13", 0}, {"525.60.12", "525.60.13", -1}, {"550.54", "525.60.13", 1},
		{"580", "580.65.06", -1}, {"1000.1", "999.99.99", 1},
	} {
		require.Equal(t, tc.want, compareVersions(tc.a, tc.b), "%s vs %s", tc.a, tc.b)
	}
}

// TestNewBackendCUDAWithoutGPU is the case of issue 18 end to end: the
// plugin installed where $PJRT_PLUGIN_LIBRARY_PATH points, on a machine
// without a GPU, gives one line saying there is no GPU (it used to say
// "not found" and print go-xla's log lines).
func TestNewBackendCUDAWithoutGPU(t *testing.T) {
	if !slices.Contains(AvailableBackends(), "xla") {
		t.Skip("no xla backend in this build")
	}
	if d, _ := filepath.Glob("/dev/nvidia*"); len(d) > 0 {
		t.Skip("this machine has NVIDIA devices")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, CUDAPluginFile))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(2<<20))
	require.NoError(t, f.Close())
	t.Setenv(PluginPathEnvVar, dir)
	t.Setenv("PATH", dir) // no nvidia-smi either
	_, _, err = NewBackend("xla:cuda")
	var cerr *CUDAError
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, CUDANoGPU, cerr.Problem, "%v", err)
	require.NotContains(t, err.Error(), "\n")
}

// TestNewBackendStdout: the pure-Go backend's "SimpleGo backend:
// parallelism set to -1" does not reach stdout, and goes to stderr when
// verbose.
func TestNewBackendStdout(t *testing.T) {
	capture := func(verbose bool) (stdout, stderr string) {
		SetVerbose(verbose)
		defer SetVerbose(false)
		outR, outW, err := os.Pipe()
		require.NoError(t, err)
		errR, errW, err := os.Pipe()
		require.NoError(t, err)
		savedOut, savedErr := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = outW, errW
		SetVerbose(verbose) // klog writes to the os.Stderr of this moment
		_, _, err = NewBackend("go:parallelism=-1")
		os.Stdout, os.Stderr = savedOut, savedErr
		require.NoError(t, err)
		require.NoError(t, outW.Close())
		require.NoError(t, errW.Close())
		o, _ := io.ReadAll(outR)
		e, _ := io.ReadAll(errR)
		return string(o), string(e)
	}
	out, errOut := capture(false)
	require.Empty(t, out)
	require.Empty(t, errOut)
	out, errOut = capture(true)
	require.Empty(t, out)
	require.Contains(t, errOut, "SimpleGo backend: parallelism set to -1")
}

// TestHostCUDA reports this machine's CUDA set-up (scripts/gpu-check.sh's
// devices step logs it) and, when $GOSNN_XLA_BACKEND asks for xla:cuda,
// requires that DiagnoseCUDA finds nothing missing and that the backend
// starts with at least one device.
func TestHostCUDA(t *testing.T) {
	r, diagErr := DiagnoseCUDA(HostCUDAEnv(), "cuda")
	t.Logf("DiagnoseCUDA on this machine:\n%s-> %v", r.Summary(), diagErr)
	config, _ := CompareBackend()
	if !strings.Contains(config, "cuda") {
		t.Skipf("$%s=%q is not a CUDA backend", CompareBackendEnvVar, config)
	}
	require.NoError(t, diagErr)
	b, _, err := NewBackend(config)
	require.NoError(t, err, config)
	t.Logf("%s: %d device(s)", b.Description(), b.NumDevices())
	for i := range b.NumDevices() {
		t.Logf("device %d: %s", i, b.DeviceDescription(backends.DeviceNum(i)))
	}
	require.Positive(t, b.NumDevices())
}

// TestDriverVersion reads both layouts of /proc/driver/nvidia/version.
func TestDriverVersion(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.129.03  Thu Oct 19 18:56:32 UTC 2023\n", "535.129.03"},
		{"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.03  Release Build  (dvs-builder@U22)  Tue Oct 14 2025\n", "580.159.03"},
		{"NVRM version: NVIDIA UNIX aarch64 Kernel Module  550.54\n", "550.54"},
		{"garbage\n", ""},
	} {
		m := newFakeMachine(t)
		m.write("/proc/driver/nvidia/version", tc.text)
		require.Equal(t, tc.want, m.cudaEnv().driverVersion(""), tc.text)
	}
}
