package topology

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// convNet is snnax's README network at a small size: frames [2, 8, 8] ->
// conv2d 3 channels, kernel 3, stride 2 -> [3, 3, 3] LIF -> linear -> 4 LI.
const convNet = `
dt: 1
steps: 4
nodes:
  - {name: input, kind: input, size: 128, shape: [2, 8, 8]}
  - {name: conv, kind: conv2d, channels: 3, kernel: 3, stride: 2, init: {mean: 0, std: 0.1}}
  - {name: hidden, kind: discrete_lif, size: 27, euler: {decays: [0.9, 0.8], threshold: 0.5}}
  - {name: fc, kind: linear, init: {mean: 0, std: 0.1}}
  - {name: out, kind: discrete_li, size: 4, euler: {decays: [0.9, 0.8]}}
edges:
  - [input, conv]
  - [conv, hidden]
  - [hidden, fc]
  - [fc, out]
output: out
`

// parseConvNet reads convNet after edit rewrites it (old -> new pairs).
func parseConvNet(t *testing.T, edits ...string) *Network {
	src := convNet
	for i := 0; i+1 < len(edits); i += 2 {
		require.Contains(t, src, edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	var net Network
	require.NoError(t, yaml.Unmarshal([]byte(src), &net))
	return &net
}

func TestConvNetwork(t *testing.T) {
	net := parseConvNet(t)
	require.NoError(t, net.Validate("network"))
	require.Equal(t, Conv{In: []int{2, 8, 8}, Out: []int{3, 3, 3}}, net.ConvOf("conv"))
	require.Equal(t, 4*128, net.InputFeatures())
	layers, err := net.Layers()
	require.NoError(t, err)
	require.Equal(t, []Layer{{Populations: []string{"hidden"}}, {Populations: []string{"out"}}}, layers)

	// Padding 1: (8 + 2 - 3) / 2 + 1 = 4.
	padded := parseConvNet(t, "stride: 2,", "stride: 2, padding: 1,", "size: 27", "size: 48")
	require.NoError(t, padded.Validate(""))
	require.Equal(t, []int{3, 4, 4}, padded.ConvOf("conv").Out)
}

func TestConvNetworkErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []string
		path  string
		want  string
	}{
		{"population size does not match the convolution", []string{"size: 27", "size: 30"}, "network.nodes[2] (hidden).size",
			`conv2d "conv" turns "input" of shape [2, 8, 8] into shape [3, 3, 3], 27 neurons, but population "hidden" has size 30`},
		{"input size is not the shape's product", []string{"size: 128", "size: 100"}, "network.nodes[0] (input).size",
			"must be the product of shape [2, 8, 8], 128, got 100"},
		{"shape of two values", []string{"shape: [2, 8, 8]", "shape: [8, 16]"}, "network.nodes[0] (input).shape", "is [channels, height, width], got 2 values"},
		{"kernel larger than the frames", []string{"kernel: 3", "kernel: 9"}, "network.nodes[1] (conv).kernel",
			`conv2d "conv": kernel 9 (padding 0) is larger than the 8 x 8 frames of "input", shape [2, 8, 8]`},
		{"no channels", []string{"channels: 3, ", ""}, "network.nodes[1] (conv).channels", "output channels >= 1, got 0"},
		{"conv on a flat input", []string{"shape: [2, 8, 8]}", "encoding: {early: 0, late: 1}}"}, "network.nodes[1] (conv)",
			`conv2d "conv" needs a source of shape [channels, height, width]; "input" has shape [128]`},
		{"conv of a conv-fed population, size mismatch", []string{"{name: fc, kind: linear,", "{name: fc, kind: conv2d, channels: 4, kernel: 1,"}, "network.nodes[4] (out).size",
			`conv2d "fc" turns "hidden" of shape [3, 3, 3] into shape [4, 3, 3], 36 neurons, but population "out" has size 4`},
		{"shape and encoding", []string{"shape: [2, 8, 8]}", "shape: [2, 8, 8], encoding: {early: 0, late: 1}}"}, "network.nodes[0] (input).encoding", "give shape or encoding, not both"},
		{"conv fields on a linear node", []string{"{name: fc, kind: linear,", "{name: fc, kind: linear, kernel: 3,"}, "network.nodes[3] (fc).kernel", "not used by a linear node"},
		{"pool of an unknown kind", []string{"kind: conv2d,", "kind: conv2d, pool: {kind: min, size: 2},"}, "network.nodes[1] (conv).pool.kind", `must be "max" or "avg", got "min"`},
		{"pool of size 0", []string{"kind: conv2d,", "kind: conv2d, pool: {kind: max, size: 0},"}, "network.nodes[1] (conv).pool.size", "must be >= 1"},
		{"pool size that does not divide the frames", []string{"kind: conv2d,", "kind: conv2d, pool: {kind: max, size: 3},"}, "network.nodes[1] (conv).pool.size",
			`projection "conv": pool size 3 does not divide the 8 x 8 frames of "input", shape [2, 8, 8]`},
		{"pooled frames change the convolution", []string{"kind: conv2d,", "kind: conv2d, pool: {kind: avg, size: 2},"}, "network.nodes[2] (hidden).size",
			`conv2d "conv" turns "input" of shape [2, 8, 8] into shape [3, 1, 1], 3 neurons, but population "hidden" has size 27`},
		{"pool of flat spikes", []string{"shape: [2, 8, 8]}", "encoding: {early: 0, late: 1}}", "kind: conv2d,", "kind: conv2d, pool: {kind: max, size: 2},"}, "network.nodes[1] (conv).pool",
			`projection "conv" pools frames [channels, height, width]; its source "input" has shape [128]`},
		{"pool on a population", []string{"kind: discrete_lif,", "kind: discrete_lif, pool: {kind: max, size: 2},"}, "network.nodes[2] (hidden).pool", "only projections (linear, conv2d) pool"},
		{"dropout of 1", []string{"{name: fc, kind: linear,", "{name: fc, kind: linear, dropout: 1,"}, "network.nodes[3] (fc).dropout", "must be in [0, 1)"},
		{"dropout on a population", []string{"kind: discrete_lif,", "kind: discrete_lif, dropout: 0.5,"}, "network.nodes[2] (hidden).dropout", "only projections (linear, conv2d) take dropout"},
		{"layer_norm on a population", []string{"kind: discrete_li,", "kind: discrete_li, layer_norm: true,"}, "network.nodes[4] (out).layer_norm", "only projections (linear, conv2d) take dropout and layer_norm"},
		{"pool and sparse", []string{"{name: fc, kind: linear,", "{name: fc, kind: linear, sparse: 4, pool: {kind: max, size: 3},"}, "network.nodes[3] (fc).pool", "set sparse or pool, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parseConvNet(t, tc.edits...).Validate("network")
			require.Error(t, err)
			var found []string
			for _, e := range unjoinTest(err) {
				var fe *FieldError
				require.True(t, errors.As(e, &fe), "%v is not a *FieldError", e)
				found = append(found, fe.Error())
				if fe.Path == tc.path && strings.Contains(fe.Msg, tc.want) {
					return
				}
			}
			t.Fatalf("no error at %s containing %q; got:\n%s", tc.path, tc.want, strings.Join(found, "\n"))
		})
	}
}

