package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gosnn/gosnn/topology"
	"github.com/gosnn/gosnn/train"
)

// EvalInput is what Eval draws from: a results folder's config, the
// history and weights of one checkpoint, and forward passes of that
// checkpoint (train.Trainer.Inspect).
type EvalInput struct {
	Config train.Config
	// Epoch is the checkpoint's epoch; History its per-epoch metrics.
	Epoch   int
	History []train.EpochMetrics
	// Weights are the checkpoint's trainable variables.
	Weights train.WeightsFile
	// Test is the test set and TestRun the network's forward pass over it.
	Test    *train.Dataset
	TestRun *train.Inspection
	// Plane and PlaneRun are a grid over the Yin-Yang input plane
	// (YinYangGrid) and the forward pass over it; nil for other data sets.
	Plane    *train.Dataset
	PlaneRun *train.Inspection
}

// Eval draws every figure of a results folder into dir (created if
// needed) and returns the files written:
//   - loss: training and validation loss per epoch;
//   - accuracy: training and validation accuracy per epoch;
//   - output_spike_times: per true class, histograms of the output
//     neurons' first-spike times over the test set;
//   - yinyang_plane (Yin-Yang only): the input plane coloured by the
//     predicted class, the test samples on it, errors marked;
//   - spike_raster: every population's spikes (and the input spikes) for
//     one test sample of each of the first classes;
//   - weights: a histogram of each trainable variable;
//   - delays and delay_vs_weight (networks with delays only): a histogram
//     of each projection's learned delays, and every synapse's delay
//     against its weight.
func Eval(dir string, in EvalInput) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	if len(in.History) == 0 {
		return nil, fmt.Errorf("plots: the checkpoint of epoch %d holds no per-epoch history", in.Epoch)
	}
	figs := Curves(in.History)
	figs = append(figs, OutputSpikeTimes(in.TestRun, in.Test.ClassNames, timeUnit(in.Config)))
	if in.Plane != nil && in.PlaneRun != nil {
		fig, err := YinYangPlane(in.Test, in.TestRun, in.Plane, in.PlaneRun)
		if err != nil {
			return nil, err
		}
		figs = append(figs, fig)
	}
	figs = append(figs, SpikeRaster(in.Config, in.Test, in.TestRun, 4), WeightHistograms(in.Weights))
	delays, err := DelaysOf(in.Config, in.Weights)
	if err != nil {
		return nil, err
	}
	figs = append(figs, DelayFigures(delays, timeUnit(in.Config))...)
	var written []string
	for _, f := range figs {
		paths, err := f.Save(dir)
		if err != nil {
			return written, err
		}
		written = append(written, paths...)
	}
	return written, nil
}

// timeUnit labels spike-time axes: the network computes in the units of
// its time constants, which the shipped configs set to tau_syn = 1.
// The read-out population's tau_syn is used (the TTFS loss's when the
// network has none).
func timeUnit(cfg train.Config) string {
	tau := cfg.Loss.TauSyn
	if out := cfg.Network.Node(cfg.Network.Output); out != nil && out.Neuron != nil {
		tau = out.Neuron.TauSyn
	}
	if tau == 1 {
		return "[τ_syn]"
	}
	return fmt.Sprintf("[config time units; τ_syn = %g]", tau)
}

