package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/train"
)

const hwUsage = `usage: gosnn hw <command> [arguments]

commands:
  train CONFIG|yinyang [--backend mock|chip] [--calibration FILE] [train flags]
                         train with the chip or its mock in the loop
                         (yinyang: the shipped config yin_yang_bss2)
  map CONFIG|yinyang     print how the network maps to chip neurons and synapse rows
  mock-check [CONFIG|yinyang]
                         run the mock with every artifact off against the
                         software network, then each artifact alone
  calibrate --out FILE   write the operating-point request with the mock's
                         per-neuron values (the chip's calix calibration runs
                         inside the vendor container only)`

// hwCommand is "gosnn hw": the BrainScaleS-2 backend.
func hwCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("hw: no command given\n%s", hwUsage)
	}
	switch args[0] {
	case "train":
		return hwTrain(ctx, args[1:], stdout)
	case "map":
		return hwMap(args[1:], stdout)
	case "mock-check":
		return hwMockCheck(ctx, args[1:], stdout)
	case "calibrate":
		return hwCalibrate(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, hwUsage)
		return nil
	}
	return usagef("hw: unknown command %q\n%s", args[0], hwUsage)
}

// hwConfig loads CONFIG; "yinyang" (or nothing) is yin_yang_bss2.
func hwConfig(arg string) (train.Config, error) {
	if arg == "" || arg == "yinyang" {
		return train.ShippedConfig("yin_yang_bss2")
	}
	return loadConfig(arg, "")
}

func hwTrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn hw train", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o overrides
	o.register(fs)
	// --backend names the hardware backend (mock or chip) here, not the
	// computation backend (that stays the config's, or $GOMLX_BACKEND).
	chipBackend := new(string)
	calibration := fs.String("calibration", "", "the chip's calibration file (gosnn hw calibrate)")
	out := fs.String("out", "results", "folder that receives the results folder of this run")
	quiet := fs.Bool("quiet", false, "print only the final result")
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--backend" || a == "-backend":
			if i+1 < len(args) {
				*chipBackend = args[i+1]
				i++
				continue
			}
		case strings.HasPrefix(a, "--backend=") || strings.HasPrefix(a, "-backend="):
			*chipBackend = a[strings.Index(a, "=")+1:]
			continue
		}
		rest = append(rest, a)
	}
	arg, err := parseWithArg(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, hwUsage)
			return nil
		}
		return usagef("hw train: %v", err)
	}
	cfg, err := hwConfig(arg)
	if err != nil {
		return usagef("hw train: %v", err)
	}
	if cfg.Hardware == nil {
		cfg.Hardware = &train.HardwareConfig{Backend: "mock"}
	}
	if *chipBackend != "" {
		cfg.Hardware.Backend = *chipBackend
		if *chipBackend != "mock" {
			cfg.Hardware.Mock = nil
		}
	}
	if *calibration != "" {
		cfg.Hardware.Calibration = *calibration
	}
	if err := o.apply(&cfg); err != nil {
		return usagef("hw train: %v", err)
	}
	return runTraining(ctx, cfg, *out, *quiet, train.KeepFinal, stdout)
}

func hwMap(args []string, stdout io.Writer) error {
	if len(args) > 1 {
		return usagef("hw map: one CONFIG at most, got %q", args)
	}
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	cfg, err := hwConfig(arg)
	if err != nil {
		return usagef("hw map: %v", err)
	}
	m, err := bss2.Map(&cfg.Network, bss2.ChipLimits(), "network")
	if err != nil {
		return fmt.Errorf("hw map: the network of %s does not fit the chip:\n%w", cfg.Name, err)
	}
	fmt.Fprintf(stdout, "%s on BrainScaleS-2:\n%s\n", cfg.Name, m)
	return nil
}

