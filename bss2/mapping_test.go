package bss2

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// jaxsnnNet is yinyang_bss2.py's network: 25 inputs (5 duplicated 5
// times), 100 hidden, 3 output neurons.
func feedForward(t *testing.T, inputs, hidden, outputs int) topology.Network {
	t.Helper()
	p := snn.LIF{TauSyn: 1, TauMem: 2, GLeak: 1, Threshold: 1, Reset: 0, Refractory: 5}
	net, err := topology.New().Input("input", inputs, snn.Latency{Early: 0, Late: 2}).
		LIF("hidden", hidden, hidden, p).Projection("to_hidden", 0.6, 0.3, "hidden", "input").
		LIF("output", outputs, outputs, p).Projection("to_output", 0.5, 0.8, "output", "hidden").
		Output("output").Done()
	require.NoError(t, err)
	return net
}

func TestMapFits(t *testing.T) {
	net := feedForward(t, 25, 100, 3)
	m, err := Map(&net, ChipLimits(), "network")
	require.NoError(t, err)
	require.Len(t, m.Layers, 2)
	// 2 rows per presynaptic neuron: 25 inputs and 100 hidden neurons,
	// all targets in hemisphere 0.
	require.Equal(t, []int{250, 0}, m.RowsUsed)
	require.Equal(t, 100, m.Population("output").Hardware[0])
	require.Contains(t, m.String(), "population hidden (lif): 100 neurons -> hardware neurons 0..99")

	rec := testNetworks(t)["recurrent"]
	m, err = Map(&rec, ChipLimits(), "")
	require.NoError(t, err)
	require.Len(t, m.Layers, 1)
	require.True(t, m.Layers[0].Recurrent)
	require.Equal(t, "hidden+output", m.Layers[0].Name())
	require.Equal(t, 5, m.Layers[0].InputRows()) // input and bias, once each
	// Rows: 5 external + 20 hidden presynaptic neurons, twice each.
	require.Equal(t, []int{50, 0}, m.RowsUsed)
}

func TestMapRefusesWhatDoesNotFit(t *testing.T) {
	tests := []struct {
		name string
		net  topology.Network
		want []string
	}{
		{"too many neurons", feedForward(t, 4, 600, 3), []string{"network.nodes[1] (hidden)", "600", "the chip has 512"}},
		{"too many neurons over two layers", feedForward(t, 4, 300, 250), []string{"network.nodes[3] (output)", "550", "512"}},
		{"too many synapse rows", feedForward(t, 130, 10, 3), []string{"network.nodes[2] (to_hidden)", "260 synapse rows", "hemisphere 0", "256 per hemisphere"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Map(&tc.net, ChipLimits(), "network")
			require.Error(t, err)
			var fe *topology.FieldError
			require.True(t, errors.As(err, &fe), "want a *topology.FieldError, got %T", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
