package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gosnn/gosnn/topology"
)

// N-MNIST (Orchard et al. 2015, "Converting static image datasets to
// spiking neuromorphic datasets using saccades", Front. Neurosci.) stores
// each sample as a binary file of 40-bit events, 5 bytes each:
//
//	byte 0: x (8 bits), byte 1: y (8 bits),
//	byte 2: polarity (bit 7) and timestamp bits 22-16, bytes 3-4: timestamp bits 15-0
//
// with the timestamp in microseconds (23 bits). The data set's folders are
// Train/<digit>/*.bin and Test/<digit>/*.bin; its sensor is 34 x 34 pixels.

// NMNISTSide is the N-MNIST sensor's width and height in pixels.
const NMNISTSide = 34

// maxEventTime is the largest 23-bit timestamp.
const maxEventTime = 1<<23 - 1

// Event is one address event: pixel (X, Y), polarity (true: ON) and time
// in microseconds.
type Event struct {
	X, Y     uint8
	Polarity bool
	Time     uint32
}

// DecodeEvents decodes N-MNIST's 40-bit events. A length that is not a
// multiple of 5, or a pixel outside width x height, is an error naming
// source and the byte offset of the event at fault.
func DecodeEvents(data []byte, source string, width, height int) ([]Event, error) {
	if r := len(data) % 5; r != 0 {
		return nil, fmt.Errorf("%s: byte offset %d: truncated event (%d of 5 bytes; the file has %d bytes)", source, len(data)-r, r, len(data))
	}
	events := make([]Event, len(data)/5)
	for i := range events {
		b := data[5*i : 5*i+5]
		e := Event{X: b[0], Y: b[1], Polarity: b[2]&0x80 != 0, Time: uint32(b[2]&0x7f)<<16 | uint32(b[3])<<8 | uint32(b[4])}
		if int(e.X) >= width || int(e.Y) >= height {
			return nil, fmt.Errorf("%s: byte offset %d: event at pixel (%d, %d) outside the %d x %d sensor", source, 5*i, e.X, e.Y, width, height)
		}
		events[i] = e
	}
	return events, nil
}

// EncodeEvents is DecodeEvents' inverse; a time beyond 23 bits is an error
// naming the event.
func EncodeEvents(events []Event) ([]byte, error) {
	out := make([]byte, 0, 5*len(events))
	for i, e := range events {
		if e.Time > maxEventTime {
			return nil, fmt.Errorf("event %d: time %d us does not fit 23 bits (max %d)", i, e.Time, maxEventTime)
		}
		b2 := byte(e.Time >> 16 & 0x7f)
		if e.Polarity {
			b2 |= 0x80
		}
		out = append(out, e.X, e.Y, b2, byte(e.Time>>8), byte(e.Time))
	}
	return out, nil
}

// ReadEvents reads one N-MNIST sample file (34 x 34 pixels).
func ReadEvents(path string) ([]Event, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("n-mnist: %w", err)
	}
	return DecodeEvents(data, path, NMNISTSide, NMNISTSide)
}

// WriteEvents writes events as an N-MNIST sample file.
func WriteEvents(path string, events []Event) error {
	data, err := EncodeEvents(events)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}

// BinEvents counts the events in frames of binUS microseconds: frames
// [steps][height][width][2] (channel 0 OFF, 1 ON), row-major, the layout of
// discrete.Conv2D's inputs over time. Events after the last frame are left
// out and counted (dropped).
func BinEvents(events []Event, steps int, binUS float64, width, height int) (frames []float32, dropped int) {
	frames = make([]float32, steps*height*width*2)
	for _, e := range events {
		t := int(float64(e.Time) / binUS)
		if t >= steps {
			dropped++
			continue
		}
		c := 0
		if e.Polarity {
			c = 1
		}
		frames[((t*height+int(e.Y))*width+int(e.X))*2+c]++
	}
	return frames, dropped
}

