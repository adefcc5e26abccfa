package event

import (
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// TestLIFLayerBadInput: unusable parameters are reported when the layer is
// built, with the field named, instead of NaNs at run time.
func TestLIFLayerBadInput(t *testing.T) {
	good := snn.FastAndDeepLIF()
	withNeuron := func(f func(*snn.LIF)) snn.LIF { p := good; f(&p); return p }
	cases := []struct {
		name     string
		neuron   snn.LIF
		capacity int
		want     string
	}{
		{"zero tau_syn", withNeuron(func(p *snn.LIF) { p.TauSyn = 0 }), 4, "tau_syn must be a positive finite number"},
		{"negative tau_mem", withNeuron(func(p *snn.LIF) { p.TauMem = -1 }), 4, "tau_mem must be a positive finite number"},
		{"threshold below reset", withNeuron(func(p *snn.LIF) { p.Reset = 2 }), 4, "threshold (1) must be above reset (2)"},
		{"threshold equal reset", withNeuron(func(p *snn.LIF) { p.Reset = 1 }), 4, "threshold (1) must be above reset (1)"},
		{"negative refractory", withNeuron(func(p *snn.LIF) { p.Refractory = -0.1 }), 4, "refractory must be >= 0"},
		{"zero capacity", good, 0, "capacity must be >= 1, got 0"},
		{"capacity not per neuron", good, 5, "capacity (5) must be a multiple of its number of neurons (4)"},
	}
	backend := testBackend(t)
	times := tensors.FromFlatDataAndDimensions([]float64{0.1, 0.5, 1, 0.2, 0.3, 0.4}, 2, 3)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exec, err := context.NewExec(backend, context.New(), func(ctx *context.Context, times *Node) *Node {
				out, _ := NewLIFLayer(ctx, snn.SpikesFromTimes(times), 3, 4).WithNeuron(c.neuron).WithCapacity(c.capacity).Done()
				return out.Time
			})
			require.NoError(t, err)
			_, err = exec.Exec(times)
			require.ErrorContains(t, err, c.want)
		})
	}
	// The same parameters pass when they are valid.
	require.NoError(t, LIFConfig{Neuron: good, Capacity: 4}.Validate())
}