// Curves draws the loss and accuracy curves (training and validation) of
// a history.
func Curves(history []train.EpochMetrics) []Figure {
	series := func(f func(train.EpochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(history))
		for i, m := range history {
			xy[i] = plotter.XY{X: float64(m.Epoch), Y: f(m)}
		}
		return xy
	}
	var figs []Figure
	for _, c := range []struct {
		name, title, yLabel string
		scale               float64
		train, val          func(train.EpochMetrics) float64
		legendTop           bool
	}{
		{"loss", "Loss per epoch", "loss (mean per sample)", 1,
			func(m train.EpochMetrics) float64 { return m.TrainLoss }, func(m train.EpochMetrics) float64 { return m.ValLoss }, true},
		{"accuracy", "Accuracy per epoch", "accuracy [%]", 100,
			func(m train.EpochMetrics) float64 { return m.TrainAccuracy }, func(m train.EpochMetrics) float64 { return m.ValAccuracy }, false},
	} {
		p := newPlot(c.title, "epoch", c.yLabel)
		for i, s := range []struct {
			name string
			f    func(train.EpochMetrics) float64
		}{{"training (running mean over the epoch)", c.train}, {"validation (after the epoch)", c.val}} {
			xy := series(func(m train.EpochMetrics) float64 { return c.scale * s.f(m) })
			line, points, err := plotter.NewLinePoints(xy)
			if err != nil {
				continue // a non-finite value: nothing to draw for this series
			}
			line.Color = colorOf(i)
			line.Width = vg.Points(1.5)
			points.Color = colorOf(i)
			points.Shape = draw.CircleGlyph{}
			points.Radius = vg.Points(1.5)
			if len(history) > 60 {
				points.Radius = 0
			}
			p.Add(line, points)
			p.Legend.Add(s.name, line)
		}
		p.Legend.Top = c.legendTop
		last := float64(history[len(history)-1].Epoch)
		p.X.Min, p.X.Max = float64(history[0].Epoch)-0.5, last+0.5
		p.X.Tick.Marker = plot.ConstantTicks(epochTicks(history[0].Epoch, int(last)))
		p.Add(plotter.NewGrid())
		figs = append(figs, single(c.name, p, 7*vg.Inch, 4.5*vg.Inch))
	}
	return figs
}

// epochTicks labels epochs at the first round step (1, 2, 5, 10, 20, 50,
// ...) that gives at most 10 labels, with unlabelled ticks at every epoch
// while there are at most 100.
func epochTicks(first, last int) []plot.Tick {
	step := 1
	for k := 0; (last-first)/step >= 10; k++ {
		step = []int{1, 2, 5}[(k+1)%3] * int(math.Pow10((k+1)/3))
	}
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		if e%step == 0 || e == first && step <= 2 {
			ticks = append(ticks, plot.Tick{Value: float64(e), Label: fmt.Sprint(e)})
		} else if last-first <= 100 {
			ticks = append(ticks, plot.Tick{Value: float64(e)})
		}
	}
	return ticks
}

// histogramBins counts values into n equal bins over [lo, hi].
func histogramBins(values []float64, lo, hi float64, n int) []plotter.HistogramBin {
	bins := make([]plotter.HistogramBin, n)
	width := (hi - lo) / float64(n)
	for i := range bins {
		bins[i].Min = lo + float64(i)*width
		bins[i].Max = lo + float64(i+1)*width
	}
	for _, v := range values {
		i := int((v - lo) / width)
		i = min(max(i, 0), n-1)
		bins[i].Weight++
	}
	return bins
}

// finiteRange returns the smallest and largest finite values, widened to
// a non-empty interval; ok is false when there is none.
func finiteRange(values []float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo > hi {
		return 0, 1, false
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi, true
}

// headroom raises a panel's y range by 35 % above its highest bin, so
// that the legend at the top does not cover the bars.
func headroom(p *plot.Plot, hs ...*plotter.Histogram) {
	top := 0.0
	for _, h := range hs {
		for _, b := range h.Bins {
			top = max(top, b.Weight)
		}
	}
	p.Y.Min, p.Y.Max = 0, max(1, 1.35*top)
}

// outlineHistogram is a histogram drawn as a coloured outline, so that
// several can overlap legibly.
func outlineHistogram(bins []plotter.HistogramBin, c color.Color) *plotter.Histogram {
	h := &plotter.Histogram{Bins: bins, FillColor: nil, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1.5)}}
	if len(bins) > 0 {
		h.Width = bins[0].Max - bins[0].Min
	}
	return h
}

