package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	if steps < 1 || !(binUS > 0) {
		return nil, 0, fmt.Errorf("n-mnist: need steps >= 1 and a positive bin, got %d and %g us", steps, binUS)
	}
	d := &Dataset{Name: "nmnist:" + filepath.Base(dir), NumFeatures: steps * NMNISTSide * NMNISTSide * 2, NumClasses: 10}
	for c := range 10 {
		d.ClassNames = append(d.ClassNames, strconv.Itoa(c))
	}
	dropped := 0
	for c := range 10 {
		files, err := filepath.Glob(filepath.Join(dir, strconv.Itoa(c), "*.bin"))
		if err != nil {
			return nil, 0, fmt.Errorf("n-mnist: %w", err)
		}
		slices.Sort(files)
		for _, f := range files {
			events, err := ReadEvents(f)
			if err != nil {
				return nil, 0, err
			}
			frames, n := BinEvents(events, steps, binUS, NMNISTSide, NMNISTSide)
			dropped += n
			d.Features = append(d.Features, frames...)
			d.Labels = append(d.Labels, int32(c))
		}
	}
	if d.Size() == 0 {
		return nil, 0, errors.New("n-mnist: no samples in " + dir + " (expected " + filepath.Join(dir, "<digit>", "*.bin") + ")")
	}
	return d, dropped, nil
}
