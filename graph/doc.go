// Package graph holds the spiking-network building blocks that sit directly
// on top of GoMLX's graph package: the choice of computation backend, root
// solvers in closed form (Lambert W), and what GoMLX lacks for event lists:
// sorting networks (SortRows, SortColumnValues), a binary search
// (CountLess), a log-step prefix sum (PrefixSum), and a fusion barrier for
// XLA (Materialize).
//
// NewBackend also checks, for xla:cuda, each piece the CUDA plugin needs
// (DiagnoseCUDA: plugin, GPU, driver, NVIDIA runtime libraries) and keeps
// GoMLX's and go-xla's own output off stdout unless SetVerbose(true).
//
// Nothing here knows about neurons or data sets; packages snn, event and
// discrete build on it.
package graph
