//go:build ((linux && amd64) || darwin) && !noxla

package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends/xla"
)

// pluginInstallHint is the command that installs the PJRT plugins.
const pluginInstallHint = "scripts/install-pjrt.sh"

// prepareBackend disables GoMLX's plugin auto-installer (its download sites
// are unreachable from the machines gosnn targets, and a silent download is
// not reproducible) and checks that the requested PJRT plugin exists, so
// that a missing plugin gives an error that says how to install it.
func prepareBackend(choice BackendChoice) error {
	xla.EnableAutoInstall(false)
	if choice.Name() != "xla" {
		return nil
	}
	_, opts, _ := strings.Cut(choice.Config, ":")
	plugin, _, _ := strings.Cut(opts, ",")
	if plugin == "" {
		plugin = "cpu"
	}
	if strings.HasSuffix(plugin, ".so") {
		if _, err := os.Stat(plugin); err != nil {
			return fmt.Errorf("PJRT plugin %s: %w", plugin, err)
		}
		return checkPluginFile(plugin)
	}
	for _, p := range xla.GetAvailablePlugins() {
		if p == plugin {
			return nil
		}
	}
	return fmt.Errorf("PJRT plugin %q not found in $%s=%q or the default folders; install it with %s %s",
		plugin, PluginPathEnvVar, os.Getenv(PluginPathEnvVar), pluginInstallHint, plugin)
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
