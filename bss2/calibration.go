package bss2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// CalibrationVersion is the version of the calibration file format.
const CalibrationVersion = 1

// Calibration is the operating point asked of calix and, per hardware
// neuron, the values the calibration reached (measured on the chip, or
// drawn by the mock). It is stored as JSON (WriteCalibration,
// ReadCalibration). On the chip, VendorFile names calix's result (a
// *_cocolist.pbin) that the shim loads and converts to a chip
// configuration; the per-neuron values are what gosnn's mock and reports
// use.
type Calibration struct {
	Version int `json:"version"`
	// Target is the requested operating point.
	Target OperatingPoint `json:"target"`
	// Neurons holds one entry per hardware neuron that was calibrated.
	Neurons []NeuronCalibration `json:"neurons"`
	// VendorFile is calix's result file, relative to the calibration
	// file's folder or absolute; empty for a mock calibration.
	VendorFile string `json:"vendor_file,omitempty"`
	// Chip identifies the chip (the setup's name), empty for the mock.
	Chip string `json:"chip,omitempty"`
}

// OperatingPoint is what a calibration asks for (calix's targets, in the
// units of BSS2.md): threshold, leak and reset in CADC units, time
// constants and refractory time in hardware seconds, and the two bias
// currents of the synaptic input.
type OperatingPoint struct {
	Threshold      float64 `json:"v_th"`
	Leak           float64 `json:"v_leak"`
	Reset          float64 `json:"v_reset"`
	TauMem         float64 `json:"tau_mem_s"`
	TauSyn         float64 `json:"tau_syn_s"`
	Refractory     float64 `json:"refractory_s"`
	SynInGm        float64 `json:"i_synin_gm"`
	SynapseDACBias float64 `json:"synapse_dac_bias"`
}

// JaxsnnOperatingPoint is jaxsnn's BSS-2 Yin-Yang operating point.
func JaxsnnOperatingPoint() OperatingPoint {
	return OperatingPoint{Threshold: 150, Leak: 80, Reset: 80, TauMem: OperatingTauMem, TauSyn: OperatingTauSyn,
		Refractory: 30e-6, SynInGm: 500, SynapseDACBias: 1000}
}

// NeuronCalibration is what one hardware neuron reached.
type NeuronCalibration struct {
	Neuron    int     `json:"neuron"`
	Threshold float64 `json:"v_th"`
	Leak      float64 `json:"v_leak"`
	Reset     float64 `json:"v_reset"`
	TauMem    float64 `json:"tau_mem_s"`
	TauSyn    float64 `json:"tau_syn_s"`
}

// Validate names every unusable value: versions, ranges (CADC values in
// 0..255, positive time constants), neuron numbers outside the chip or
// repeated.
func (c Calibration) Validate(lim Limits) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.Version != CalibrationVersion {
		bad("version", "must be %d, got %d", CalibrationVersion, c.Version)
	}
	cadc := func(field string, v float64) {
		if !(v >= 0 && v <= 255) {
			bad(field, "must be a CADC value in [0, 255], got %g", v)
		}
	}
	positive := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(field, "must be a positive finite number, got %g", v)
		}
	}
	op := c.Target
	cadc("target.v_th", op.Threshold)
	cadc("target.v_leak", op.Leak)
	cadc("target.v_reset", op.Reset)
	if !(op.Threshold > op.Leak) {
		bad("target.v_th", "(%g) must be above v_leak (%g)", op.Threshold, op.Leak)
	}
	positive("target.tau_mem_s", op.TauMem)
	positive("target.tau_syn_s", op.TauSyn)
	if !(op.Refractory >= 0) || math.IsInf(op.Refractory, 0) {
		bad("target.refractory_s", "must be >= 0 and finite, got %g", op.Refractory)
	}
	positive("target.i_synin_gm", op.SynInGm)
	positive("target.synapse_dac_bias", op.SynapseDACBias)
	seen := map[int]int{}
	for i, n := range c.Neurons {
		p := fmt.Sprintf("neurons[%d]", i)
		if n.Neuron < 0 || n.Neuron >= lim.Neurons {
			bad(p+".neuron", "hardware neuron %d is outside [0, %d)", n.Neuron, lim.Neurons)
		} else if j, dup := seen[n.Neuron]; dup {
			bad(p+".neuron", "hardware neuron %d is already calibrated by neurons[%d]", n.Neuron, j)
		} else {
			seen[n.Neuron] = i
		}
		cadc(p+".v_th", n.Threshold)
		cadc(p+".v_leak", n.Leak)
		cadc(p+".v_reset", n.Reset)
		if !(n.Threshold > n.Leak) {
			bad(p+".v_th", "(%g) must be above v_leak (%g)", n.Threshold, n.Leak)
		}
		positive(p+".tau_mem_s", n.TauMem)
		positive(p+".tau_syn_s", n.TauSyn)
	}
	return errors.Join(errs...)
}

// EncodeCalibration writes c as indented JSON (write it atomically with
// train.WriteFileAtomic).
func EncodeCalibration(w io.Writer, c Calibration) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding calibration: %w", err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// ReadCalibration reads and validates a calibration file. A missing file
// names the path and the command that writes it.
func ReadCalibration(path string, lim Limits) (Calibration, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Calibration{}, fmt.Errorf("calibration %s does not exist; write it with `gosnn hw calibrate --out %s` (inside the vendor container for the chip)", path, path)
	}
	if err != nil {
		return Calibration{}, fmt.Errorf("calibration: %w", err)
	}
	return ParseCalibration(data, path, lim)
}

// ParseCalibration reads a calibration strictly (unknown keys are errors)
// and validates it; errors start with source.
func ParseCalibration(data []byte, source string, lim Limits) (Calibration, error) {
	var c Calibration
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("calibration %s: %w", source, err)
	}
	if dec.More() {
		return c, fmt.Errorf("calibration %s: more than one JSON value", source)
	}
	if err := c.Validate(lim); err != nil {
		return c, fmt.Errorf("calibration %s: %w", source, err)
	}
	return c, nil
}

// MockCalibration is the calibration the mock's per-neuron variation
// amounts to at an operating point: every hardware neuron's threshold
// (relative to leak) and time constants drawn as the Mock draws them for
// a network whose neurons fill the chip in order.
func MockCalibration(cfg MockConfig, op OperatingPoint, lim Limits) Calibration {
	c := Calibration{Version: CalibrationVersion, Target: op}
	rng := variationRNG(cfg.Seed)
	for n := range lim.Neurons {
		zt, zm, zs := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		c.Neurons = append(c.Neurons, NeuronCalibration{Neuron: n,
			Threshold: op.Leak + (op.Threshold-op.Leak)*(1+cfg.ThresholdVariation*zt),
			Leak:      op.Leak, Reset: op.Reset,
			TauMem: op.TauMem * (1 + cfg.TauVariation*zm), TauSyn: op.TauSyn * (1 + cfg.TauVariation*zs)})
	}
	return c
}
