package train

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/stretchr/testify/require"

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
	ctx := context.New()
	require.NoError(t, ctx.SetRNGStateFromSeed(1))
	opt := optimizers.Adam().LearningRate(0.01).Done()
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x, y *Node) *Node {
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
