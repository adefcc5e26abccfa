// Package plots draws the figures of gosnn's results folders and sweeps
// with gonum/plot, as PNG and SVG: loss and accuracy curves, output
// spike-time histograms per class, the Yin-Yang input plane coloured by
// prediction, spike rasters, weight histograms (Eval, from a results folder
// and a forward pass of its checkpoint), and test accuracy against the
// swept keys of a sweep (package sweep). Training never draws: it writes
// data, and plots are drawn from that data afterwards (fastAndDeep's
// experiment.py eval), so that a plotting problem can never cost a run.
package plots
