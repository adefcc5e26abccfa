// Package graph holds the spiking-network building blocks that sit directly
// on top of GoMLX's graph package: the choice of computation backend, root
// solvers in closed form (Lambert W), and the pieces GoMLX lacks for event
// lists: a sorting network (SortRows) and a log-step prefix sum
// (PrefixSum).
//
// Nothing here knows about neurons or data sets; packages snn, event and
// discrete build on it.
package graph
