package graph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	mlgraph "github.com/gomlx/gomlx/pkg/core/graph"
)

// BackendEnvVar is read when no backend is given explicitly. It is GoMLX's
// own variable, so a setting meant for GoMLX programs also steers gosnn.
const BackendEnvVar = backends.ConfigEnvVar

// PluginPathEnvVar lists the folders searched for PJRT plugins (read by the
// xla backend; defined in every build so tests can look for a plugin).
const PluginPathEnvVar = "PJRT_PLUGIN_LIBRARY_PATH"

// HasCPUPlugin reports whether this binary has the xla backend and the XLA
// CPU plugin (pjrt_c_api_cpu_plugin.so, as scripts/install-pjrt.sh cpu
// installs it) lies in one of the folders of $PJRT_PLUGIN_LIBRARY_PATH. The
// tests that compare backends and gosnn bench's default backends use it.
func HasCPUPlugin() bool {
	if !slices.Contains(AvailableBackends(), "xla") {
		return false
	}
	for _, dir := range filepath.SplitList(os.Getenv(PluginPathEnvVar)) {
		if dir == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, "pjrt_c_api_cpu_plugin.so")); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// CompareBackendEnvVar names the XLA backend that the cross-backend tests
// compare with the pure-Go one: GOSNN_XLA_BACKEND=xla:cuda on a GPU machine
// (scripts/gpu-check.sh sets it). It is not $GOMLX_BACKEND, which moves the
// pure-Go side of those tests as well.
const CompareBackendEnvVar = "GOSNN_XLA_BACKEND"

// CompareBackend is the configuration of the XLA backend that the tests
// compare with the pure-Go backend: $GOSNN_XLA_BACKEND when set (a backend
// asked for by name must then work: the tests fail rather than skip), else
// xla:cpu when HasCPUPlugin. skip is the reason to skip when neither holds.
func CompareBackend() (config, skip string) {
	if c := os.Getenv(CompareBackendEnvVar); c != "" {
		return c, ""
	}
	if HasCPUPlugin() {
		return "xla:cpu", ""
	}
	return "", "no CPU PJRT plugin in $" + PluginPathEnvVar + " (install with scripts/install-pjrt.sh cpu) and no $" + CompareBackendEnvVar
}

// DefaultBackend is the pure-Go backend: it needs no cgo and no download.
const DefaultBackend = simplego.BackendName

// simplegoDefaultConfig avoids the deadlock of simplego's default worker pool
// on 2-core machines (reference/GOMLX.md): unbounded goroutines were both
// deadlock-free and the fastest setting measured.
const simplegoDefaultConfig = "parallelism=-1"

// BackendChoice is a resolved backend configuration.
type BackendChoice struct {
	// Config is the full "name:options" string handed to GoMLX.
	Config string
	// Source says where the choice came from: "flag", "env" or "default".
	Source string
}

// Name is the backend's registered name ("go" or "xla").
func (c BackendChoice) Name() string {
	name, _, _ := strings.Cut(c.Config, ":")
	return name
}

// ResolveBackend picks the backend configuration: an explicit value (from a
// command-line flag) wins, then $GOMLX_BACKEND, then the pure-Go default.
// GoMLX's own default would pick xla without falling back, which fails on a
// machine with no PJRT plugin, so gosnn always decides itself.
func ResolveBackend(explicit string) (BackendChoice, error) {
	choice := BackendChoice{Config: explicit, Source: "flag"}
	if explicit == "" {
		if env, ok := os.LookupEnv(BackendEnvVar); ok && env != "" {
			choice = BackendChoice{Config: env, Source: "env"}
		} else {
			choice = BackendChoice{Config: DefaultBackend, Source: "default"}
		}
	}
	name, opts, _ := strings.Cut(choice.Config, ":")
	known := AvailableBackends()
	if !slices.Contains(known, name) {
		where := "--backend"
		if choice.Source == "env" {
			where = "$" + BackendEnvVar
		}
		return BackendChoice{}, fmt.Errorf("%s=%q: unknown backend %q (available: %s)",
			where, choice.Config, name, strings.Join(known, ", "))
	}
	if name == simplego.BackendName && opts == "" {
		choice.Config = name + ":" + simplegoDefaultConfig
	}
	return choice, nil
}

// AvailableBackends lists the backends compiled into this binary, sorted.
func AvailableBackends() []string {
	names := backends.List()
	slices.Sort(names)
	return names
}

// NewBackend resolves and constructs a backend (see ResolveBackend). GoMLX's
// and go-xla's own output is hidden unless SetVerbose(true); for xla:cuda
// every missing piece (plugin, GPU, driver, NVIDIA runtime libraries) is a
// one-line *CUDAError naming the command that fixes it (see DiagnoseCUDA).
func NewBackend(explicit string) (backends.Backend, BackendChoice, error) {
	choice, err := ResolveBackend(explicit)
	if err != nil {
		return nil, choice, err
	}
	configureLogging()
	check, err := prepareBackend(choice)
	if err != nil {
		return nil, choice, err
	}
	var backend backends.Backend
	createErr := quietStdout(func() error {
		return catchPanic(func() error {
			var err error
			backend, err = backends.NewWithConfig(choice.Config)
			return err
		})
	})
	if err = check(backend, createErr); err != nil {
		if createErr == nil && backend != nil {
			backend.Finalize() // created, but refused by check (no device)
		}
		var cudaErr *CUDAError
		if errors.As(err, &cudaErr) {
			return nil, choice, err // already names the backend, in one line
		}
		return nil, choice, fmt.Errorf("backend %q: %w", choice.Config, err)
	}
	return backend, choice, nil
}

// catchPanic turns panics of GoMLX (which reports some configuration errors
// by panicking) into errors.
func catchPanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
				return
			}
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// OnXLA reports whether g is built for the XLA backend. Several layers
// choose their form by backend: XLA fuses, broadcasts without copying and
// differentiates Slice; the pure-Go backend does none of these.
func OnXLA(g *mlgraph.Graph) bool { return g.Backend().Name() == "xla" }
