package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEvalDrawsEveryPlot trains a tiny run and draws its plots: every
// figure exists as a PNG of its size and an SVG, and drawing changes
// nothing in the results folder but its plots folder.
func TestEvalDrawsEveryPlot(t *testing.T) {
	out := t.TempDir()
	require.NoError(t, run(context.Background(), []string{"train", "yinyang", "--epochs", "2", "--hidden", "6", "--batch-size", "500",
		"--out", out, "--quiet"}, &bytes.Buffer{}))
	dir := onlyRun(t, out)
	before := listTree(t, dir)
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"eval", dir, "--grid", "30"}, &stdout))
	require.Contains(t, stdout.String(), "epoch 2")
	sizes := map[string][2]int{ // inches at 120 dpi
		"loss": {840, 540}, "accuracy": {840, 540}, "output_spike_times": {3 * 660, 480},
		"yinyang_plane": {1248, 840}, "spike_raster": {3 * 660, 600}, "weights": {2 * 660, 480},
	}
	for name, size := range sizes {
		f, err := os.Open(filepath.Join(dir, "plots", name+".png"))
		require.NoError(t, err, name)
		img, err := png.Decode(f)
		_ = f.Close()
		require.NoError(t, err, name)
		require.Equal(t, size[0], img.Bounds().Dx(), name)
		require.Equal(t, size[1], img.Bounds().Dy(), name)
		svg, err := os.ReadFile(filepath.Join(dir, "plots", name+".svg"))
		require.NoError(t, err, name)
		require.Contains(t, string(svg), "<svg")
		require.Contains(t, stdout.String(), filepath.Join(dir, "plots", name+".svg"))
	}
	var after []string
	for _, p := range listTree(t, dir) {
		if !strings.HasPrefix(p, filepath.Join(dir, "plots")) {
			after = append(after, p)
		}
	}
	require.Equal(t, before, after, "eval only adds its plots")

	err := run(context.Background(), []string{"eval", filepath.Join(out, "nope")}, &bytes.Buffer{})
	require.ErrorContains(t, err, "is not a results folder")
	err = run(context.Background(), []string{"eval", dir, "7"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "has no save point at epoch 7")
}