// LoadNMNIST reads every sample of an N-MNIST split folder (dir/<digit>/*.bin,
// digits 0-9, files in name order) binned into steps frames of binUS
// microseconds: a Dataset whose features are the frames [steps, 34, 34, 2]
// flattened. It returns how many events fell after the last frame.
func LoadNMNIST(dir string, steps int, binUS float64) (*Dataset, int, error) {
	files, err := nmnistFiles(dir)
	if err != nil {
		return nil, 0, err
	}
	return loadNMNIST("nmnist:"+filepath.Base(dir), files, steps, binUS)
}

// nmnistFile is one sample file and its digit.
type nmnistFile struct {
	path  string
	label int32
}

// nmnistFiles lists the sample files of a split folder, by digit, then name.
func nmnistFiles(dir string) ([]nmnistFile, error) {
	var out []nmnistFile
	for c := range 10 {
		files, err := filepath.Glob(filepath.Join(dir, strconv.Itoa(c), "*.bin"))
		if err != nil {
			return nil, fmt.Errorf("n-mnist: %w", err)
		}
		slices.Sort(files)
		for _, f := range files {
			out = append(out, nmnistFile{path: f, label: int32(c)})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("n-mnist: no samples in " + dir + " (expected " + filepath.Join(dir, "<digit>", "*.bin") + ")")
	}
	return out, nil
}

// loadNMNIST reads and bins the files.
func loadNMNIST(name string, files []nmnistFile, steps int, binUS float64) (*Dataset, int, error) {
	if steps < 1 || !(binUS > 0) {
		return nil, 0, fmt.Errorf("n-mnist: need steps >= 1 and a positive bin, got %d and %g us", steps, binUS)
	}
	d := &Dataset{Name: name, NumFeatures: steps * NMNISTSide * NMNISTSide * 2, NumClasses: 10}
	for c := range 10 {
		d.ClassNames = append(d.ClassNames, strconv.Itoa(c))
	}
	d.Features = make([]float32, 0, len(files)*d.NumFeatures)
	dropped := 0
	for _, f := range files {
		events, err := ReadEvents(f.path)
		if err != nil {
			return nil, 0, err
		}
		frames, n := BinEvents(events, steps, binUS, NMNISTSide, NMNISTSide)
		dropped += n
		d.Features = append(d.Features, frames...)
		d.Labels = append(d.Labels, f.label)
	}
	return d, dropped, nil
}

// NMNISTShape is the frame shape [channels, height, width] of N-MNIST
// (OFF and ON events on the 34 x 34 sensor), the shape a config's frame
// input must have.
var NMNISTShape = []int{2, NMNISTSide, NMNISTSide}

// validateNMNIST checks the keys of data: nmnist: frame_us and the
// network's frame input.
func (c Config) validateNMNIST() []error {
	var errs []error
	if !(c.FrameUS > 0) || math.IsInf(c.FrameUS, 0) {
		errs = append(errs, &topology.FieldError{Path: "frame_us", Msg: fmt.Sprintf("data nmnist bins each sample's events into network.steps frames of frame_us microseconds; needs frame_us > 0, got %g", c.FrameUS)})
	}
	for i, n := range c.Network.Nodes {
		if n.Kind == topology.KindInput && !slices.Equal(n.Shape, NMNISTShape) {
			errs = append(errs, &topology.FieldError{Path: fmt.Sprintf("network.nodes[%d] (%s).shape", i, n.Name),
				Msg: fmt.Sprintf("data nmnist gives frames of shape %v (OFF/ON channels, 34 x 34 pixels), size %d; the input has shape %v", NMNISTShape, 2*NMNISTSide*NMNISTSide, n.Shape)})
		}
	}
	return errs
}

// nmnistSplitDir finds a split folder (train or test; the published data
// set names them Train and Test).
func nmnistSplitDir(dataDir, split string) (string, error) {
	for _, name := range []string{split, strings.ToUpper(split[:1]) + split[1:]} {
		p := filepath.Join(dataDir, name)
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("data_dir %s: no folder %s: data nmnist expects %s and %s (N-MNIST's Train and Test folders; one subfolder 0-9 per digit of 40-bit event files)",
		dataDir, filepath.Join(dataDir, split), filepath.Join(dataDir, "train", "<digit>", "*.bin"), filepath.Join(dataDir, "test", "<digit>", "*.bin"))
}

// evenlySpaced picks k of n indices evenly spaced (the middle of each of k equal
// stretches). The files are ordered by digit, so every digit keeps about
// its share.
func evenlySpaced(n, k int) []int {
	out := make([]int, k)
	for j := range out {
		out[j] = (2*j + 1) * n / (2 * k)
	}
	return out
}

// NMNISTSplits reads the N-MNIST files of cfg.DataDir (train/ and test/,
// each <digit>/*.bin) binned into cfg.Network.Steps frames of cfg.FrameUS
// microseconds. The validation set is val_size (0: a sixth) of the
// training files, evenly spaced over them, so deterministic and of every
// digit; the training set is the rest, and train_size and test_size (0:
// all) keep that many evenly spaced files. Only the files kept are read.
func NMNISTSplits(cfg Config) (trainSet, val, test *Dataset, err error) {
	if cfg.DataDir == "" {
		return nil, nil, nil, errors.New("data_dir: the nmnist data set needs data_dir (or --data-dir): the folder holding train/<digit>/*.bin and test/<digit>/*.bin")
	}
	trainDir, err := nmnistSplitDir(cfg.DataDir, "train")
	if err != nil {
		return nil, nil, nil, err
	}
	testDir, err := nmnistSplitDir(cfg.DataDir, "test")
	if err != nil {
		return nil, nil, nil, err
	}
	all, err := nmnistFiles(trainDir)
	if err != nil {
		return nil, nil, nil, err
	}
	testFiles, err := nmnistFiles(testDir)
	if err != nil {
		return nil, nil, nil, err
	}
	nVal := cfg.ValSize
	if nVal == 0 {
		nVal = len(all) / 6
	}
	if nVal < 1 || nVal >= len(all) {
		return nil, nil, nil, fmt.Errorf("val_size: %d validation samples of the %d training files of %s: need 1 to %d", nVal, len(all), trainDir, len(all)-1)
	}
	isVal := map[int]bool{}
	var valFiles, trainFiles []nmnistFile
	for _, i := range evenlySpaced(len(all), nVal) {
		isVal[i] = true
		valFiles = append(valFiles, all[i])
	}
	for i, f := range all {
		if !isVal[i] {
			trainFiles = append(trainFiles, f)
		}
	}
	pick := func(key string, files []nmnistFile, k int) ([]nmnistFile, error) {
		if k == 0 {
			return files, nil
		}
		if k > len(files) {
			return nil, fmt.Errorf("%s: %d samples requested, %s has %d", key, k, map[bool]string{true: trainDir + " (less validation)", false: testDir}[key == "train_size"], len(files))
		}
		out := make([]nmnistFile, k)
		for j, i := range evenlySpaced(len(files), k) {
			out[j] = files[i]
		}
		return out, nil
	}
	if trainFiles, err = pick("train_size", trainFiles, cfg.TrainSize); err != nil {
		return nil, nil, nil, err
	}
	if testFiles, err = pick("test_size", testFiles, cfg.TestSize); err != nil {
		return nil, nil, nil, err
	}
	steps := cfg.Network.Steps
	if trainSet, _, err = loadNMNIST("nmnist-train", trainFiles, steps, cfg.FrameUS); err != nil {
		return nil, nil, nil, err
	}
	if val, _, err = loadNMNIST("nmnist-val", valFiles, steps, cfg.FrameUS); err != nil {
		return nil, nil, nil, err
	}
	if test, _, err = loadNMNIST("nmnist-test", testFiles, steps, cfg.FrameUS); err != nil {
		return nil, nil, nil, err
	}
	return trainSet, val, test, nil
}
