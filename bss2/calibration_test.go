package bss2

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCalibrationRoundTrip(t *testing.T) {
	cfg := DefaultMock()
	cfg.ThresholdVariation, cfg.TauVariation = 0.05, 0.02
	c := MockCalibration(cfg, JaxsnnOperatingPoint(), ChipLimits())
	require.Len(t, c.Neurons, 512)
	require.NoError(t, c.Validate(ChipLimits()))
	var buf bytes.Buffer
	require.NoError(t, EncodeCalibration(&buf, c))
	back, err := ParseCalibration(buf.Bytes(), "calib.json", ChipLimits())
	require.NoError(t, err)
	require.Equal(t, c, back)
	// The calibration holds the mock's draws: neuron 0's threshold is the
	// one the mock gives the first neuron of a network.
	require.NotEqual(t, c.Neurons[0].Threshold, c.Neurons[1].Threshold)
}

func TestCalibrationRefusesBadFiles(t *testing.T) {
	good := MockCalibration(DefaultMock(), JaxsnnOperatingPoint(), ChipLimits())
	tests := []struct {
		name   string
		change func(c *Calibration)
		want   string
	}{
		{"version", func(c *Calibration) { c.Version = 7 }, "version: must be 1, got 7"},
		{"threshold out of CADC range", func(c *Calibration) { c.Neurons[3].Threshold = 300 }, "neurons[3].v_th: must be a CADC value in [0, 255], got 300"},
		{"threshold below leak", func(c *Calibration) { c.Target.Threshold = 70 }, "target.v_th: (70) must be above v_leak (80)"},
		{"negative tau", func(c *Calibration) { c.Neurons[5].TauSyn = -1 }, "neurons[5].tau_syn_s: must be a positive finite number, got -1"},
		{"neuron outside the chip", func(c *Calibration) { c.Neurons[9].Neuron = 512 }, "neurons[9].neuron: hardware neuron 512 is outside [0, 512)"},
		{"repeated neuron", func(c *Calibration) { c.Neurons[2].Neuron = 1 }, "neurons[2].neuron: hardware neuron 1 is already calibrated by neurons[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Neurons = append([]NeuronCalibration(nil), good.Neurons...)
			tc.change(&c)
			var buf bytes.Buffer
			require.NoError(t, EncodeCalibration(&buf, c))
			_, err := ParseCalibration(buf.Bytes(), "calib.json", ChipLimits())
			require.ErrorContains(t, err, "calibration calib.json: ")
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := ParseCalibration([]byte(`{"version": 1, "colour": 3}`), "x.json", ChipLimits())
	require.ErrorContains(t, err, `unknown field "colour"`)
	missing := filepath.Join(t.TempDir(), "nope.json")
	_, err = ReadCalibration(missing, ChipLimits())
	require.ErrorContains(t, err, missing+" does not exist")
	require.ErrorContains(t, err, "gosnn hw calibrate --out "+missing)
	_, statErr := os.Stat(missing)
	require.True(t, os.IsNotExist(statErr))
}
