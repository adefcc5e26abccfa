package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gosnn/gosnn/topology"
	"github.com/gosnn/gosnn/train"
)

// LearnedDelays are one projection's delays after training.
type LearnedDelays struct {
	// Projection is the linear node's name, Kind its delay kind.
	Projection, Kind string
	// Delays are the distinct delays (one per parameter, after the
	// positivity function), in the parameters' row-major order.
	Delays []float64
	// Synapses pairs every synapse's weight with its delay, [rows*cols].
	Weights, SynapseDelays []float64
}

// DelaysOf returns the learned delays of every projection of cfg's network
// that has delays, from the trainable variables "/NAME/delays" and
// "/NAME/weights" of w, in node order. A missing or wrongly shaped
// variable is an error naming it.
func DelaysOf(cfg train.Config, w train.WeightsFile) ([]LearnedDelays, error) {
	var out []LearnedDelays
	for _, node := range cfg.Network.Nodes {
		d := node.Delay
		if node.Kind != topology.KindLinear || d == nil {
			continue
		}
		params, ok := w.Variables["/"+node.Name+"/delays"]
		weights, okW := w.Variables["/"+node.Name+"/weights"]
		if !ok || !okW || len(weights.Shape) != 2 {
			return nil, fmt.Errorf("plots: projection %q has delays but the checkpoint lacks /%s/delays or /%s/weights [rows, cols]", node.Name, node.Name, node.Name)
		}
		rows, cols := weights.Shape[0], weights.Shape[1]
		r, c := d.Shape(rows, cols)
		if len(params.Shape) != 2 || params.Shape[0] != r || params.Shape[1] != c {
			return nil, fmt.Errorf("plots: /%s/delays has shape %v, its %s delays need [%d %d]", node.Name, params.Shape, d.Kind, r, c)
		}
		l := LearnedDelays{Projection: node.Name, Kind: d.Kind, Weights: weights.Values}
		for _, p := range params.Values {
			l.Delays = append(l.Delays, d.Positivity.Apply(p))
		}
		// Shared parameters tile the neurons (as event.Lower does).
		for i := range rows {
			for j := range cols {
				l.SynapseDelays = append(l.SynapseDelays, l.Delays[(i%r)*c+j%c])
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// DelayFigures draws, for networks with delays, a histogram of the learned
// delays of each projection ("delays") and every synapse's delay against
// its weight ("delay_vs_weight"). It returns no figure without delays.
func DelayFigures(layers []LearnedDelays, unit string) []Figure {
	if len(layers) == 0 {
		return nil
	}
	var hists, scatters []*plot.Plot
	for i, l := range layers {
		lo, hi, _ := finiteRange(l.Delays)
		mean, std := meanStd(l.Delays)
		p := newPlot(fmt.Sprintf("%s: %s delays", l.Projection, l.Kind), "delay "+unit, "delays per bin")
		h := outlineHistogram(histogramBins(l.Delays, lo, hi, 30), colorOf(i))
		h.FillColor = lighten(colorOf(i), 0.6)
		p.Add(h, plotter.NewGrid())
		p.Legend.Add(fmt.Sprintf("%d delays, mean %.3g, std %.3g", len(l.Delays), mean, std), h)
		p.Legend.Top = true
		headroom(p, h)
		hists = append(hists, p)

		s := newPlot(fmt.Sprintf("%s: delay vs weight", l.Projection), "weight (dimensionless; threshold = 1)", "delay "+unit)
		pts := make(plotter.XYs, len(l.Weights))
		for k := range l.Weights {
			pts[k] = plotter.XY{X: l.Weights[k], Y: l.SynapseDelays[k]}
		}
		sc, _ := plotter.NewScatter(pts)
		sc.GlyphStyle = draw.GlyphStyle{Color: colorOf(i), Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
		s.Add(sc, plotter.NewGrid())
		s.Legend.Add(fmt.Sprintf("%d synapses", len(pts)), sc)
		s.Legend.Top = true
		scatters = append(scatters, s)
	}
	cols := min(len(layers), 3)
	return []Figure{
		grid("delays", hists, cols, 5.5*vg.Inch, 4*vg.Inch),
		grid("delay_vs_weight", scatters, cols, 5.5*vg.Inch, 4*vg.Inch),
	}
}

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}