// OutputSpikeTimes draws, for each true class, histograms over the test
// samples of that class of the output neurons' first-spike times: with up
// to five classes one outline per output neuron; with more, the neuron of
// the true class against the earliest of the others. Silent neurons are
// counted in the legend.
func OutputSpikeTimes(in *train.Inspection, classNames []string, unit string) Figure {
	out := len(in.Populations) - 1
	times, k := in.Times[out], in.Sizes[out]
	lo, hi, _ := finiteRange(times)
	const nBins = 40
	var panels []*plot.Plot
	classes := len(classNames)
	for c := range classes {
		var rows []int
		for i, l := range in.Labels {
			if int(l) == c {
				rows = append(rows, i)
			}
		}
		correct := 0
		for _, i := range rows {
			if int(in.Predictions[i]) == c {
				correct++
			}
		}
		title := fmt.Sprintf("true class %s: %d samples, %d correct", classNames[c], len(rows), correct)
		p := newPlot(title, "output spike time "+unit, "samples")
		type series struct {
			name   string
			values []float64
		}
		var all []series
		var hists []*plotter.Histogram
		if classes <= 5 {
			for n := range k {
				s := series{name: fmt.Sprintf("neuron %d (%s)", n, classNames[n])}
				for _, i := range rows {
					s.values = append(s.values, times[i*k+n])
				}
				all = append(all, s)
			}
		} else {
			label, other := series{name: "neuron of the true class"}, series{name: "earliest other neuron"}
			for _, i := range rows {
				label.values = append(label.values, times[i*k+c])
				first := math.Inf(1)
				for n := range k {
					if n != c {
						first = min(first, times[i*k+n])
					}
				}
				other.values = append(other.values, first)
			}
			all = []series{label, other}
		}
		for j, s := range all {
			silent := 0
			var finite []float64
			for _, v := range s.values {
				if math.IsInf(v, 0) || math.IsNaN(v) {
					silent++
				} else {
					finite = append(finite, v)
				}
			}
			// With one series per neuron, neuron n has class n's colour in
			// every panel (and in the Yin-Yang plane).
			h := outlineHistogram(histogramBins(finite, lo, hi, nBins), colorOf(j))
			p.Add(h)
			hists = append(hists, h)
			name := s.name
			if silent > 0 {
				name += fmt.Sprintf(", %d silent", silent)
			}
			p.Legend.Add(name, h)
		}
		p.Legend.Top = true
		p.X.Min, p.X.Max = lo, hi
		headroom(p, hists...)
		p.Add(plotter.NewGrid())
		panels = append(panels, p)
	}
	cols := min(classes, 3)
	if classes > 6 {
		cols = 4
	}
	return grid("output_spike_times", panels, cols, 5.5*vg.Inch, 4*vg.Inch)
}

// YinYangGrid is an n x n grid over the Yin-Yang input plane [0, 1]²,
// keeping the points inside the disc that holds the data (radius 0.5
// around (0.5, 0.5)), with the data set's features x, y, 1-x, 1-y. The
// labels are the true classes of the points.
func YinYangGrid(n int) (*train.Dataset, []image.Point) {
	d := &train.Dataset{Name: "yinyang-plane", NumFeatures: 4, NumClasses: 3, ClassNames: []string{"yin", "yang", "dot"}}
	var cells []image.Point
	for r := range n {
		for c := range n {
			x, y := (float64(c)+0.5)/float64(n), (float64(r)+0.5)/float64(n)
			if math.Hypot(x-0.5, y-0.5) > 0.5 {
				continue
			}
			d.Features = append(d.Features, float32(x), float32(y), float32(1-x), float32(1-y))
			d.Labels = append(d.Labels, train.YinYangClass(x, y, 0.1, 0.5))
			cells = append(cells, image.Point{X: c, Y: r})
		}
	}
	return d, cells
}

