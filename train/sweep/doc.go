// Package sweep runs many trainings of one base config over a grid of
// config keys (fastAndDeep's sweep.py, sweep_evaluation.py): a sweep file
// names the base config, keys set for every point and the axes (grid:
// every combination; zip: lists walked together); each point gets its
// own config file and folder, and runs as a "gosnn train" process of its
// own, on a local worker pool or as a task of a Slurm array job. A point's
// state lives in its folder (state.json, and its results folder), so that
// a sweep resumes after an interrupt or a kill, Slurm tasks and local
// workers can share one sweep, and "collect" gathers every point's final
// metrics into one CSV.
package sweep
