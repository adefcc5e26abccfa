package graph

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Why "xla:cuda" used to fail with "plugin not found" although
// scripts/install-pjrt.sh had installed it: go-xla (v0.1.4,
// pkg/pjrt/plugins.go checkPlugin) lists a plugin whose name contains "cuda"
// only when hasNvidiaGPU() sees a /dev/nvidia* file or a working nvidia-smi,
// and only when dlopen of the .so succeeds, which needs the driver's
// libcuda.so.1. On a machine without a GPU both fail, the plugin is silently
// dropped from xla.GetAvailablePlugins and the only trace is a klog line.
// DiagnoseCUDA looks at the same things itself, before go-xla does, and says
// which one is missing.

// CUDAPluginFile is the file name under which scripts/install-pjrt.sh
// cuda12|cuda13 installs the CUDA PJRT plugin (GoMLX: "xla:cuda").
const CUDAPluginFile = "pjrt_c_api_cuda_plugin.so"

// SkipCUDAChecksEnvVar, set to anything, makes NewBackend go on to go-xla
// when DiagnoseCUDA finds something missing (for a set-up it misjudges; the
// diagnosis is still printed with --verbose).
const SkipCUDAChecksEnvVar = "GOSNN_SKIP_CUDA_CHECKS"

// CUDAProblem says which step on the way to a GPU is missing.
type CUDAProblem int

// The problems DiagnoseCUDA and NewBackend report, in the order a user meets
// them.
const (
	// CUDAPluginMissing: no pjrt_c_api_cuda_plugin.so where go-xla looks.
	CUDAPluginMissing CUDAProblem = iota + 1
	// CUDANoGPU: no /dev/nvidia* device and no nvidia-smi, or the plugin's
	// client found no device.
	CUDANoGPU
	// CUDADriverMissing: the driver's libcuda.so.1 is not loadable.
	CUDADriverMissing
	// CUDADriverTooOld: the kernel driver is older than the plugin's CUDA
	// release needs.
	CUDADriverTooOld
	// CUDARuntimeMissing: NVIDIA's runtime libraries (cuBLAS, cuDNN, ...)
	// or ptxas are not where the plugin looks for them.
	CUDARuntimeMissing
	// CUDAPluginUnusable: the files are there but go-xla could not load the
	// plugin or create its client for another reason.
	CUDAPluginUnusable
)

var cudaProblemNames = map[CUDAProblem]string{
	CUDAPluginMissing: "plugin missing", CUDANoGPU: "no GPU visible", CUDADriverMissing: "driver missing",
	CUDADriverTooOld: "driver too old", CUDARuntimeMissing: "runtime libraries missing", CUDAPluginUnusable: "plugin unusable",
}

func (p CUDAProblem) String() string {
	if s, ok := cudaProblemNames[p]; ok {
		return s
	}
	return fmt.Sprintf("CUDAProblem(%d)", int(p))
}

// CUDAError is one problem on the way to the CUDA backend. Its message is a
// single line that names what is missing and the command that fixes it.
type CUDAError struct {
	Problem CUDAProblem
	Msg     string
}

func (e *CUDAError) Error() string { return "xla:cuda: " + e.Msg }

func cudaErrorf(p CUDAProblem, format string, args ...any) *CUDAError {
	msg := fmt.Sprintf(format, args...)
	// One line, whatever the wrapped messages held.
	msg = strings.Join(strings.Fields(msg), " ")
	return &CUDAError{Problem: p, Msg: msg}
}

// CUDAEnv is the part of a machine that DiagnoseCUDA reads. HostCUDAEnv is
// the machine gosnn runs on; tests build a fake one in a temporary folder.
type CUDAEnv struct {
	// Root is prepended to every absolute path that is read ("" or "/": the
	// real file system). Paths in messages are given without it.
	Root string
	// LookupEnv reads environment variables ($PJRT_PLUGIN_LIBRARY_PATH,
	// $LD_LIBRARY_PATH, $PATH, $XLA_FLAGS).
	LookupEnv func(string) (string, bool)
	// Home is the user's home folder (go-xla also searches
	// ~/.local/lib/go-xla); WorkDir resolves relative paths.
	Home, WorkDir string
}

