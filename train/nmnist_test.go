package train

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/configs"
	"github.com/gosnn/gosnn/discrete"
	"github.com/gosnn/gosnn/graph"
)

// syntheticNMNIST writes perClass files per digit 0 and 1 under dir, whose
// events fall in the left (0) or right (1) half of the sensor, over 6 ms.
func syntheticNMNIST(t *testing.T, dir string, perClass int, rng *rand.Rand) map[string][]Event {
	written := map[string][]Event{}
	for c := range 2 {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, strconv.Itoa(c)), 0o755))
		for i := range perClass {
			var events []Event
			for range 1200 {
				events = append(events, Event{X: uint8(rng.IntN(NMNISTSide/2) + c*NMNISTSide/2), Y: uint8(rng.IntN(NMNISTSide)),
					Polarity: rng.IntN(2) == 1, Time: uint32(rng.IntN(6000))})
			}
			path := filepath.Join(dir, strconv.Itoa(c), strconv.Itoa(i)+".bin")
			require.NoError(t, WriteEvents(path, events))
			written[path] = events
		}
	}
	return written
}

func TestEventsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	events := []Event{{X: 0, Y: 0, Polarity: false, Time: 0}, {X: 33, Y: 33, Polarity: true, Time: maxEventTime}}
	for range 500 {
		events = append(events, Event{X: uint8(rng.IntN(34)), Y: uint8(rng.IntN(34)), Polarity: rng.IntN(2) == 1, Time: uint32(rng.IntN(maxEventTime + 1))})
	}
	path := filepath.Join(t.TempDir(), "sample.bin")
	require.NoError(t, WriteEvents(path, events))
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.EqualValues(t, 5*len(events), info.Size())
	got, err := ReadEvents(path)
	require.NoError(t, err)
	require.Equal(t, events, got)
	// The bit layout, by hand: x=3, y=4, ON, t = 0x12345.
	data, err := EncodeEvents([]Event{{X: 3, Y: 4, Polarity: true, Time: 0x12345}})
	require.NoError(t, err)
	require.Equal(t, []byte{3, 4, 0x80 | 0x01, 0x23, 0x45}, data)
	_, err = EncodeEvents([]Event{{Time: maxEventTime + 1}})
	require.ErrorContains(t, err, "23 bits")
}

func TestEventsMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", []byte{1, 2, 3, 4, 5, 6, 7}, "byte offset 5: truncated event (2 of 5 bytes; the file has 7 bytes)"},
		{"pixel outside", []byte{1, 2, 0, 0, 1, 34, 2, 0, 0, 2}, "byte offset 5: event at pixel (34, 2) outside the 34 x 34 sensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".bin")
			require.NoError(t, os.WriteFile(path, tc.data, 0o644))
			_, err := ReadEvents(path)
			require.ErrorContains(t, err, path+": "+tc.want)
		})
	}
}

func TestBinEvents(t *testing.T) {
	events := []Event{{X: 1, Y: 2, Polarity: true, Time: 0}, {X: 1, Y: 2, Polarity: true, Time: 999}, {X: 0, Y: 0, Time: 1000}, {X: 0, Y: 0, Time: 3000}}
	frames, dropped := BinEvents(events, 3, 1000, 4, 3)
	require.Equal(t, 1, dropped)
	want := make([]float32, 3*3*4*2)
	want[((0*3+2)*4+1)*2+1] = 2
	want[((1*3+0)*4+0)*2+0] = 1
	require.Equal(t, want, frames)
}

// TestNMNISTConvTrains reads synthetic N-MNIST files with LoadNMNIST and
// trains snnax's README network (Conv2d -> LIF -> flatten -> Linear ->
// LIF, spike-count cross-entropy) on the frames: the loss must fall.
func TestNMNISTConvTrains(t *testing.T) {
	dir := t.TempDir()
	syntheticNMNIST(t, dir, 8, rand.New(rand.NewPCG(3, 4)))
	const steps = 6
	d, dropped, err := LoadNMNIST(dir, steps, 1000)
	require.NoError(t, err)
	require.Equal(t, 16, d.Size())
	require.Zero(t, dropped)
	require.Equal(t, steps*34*34*2, d.NumFeatures)

	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	model := discrete.NewSequential(
		discrete.Conv2D(4, 5, 3),
		discrete.NewLIF().WithDecays(0.9, 0.8).WithThreshold(0.5).WithReset(discrete.ResetSubtract, 0).WithSurrogate(discrete.Surrogate{Kind: discrete.ArcTan, Scale: 2}).Done(),
		discrete.Flatten(),
		discrete.NewDense(10),
		discrete.NewLIF().WithDecays(0.9, 0.8).WithThreshold(0.5).WithSurrogate(discrete.Surrogate{Kind: discrete.ArcTan, Scale: 2}).Done(),
	)
	ctx := mlctx.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(1))
	opt := optimizers.Adam().LearningRate(0.01).Done()
	exec, err := mlctx.NewExec(backend, ctx, func(ctx *mlctx.Context, x, y *Node) *Node {
		r := model.Run(ctx, x)
		loss := discrete.SpikeCountCrossEntropy(r.Output(), y)
		opt.UpdateGraph(ctx, x.Graph(), loss)
		return loss
	})
	require.NoError(t, err)
	x := tensors.FromFlatDataAndDimensions(d.Features, d.Size(), steps, 34, 34, 2)
	var losses []float32
	for range 25 {
		out, err := exec.Exec(x, d.Labels)
		require.NoError(t, err)
		losses = append(losses, tensors.MustCopyFlatData[float32](out[0])[0])
	}
	first, last := losses[0], losses[len(losses)-1]
	t.Logf("spike-count cross-entropy: step 1 %.3f, step %d %.3f", first, len(losses), last)
	require.Less(t, last, 0.5*first)
}

