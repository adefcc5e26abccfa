package bss2

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuantizeWeight(t *testing.T) {
	six := DefaultMock()
	eight := DefaultMock()
	eight.WeightBits = 8
	tests := []struct {
		name    string
		cfg     MockConfig
		w, want float64
		clipped bool
	}{
		{"exact step", six, 29.0 / 58, 29.0 / 58, false},
		{"rounds to the nearest step", six, 0.51, 30.0 / 58, false},
		{"rounds negative", six, -0.51, -30.0 / 58, false},
		{"clips above 63", six, 2, 63.0 / 58, true},
		{"clips below -63", six, -2, -63.0 / 58, true},
		{"the edge in float32 is not clipped", six, float64(float32(63.0 / 58)), 63.0 / 58, false},
		{"just beyond the edge is", six, 63.01 / 58, 63.0 / 58, true},
		{"8 bits keep the range", eight, 2, 63.0 / 58, true},
		{"8 bits have 4x finer steps", eight, 0.51, math.Round(0.51*58*255/63) / (58 * 255.0 / 63), false},
		{"float weights", IdealMock(), 5.4321, 5.4321, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, clipped := tc.cfg.QuantizeWeight(tc.w)
			require.InDelta(t, tc.want, got, 1e-12)
			require.Equal(t, tc.clipped, clipped)
		})
	}
}

// The mock counts the weights it clips, and the quantised weights change
// the spike times by an amount that shrinks with the resolution.
func TestMockWeightArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["ttfs"]
	features := randomFeatures(32, 4, 11)
	_, ctx := software(t, &net, features, 3)
	m, err := Map(&net, ChipLimits(), "")
	require.NoError(t, err)
	w, err := ReadWeights(ctx, m)
	require.NoError(t, err)
	beyond := 0
	for _, l := range w {
		for _, x := range l.In {
			if math.Abs(58*x) > 63 {
				beyond++
			}
		}
	}
	require.Greater(t, beyond, 0, "the test weights should reach beyond the range")
	errAt := map[int]float64{}
	for _, bits := range []int{4, 6, 8} {
		cfg := IdealMock()
		cfg.WeightBits, cfg.WeightScale = bits, 58
		res, _ := runMock(t, &net, ctx, features, cfg)
		require.Equal(t, beyond, res.ClippedWeights, "%d bits", bits)
		// Clipping changes the network; compare against the clipped float
		// network's times to see the rounding alone.
		clipOnly := IdealMock()
		clipped := clipWeights(w, 63.0/58)
		ref := runWeights(t, m, clipped, features, clipOnly)
		var sum float64
		n := 0
		got := res.Spikes["hidden"].FirstTimes(30)
		refT := ref.Spikes["hidden"].FirstTimes(30)
		for b := range got {
			for j := range got[b] {
				if !math.IsInf(got[b][j], 1) && !math.IsInf(refT[b][j], 1) {
					sum += math.Abs(got[b][j] - refT[b][j])
					n++
				}
			}
		}
		errAt[bits] = sum / float64(n)
	}
	t.Logf("mean |dt| of hidden spikes from weight rounding: 4 bits %.2e, 6 bits %.2e, 8 bits %.2e", errAt[4], errAt[6], errAt[8])
	require.Greater(t, errAt[4], errAt[6])
	require.Greater(t, errAt[6], errAt[8])
	require.Greater(t, errAt[8], 0.0)
}

func clipWeights(w Weights, limit float64) Weights {
	out := make(Weights, len(w))
	for i, l := range w {
		c := func(v []float64) []float64 {
			if v == nil {
				return nil
			}
			o := make([]float64, len(v))
			for j, x := range v {
				o[j] = math.Max(-limit, math.Min(limit, x))
			}
			return o
		}
		out[i] = LayerWeights{In: c(l.In), Rec: c(l.Rec)}
	}
	return out
}

func runWeights(t *testing.T, m *Mapping, w Weights, features [][]float64, cfg MockConfig) *Result {
	t.Helper()
	mock, err := NewMock(cfg)
	require.NoError(t, err)
	require.NoError(t, mock.Configure(m, w))
	in, err := EncodeInput(m, features)
	require.NoError(t, err)
	res, err := mock.Run(context.Background(), in)
	require.NoError(t, err)
	return res
}

