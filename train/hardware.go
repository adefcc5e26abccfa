package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/event"
	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// HardwareConfig is the "hardware" section of a config: train with the
// BrainScaleS-2 chip (or its mock) in the loop. Every batch's forward pass
// runs on the backend with the current weights; the software network's
// gradients are evaluated at the observed spike times (jaxsnn's
// hardware-in-the-loop scheme, see event.LowerObserved); accuracy and loss
// are those of the observed spikes, in training and evaluation.
type HardwareConfig struct {
	// Backend is "mock" (bss2.Mock) or "chip" (bss2.Chip; a binary built
	// with -tags bss2 inside the vendor container).
	Backend string `json:"backend" yaml:"backend"`
	// Mock sets the mock's artifacts; absent: bss2.DefaultMock (jaxsnn's
	// operating point). When given, every artifact is as written (a
	// missing key is 0: off).
	Mock *bss2.MockConfig `json:"mock,omitempty" yaml:"mock,omitempty"`
	// Calibration is the chip's calibration file (gosnn hw calibrate
	// writes it).
	Calibration string `json:"calibration,omitempty" yaml:"calibration,omitempty"`
	// ClipWeights keeps the software weights within the backend's range
	// (bss2.WeightRanger: +-63/58 at jaxsnn's scale): after every
	// optimizer step and bump each weight is clamped to it. Without it a
	// weight beyond the range still runs at the range's edge, but the
	// software network that gives the gradients uses the unclipped value,
	// and the gradient and the bumps can push it further out, without any
	// effect on the chip (seen in issue 16: input weights of 10 against the
	// chip's 1.09, with silent hidden neurons bumped batch after batch).
	ClipWeights bool `json:"clip_weights,omitempty" yaml:"clip_weights,omitempty"`
}

// HardwareBackends lists the values of hardware.backend.
var HardwareBackends = []string{"mock", "chip"}

// MockConfig returns the mock's artifacts.
func (h HardwareConfig) MockConfig() bss2.MockConfig {
	if h.Mock == nil {
		return bss2.DefaultMock()
	}
	return *h.Mock
}

// validate names every problem of the section, and a network that does not
// fit the chip (as *topology.FieldError naming the node).
func (h HardwareConfig) validate(c Config) []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &topology.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(HardwareBackends, h.Backend) {
		add("hardware.backend", "must be one of %v, got %q", HardwareBackends, h.Backend)
	}
	if h.Mock != nil {
		if h.Backend != "mock" {
			add("hardware.mock", "the mock's artifacts are for backend mock, not %q", h.Backend)
		} else if err := h.Mock.Validate(); err != nil {
			add("hardware.mock", "%v", err)
		}
	}
	if h.Backend == "chip" && h.Calibration == "" {
		add("hardware.calibration", "the chip needs a calibration file (gosnn hw calibrate writes one)")
	}
	if c.Devices > 1 {
		add("devices", "hardware in the loop runs on one device, got %d", c.Devices)
	}
	if c.Network.Validate("network") == nil {
		if _, err := bss2.Map(&c.Network, bss2.ChipLimits(), "network"); err != nil {
			errs = append(errs, unjoin(err)...)
		}
	}
	return errs
}

// HardwareStats count what the hardware did over a run so far.
type HardwareStats struct {
	Backend string `json:"backend"`
	// Runs is the number of batches run on the backend.
	Runs int `json:"runs"`
	// ClippedWeights is the number of weights beyond the hardware range
	// at the last configuration (they were clipped), MaxClippedWeights
	// the largest such number over the run.
	ClippedWeights    int `json:"clipped_weights"`
	MaxClippedWeights int `json:"max_clipped_weights"`
	// LateSpikes were lost after a sample's run time.
	LateSpikes int `json:"late_spikes"`
	// Overflow counts observed spikes beyond the populations' capacities.
	Overflow int `json:"overflow"`
}

