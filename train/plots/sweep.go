package plots

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SweepPoint is one finished point of a sweep: the swept keys' values (as
// written in the sweep file) and its test accuracy (0..1).
type SweepPoint struct {
	Values       []string
	TestAccuracy float64
}

// SeedKey is the swept key whose values are repetitions, not settings:
// SweepAccuracy averages over it.
const SeedKey = "seed"

// SweepAccuracy draws, for each swept key but the seed, the test accuracy
// against the key's values: one line per combination of the other swept
// keys, each point the mean over the seeds with the standard deviation as
// error bars (the sample one, n-1). Swept only over seeds, it draws the
// accuracy of each seed. Numeric values are placed by value, others in
// the order of the sweep file.
func SweepAccuracy(keys []string, points []SweepPoint) []Figure {
	seed := slices.Index(keys, SeedKey)
	var figs []Figure
	for k, key := range keys {
		if k == seed && len(keys) > 1 {
			continue
		}
		// The key's values in first-seen order, and whether all are numbers.
		var values []string
		numeric := true
		for _, p := range points {
			if !slices.Contains(values, p.Values[k]) {
				values = append(values, p.Values[k])
				if _, err := strconv.ParseFloat(p.Values[k], 64); err != nil {
					numeric = false
				}
			}
		}
		xOf := func(v string) float64 {
			if numeric {
				x, _ := strconv.ParseFloat(v, 64)
				return x
			}
			return float64(slices.Index(values, v))
		}
		// Series: the other non-seed keys' values.
		type acc struct{ sum, sq, n float64 }
		var seriesNames []string
		series := map[string]map[string]*acc{}
		for _, p := range points {
			var parts []string
			for j, other := range keys {
				if j != k && j != seed {
					parts = append(parts, other+"="+p.Values[j])
				}
			}
			name := strings.Join(parts, ", ")
			if series[name] == nil {
				series[name] = map[string]*acc{}
				seriesNames = append(seriesNames, name)
			}
			a := series[name][p.Values[k]]
			if a == nil {
				a = &acc{}
				series[name][p.Values[k]] = a
			}
			v := 100 * p.TestAccuracy
			a.sum += v
			a.sq += v * v
			a.n++
		}
		spread := "mean ± std over seeds"
		if seed < 0 || k == seed {
			spread = "one run per point"
		}
		p := newPlot(fmt.Sprintf("Test accuracy against %s (%s)", key, spread), key+" (swept value)", "test accuracy [%]")
		for si, name := range seriesNames {
			var pts meanErrors
			for _, v := range values {
				a := series[name][v]
				if a == nil {
					continue
				}
				mean := a.sum / a.n
				std := 0.0
				if a.n > 1 {
					std = math.Sqrt(max(0, (a.sq-a.n*mean*mean)/(a.n-1)))
				}
				pts = append(pts, meanError{x: xOf(v), y: mean, err: std})
			}
			slices.SortFunc(pts, func(a, b meanError) int { return int(math.Copysign(1, a.x-b.x)) })
			line, marks, err := plotter.NewLinePoints(pts)
			if err != nil {
				continue
			}
			line.Color, line.Width = colorOf(si), vg.Points(1.5)
			marks.Color, marks.Shape, marks.Radius = colorOf(si), draw.CircleGlyph{}, vg.Points(3)
			bars, err := plotter.NewYErrorBars(pts)
			if err == nil {
				bars.Color, bars.Width = colorOf(si), vg.Points(1.2)
				p.Add(bars)
			}
			p.Add(line, marks)
			if name == "" {
				name = "test accuracy"
			}
			p.Legend.Add(name, line, marks)
		}
		var ticks []plot.Tick
		for _, v := range values {
			ticks = append(ticks, plot.Tick{Value: xOf(v), Label: v})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		// Margins, so that the outermost points and error bars are not cut
		// by the frame.
		if !numeric {
			p.X.Min, p.X.Max = -0.5, float64(len(values))-0.5
		} else {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range values {
				lo, hi = min(lo, xOf(v)), max(hi, xOf(v))
			}
			pad := 0.5*math.Abs(lo) + 0.5 // one value
			if hi > lo {
				pad = 0.08 * (hi - lo)
			}
			p.X.Min, p.X.Max = lo-pad, hi+pad
		}
		if span := p.Y.Max - p.Y.Min; span > 0 {
			p.Y.Min, p.Y.Max = p.Y.Min-0.08*span, p.Y.Max+0.08*span
		} else {
			p.Y.Min, p.Y.Max = p.Y.Min-1, p.Y.Max+1
		}
		p.Legend.Top = false
		p.Add(plotter.NewGrid())
		figs = append(figs, single("test_accuracy_vs_"+fileName(key), p, 7*vg.Inch, 4.5*vg.Inch))
	}
	return figs
}

// meanError is a mean with its error bar.
type meanError struct{ x, y, err float64 }

type meanErrors []meanError

func (m meanErrors) Len() int                    { return len(m) }
func (m meanErrors) XY(i int) (float64, float64) { return m[i].x, m[i].y }
func (m meanErrors) YError(i int) (float64, float64) {
	return m[i].err, m[i].err
}

// fileName turns a key path into a file name part.
func fileName(key string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, key)
}
