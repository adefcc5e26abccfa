// Package train holds what gosnn needs around a spiking network to learn:
// in-memory data sets (the Yin-Yang set, generated bit-identically to its
// numpy reference so that results stay comparable with published ones), the
// training configuration and loop for time-to-first-spike networks, and the
// results folders, which keep each run's configuration, per-epoch metrics,
// summary and weights so that a run can be compared and repeated from its
// folder alone.
package train