// hardwareLoop is the hardware in the loop of a Trainer: before each
// step it runs the batch on the backend and appends the observed spikes to
// the batch's features; the lowering (lower) cuts them off again and hands
// them to event.LowerObserved.
type hardwareLoop struct {
	backend   bss2.Backend
	mapping   *bss2.Mapping
	numInputs int
	layers    []observedLayer
	width     int // columns appended to the features
	ready     bool
	// weightRange is the clamp of the weights after each step (0: none).
	weightRange float64
	// epochClipped is the largest ClippedWeights since the last epoch's
	// metrics.
	epochClipped int
	stats        HardwareStats
	gomlx        backends.Backend
}

// observedLayer is where a layer's observed spikes sit in the columns.
type observedLayer struct {
	key      string // event.LowerObserved's key
	layer    bss2.MappedLayer
	ttfs     bool
	capacity int
	column   int // first column (after the features)
}

// columns of a layer: ttfs: first times; feed-forward lif: capacity
// times; recurrent: capacity times and capacity neuron numbers; plus one
// overflow count per sample at the end.
func (o observedLayer) columns() int {
	if o.layer.Recurrent {
		return 2 * o.capacity
	}
	return o.capacity
}

func newHardwareLoop(gomlx backends.Backend, cfg Config, numInputs int) (*hardwareLoop, error) {
	m, err := bss2.Map(&cfg.Network, bss2.ChipLimits(), "network")
	if err != nil {
		return nil, err
	}
	h := &hardwareLoop{mapping: m, numInputs: numInputs, gomlx: gomlx}
	switch cfg.Hardware.Backend {
	case "mock":
		h.backend, err = bss2.NewMock(cfg.Hardware.MockConfig())
	case "chip":
		h.backend, err = bss2.NewChip(cfg.Hardware.Calibration)
	default:
		err = fmt.Errorf("hardware.backend: unknown backend %q", cfg.Hardware.Backend)
	}
	if err != nil {
		return nil, err
	}
	h.stats.Backend = h.backend.Name()
	if r, ok := h.backend.(bss2.WeightRanger); ok && cfg.Hardware.ClipWeights {
		h.weightRange = r.WeightRange()
	}
	col := numInputs
	for _, l := range m.Layers {
		o := observedLayer{key: l.Name(), layer: l, column: col, ttfs: l.Populations[0].Kind == topology.KindTTFS}
		for _, p := range l.Populations {
			o.capacity += p.Capacity
		}
		col += o.columns()
		h.layers = append(h.layers, o)
	}
	h.width = col - numInputs + 1 // + the overflow column
	return h, nil
}

// networkContext lets the network's variables be created by whichever
// graph comes first: the initialising one (init) or a step.
func networkContext(ctx *mlctx.Context) *mlctx.Context { return ctx.Checked(false) }

// init creates and initialises the network's variables with a forward
// pass in software, so that the first batch has weights to configure.
func (h *hardwareLoop) init(t *Trainer) error {
	exec, err := mlctx.NewExec(h.gomlx, t.ctx, func(ctx *mlctx.Context, x *Node) *Node {
		return event.Lower(networkContext(ctx), &t.cfg.Network, x).Readout
	})
	if err != nil {
		return fmt.Errorf("hardware: initialising the weights: %w", err)
	}
	_, err = exec.Exec(tensors.FromShape(shapes.Make(t.dtype, 1, h.numInputs)))
	if err != nil {
		return fmt.Errorf("hardware: initialising the weights: %w", err)
	}
	h.ready = true
	return nil
}