// hwMockCheck compares the ideal mock with the software network on random
// features through the trainer (hardware in the loop with every artifact
// off gives the software accuracy and loss), then switches each artifact
// on alone and reports how far the output spikes move.
func hwMockCheck(ctx context.Context, args []string, stdout io.Writer) error {
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	} else if len(args) > 1 {
		return usagef("hw mock-check: one CONFIG at most, got %q", args)
	}
	cfg, err := hwConfig(arg)
	if err != nil {
		return usagef("hw mock-check: %v", err)
	}
	m, err := bss2.Map(&cfg.Network, bss2.ChipLimits(), "network")
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := make(bss2.Weights, len(m.Layers))
	for i, l := range m.Layers {
		w[i].In = make([]float64, l.InputRows()*l.Neurons())
		for j := range w[i].In {
			w[i].In[j] = 0.5 + 0.4*rng.NormFloat64()
		}
		if l.Recurrent {
			w[i].Rec = make([]float64, l.Neurons()*l.Neurons())
		}
	}
	size := cfg.Network.Node(firstInput(&cfg)).Size
	feats := make([][]float64, 200)
	for b := range feats {
		feats[b] = make([]float64, size)
		for f := range feats[b] {
			feats[b][f] = rng.Float64()
		}
	}
	in, err := bss2.EncodeInput(m, feats)
	if err != nil {
		return err
	}
	run := func(c bss2.MockConfig) (*bss2.Result, error) {
		mock, err := bss2.NewMock(c)
		if err != nil {
			return nil, err
		}
		if err := mock.Configure(m, w); err != nil {
			return nil, err
		}
		return mock.Run(ctx, in)
	}
	ideal, err := run(bss2.IdealMock())
	if err != nil {
		return err
	}
	def := bss2.DefaultMock()
	artifacts := []struct {
		name string
		set  func(c *bss2.MockConfig)
	}{
		{"6-bit weights at scale 58", func(c *bss2.MockConfig) { c.WeightBits, c.WeightScale = def.WeightBits, def.WeightScale }},
		{"125 MHz clock", func(c *bss2.MockConfig) { c.ClockHz = def.ClockHz }},
		{"jitter 1% of tau_syn", func(c *bss2.MockConfig) { c.Jitter = 0.01 * bss2.OperatingTauSyn }},
		{"threshold variation 5%", func(c *bss2.MockConfig) { c.ThresholdVariation = 0.05 }},
		{"tau variation 5%", func(c *bss2.MockConfig) { c.TauVariation = 0.05 }},
		{"dynamic range (CADC floor)", func(c *bss2.MockConfig) { c.DynamicRange = def.DynamicRange }},
		{"30 us run time", func(c *bss2.MockConfig) { c.MaxRuntime = def.MaxRuntime }},
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d samples, random weights N(0.5, 0.4); output %q spikes against the mock with every artifact off\n", cfg.Name, len(feats), cfg.Network.Output)
	fmt.Fprintf(&b, "%-28s %12s %12s %8s %8s\n", "artifact", "mean |dt|", "max |dt|", "changed", "clipped")
	for _, a := range artifacts {
		c := bss2.IdealMock()
		a.set(&c)
		res, err := run(c)
		if err != nil {
			return err
		}
		mean, worst, changed := compareFirst(ideal, res, cfg.Network.Output, cfg.Network.Node(cfg.Network.Output).Size)
		fmt.Fprintf(&b, "%-28s %12.3g %12.3g %8d %8d\n", a.name, mean, worst, changed, res.ClippedWeights)
	}
	_, err = stdout.Write(b.Bytes())
	return err
}

func firstInput(cfg *train.Config) string {
	for _, n := range cfg.Network.Nodes {
		if n.Kind == "input" {
			return n.Name
		}
	}
	return ""
}

// compareFirst returns the mean and largest change of the first spikes
// present in both, and how many (sample, neuron) pairs changed at all
// (including a spike appearing or vanishing).
func compareFirst(a, b *bss2.Result, pop string, size int) (mean, worst float64, changed int) {
	ta, tb := a.Spikes[pop].FirstTimes(size), b.Spikes[pop].FirstTimes(size)
	n := 0
	for s := range ta {
		for j := range ta[s] {
			x, y := ta[s][j], tb[s][j]
			if math.IsInf(x, 1) || math.IsInf(y, 1) {
				if x != y {
					changed++
				}
				continue
			}
			d := math.Abs(x - y)
			mean += d
			worst = math.Max(worst, d)
			n++
			if d > 0 {
				changed++
			}
		}
	}
	if n > 0 {
		mean /= float64(n)
	}
	return mean, worst, changed
}

func hwCalibrate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gosnn hw calibrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "the calibration file to write (JSON)")
	chip := fs.Bool("chip", false, "calibrate the chip with calix (inside the vendor container)")
	seed := fs.Int64("seed", 1, "the mock's seed of the per-neuron variation")
	thVar := fs.Float64("threshold-variation", 0, "the mock's relative std of (threshold - leak)")
	tauVar := fs.Float64("tau-variation", 0, "the mock's relative std of tau_mem and tau_syn")
	if err := fs.Parse(args); err != nil {
		return usagef("hw calibrate: %v", err)
	}
	if *out == "" {
		return usagef("hw calibrate: --out FILE is required")
	}
	if *chip {
		return fmt.Errorf("hw calibrate --chip: calix runs in Python inside the vendor container; this gosnn has no way to start it (%w)", bss2.ErrNoChip)
	}
	mc := bss2.IdealMock()
	mc.Seed, mc.ThresholdVariation, mc.TauVariation = *seed, *thVar, *tauVar
	if err := mc.Validate(); err != nil {
		return usagef("hw calibrate: %v", err)
	}
	c := bss2.MockCalibration(mc, bss2.JaxsnnOperatingPoint(), bss2.ChipLimits())
	var b bytes.Buffer
	if err := bss2.EncodeCalibration(&b, c); err != nil {
		return err
	}
	if err := train.WriteFileAtomic(*out, b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gosnn: wrote the operating point (v_th %g, v_leak %g, tau_mem %g s, tau_syn %g s) and %d mock neurons to %s\n",
		c.Target.Threshold, c.Target.Leak, c.Target.TauMem, c.Target.TauSyn, len(c.Neurons), *out)
	return nil
}