// HostCUDAEnv is the environment of this process.
func HostCUDAEnv() CUDAEnv {
	home, _ := os.UserHomeDir()
	wd, _ := os.Getwd()
	return CUDAEnv{Root: "/", LookupEnv: os.LookupEnv, Home: home, WorkDir: wd}
}

func (e CUDAEnv) getenv(name string) string {
	if e.LookupEnv == nil {
		return ""
	}
	v, _ := e.LookupEnv(name)
	return v
}

// abs makes p absolute (relative to WorkDir) without the Root prefix.
func (e CUDAEnv) abs(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.WorkDir, p)
	}
	return filepath.Clean(p)
}

// real is where the absolute path p lies on the file system read.
func (e CUDAEnv) real(p string) string {
	if e.Root == "" || e.Root == "/" {
		return p
	}
	return filepath.Join(e.Root, p)
}

func (e CUDAEnv) isFile(p string) bool {
	st, err := os.Stat(e.real(p))
	return err == nil && !st.IsDir()
}

func (e CUDAEnv) isDir(p string) bool {
	st, err := os.Stat(e.real(p))
	return err == nil && st.IsDir()
}

// glob returns the matches of an absolute pattern, without the Root prefix.
func (e CUDAEnv) glob(pattern string) []string {
	matches, _ := filepath.Glob(e.real(pattern))
	if e.Root == "" || e.Root == "/" {
		return matches
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		rel, err := filepath.Rel(e.Root, m)
		if err == nil {
			out = append(out, "/"+rel)
		}
	}
	return out
}

