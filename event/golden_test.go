package event

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/snn"
)

// jaxsnnGolden is testdata/jaxsnn_golden.json, written by
// scripts/golden/jaxsnn_golden.py from jaxsnn 0.1.0 (see the field list
// there).
type jaxsnnGolden struct {
	Versions map[string]string `json:"versions"`
	Cases    []struct {
		Name   string `json:"name"`
		Params struct {
			TauSyn float64 `json:"tau_syn"`
			TauMem float64 `json:"tau_mem"`
			VTh    float64 `json:"v_th"`
			VLeak  float64 `json:"v_leak"`
			VReset float64 `json:"v_reset"`
			TMax   float64 `json:"t_max"`
		} `json:"params"`
		NumInputs  int         `json:"n_inputs"`
		NumNeurons int         `json:"n_neurons"`
		Weights    [][]float64 `json:"weights"`
		Coef       []float64   `json:"loss_coefficients"`
		Samples    []struct {
			InputTimes []float64 `json:"input_times"`
			InputIDs   []int32   `json:"input_ids"`
			Spikes     struct {
				Times   []float64 `json:"times"`
				Neurons []int     `json:"neurons"`
			} `json:"spikes"`
			FirstSpikeTimes []float64 `json:"first_spike_times"`
			Loss            float64   `json:"loss"`
			GradEventProp   struct {
				Weights    [][]float64 `json:"weights"`
				InputTimes []float64   `json:"input_times"`
			} `json:"grad_eventprop"`
		} `json:"samples"`
	} `json:"cases"`
}

// TestMatchesJaxsnnGolden runs gosnn's feed-forward event LIF layer on the
// inputs and weights for which jaxsnn's layer was recorded, and requires the
// same spikes (within jaxsnn's t_max) to 1e-5 relative and the same
// EventProp gradients of the first-spike loss to 1e-4.
func TestMatchesJaxsnnGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/jaxsnn_golden.json")
	require.NoError(t, err)
	var golden jaxsnnGolden
	require.NoError(t, json.Unmarshal(data, &golden))
	require.NotEmpty(t, golden.Cases)
	backend := testBackend(t)
	const perNeuron = 6
	for _, gc := range golden.Cases {
		t.Run(gc.Name, func(t *testing.T) {
			// jaxsnn: dV/dt = (I - V)/tau_mem, i.e. g_leak = 1 and C = tau_mem.
			p := snn.LIF{TauSyn: gc.Params.TauSyn, TauMem: gc.Params.TauMem, GLeak: 1,
				Leak: gc.Params.VLeak, Threshold: gc.Params.VTh, Reset: gc.Params.VReset}
			var w []float64
			for _, row := range gc.Weights {
				w = append(w, row...)
			}
			n := gc.NumNeurons
			exec, err := NewExec(backend, func(inT, inN, w, coef *Node) []*Node {
				out, _ := LIFSpikes(snn.Spikes{Time: inT, Neuron: inN}, w, nil, LIFConfig{Neuron: p, Capacity: n * perNeuron})
				first := out.FirstTimes(n)
				loss := ReduceAllSum(Mul(first, coef))
				grads := Gradient(loss, inT, w)
				return []*Node{out.Time, out.Neuron, first, loss, grads[0], grads[1]}
			})
			require.NoError(t, err)
			for si, s := range gc.Samples {
				outs, err := exec.Exec(
					tensors.FromFlatDataAndDimensions(s.InputTimes, 1, gc.NumInputs),
					tensors.FromFlatDataAndDimensions(s.InputIDs, 1, gc.NumInputs),
					tensors.FromFlatDataAndDimensions(w, gc.NumInputs, n),
					tensors.FromFlatDataAndDimensions(gc.Coef, 1, n))
				require.NoError(t, err)
				times := tensors.MustCopyFlatData[float64](outs[0])
				neurons := tensors.MustCopyFlatData[int32](outs[1])
				// gosnn lists spikes neuron by neuron; compare per neuron.
				got := make([][]float64, n)
				for k, tk := range times {
					if tk < gc.Params.TMax {
						got[neurons[k]] = append(got[neurons[k]], tk)
					}
				}
				want := make([][]float64, n)
				for k, tk := range s.Spikes.Times {
					want[s.Spikes.Neurons[k]] = append(want[s.Spikes.Neurons[k]], tk)
				}
				for j := range n {
					require.Lenf(t, got[j], len(want[j]), "sample %d neuron %d: spikes %v, jaxsnn %v", si, j, got[j], want[j])
					for k := range want[j] {
						require.InDeltaf(t, want[j][k], got[j][k], 1e-5*math.Abs(want[j][k]), "sample %d neuron %d spike %d", si, j, k)
					}
				}
				require.InDelta(t, s.Loss, tensors.MustCopyFlatData[float64](outs[3])[0], 1e-5*math.Max(1, math.Abs(s.Loss)))
				dT, dW := tensors.MustCopyFlatData[float64](outs[4]), tensors.MustCopyFlatData[float64](outs[5])
				for i, g := range s.GradEventProp.InputTimes {
					require.InDeltaf(t, g, dT[i], 1e-4*math.Max(1, math.Abs(g)), "sample %d dL/dt_in[%d]", si, i)
				}
				for i, row := range s.GradEventProp.Weights {
					for j, g := range row {
						require.InDeltaf(t, g, dW[i*n+j], 1e-4*math.Max(1, math.Abs(g)), "sample %d dL/dw[%d][%d]", si, i, j)
					}
				}
			}
		})
	}
}