// observe runs a batch on the backend and returns it with the observed
// spikes appended to its features.
func (h *hardwareLoop) observe(t *Trainer, bt batch) (batch, error) {
	if !h.ready && bss2.HasWeights(t.ctx, h.mapping) {
		h.ready = true // restored from a checkpoint
	}
	if !h.ready {
		if err := h.init(t); err != nil {
			return bt, err
		}
	}
	w, err := bss2.ReadWeights(t.ctx, h.mapping)
	if err != nil {
		return bt, fmt.Errorf("hardware: %w", err)
	}
	if err := h.backend.Configure(h.mapping, w); err != nil {
		return bt, fmt.Errorf("hardware %s: %w", h.backend.Name(), err)
	}
	rows := bt.x.Shape().Dim(0)
	feats := hostMatrix(bt.x)
	in, err := bss2.EncodeInput(h.mapping, feats)
	if err != nil {
		return bt, fmt.Errorf("hardware: %w", err)
	}
	res, err := h.backend.Run(context.Background(), in)
	if err != nil {
		return bt, fmt.Errorf("hardware %s: %w", h.backend.Name(), err)
	}
	h.stats.Runs++
	h.stats.ClippedWeights = res.ClippedWeights
	h.stats.MaxClippedWeights = max(h.stats.MaxClippedWeights, res.ClippedWeights)
	h.epochClipped = max(h.epochClipped, res.ClippedWeights)
	h.stats.LateSpikes += res.LateSpikes
	valid := tensors.MustCopyFlatData[bool](bt.mask)
	cols := h.numInputs + h.width
	out := make([]float64, rows*cols)
	for b := range rows {
		row := out[b*cols : (b+1)*cols]
		copy(row, feats[b])
		overflow := 0
		for _, o := range h.layers {
			overflow += o.pack(res, b, row[o.column:o.column+o.columns()])
		}
		if valid[b] {
			row[cols-1] = float64(overflow)
			h.stats.Overflow += overflow
		}
	}
	if t.dtype == dtypes.Float64 {
		bt.x = tensors.FromFlatDataAndDimensions(out, rows, cols)
	} else {
		f := make([]float32, len(out))
		for i, v := range out {
			f[i] = float32(v)
		}
		bt.x = tensors.FromFlatDataAndDimensions(f, rows, cols)
	}
	return bt, nil
}

// pack writes sample b's observed spikes of the layer in the layout of
// event.ObservedLIFSpikes and returns how many did not fit.
func (o observedLayer) pack(res *bss2.Result, b int, dst []float64) int {
	inf := math.Inf(1)
	for i := range dst {
		dst[i] = inf
	}
	lost := 0
	switch {
	case o.ttfs:
		p := o.layer.Populations[0]
		first := bss2.Spikes{Time: res.Spikes[p.Name].Time[b : b+1], Neuron: res.Spikes[p.Name].Neuron[b : b+1]}.FirstTimes(p.Size)[0]
		copy(dst, first)
	case !o.layer.Recurrent:
		p := o.layer.Populations[0]
		per := p.Capacity / p.Size
		used := make([]int, p.Size)
		s := res.Spikes[p.Name]
		for k, t := range s.Time[b] {
			n := s.Neuron[b][k]
			if used[n] == per {
				lost++
				continue
			}
			dst[int(n)*per+used[n]] = t
			used[n]++
		}
	default:
		// Each population keeps its earliest Capacity spikes, as the
		// software layer does (event.LIFConfig.Populations).
		var times []float64
		var ids []int32
		for _, p := range o.layer.Populations {
			s := res.Spikes[p.Name]
			own := bss2.SpikesFromSample(s.Time[b], s.Neuron[b])
			for k, t := range own.Time[0] {
				if k == p.Capacity {
					lost += len(own.Time[0]) - p.Capacity
					break
				}
				times = append(times, t)
				ids = append(ids, int32(p.Offset)+own.Neuron[0][k])
			}
		}
		sorted := bss2.SpikesFromSample(times, ids)
		for k := range sorted.Time[0] {
			if k == o.capacity {
				lost += len(sorted.Time[0]) - o.capacity
				break
			}
			dst[k] = sorted.Time[0][k]
			dst[o.capacity+k] = float64(sorted.Neuron[0][k])
		}
		for k := len(sorted.Time[0]); k < o.capacity; k++ {
			dst[o.capacity+k] = 0
		}
	}
	return lost
}