// TestNMNISTConfigTrains trains the shipped nmnist_conv config (snnax's
// README network, as shipped) through NewTrainer and Fit on synthetic
// N-MNIST files: the training loss must fall over the epochs. The
// synthetic events span 6 ms, so the frames are 1 ms long here.
func TestNMNISTConfigTrains(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	syntheticNMNIST(t, filepath.Join(dir, "train"), 12, rng)
	syntheticNMNIST(t, filepath.Join(dir, "test"), 4, rng)
	cfg, err := ShippedConfig("nmnist_conv")
	require.NoError(t, err)
	require.Equal(t, 6272, cfg.Network.Node("hidden").Size)
	cfg.DataDir = dir
	cfg.FrameUS = 1000
	cfg.Network.Steps = 6
	cfg.Epochs, cfg.BatchSize, cfg.EvalBatchSize, cfg.LearningRate = 4, 10, 8, 0.005
	trainSet, val, test, err := Splits(cfg)
	require.NoError(t, err)
	require.Equal(t, []int{20, 4, 8}, []int{trainSet.Size(), val.Size(), test.Size()})
	require.Equal(t, []int32{0, 0, 1, 1}, val.Labels, "the validation files are spread over the digits")
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainer, history := fit(t, backend, cfg, trainSet, val)
	require.Len(t, history, cfg.Epochs)
	first, last := history[0].TrainLoss, history[len(history)-1].TrainLoss
	for _, h := range history {
		t.Logf("epoch %d: train loss %.3f accuracy %.2f", h.Epoch, h.TrainLoss, h.TrainAccuracy)
	}
	t.Logf("spike-count cross-entropy: epoch 1 %.3f, epoch %d %.3f; validation accuracy %.2f", first, len(history), last, history[len(history)-1].ValAccuracy)
	require.Less(t, last, 0.7*first)
	_, acc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	require.True(t, acc >= 0 && acc <= 1)
}

// TestNMNISTConfigBadInput: a missing folder names the path and the
// layout expected; a frame input of the wrong shape and a conv2d whose
// population does not match are config errors naming the line and key.
func TestNMNISTConfigBadInput(t *testing.T) {
	cfg, err := ShippedConfig("nmnist_conv")
	require.NoError(t, err)
	_, _, _, err = Splits(cfg)
	require.ErrorContains(t, err, "data_dir: the nmnist data set needs data_dir (or --data-dir)")

	dir := t.TempDir()
	cfg.DataDir = dir
	_, _, _, err = Splits(cfg)
	require.ErrorContains(t, err, "data_dir "+dir+": no folder "+filepath.Join(dir, "train")+": data nmnist expects "+filepath.Join(dir, "train", "<digit>", "*.bin"))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "train"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "Test"), 0o755))
	_, _, _, err = Splits(cfg)
	require.ErrorContains(t, err, "n-mnist: no samples in "+filepath.Join(dir, "train")+" (expected "+filepath.Join(dir, "train", "<digit>", "*.bin")+")")

	shipped, err := configs.FS.ReadFile("nmnist_conv.yaml")
	require.NoError(t, err)
	for _, tc := range []struct{ name, old, new, want string }{
		{"hidden size does not match the convolution", "size: 6272", "size: 6000",
			`network.nodes[2] (hidden).size: conv2d "conv" turns "input" of shape [2, 34, 34] into shape [32, 14, 14], 6272 neurons, but population "hidden" has size 6000`},
		{"input of another shape", "size: 2312, shape: [2, 34, 34]", "size: 2048, shape: [2, 32, 32]",
			"network.nodes[0] (input).shape: data nmnist gives frames of shape [2 34 34]"},
		{"no frame_us", "frame_us: 30000\n", "", "frame_us: data nmnist bins each sample's events into network.steps frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, string(shipped), tc.old)
			_, err := ParseConfig([]byte(strings.Replace(string(shipped), tc.old, tc.new, 1)), "nmnist_conv.yaml")
			require.ErrorContains(t, err, tc.want)
			require.Regexp(t, `nmnist_conv\.yaml:\d+: `, err.Error())
		})
	}
}