// Recorded times are whole clock cycles; with a coarse clock the first
// layer's times move by at most a few cycles.
func TestMockClockArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["lif-multispike"]
	features := randomFeatures(16, 4, 5)
	_, ctx := software(t, &net, features, 3)
	ideal, m := runMock(t, &net, ctx, features, IdealMock())
	cfg := IdealMock()
	cfg.ClockHz = OperatingClockHz
	res, _ := runMock(t, &net, ctx, features, cfg)
	tick := 1 / cfg.ClockHz / cfg.timeUnit(m)
	require.InDelta(t, 8e-9/6e-6, tick, 1e-15, "8 ns per cycle, tau_syn = 6 us")
	moved := 0
	for _, name := range []string{"hidden", "output"} {
		for _, times := range res.Spikes[name].Time {
			for _, x := range times {
				cycles := x / tick
				require.InDelta(t, math.Round(cycles), cycles, 1e-6, "%s spike at %g is not on a cycle", name, x)
			}
		}
	}
	got, want := res.Spikes["hidden"].FirstTimes(30), ideal.Spikes["hidden"].FirstTimes(30)
	for b := range got {
		for j := range got[b] {
			if math.IsInf(want[b][j], 1) || math.IsInf(got[b][j], 1) {
				require.Equal(t, want[b][j], got[b][j])
				continue
			}
			d := math.Abs(got[b][j] - want[b][j])
			require.LessOrEqual(t, d, 3*tick, "sample %d neuron %d", b, j)
			if d > 1e-12 {
				moved++
			}
		}
	}
	require.Greater(t, moved, 0)
}

// Jitter: the first layer's times (whose inputs are exact) differ from
// the ideal ones by a normal noise of the given sigma, new in every run.
func TestMockJitterArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["ttfs"]
	features := randomFeatures(20, 4, 9)
	_, ctx := software(t, &net, features, 3)
	ideal, m := runMock(t, &net, ctx, features, IdealMock())
	cfg := IdealMock()
	cfg.Jitter = 0.02 * OperatingTauSyn // 2 % of tau_syn
	mock, err := NewMock(cfg)
	require.NoError(t, err)
	w, err := ReadWeights(ctx, m)
	require.NoError(t, err)
	require.NoError(t, mock.Configure(m, w))
	in, err := EncodeInput(m, features)
	require.NoError(t, err)
	want := ideal.Spikes["hidden"].FirstTimes(30)
	var sum, sum2 float64
	n := 0
	var first []float64
	for run := range 50 {
		res, err := mock.Run(context.Background(), in)
		require.NoError(t, err)
		got := res.Spikes["hidden"].FirstTimes(30)
		if run == 0 {
			first = got[0]
		} else if run == 1 {
			require.NotEqual(t, first, got[0], "jitter must differ from run to run")
		}
		for b := range got {
			for j := range got[b] {
				if math.IsInf(want[b][j], 1) {
					continue
				}
				d := got[b][j] - want[b][j]
				sum += d
				sum2 += d * d
				n++
			}
		}
	}
	mean := sum / float64(n)
	std := math.Sqrt(sum2/float64(n) - mean*mean)
	t.Logf("jitter: %d spikes, mean %.4f, std %.5f (sigma %.5f tau_syn)", n, mean, std, 0.02)
	require.Greater(t, n, 10000)
	require.InDelta(t, 0.02, std, 0.02*0.03)
	require.InDelta(t, 0, mean, 0.02*0.03)
	// The same seed repeats the same runs.
	again, err := NewMock(cfg)
	require.NoError(t, err)
	require.NoError(t, again.Configure(m, w))
	r1, err := again.Run(context.Background(), in)
	require.NoError(t, err)
	fresh, err := NewMock(cfg)
	require.NoError(t, err)
	require.NoError(t, fresh.Configure(m, w))
	r2, err := fresh.Run(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, r1.Spikes, r2.Spikes)
}

// Per-neuron variation is fixed (the same in every run) and has the
// configured spread.
func TestMockVariationArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["lif-multispike"]
	features := randomFeatures(8, 4, 2)
	_, ctx := software(t, &net, features, 3)
	m, err := Map(&net, ChipLimits(), "")
	require.NoError(t, err)
	w, err := ReadWeights(ctx, m)
	require.NoError(t, err)
	cfg := IdealMock()
	cfg.ThresholdVariation, cfg.TauVariation = 0.1, 0.05
	mock, err := NewMock(cfg)
	require.NoError(t, err)
	// A large layer to measure the spread on.
	require.NoError(t, mock.Configure(m, w))
	var th, tm []float64
	for _, p := range mock.neurons[0] {
		th = append(th, p.Threshold-p.Leak)
		tm = append(tm, p.TauMem/1.7)
	}
	in, err := EncodeInput(m, features)
	require.NoError(t, err)
	r1, err := mock.Run(context.Background(), in)
	require.NoError(t, err)
	r2, err := mock.Run(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, r1.Spikes, r2.Spikes, "variation is fixed, not trial to trial")
	ideal := runWeights(t, m, w, features, IdealMock())
	require.NotEqual(t, ideal.Spikes["hidden"], r1.Spikes["hidden"])
	// 30 neurons: the sample std is within ~40% of sigma.
	require.InDelta(t, 0.1, stddev(th), 0.04)
	require.InDelta(t, 0.05, stddev(tm), 0.02)
}