// YinYangPlane draws the input plane coloured by the class the network
// predicts at each point of plane (YinYangGrid's points, whose grid size
// is recovered from their spacing), the test samples on it coloured by
// their prediction, and the misclassified samples marked with a cross.
func YinYangPlane(test *train.Dataset, testRun *train.Inspection, plane *train.Dataset, planeRun *train.Inspection) (Figure, error) {
	if test.NumFeatures < 2 || plane.NumFeatures < 2 {
		return Figure{}, fmt.Errorf("plots: the Yin-Yang plane needs x and y features")
	}
	// The grid points sit at (i + 0.5)/n: the smallest x gives n.
	minX := math.Inf(1)
	for i := range plane.Size() {
		minX = min(minX, float64(plane.Features[i*plane.NumFeatures]))
	}
	n := int(math.Round(0.5 / minX))
	if n < 2 || n > 4096 {
		return Figure{}, fmt.Errorf("plots: the plane's points are not a YinYangGrid (smallest x %g)", minX)
	}
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for i := range plane.Size() {
		x, y := float64(plane.Features[i*plane.NumFeatures]), float64(plane.Features[i*plane.NumFeatures+1])
		c, r := int(x*float64(n)), int(y*float64(n))
		col := color.RGBA{200, 200, 200, 255} // no output spike
		if p := planeRun.Predictions[i]; p >= 0 {
			col = lighten(colorOf(int(p)), 0.65)
		}
		img.Set(c, n-1-r, col) // image rows grow downwards
	}
	wrong := 0
	for i := range test.Size() {
		if testRun.Predictions[i] != test.Labels[i] {
			wrong++
		}
	}
	acc := 100 * float64(test.Size()-wrong) / float64(test.Size())
	p := newPlot(fmt.Sprintf("Prediction over the input plane; test set: %.1f %% correct, %d errors", acc, wrong),
		"input x (feature 1, dimensionless)", "input y (feature 2, dimensionless)")
	p.Add(plotter.NewImage(img, 0, 0, 1, 1))
	classes := len(test.ClassNames)
	for c := -1; c < classes; c++ {
		var xy plotter.XYs
		for i := range test.Size() {
			if int(testRun.Predictions[i]) == c {
				xy = append(xy, plotter.XY{X: float64(test.Features[i*test.NumFeatures]), Y: float64(test.Features[i*test.NumFeatures+1])})
			}
		}
		if len(xy) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %w", err)
		}
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(2.2)
		name := "no output spike"
		s.Color = color.RGBA{90, 90, 90, 255}
		if c >= 0 {
			s.Color = colorOf(c)
			name = "predicted " + test.ClassNames[c]
		}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", name, len(xy)), s)
	}
	var errs plotter.XYs
	for i := range test.Size() {
		if testRun.Predictions[i] != test.Labels[i] {
			errs = append(errs, plotter.XY{X: float64(test.Features[i*test.NumFeatures]), Y: float64(test.Features[i*test.NumFeatures+1])})
		}
	}
	if len(errs) > 0 {
		s, err := plotter.NewScatter(errs)
		if err != nil {
			return Figure{}, fmt.Errorf("plots: %w", err)
		}
		s.Shape = draw.CrossGlyph{}
		s.Radius = vg.Points(4)
		s.Color = color.Black
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("misclassified (%d)", len(errs)), s)
	}
	// The x axis runs on to 1.55 with ticks only over the data, so that the
	// legend sits beside the disc instead of on it, and the figure's size
	// keeps one unit of x as long as one unit of y.
	p.Legend.Top = true
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1.55, 0, 1
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		label := ""
		if i%2 == 0 {
			label = fmt.Sprintf("%.1f", v)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	return single("yinyang_plane", p, 10.4*vg.Inch, 7*vg.Inch), nil
}

