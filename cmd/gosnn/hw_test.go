package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/configs"
)

func TestHwMapAndCalibrate(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"hw", "map", "yinyang"}, &out))
	require.Contains(t, out.String(), "population hidden (lif): 120 neurons -> hardware neurons 0..119")
	require.Contains(t, out.String(), "synapse rows per hemisphere: [250 0] of 256")

	// A network larger than the chip: the config's file, line and node.
	data, err := configs.FS.ReadFile("yin_yang_bss2.yaml")
	require.NoError(t, err)
	big := strings.Replace(string(data), "size: 120\n      capacity: 120", "size: 600\n      capacity: 600", 1)
	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, []byte(big), 0o644))
	err = run(context.Background(), []string{"hw", "map", path}, &out)
	require.ErrorContains(t, err, "big.yaml:")
	require.ErrorContains(t, err, "network.nodes[3] (hidden): population \"hidden\" needs hardware neurons up to 600, the chip has 512")

	calib := filepath.Join(t.TempDir(), "calib.json")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"hw", "calibrate", "--out", calib, "--threshold-variation", "0.05"}, &out))
	require.Contains(t, out.String(), "512 mock neurons")
	c, err := bss2.ReadCalibration(calib, bss2.ChipLimits())
	require.NoError(t, err)
	require.Equal(t, bss2.JaxsnnOperatingPoint(), c.Target)
	info, err := os.Stat(calib)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	err = run(context.Background(), []string{"hw", "train", "yinyang", "--backend", "chip", "--calibration", calib, "--epochs", "1", "--out", t.TempDir()}, &out)
	require.ErrorIs(t, err, bss2.ErrNoChip)
	err = run(context.Background(), []string{"hw", "frobnicate"}, &out)
	require.ErrorContains(t, err, `hw: unknown command "frobnicate"`)
}