// TestPoolNetwork pools the frames of a conv-fed population before a
// linear projection (Conv2d -> LIF -> MaxPool -> flatten -> Linear) and of
// an input before a conv2d.
func TestPoolNetwork(t *testing.T) {
	net := parseConvNet(t, "{name: fc, kind: linear,", "{name: fc, kind: linear, pool: {kind: max, size: 3},")
	require.NoError(t, net.Validate("network"))
	in, out := net.PoolOf("fc")
	require.Equal(t, []int{3, 3, 3}, in)
	require.Equal(t, []int{3, 1, 1}, out)
	in, out = net.PoolOf("conv")
	require.Nil(t, in)
	require.Nil(t, out)

	pooledInput := parseConvNet(t, "kind: conv2d,", "kind: conv2d, pool: {kind: avg, size: 2},", "stride: 2,", "stride: 1,", "size: 27", "size: 12")
	require.NoError(t, pooledInput.Validate(""))
	require.Equal(t, Conv{In: []int{2, 4, 4}, Out: []int{3, 2, 2}}, pooledInput.ConvOf("conv"))
}

// TestConvNeedsDiscrete refuses conv2d, frame inputs, sparse propagation,
// pooling, dropout and layer normalisation in event networks.
func TestConvNeedsDiscrete(t *testing.T) {
	net, err := yinYang().Done()
	require.NoError(t, err)
	net.Nodes[0].Shape = []int{1, 2, 2}
	to := net.Node("to_hidden")
	require.NotNil(t, to)
	to.Sparse = 8
	to.Pool = &Pool{Kind: PoolMax, Size: 2}
	to.Dropout, to.LayerNorm = 0.1, true
	net.Nodes = append(net.Nodes, Node{Name: "c", Kind: KindConv2D, Channels: 1, Kernel: 1, Init: &Init{Std: 1}})
	err = net.Validate("")
	require.ErrorContains(t, err, "nodes[6] (c).kind: conv2d projections belong to discrete networks")
	require.ErrorContains(t, err, "nodes[0] (input).shape: frame inputs belong to discrete networks")
	require.ErrorContains(t, err, "(to_hidden).sparse: sparse propagation belongs to discrete networks")
	require.ErrorContains(t, err, "(to_hidden).pool: pooling belongs to discrete networks")
	require.ErrorContains(t, err, "(to_hidden).dropout: dropout belongs to discrete networks")
	require.ErrorContains(t, err, "(to_hidden).layer_norm: layer normalisation belongs to discrete networks")
}

func unjoinTest(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