func splitPath(list string) []string {
	var out []string
	for _, p := range filepath.SplitList(list) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// pluginSearchDirs are the folders go-xla v0.1.4 searches for plugins
// (pkg/pjrt/dynamiclib_base.go and dynamiclib_posix.go): only
// $PJRT_PLUGIN_LIBRARY_PATH when it is set, else ~/.local/lib/go-xla, the
// system's /usr/local/lib/go-xla, $LD_LIBRARY_PATH and /etc/ld.so.conf.
func (e CUDAEnv) pluginSearchDirs() (dirs []string, fromEnv bool) {
	if list, ok := e.LookupEnv(PluginPathEnvVar); ok {
		for _, d := range splitPath(list) {
			dirs = append(dirs, e.abs(d))
		}
		return dirs, true
	}
	if e.Home != "" {
		local := filepath.Join(e.Home, ".local", "lib", "go-xla")
		dirs = append(dirs, local, filepath.Join(local, "nvidia"), filepath.Join(e.Home, ".local", "lib", "gomlx", "pjrt"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
	for _, d := range splitPath(e.getenv("LD_LIBRARY_PATH")) {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, e.ldSoConfDirs("/etc/ld.so.conf", 0)...), false
}

// ldSoConfDirs reads the folders of an ld.so.conf file and its includes.
func (e CUDAEnv) ldSoConfDirs(file string, depth int) []string {
	f, err := os.Open(e.real(file))
	if err != nil || depth > 8 {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "include "):
			pattern := strings.TrimSpace(strings.TrimPrefix(line, "include "))
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(file), pattern)
			}
			for _, inc := range e.glob(pattern) {
				dirs = append(dirs, e.ldSoConfDirs(inc, depth+1)...)
			}
		default:
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// libraryDirs are the folders the dynamic loader searches for a library
// that a plugin dlopens by its soname: $LD_LIBRARY_PATH, the folders of
// /etc/ld.so.conf (what ldconfig caches) and the default folders.
func (e CUDAEnv) libraryDirs() []string {
	var dirs []string
	for _, d := range splitPath(e.getenv("LD_LIBRARY_PATH")) {
		dirs = append(dirs, e.abs(d))
	}
	dirs = append(dirs, e.ldSoConfDirs("/etc/ld.so.conf", 0)...)
	dirs = append(dirs, "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/lib/wsl/lib")
	return dirs
}

// cudaVariant is what a CUDA major release of the plugin needs.
type cudaVariant struct {
	name      string // install-pjrt.sh's argument
	minDriver string // oldest kernel driver of that CUDA major
	// libraries the plugin dlopens, with the pip wheel of each.
	libraries [][2]string
	nvcc      string // pip wheel with ptxas
}

// cudaVariants: the minimum drivers are those of JAX's installation guide
// for its pip CUDA wheels (CUDA 12: >= 525.60.13; CUDA 13: >= 580, the
// driver of CUDA 13.0 GA is 580.65.06); the libraries are the ones XLA's GPU
// runtime loads (jax_plugins/xla_cudaNN's _load_nvidia_libraries preloads
// the same list), from the "with-cuda" extra of jax-cudaNN-plugin 0.8.1.
var cudaVariants = map[string]cudaVariant{
	"cuda12": {
		name: "cuda12", minDriver: "525.60.13", nvcc: "nvidia-cuda-nvcc-cu12",
		libraries: [][2]string{
			{"libcudart.so.12", "nvidia-cuda-runtime-cu12"}, {"libcublas.so.12", "nvidia-cublas-cu12"},
			{"libcublasLt.so.12", "nvidia-cublas-cu12"}, {"libcufft.so.11", "nvidia-cufft-cu12"},
			{"libcusolver.so.11", "nvidia-cusolver-cu12"}, {"libcusparse.so.12", "nvidia-cusparse-cu12"},
			{"libcudnn.so.9", "nvidia-cudnn-cu12"}, {"libnvJitLink.so.12", "nvidia-nvjitlink-cu12"},
			{"libnvrtc.so.12", "nvidia-cuda-nvrtc-cu12"}, {"libnccl.so.2", "nvidia-nccl-cu12"},
		},
	},
	"cuda13": {
		name: "cuda13", minDriver: "580.65.06", nvcc: "nvidia-cuda-nvcc",
		libraries: [][2]string{
			{"libcudart.so.13", "nvidia-cuda-runtime"}, {"libcublas.so.13", "nvidia-cublas"},
			{"libcublasLt.so.13", "nvidia-cublas"}, {"libcufft.so.12", "nvidia-cufft"},
			{"libcusolver.so.12", "nvidia-cusolver"}, {"libcusparse.so.12", "nvidia-cusparse"},
			{"libcudnn.so.9", "nvidia-cudnn-cu13"}, {"libnvJitLink.so.13", "nvidia-nvjitlink"},
			{"libnvrtc.so.13", "nvidia-cuda-nvrtc"}, {"libnccl.so.2", "nvidia-nccl-cu13"},
		},
	},
}

// CUDAReport is what DiagnoseCUDA found; empty strings are things not found.
type CUDAReport struct {
	// Plugin is the plugin file; Spec its wheel as recorded by
	// install-pjrt.sh ("jax-cuda12-pjrt==0.8.1"); Variant "cuda12" or
	// "cuda13" ("" when the plugin was not installed by install-pjrt.sh).
	Plugin, Spec, Variant string
	// Devices are the /dev/nvidia* files; NvidiaSMI the nvidia-smi binary.
	Devices   []string
	NvidiaSMI string
	// LibCUDA is the driver's libcuda.so.1; Driver the kernel driver's
	// version (/proc/driver/nvidia/version, else libcuda's file name).
	LibCUDA, Driver string
	// Libraries maps each runtime library found to its path; Ptxas is
	// the PTX assembler XLA runs; CUDADataDir the folder holding it under
	// bin/ and nvvm/libdevice (for --xla_gpu_cuda_data_dir), if any.
	Libraries          map[string]string
	Ptxas, CUDADataDir string
}

// Summary is one line per finding, for gpu-check.sh's log and --verbose.
func (r CUDAReport) Summary() string {
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	libs := make([]string, 0, len(r.Libraries))
	for soname := range r.Libraries {
		libs = append(libs, soname)
	}
	slices.Sort(libs)
	plugin := orNone(r.Plugin)
	if r.Spec != "" {
		plugin += " (" + r.Spec + ")"
	}
	return fmt.Sprintf("plugin: %s\ndevices: %s\nnvidia-smi: %s\nlibcuda.so.1: %s\ndriver: %s\nruntime libraries found: %s\nptxas: %s\ncuda data dir: %s\n",
		plugin, orNone(strings.Join(r.Devices, " ")), orNone(r.NvidiaSMI), orNone(r.LibCUDA),
		orNone(r.Driver), orNone(strings.Join(libs, " ")), orNone(r.Ptxas), orNone(r.CUDADataDir))
}

// DiagnoseCUDA checks what the "xla:cuda" backend needs, in the order it
// is needed: the plugin file (plugin is "cuda" for the search go-xla does,
// or the path of a .so), a visible NVIDIA GPU, the driver's libcuda.so.1, a
// driver new enough for the plugin's CUDA release, and NVIDIA's runtime
// libraries and ptxas where the plugin finds them. It returns what it found
// and a *CUDAError for the first step that fails (nil when all pass). It
// only reads files and variables of env, so every failure can be produced
// on a machine without a GPU.
func DiagnoseCUDA(env CUDAEnv, plugin string) (CUDAReport, error) {
	if env.LookupEnv == nil {
		env.LookupEnv = func(string) (string, bool) { return "", false }
	}
	var r CUDAReport
	if err := r.findPlugin(env, plugin); err != nil {
		return r, err
	}
	pluginDir := filepath.Dir(r.Plugin)
	v, known := cudaVariants[r.Variant]
	if !known {
		v = cudaVariants["cuda12"] // the lower driver floor: necessary for either
	}
	installCmd := fmt.Sprintf("scripts/install-pjrt.sh %s %s --with-nvidia", v.name, pluginDir)

	r.Devices = env.glob("/dev/nvidia*")
	r.NvidiaSMI = env.lookPath("nvidia-smi")
	if len(r.Devices) == 0 && r.NvidiaSMI == "" {
		return r, cudaErrorf(CUDANoGPU, "no NVIDIA GPU visible: no /dev/nvidia* device and no nvidia-smi on $PATH, so go-xla skips the plugin %s; "+
			"run on a machine with an NVIDIA GPU and its driver (check: nvidia-smi; in a container: docker run --gpus all), or use --backend xla:cpu", r.Plugin)
	}

	libDirs := env.libraryDirs()
	r.LibCUDA = env.findLibrary(libDirs, "libcuda.so.1")
	r.Driver = env.driverVersion(r.LibCUDA)
	if r.LibCUDA == "" {
		return r, cudaErrorf(CUDADriverMissing, "the NVIDIA driver library libcuda.so.1 is not in $LD_LIBRARY_PATH, /etc/ld.so.conf or the system library folders, so the plugin %s cannot load; "+
			"install the NVIDIA driver (check: nvidia-smi; in a container: docker run --gpus all, which mounts it)", r.Plugin)
	}
	if r.Driver != "" && compareVersions(r.Driver, v.minDriver) < 0 {
		fix := "upgrade the NVIDIA driver (e.g. apt-get install nvidia-driver-570)"
		if v.name == "cuda13" && compareVersions(r.Driver, cudaVariants["cuda12"].minDriver) >= 0 {
			fix = fmt.Sprintf("install the CUDA 12 plugin instead: scripts/install-pjrt.sh cuda12 %s --with-nvidia, or upgrade the driver", pluginDir)
		}
		spec := r.Spec
		if spec == "" {
			spec = "version unknown"
		}
		return r, cudaErrorf(CUDADriverTooOld, "NVIDIA driver %s is older than %s, the oldest that runs %s (plugin %s, %s); %s",
			r.Driver, v.minDriver, strings.Replace(v.name, "cuda", "CUDA ", 1), r.Plugin, spec, fix)
	}

	// The plugin's RPATH holds $ORIGIN/../nvidia/<pkg>/lib and
	// $ORIGIN/../../nvidia/<pkg>/lib (a Python site-packages layout); the
	// loader then tries $LD_LIBRARY_PATH and the system folders.
	var searched []string
	for _, up := range []string{"..", filepath.Join("..", "..")} {
		searched = append(searched, env.glob(filepath.Join(pluginDir, up, "nvidia", "*", "lib"))...)
	}
	searched = append(searched, libDirs...)
	r.Libraries = map[string]string{}
	var missing, wheels []string
	for _, lib := range v.libraries {
		if p := env.findLibrary(searched, lib[0]); p != "" {
			r.Libraries[lib[0]] = p
			continue
		}
		missing = append(missing, lib[0])
		if !slices.Contains(wheels, lib[1]) {
			wheels = append(wheels, lib[1])
		}
	}
	r.Ptxas, r.CUDADataDir = env.findPtxas(pluginDir)
	if r.Ptxas == "" {
		missing = append(missing, "ptxas")
		wheels = append(wheels, v.nvcc)
	}
	if len(missing) > 0 {
		fix := installCmd + " && source " + filepath.Join(pluginDir, "nvidia-"+v.name+".env")
		if env.isFile(filepath.Join(pluginDir, "nvidia-"+v.name+".env")) {
			fix = "source " + filepath.Join(pluginDir, "nvidia-"+v.name+".env") + " (the wheels are installed; that puts them on $LD_LIBRARY_PATH and $PATH)"
		}
		return r, cudaErrorf(CUDARuntimeMissing, "NVIDIA runtime libraries missing: %s (pip wheels %s) not in the plugin's ../nvidia/*/lib folders, $LD_LIBRARY_PATH or the system library folders; fix: %s",
			strings.Join(missing, ", "), strings.Join(wheels, ", "), fix)
	}
	return r, nil
}

// findPlugin locates the plugin file and reads install-pjrt.sh's record of
// its wheel next to it.
func (r *CUDAReport) findPlugin(env CUDAEnv, plugin string) error {
	installFix := "scripts/install-pjrt.sh cuda12 pjrt --with-nvidia && export PJRT_PLUGIN_LIBRARY_PATH=$PWD/pjrt"
	if strings.HasSuffix(plugin, ".so") {
		p := env.abs(plugin)
		if !env.isFile(p) {
			return cudaErrorf(CUDAPluginMissing, "plugin file %s does not exist; install it with %s", p, installFix)
		}
		r.Plugin = p
	} else {
		dirs, fromEnv := env.pluginSearchDirs()
		for _, d := range dirs {
			for _, name := range []string{CUDAPluginFile, "pjrt_plugin_cuda.so", "pjrt-plugin-cuda.so"} {
				if p := filepath.Join(d, name); env.isFile(p) {
					r.Plugin = p
					break
				}
			}
			if r.Plugin != "" {
				break
			}
		}
		if r.Plugin == "" {
			where := fmt.Sprintf("$%s=%q", PluginPathEnvVar, env.getenv(PluginPathEnvVar))
			if !fromEnv {
				where = fmt.Sprintf("go-xla's default folders ($%s is unset: ~/.local/lib/go-xla, /usr/local/lib/go-xla, $LD_LIBRARY_PATH)", PluginPathEnvVar)
			}
			// The usual slip: installed into ./pjrt, variable not exported.
			if local := filepath.Join(env.abs("pjrt"), CUDAPluginFile); env.isFile(local) {
				return cudaErrorf(CUDAPluginMissing, "CUDA PJRT plugin %s not found in %s, but %s exists; fix: export %s=%s",
					CUDAPluginFile, where, local, PluginPathEnvVar, filepath.Dir(local))
			}
			return cudaErrorf(CUDAPluginMissing, "CUDA PJRT plugin %s not found in %s; install it with %s", CUDAPluginFile, where, installFix)
		}
	}
	if st, err := os.Stat(env.real(r.Plugin)); err == nil && st.Size() < 1<<20 {
		return cudaErrorf(CUDAPluginMissing, "plugin %s is only %d bytes: truncated? reinstall it with scripts/install-pjrt.sh cuda12 %s --with-nvidia",
			r.Plugin, st.Size(), filepath.Dir(r.Plugin))
	}
	// install-pjrt.sh writes "<pip spec> <sha256>" beside the plugin.
	if b, err := os.ReadFile(env.real(strings.TrimSuffix(r.Plugin, ".so") + ".version")); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			r.Spec = f[0]
			if m := regexp.MustCompile(`^jax-(cuda\d+)-pjrt==`).FindStringSubmatch(r.Spec); m != nil {
				r.Variant = m[1]
			}
		}
	}
	return nil
}

// lookPath finds an executable in $PATH.
func (e CUDAEnv) lookPath(name string) string {
	for _, d := range splitPath(e.getenv("PATH")) {
		p := filepath.Join(e.abs(d), name)
		if st, err := os.Stat(e.real(p)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// findLibrary finds a library as the loader does for dlopen by soname: in
// the folders (RPATH, $LD_LIBRARY_PATH, ld.so.conf, the defaults), else in
// ldconfig's cache, which can hold folders that ld.so.conf does not list
// (ldconfig run with extra folders, as container runtimes do).
func (e CUDAEnv) findLibrary(dirs []string, soname string) string {
	if p := e.findIn(dirs, soname); p != "" {
		return p
	}
	for _, p := range e.ldCachePaths(soname) {
		if e.isFile(p) {
			return p
		}
	}
	return ""
}

// ldCachePaths lists the paths /etc/ld.so.cache gives for soname. Both
// cache formats keep NUL-terminated strings; an entry's path is the string
// that ends in "/<soname>".
func (e CUDAEnv) ldCachePaths(soname string) []string {
	cache, err := os.ReadFile(e.real("/etc/ld.so.cache"))
	if err != nil {
		return nil
	}
	var paths []string
	needle := []byte("/" + soname + "\x00")
	for rest, off := cache, 0; ; {
		i := bytes.Index(rest, needle)
		if i < 0 {
			return paths
		}
		end := off + i + len(needle) - 1
		start := bytes.LastIndexByte(cache[:end], 0) + 1
		if p := string(cache[start:end]); filepath.IsAbs(p) && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
		off += i + len(needle)
		rest = cache[off:]
	}
}

// findIn returns the first folder's file of that name (a link counts).
func (e CUDAEnv) findIn(dirs []string, name string) string {
	for _, d := range dirs {
		if p := filepath.Join(d, name); e.isFile(p) {
			return p
		}
	}
	return ""
}

var (
	// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar..."
	// or "... UNIX Open Kernel Module for x86_64  570.86.15  Release Build ..."
	reNVRM = regexp.MustCompile(`Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)`)
	// libcuda.so.1 -> libcuda.so.550.54.15
	reLibCUDAVersion = regexp.MustCompile(`libcuda\.so\.(\d+\.\d+(?:\.\d+)?)$`)
)

// driverVersion reads the kernel driver's version, else the version in the
// file name libcuda.so.1 links to.
func (e CUDAEnv) driverVersion(libcuda string) string {
	if b, err := os.ReadFile(e.real("/proc/driver/nvidia/version")); err == nil {
		if m := reNVRM.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	if libcuda != "" {
		if target, err := os.Readlink(e.real(libcuda)); err == nil {
			if m := reLibCUDAVersion.FindStringSubmatch(target); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// findPtxas looks where XLA looks: the folder of --xla_gpu_cuda_data_dir,
// the nvidia/cuda_nvcc wheel folder beside the plugin (what jax's pip
// install gives), $PATH and /usr/local/cuda. dataDir is the folder to pass
// as --xla_gpu_cuda_data_dir when it also holds nvvm/libdevice.
func (e CUDAEnv) findPtxas(pluginDir string) (ptxas, dataDir string) {
	var roots []string
	for _, f := range strings.Fields(e.getenv("XLA_FLAGS")) {
		if v, ok := strings.CutPrefix(f, "--xla_gpu_cuda_data_dir="); ok {
			roots = append(roots, e.abs(v))
		}
	}
	for _, up := range []string{"..", filepath.Join("..", "..")} {
		roots = append(roots, filepath.Join(pluginDir, up, "nvidia", "cuda_nvcc"), filepath.Join(pluginDir, up, "nvidia", "cu13"))
	}
	// install-pjrt.sh --with-nvidia keeps the wheels in DIR/nvidia-cudaNN.
	roots = append(roots, e.glob(filepath.Join(pluginDir, "nvidia-cuda*", "nvidia", "cuda_nvcc"))...)
	roots = append(roots, e.glob(filepath.Join(pluginDir, "nvidia-cuda*", "nvidia", "cu13"))...)
	for _, root := range roots {
		if p := filepath.Join(root, "bin", "ptxas"); e.isFile(p) {
			if e.isDir(filepath.Join(root, "nvvm", "libdevice")) {
				dataDir = root
			}
			return p, dataDir
		}
	}
	if p := e.lookPath("ptxas"); p != "" {
		if root := filepath.Dir(filepath.Dir(p)); e.isDir(filepath.Join(root, "nvvm", "libdevice")) {
			dataDir = root
		}
		return p, dataDir
	}
	if p := "/usr/local/cuda/bin/ptxas"; e.isFile(p) {
		return p, "/usr/local/cuda"
	}
	return "", ""
}

// compareVersions compares dotted numeric versions ("525.60.13").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ClassifyCUDAError turns an error of creating or using the CUDA backend
// (PJRT and CUDA messages, often several lines) into a one-line *CUDAError
// naming the problem and its fix. Errors it does not recognise become
// CUDAPluginUnusable with the first line of the message.
func ClassifyCUDAError(err error, r CUDAReport) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	variant := r.Variant
	if variant == "" {
		variant = "cuda12"
	}
	pluginDir := filepath.Dir(r.Plugin)
	switch {
	case containsAny(msg, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device", "No visible GPU devices", "no supported devices found", "Could not find cuda drivers"):
		return cudaErrorf(CUDANoGPU, "the CUDA plugin found no usable GPU (%s); check nvidia-smi and $CUDA_VISIBLE_DEVICES, or use --backend xla:cpu", firstMatch(msg))
	case containsAny(msg, "CUDA_ERROR_INSUFFICIENT_DRIVER", "driver version is insufficient", "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"):
		driver := r.Driver
		if driver == "" {
			driver = "of unknown version"
		}
		return cudaErrorf(CUDADriverTooOld, "NVIDIA driver %s is too old for the plugin %s (%s); upgrade the driver (at least %s), e.g. apt-get install nvidia-driver-570",
			driver, r.Plugin, firstMatch(msg), cudaVariants[variant].minDriver)
	}
	if m := regexp.MustCompile(`(lib[A-Za-z0-9_]+\.so(?:\.\d+)*)[^\n]*(?:cannot open shared object file|No such file)`).FindStringSubmatch(msg); m != nil {
		return cudaErrorf(CUDARuntimeMissing, "NVIDIA runtime library %s missing; fix: scripts/install-pjrt.sh %s %s --with-nvidia && source %s",
			m[1], variant, pluginDir, filepath.Join(pluginDir, "nvidia-"+variant+".env"))
	}
	if m := regexp.MustCompile(`(?i)(?:unable to load|could not load (?:dynamic )?library)\s*'?(\S+?)'?[.:\s]`).FindStringSubmatch(msg); m != nil {
		return cudaErrorf(CUDARuntimeMissing, "NVIDIA runtime library %s could not be loaded; fix: scripts/install-pjrt.sh %s %s --with-nvidia && source %s",
			m[1], variant, pluginDir, filepath.Join(pluginDir, "nvidia-"+variant+".env"))
	}
	return cudaErrorf(CUDAPluginUnusable, "the plugin %s failed: %s (rerun with --verbose for go-xla's log)", r.Plugin, firstLine(msg))
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// firstMatch is the line of msg with the CUDA error in it, trimmed.
func firstMatch(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if strings.Contains(line, "CUDA") || strings.Contains(line, "cuda") || strings.Contains(line, "GPU") || strings.Contains(line, "driver") {
			return strings.TrimSpace(line)
		}
	}
	return firstLine(msg)
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(line)
}