func stddev(x []float64) float64 {
	var s, s2 float64
	for _, v := range x {
		s += v
		s2 += v * v
	}
	n := float64(len(x))
	return math.Sqrt(s2/n - (s/n)*(s/n))
}

// The membrane never goes below the floor of its dynamic range; without
// the floor strong inhibition drives it lower, and the spikes after the
// inhibition come earlier with the floor.
func TestMockDynamicRangeArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["ttfs"]
	features := randomFeatures(16, 4, 3)
	_, ctx := software(t, &net, features, 3)
	m, err := Map(&net, ChipLimits(), "")
	require.NoError(t, err)
	w, err := ReadWeights(ctx, m)
	require.NoError(t, err)
	// Strong inhibition from input 0 on every hidden neuron.
	for j := range 30 {
		w[0].In[0*30+j] = -4
	}
	in, err := EncodeInput(m, features)
	require.NoError(t, err)
	in.MembraneStep = 0.01
	lowest := func(cfg MockConfig) (float64, *Result) {
		mock, err := NewMock(cfg)
		require.NoError(t, err)
		require.NoError(t, mock.Configure(m, w))
		res, err := mock.Run(context.Background(), in)
		require.NoError(t, err)
		low := math.Inf(1)
		for _, sample := range res.Membrane["hidden"] {
			require.Len(t, sample, 30)
			for _, trace := range sample {
				require.NotEmpty(t, trace)
				for _, v := range trace {
					low = math.Min(low, v)
				}
			}
		}
		return low, res
	}
	free, _ := lowest(IdealMock())
	cfg := IdealMock()
	cfg.DynamicRange = 0.5
	floored, _ := lowest(cfg)
	t.Logf("lowest membrane: %.3f unbounded, %.3f with the floor at -0.5", free, floored)
	require.Less(t, free, -0.5)
	require.GreaterOrEqual(t, floored, -0.5-1e-9)
	require.InDelta(t, -0.5, floored, 1e-6)
}

// Spikes after the run time are lost and counted.
func TestMockRuntimeArtifact(t *testing.T) {
	nets := testNetworks(t)
	net := nets["ttfs"]
	features := randomFeatures(16, 4, 3)
	_, ctx := software(t, &net, features, 3)
	ideal, _ := runMock(t, &net, ctx, features, IdealMock())
	cfg := IdealMock()
	cfg.MaxRuntime = 1.2 * OperatingTauSyn // 1.2 tau_syn
	res, _ := runMock(t, &net, ctx, features, cfg)
	lost := 0
	for _, name := range []string{"hidden", "output"} {
		for _, times := range res.Spikes[name].Time {
			for _, x := range times {
				require.LessOrEqual(t, x, 1.2)
			}
		}
	}
	for _, times := range ideal.Spikes["hidden"].Time {
		for _, x := range times {
			if x > 1.2 {
				lost++
			}
		}
	}
	require.Greater(t, lost, 0)
	require.GreaterOrEqual(t, res.LateSpikes, lost)
	require.Zero(t, ideal.LateSpikes)
}

func TestMockTimeScale(t *testing.T) {
	nets := testNetworks(t)
	net := nets["ttfs"]
	m, err := Map(&net, ChipLimits(), "")
	require.NoError(t, err)
	mock, err := NewMock(DefaultMock())
	require.NoError(t, err)
	w := make(Weights, len(m.Layers))
	for i, l := range m.Layers {
		w[i].In = make([]float64, l.InputRows()*l.Neurons())
	}
	require.NoError(t, mock.Configure(m, w))
	// tau_syn = 1 model unit is 6 us on the chip, 6 ms in biology.
	require.InDelta(t, 6e-3, mock.BiologicalTime(1), 1e-15)
}

// WeightRange is the largest software weight the mock runs unclipped: the
// same 63/58 at every resolution (the step changes, not the range), none
// for float weights.
func TestMockWeightRange(t *testing.T) {
	for _, bits := range []int{4, 5, 6, 8} {
		cfg := DefaultMock()
		cfg.WeightBits = bits
		r := cfg.WeightRange()
		require.InDelta(t, 63.0/58, r, 1e-12, "%d bits", bits)
		q, clipped := cfg.QuantizeWeight(r)
		require.False(t, clipped, "%d bits: the range's edge is not clipped", bits)
		require.InDelta(t, r, q, 1e-12, "%d bits", bits)
		_, clipped = cfg.QuantizeWeight(r * 1.01)
		require.True(t, clipped, "%d bits: beyond the range is clipped", bits)
	}
	require.Zero(t, IdealMock().WeightRange())
	mk, err := NewMock(DefaultMock())
	require.NoError(t, err)
	var _ WeightRanger = mk
	require.InDelta(t, 63.0/58, mk.WeightRange(), 1e-12)
}
