//go:build bss2 || bss2loopback

package bss2

/*
#cgo CFLAGS: -I${SRCDIR}/shim
#include <stdlib.h>
#include "gosnn_bss2.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Chip is the BrainScaleS-2 chip behind the C shim (bss2/shim), one per
// process; with the bss2loopback tag the same header is implemented by a
// small C emulator (loopback.c) instead, to test this marshalling without
// the vendor stack. Its methods serialise on a mutex: the vendor executor is not
// safe for concurrent use.
type Chip struct {
	mu      sync.Mutex
	handle  *C.gosnn_bss2_chip
	m       *Mapping
	scale   float64
	clipped int
	unit    float64 // hardware seconds per model time unit
	timeout time.Duration
}

// ErrNoChip is never returned when the binding is compiled in.
var ErrNoChip = errors.New("bss2: no chip")

// NewChip connects to the chip named by the environment (hxcomm) and
// loads the calibration file (gosnn hw calibrate) and the calix result it
// names.
func NewChip(calibrationPath string) (Backend, error) {
	cal, err := ReadCalibration(calibrationPath, ChipLimits())
	if err != nil {
		return nil, err
	}
	if cal.VendorFile == "" {
		return nil, fmt.Errorf("calibration %s names no vendor_file (calix result): it is a mock calibration; run `gosnn hw calibrate` inside the container", calibrationPath)
	}
	vendor := cal.VendorFile
	if !isAbs(vendor) {
		vendor = dirOf(calibrationPath) + "/" + vendor
	}
	cpath := C.CString(vendor)
	defer C.free(unsafe.Pointer(cpath))
	var handle *C.gosnn_bss2_chip
	var cerr *C.char
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if C.gosnn_bss2_open(cpath, &handle, &cerr) != 0 {
		return nil, fmt.Errorf("bss2 chip: opening with calibration %s: %s", vendor, takeError(cerr))
	}
	c := &Chip{handle: handle, scale: OperatingScale, unit: cal.Target.TauSyn, timeout: time.Minute}
	runtime.SetFinalizer(c, func(c *Chip) { _ = c.Close() })
	return c, nil
}

func takeError(e *C.char) string {
	if e == nil {
		return "unknown error"
	}
	defer C.gosnn_bss2_free(unsafe.Pointer(e))
	return C.GoString(e)
}

// Name implements Backend.
func (*Chip) Name() string { return "chip" }

// WeightRange implements WeightRanger: 63 hardware units at the scale.
func (c *Chip) WeightRange() float64 { return float64(OperatingBitsMax) / c.scale }

// Close implements Backend.
func (c *Chip) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle != nil {
		C.gosnn_bss2_close(c.handle)
		c.handle = nil
	}
	return nil
}

// Configure implements Backend: every projection block becomes synapses
// with signed 6-bit weights round(clip(58 w, -63, 63)).
func (c *Chip) Configure(m *Mapping, w Weights) error {
	if err := w.check(m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle == nil {
		return errors.New("bss2 chip: closed")
	}
	c.unit = OperatingTauSyn / m.Layers[0].Populations[0].Neuron.TauSyn
	srcIndex := map[string]int{}
	numSources := 0
	for _, s := range m.Sources {
		srcIndex[s.Name] = numSources
		numSources += s.Size
	}
	var hw []C.int32_t
	neuronIndex := map[string]int{}
	for _, l := range m.Layers {
		for _, p := range l.Populations {
			neuronIndex[p.Name] = len(hw)
			for _, n := range p.Hardware {
				hw = append(hw, C.int32_t(n))
			}
		}
	}
	var pre, post []C.int32_t
	var weight []C.int8_t
	clipped := 0
	for li, l := range m.Layers {
		n := l.Neurons()
		for _, pb := range l.Projections {
			for r := range pb.Rows {
				var from int
				if base, ok := srcIndex[pb.Source]; ok {
					from = base + r
				} else {
					from = numSources + neuronIndex[pb.Source] + r
				}
				for col := range pb.Cols {
					var x float64
					if pb.Recurrent {
						x = w[li].Rec[(pb.Row+r)*n+pb.Col+col]
					} else {
						x = w[li].In[(pb.Row+r)*n+pb.Col+col]
					}
					v := c.scale * x
					if math.Abs(v) > 63*clipTolerance {
						clipped++
					}
					q := int8(math.Round(math.Max(-63, math.Min(63, v))))
					if q == 0 {
						continue
					}
					to := neuronIndex[m.Layers[li].Populations[0].Name] + pb.Col + col
					pre, post, weight = append(pre, C.int32_t(from)), append(post, C.int32_t(to)), append(weight, C.int8_t(q))
				}
			}
		}
	}
	var cerr *C.char
	ptr := func(x []C.int32_t) *C.int32_t {
		if len(x) == 0 {
			return nil
		}
		return &x[0]
	}
	var wptr *C.int8_t
	if len(weight) > 0 {
		wptr = &weight[0]
	}
	if C.gosnn_bss2_configure(c.handle, C.int32_t(len(hw)), ptr(hw), C.int32_t(numSources), C.int64_t(len(pre)),
		ptr(pre), ptr(post), wptr, &cerr) != 0 {
		return fmt.Errorf("bss2 chip: configure: %s", takeError(cerr))
	}
	c.m, c.clipped = m, clipped
	return nil
}

// Run implements Backend.
func (c *Chip) Run(ctx context.Context, in Input) (*Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		return nil, errors.New("bss2 chip: Run before Configure")
	}
	cycle := c.unit * OperatingClockHz // cycles per model time unit
	batch := in.Batch()
	offsets := make([]C.int64_t, 0, batch+1)
	var ids []C.int32_t
	var cycles []C.uint64_t
	base := 0
	bases := map[string]int{}
	for _, s := range c.m.Sources {
		bases[s.Name] = base
		base += s.Size
	}
	offsets = append(offsets, 0)
	for b := range batch {
		for _, s := range c.m.Sources {
			sp, ok := in.Sources[s.Name]
			if !ok {
				return nil, fmt.Errorf("bss2 chip: the input has no spikes for source %q", s.Name)
			}
			for k, t := range sp.Time[b] {
				if t < 0 || math.IsInf(t, 0) || math.IsNaN(t) {
					continue
				}
				ids = append(ids, C.int32_t(bases[s.Name]+int(sp.Neuron[b][k])))
				cycles = append(cycles, C.uint64_t(math.Round(t*cycle)))
			}
		}
		offsets = append(offsets, C.int64_t(len(ids)))
	}
	// cgo may not keep Go pointers inside C memory: copy to C arrays.
	cin := C.gosnn_bss2_spikes{batch: C.int32_t(batch)}
	cin.offsets = (*C.int64_t)(C.malloc(C.size_t(8 * len(offsets))))
	cin.neuron = (*C.int32_t)(C.malloc(C.size_t(4 * max(1, len(ids)))))
	cin.cycles = (*C.uint64_t)(C.malloc(C.size_t(8 * max(1, len(cycles)))))
	defer func() { // Go's allocations, freed by Go (not the shim)
		C.free(unsafe.Pointer(cin.offsets))
		C.free(unsafe.Pointer(cin.neuron))
		C.free(unsafe.Pointer(cin.cycles))
	}()
	copy(unsafe.Slice(cin.offsets, len(offsets)), offsets)
	copy(unsafe.Slice(cin.neuron, len(ids)), ids)
	copy(unsafe.Slice(cin.cycles, len(cycles)), cycles)
	runtimeCycles := C.uint64_t(OperatingRuntime * OperatingClockHz)
	timeout := c.timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 || ctx.Err() != nil {
		return nil, fmt.Errorf("bss2 chip: run not started: %w", context.DeadlineExceeded)
	}
	var out C.gosnn_bss2_spikes
	var cerr *C.char
	if C.gosnn_bss2_run(c.handle, &cin, runtimeCycles, C.int64_t(timeout.Milliseconds()), &out, &cerr) != 0 {
		return nil, fmt.Errorf("bss2 chip: run: %s", takeError(cerr))
	}
	defer C.gosnn_bss2_free_spikes(&out)
	res := &Result{Spikes: map[string]Spikes{}, ClippedWeights: c.clipped}
	type place struct {
		pop   string
		index int
	}
	var places []place
	for _, l := range c.m.Layers {
		for _, p := range l.Populations {
			res.Spikes[p.Name] = Spikes{Time: make([][]float64, batch), Neuron: make([][]int32, batch)}
			for j := range p.Size {
				places = append(places, place{p.Name, j})
			}
		}
	}
	offs := unsafe.Slice(out.offsets, batch+1)
	total := int(offs[batch])
	neurons := unsafe.Slice(out.neuron, max(1, total))
	times := unsafe.Slice(out.cycles, max(1, total))
	for b := range batch {
		for k := offs[b]; k < offs[b+1]; k++ {
			idx := int(neurons[k]) - base
			if idx < 0 || idx >= len(places) {
				return nil, fmt.Errorf("bss2 chip: the shim returned a spike of neuron %d, not a configured one", neurons[k])
			}
			p := places[idx]
			sp := res.Spikes[p.pop]
			sp.Time[b] = append(sp.Time[b], float64(times[k])/cycle)
			sp.Neuron[b] = append(sp.Neuron[b], int32(p.index))
		}
		for _, sp := range res.Spikes {
			sortSample(sp.Time[b], sp.Neuron[b])
		}
	}
	return res, nil
}

func isAbs(p string) bool { return len(p) > 0 && p[0] == '/' }

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
