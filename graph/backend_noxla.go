//go:build !(((linux && amd64) || darwin) && !noxla)

package graph

func prepareBackend(BackendChoice) error { return nil }