// SpikeRaster draws, for the first test sample of each of the first
// maxSamples classes, every neuron's first spike: the input spikes (the
// latency code of the features), then each population in layer order, each
// in a band of its own height one, neuron 0 at the bottom (so that 4
// inputs and 120 hidden neurons are both legible); the output neurons are
// named by class.
func SpikeRaster(cfg train.Config, test *train.Dataset, run *train.Inspection, maxSamples int) Figure {
	var samples []int
	for c := range test.NumClasses {
		if len(samples) == maxSamples {
			break
		}
		if i := slices.Index(test.Labels, int32(c)); i >= 0 {
			samples = append(samples, i)
		}
	}
	var input *topology.Node
	for i := range cfg.Network.Nodes {
		if n := &cfg.Network.Nodes[i]; n.Kind == topology.KindInput && input == nil {
			input = n
		}
	}
	type layer struct {
		name  string
		times []float64
	}
	layersOf := func(i int) []layer {
		var ls []layer
		if input != nil && input.Encoding != nil {
			ts := make([]float64, test.NumFeatures)
			for f := range ts {
				v := float64(test.Features[i*test.NumFeatures+f])
				ts[f] = input.Encoding.Early + v*(input.Encoding.Late-input.Encoding.Early)
			}
			ls = append(ls, layer{input.Name, ts})
		}
		for pi, name := range run.Populations {
			k := run.Sizes[pi]
			ls = append(ls, layer{name, run.Times[pi][i*k : (i+1)*k]})
		}
		return ls
	}
	// One time axis for all panels.
	var all []float64
	for _, i := range samples {
		for _, l := range layersOf(i) {
			all = append(all, l.times...)
		}
	}
	_, tMax, _ := finiteRange(all)
	unit := timeUnit(cfg)
	var panels []*plot.Plot
	for _, i := range samples {
		pred := "none (no output spike)"
		if p := run.Predictions[i]; p >= 0 {
			pred = test.ClassNames[p]
		}
		p := newPlot(fmt.Sprintf("test sample %d: class %s, predicted %s", i, test.ClassNames[test.Labels[i]], pred),
			"spike time "+unit, "neuron, one band per population")
		var ticks []plot.Tick
		layers := layersOf(i)
		for li, l := range layers {
			var xy plotter.XYs
			silent := 0
			for n, t := range l.times {
				if math.IsInf(t, 0) || math.IsNaN(t) {
					silent++
					continue
				}
				xy = append(xy, plotter.XY{X: t, Y: float64(li) + (float64(n)+0.5)/float64(len(l.times))})
			}
			ticks = append(ticks, plot.Tick{Value: float64(li)}) // band boundary, unlabelled
			last := li == len(layers)-1
			if last && len(l.times) <= 10 && len(l.times) == len(test.ClassNames) {
				for n := range l.times {
					ticks = append(ticks, plot.Tick{Value: float64(li) + (float64(n)+0.5)/float64(len(l.times)), Label: l.name + " " + test.ClassNames[n]})
				}
			} else {
				ticks = append(ticks, plot.Tick{Value: float64(li) + 0.5, Label: fmt.Sprintf("%s 0..%d", l.name, len(l.times)-1)})
			}
			if len(xy) > 0 {
				s, err := plotter.NewScatter(xy)
				if err == nil {
					s.Shape = draw.BoxGlyph{}
					s.Radius = vg.Points(2)
					s.Color = colorOf(li)
					p.Add(s)
					p.Legend.Add(fmt.Sprintf("%s: %d of %d spiked", l.name, len(l.times)-silent, len(l.times)), s)
				}
			}
		}
		ticks = append(ticks, plot.Tick{Value: float64(len(layers))})
		p.Y.Tick.Marker = plot.ConstantTicks(ticks)
		// Room above the bands for the legend.
		p.Y.Min, p.Y.Max = 0, float64(len(layers))+0.6
		p.X.Min, p.X.Max = 0, tMax*1.05
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		panels = append(panels, p)
	}
	cols := len(panels)
	if cols > 3 {
		cols = 2
	}
	return grid("spike_raster", panels, max(cols, 1), 5.5*vg.Inch, 5*vg.Inch)
}

// WeightHistograms draws one histogram per trainable variable.
func WeightHistograms(w train.WeightsFile) Figure {
	names := make([]string, 0, len(w.Variables))
	for name := range w.Variables {
		names = append(names, name)
	}
	sort.Strings(names)
	var panels []*plot.Plot
	for vi, name := range names {
		v := w.Variables[name]
		lo, hi, _ := finiteRange(v.Values)
		var sum, sq float64
		for _, x := range v.Values {
			sum += x
		}
		mean := sum / float64(len(v.Values))
		for _, x := range v.Values {
			sq += (x - mean) * (x - mean)
		}
		std := math.Sqrt(sq / float64(len(v.Values)))
		dims := make([]string, len(v.Shape))
		for i, d := range v.Shape {
			dims[i] = fmt.Sprint(d)
		}
		p := newPlot(fmt.Sprintf("%s  [%s]", name, strings.Join(dims, " x ")), "weight (dimensionless; threshold = 1)", "weights per bin")
		h := outlineHistogram(histogramBins(v.Values, lo, hi, 50), colorOf(vi))
		h.FillColor = lighten(colorOf(vi), 0.6)
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%d weights, mean %.3g, std %.3g", len(v.Values), mean, std), h)
		p.Legend.Top = true
		headroom(p, h)
		p.Add(plotter.NewGrid())
		panels = append(panels, p)
	}
	return grid("weights", panels, min(max(len(panels), 1), 3), 5.5*vg.Inch, 4*vg.Inch)
}