// lower is the network's forward pass for the trainer: the observed spikes
// from the columns after the features, with the software gradients. A
// batch of plain features (the graphs compiled before a checkpoint is
// restored) is lowered in software, with the same variables.
func (h *hardwareLoop) lower(ctx *mlctx.Context, net *topology.Network, x *Node) topology.Lowered {
	ctx = networkContext(ctx)
	if x.Shape().Dim(1) == h.numInputs {
		return event.Lower(ctx, net, x)
	}
	if x.Shape().Dim(1) != h.numInputs+h.width {
		panic(fmt.Errorf("hardware: batch of %d columns, want %d features and %d observed", x.Shape().Dim(1), h.numInputs, h.width))
	}
	g := x.Graph()
	cut := func(from, n int) *Node { return StopGradient(Slice(x, AxisRange(), AxisRange(from, from+n))) }
	features := cut(0, h.numInputs)
	observed := map[string]snn.Spikes{}
	batch := x.Shape().Dim(0)
	for _, o := range h.layers {
		times := cut(o.column, o.capacity)
		var ids *Node
		switch {
		case o.layer.Recurrent:
			ids = ConvertDType(cut(o.column+o.capacity, o.capacity), dtypes.Int32)
		case o.ttfs:
			ids = BroadcastToDims(Iota(g, shapes.Make(dtypes.Int32, 1, o.capacity), 1), batch, o.capacity)
		default:
			per := o.capacity / o.layer.Populations[0].Size
			ids = BroadcastToDims(DivScalar(Iota(g, shapes.Make(dtypes.Int32, 1, o.capacity), 1), float64(per)), batch, o.capacity)
		}
		observed[o.key] = snn.Spikes{Time: times, Neuron: ids}
	}
	low := event.LowerObserved(ctx, net, features, observed)
	low.Overflow = ReduceAllSum(cut(h.numInputs+h.width-1, 1))
	return low
}

// clampWeights sets every weight variable of the mapping to its value in
// g clamped to [-weightRange, weightRange] (after the optimizer's update
// and the bump); nothing without a range.
func (h *hardwareLoop) clampWeights(ctx *mlctx.Context, g *Graph) {
	if h.weightRange <= 0 {
		return
	}
	clamp := func(scope, name string) {
		v := ctx.GetVariableByScopeAndName("/"+scope, name)
		if v == nil || !v.Trainable {
			return
		}
		v.SetValueGraph(ClipScalar(v.ValueGraph(g), -h.weightRange, h.weightRange))
	}
	seen := map[string]bool{}
	for _, l := range h.mapping.Layers {
		if l.Recurrent {
			clamp(l.Name(), "weights")
			clamp(l.Name(), "recurrent_weights")
			continue
		}
		for _, pb := range l.Projections {
			if !seen[pb.Projection] {
				seen[pb.Projection] = true
				clamp(pb.Projection, "weights")
			}
		}
	}
}

// hostMatrix copies a [rows, cols] float tensor to float64 rows.
func hostMatrix(x *tensors.Tensor) [][]float64 {
	rows, cols := x.Shape().Dim(0), x.Shape().Dim(1)
	flat := make([]float64, rows*cols)
	if x.DType() == dtypes.Float64 {
		copy(flat, tensors.MustCopyFlatData[float64](x))
	} else {
		for i, v := range tensors.MustCopyFlatData[float32](x) {
			flat[i] = float64(v)
		}
	}
	out := make([][]float64, rows)
	for r := range out {
		out[r] = flat[r*cols : (r+1)*cols]
	}
	return out
}

// HardwareStats returns what the hardware in the loop did so far, and
// false for a trainer without hardware.
func (t *Trainer) HardwareStats() (HardwareStats, bool) {
	if t.hw == nil {
		return HardwareStats{}, false
	}
	return t.hw.stats, true
}
