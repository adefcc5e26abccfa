package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/gosnn/gosnn/train"
)

// Figure is a grid of panels saved as one PNG and one SVG image.
type Figure struct {
	// Name is the file name without extension ("loss" -> loss.png, loss.svg).
	Name string
	// Panels are the rows of plots; nil entries stay empty.
	Panels [][]*plot.Plot
	// Width and Height are the whole figure's size.
	Width, Height vg.Length
}

// pngDPI makes 12-point text 20 pixels high: legible at 100 % zoom.
const pngDPI = 120

// single is a figure of one panel.
func single(name string, p *plot.Plot, w, h vg.Length) Figure {
	return Figure{Name: name, Panels: [][]*plot.Plot{{p}}, Width: w, Height: h}
}

// grid lays panels out in rows of at most cols.
func grid(name string, panels []*plot.Plot, cols int, panelW, panelH vg.Length) Figure {
	var rows [][]*plot.Plot
	for i := 0; i < len(panels); i += cols {
		row := make([]*plot.Plot, cols)
		copy(row, panels[i:min(i+cols, len(panels))])
		rows = append(rows, row)
	}
	if len(rows) == 1 {
		rows[0] = rows[0][:len(panels)]
		cols = len(panels)
	}
	return Figure{Name: name, Panels: rows, Width: panelW * vg.Length(cols), Height: panelH * vg.Length(len(rows))}
}

// draw renders the figure onto a canvas.
func (f Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	rows := len(f.Panels)
	cols := 0
	for _, r := range f.Panels {
		cols = max(cols, len(r))
	}
	if rows == 1 && cols == 1 {
		f.Panels[0][0].Draw(dc)
		return
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(12), PadY: vg.Points(12),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	canvases := plot.Align(f.Panels, t, dc)
	for i, r := range f.Panels {
		for j, p := range r {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// Save writes dir/<Name>.png and dir/<Name>.svg, each atomically, and
// returns their paths.
func (f Figure) Save(dir string) ([]string, error) {
	var paths []string
	img := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	f.draw(img)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.Name, err)
	}
	path := filepath.Join(dir, f.Name+".png")
	if err := train.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return nil, err
	}
	paths = append(paths, path)
	svg := vgsvg.New(f.Width, f.Height)
	f.draw(svg)
	buf.Reset()
	if _, err := svg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.Name, err)
	}
	path = filepath.Join(dir, f.Name+".svg")
	if err := train.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return nil, err
	}
	return append(paths, path), nil
}

// newPlot is a panel with a title and labelled axes, a light grid, and
// gonum's default font sizes (title 12 pt, axis labels 12 pt, ticks
// 10 pt, legend 12 pt).
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	return p
}

// plainTicks are gonum's default ticks with their labels written without
// trailing zeros ("25", not "25.00").
type plainTicks struct{}

// Ticks implements plot.Ticker.
func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}

// palette is matplotlib's tab10: distinct on screen and in print.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// colorOf is the i-th colour of the palette.
func colorOf(i int) color.RGBA { return palette[((i%len(palette))+len(palette))%len(palette)] }

// lighten mixes c with white: f = 0 keeps c, f = 1 is white.
func lighten(c color.RGBA, f float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(float64(v) + f*(255-float64(v))) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 255}
}
