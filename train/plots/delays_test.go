package plots

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/train"
)

// TestDelaysOf reads the learned delays of a shipped delay network from a
// weights file: the sigmoid of the parameters, tiled over the synapses by
// kind, and the figures are drawn.
func TestDelaysOf(t *testing.T) {
	for _, tc := range []struct {
		config string
		kind   string
	}{{"yin_yang_H30_WS", "synaptic"}, {"yin_yang_H30_WA", "axonal"}} {
		t.Run(tc.config, func(t *testing.T) {
			cfg, err := train.ShippedConfig(tc.config)
			require.NoError(t, err)
			cfg.Network.Node("hidden").Size = 2
			w := train.WeightsFile{Variables: map[string]train.WeightTensor{
				"/to_hidden/weights": {Shape: []int{4, 2}, Values: []float64{1, 2, 3, 4, 5, 6, 7, 8}},
				"/to_output/weights": {Shape: []int{2, 3}, Values: []float64{1, 2, 3, 4, 5, 6}},
			}}
			params := map[string][]int{"/to_hidden/delays": {4, 2}, "/to_output/delays": {2, 3}}
			if tc.kind == "axonal" {
				params = map[string][]int{"/to_hidden/delays": {4, 1}, "/to_output/delays": {2, 1}}
			}
			for name, shape := range params {
				v := train.WeightTensor{Shape: shape}
				for k := range shape[0] * shape[1] {
					v.Values = append(v.Values, float64(k)-1)
				}
				w.Variables[name] = v
			}
			layers, err := DelaysOf(cfg, w)
			require.NoError(t, err)
			require.Len(t, layers, 2)
			sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
			out := layers[1]
			require.Equal(t, "to_output", out.Projection)
			require.Equal(t, tc.kind, out.Kind)
			require.Len(t, out.SynapseDelays, 6)
			for i := range 2 {
				for j := range 3 {
					k := i*3 + j // synaptic: parameter per synapse
					if tc.kind == "axonal" {
						k = i // one per source neuron
					}
					require.InDelta(t, sigmoid(float64(k)-1), out.SynapseDelays[i*3+j], 1e-12, "synapse %d,%d", i, j)
				}
			}
			dir := t.TempDir()
			for _, f := range DelayFigures(layers, "[τ_syn]") {
				_, err := f.Save(dir)
				require.NoError(t, err)
			}
			for _, name := range []string{"delays.png", "delays.svg", "delay_vs_weight.png", "delay_vs_weight.svg"} {
				info, err := os.Stat(filepath.Join(dir, name))
				require.NoError(t, err)
				require.Positive(t, info.Size())
			}
			delete(w.Variables, "/to_output/delays")
			_, err = DelaysOf(cfg, w)
			require.ErrorContains(t, err, `projection "to_output" has delays but the checkpoint lacks /to_output/delays`)
		})
	}
}
