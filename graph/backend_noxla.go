//go:build !(((linux && amd64) || darwin) && !noxla)

package graph

import "github.com/gomlx/gomlx/backends"

// prepareBackend has nothing to check without the xla backend: ResolveBackend
// already refused the names that are not compiled in.
func prepareBackend(BackendChoice) (func(backends.Backend, error) error, error) {
	return func(_ backends.Backend, err error) error { return err }, nil
}
