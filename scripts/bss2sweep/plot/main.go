// Command plot turns the mock-chip artifact sweep (scripts/bss2sweep/sweep.sh,
// issue 16 measurement 2) into a JSON file and a PNG: final test accuracy
// against spike-time jitter sigma (% of tau_syn), one line per weight
// resolution (4, 5, 6, 8 bits, float).
//
//	go run ./scripts/bss2sweep/plot SWEEP.tsv OUT.json OUT.png [TITLE]
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// point is one sweep run.
type point struct {
	JitterPctTauSyn float64 `json:"jitter_pct_tau_syn"`
	WeightBits      int     `json:"weight_bits"` // 0: float weights
	Seed            int     `json:"seed"`
	Epochs          int     `json:"epochs"`
	TestAccuracy    float64 `json:"test_accuracy_pct"`
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: plot SWEEP.tsv OUT.json OUT.png [TITLE]")
		os.Exit(2)
	}
	points, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	title := "Yin-Yang, mock BrainScaleS-2 in the loop"
	if len(os.Args) > 4 {
		title = os.Args[4]
	}
	data, err := json.MarshalIndent(map[string]any{"title": title, "points": points}, "", "  ")
	if err == nil {
		err = os.WriteFile(os.Args[2], append(data, '\n'), 0o644)
	}
	if err == nil {
		err = draw(points, title, os.Args[3])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// read parses sweep.sh's lines: jitter fraction, bits, seed, epochs, accuracy %.
func read(path string) ([]point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sweep results: %w", err)
	}
	defer f.Close()
	var out []point
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 fields (jitter, bits, seed, epochs, accuracy), got %d", path, line, len(fields))
		}
		var v [5]float64
		for i, s := range fields {
			if v[i], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("%s:%d: field %d: %w", path, line, i+1, err)
			}
		}
		out = append(out, point{100 * v[0], int(v[1]), int(v[2]), int(v[3]), v[4]})
	}
	return out, sc.Err()
}

func draw(points []point, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "spike-time jitter sigma (% of tau_syn)"
	p.Y.Label.Text = "test accuracy (%)"
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(-4)
	byBits := map[int]plotter.XYs{}
	for _, q := range points {
		byBits[q.WeightBits] = append(byBits[q.WeightBits], plotter.XY{X: q.JitterPctTauSyn, Y: q.TestAccuracy})
	}
	var bits []int
	for b := range byBits {
		bits = append(bits, b)
	}
	// ascending bits, float (0) last
	key := func(b int) int {
		if b == 0 {
			return 1 << 30
		}
		return b
	}
	sort.Slice(bits, func(i, j int) bool { return key(bits[i]) < key(bits[j]) })
	colors := []color.RGBA{{0xd6, 0x27, 0x28, 255}, {0xff, 0x7f, 0x0e, 255}, {0x1f, 0x77, 0xb4, 255}, {0x2c, 0xa0, 0x2c, 255}, {0, 0, 0, 255}}
	for i, b := range bits {
		xys := byBits[b]
		sort.Slice(xys, func(i, j int) bool { return xys[i].X < xys[j].X })
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("line for %d bits: %w", b, err)
		}
		l.Color, s.Color = colors[i%len(colors)], colors[i%len(colors)]
		name := fmt.Sprintf("%d-bit weights", b)
		if b == 0 {
			name = "float weights"
		}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
	}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
