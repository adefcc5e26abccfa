//go:build bss2loopback

package bss2

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// loopbackChip opens the loopback "chip" with a calibration whose vendor
// file exists.
func loopbackChip(t *testing.T) (*Chip, *Mapping) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "calix_cocolist.pbin"), []byte("loopback"), 0o644))
	c := MockCalibration(IdealMock(), JaxsnnOperatingPoint(), ChipLimits())
	c.VendorFile = "calix_cocolist.pbin"
	var buf bytes.Buffer
	require.NoError(t, EncodeCalibration(&buf, c))
	path := filepath.Join(dir, "calibration.json")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	b, err := NewChip(path)
	require.NoError(t, err)
	p := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 1, Threshold: 1}
	net, err := topology.New().Input("input", 3, snn.Latency{Early: 0, Late: 1}).
		LIF("hidden", 4, 4, p).Projection("to_hidden", 0.5, 0.1, "hidden", "input").
		Output("hidden").Done()
	require.NoError(t, err)
	m, err := Map(&net, ChipLimits(), "")
	require.NoError(t, err)
	return b.(*Chip), m
}

// The loopback neuron j spikes at min_i (input cycle_i + w_ij): weights and
// spike times come back through the C arrays unchanged.
func TestLoopbackRoundTrip(t *testing.T) {
	chip, m := loopbackChip(t)
	defer chip.Close()
	w := Weights{{In: []float64{
		10.0 / 58, 20.0 / 58, 30.0 / 58, 0, // from input 0 to hidden 0..3
		40.0 / 58, 5.0 / 58, 2, -1, // input 1 (2: clipped to 63; -1: inhibitory)
		1.0 / 58, 63.0 / 58, 7.0 / 58, 3.0 / 58, // input 2
	}}}
	require.NoError(t, chip.Configure(m, w))
	cycle := OperatingTauSyn * OperatingClockHz // cycles per tau_syn
	in := Input{Sources: map[string]Spikes{"input": SpikesFromTimes([][]float64{
		{100 / cycle, 200 / cycle, 300 / cycle},
		{0, 0, 0},
	})}}
	res, err := chip.Run(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, 1, res.ClippedWeights)
	got := res.Spikes["hidden"].FirstTimes(4)
	want := [][]float64{
		{min(110, 240, 301), min(120, 205, 363), min(130, 263, 307), 303},
		{min(10, 40, 1), min(20, 5, 63), min(30, 63, 7), min(63, 3)},
	}
	for b := range want {
		for j := range want[b] {
			require.InDelta(t, want[b][j], math.Round(got[b][j]*cycle), 1e-9, "sample %d neuron %d", b, j)
		}
	}
}

// Errors raised in C come back as Go errors with their message.
func TestLoopbackErrors(t *testing.T) {
	_, err := NewChip(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorContains(t, err, "gosnn hw calibrate")
	dir := t.TempDir()
	c := MockCalibration(IdealMock(), JaxsnnOperatingPoint(), ChipLimits())
	c.VendorFile = "absent.pbin"
	var buf bytes.Buffer
	require.NoError(t, EncodeCalibration(&buf, c))
	path := filepath.Join(dir, "calibration.json")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	_, err = NewChip(path)
	require.ErrorContains(t, err, "loopback: cannot open the calibration "+filepath.Join(dir, "absent.pbin"))

	chip, m := loopbackChip(t)
	defer chip.Close()
	_, err = chip.Run(context.Background(), Input{})
	require.ErrorContains(t, err, "Run before Configure")
	bad := *m
	bad.Layers = append([]MappedLayer(nil), m.Layers...)
	bad.Layers[0].Populations = append([]MappedPopulation(nil), m.Layers[0].Populations...)
	bad.Layers[0].Populations[0].Hardware = []int{0, 1, 2, 900}
	w := Weights{{In: make([]float64, 12)}}
	err = chip.Configure(&bad, w)
	require.ErrorContains(t, err, "bss2 chip: configure: loopback: hardware neuron 900 (entry 3) is outside 0..511")
}

// A run that would take longer than its timeout fails with the shim's
// timeout error; a context already past its deadline starts no run.
func TestLoopbackTimeout(t *testing.T) {
	chip, m := loopbackChip(t)
	defer chip.Close()
	require.NoError(t, chip.Configure(m, Weights{{In: make([]float64, 12)}}))
	times := make([][]float64, 20000) // 20000 x 30 us = 600 ms of chip time
	for b := range times {
		times[b] = []float64{0, 0.5, 1}
	}
	in := Input{Sources: map[string]Spikes{"input": SpikesFromTimes(times)}}
	chip.timeout = 50 * time.Millisecond
	began := time.Now()
	_, err := chip.Run(context.Background(), in)
	require.ErrorContains(t, err, "bss2 chip: run: loopback: run timed out after 50 ms (it needs 600 ms)")
	require.Less(t, time.Since(began), 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err = chip.Run(ctx, in)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Concurrent calls are serialised and give the same results; 1000 runs
// leave no C allocation behind and do not grow the Go heap.
func TestLoopbackConcurrentAndNoLeak(t *testing.T) {
	chip, m := loopbackChip(t)
	w := Weights{{In: []float64{0.2, 0.3, 0.4, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}}}
	require.NoError(t, chip.Configure(m, w))
	in := Input{Sources: map[string]Spikes{"input": SpikesFromTimes([][]float64{{0.1, 0.2, 0.3}, {0.3, 0.2, 0.1}})}}
	ref, err := chip.Run(context.Background(), in)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				res, err := chip.Run(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				if !equalSpikes(res.Spikes["hidden"], ref.Spikes["hidden"]) {
					errs <- context.Canceled
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 1000 {
		_, err := chip.Run(context.Background(), in)
		require.NoError(t, err)
		require.NoError(t, chip.Configure(m, w))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := loopbackLive()
	require.NoError(t, chip.Close())
	t.Logf("after 1000 runs: %d C allocations live (chip and its synapses), Go heap %d -> %d bytes", live, before.HeapAlloc, after.HeapAlloc)
	require.Equal(t, int64(4), live, "the chip and its 3 synapse arrays")
	require.Zero(t, loopbackLive(), "closed: nothing left")
	require.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(1<<20))
}

func equalSpikes(a, b Spikes) bool {
	if len(a.Time) != len(b.Time) {
		return false
	}
	for i := range a.Time {
		if len(a.Time[i]) != len(b.Time[i]) {
			return false
		}
		for k := range a.Time[i] {
			if a.Time[i][k] != b.Time[i][k] || a.Neuron[i][k] != b.Neuron[i][k] {
				return false
			}
		}
	}
	return true
}
