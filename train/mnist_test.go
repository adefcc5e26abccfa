package train

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// idxBytes encodes an IDX file of unsigned bytes.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUnsignedByte, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

// writeMNIST writes the four MNIST files into dir: n training and nTest
// test images of rows x cols pixels, pixel (i, j) of image k being
// (k + 3 i + 7 j) mod 256 and its label k mod 10. gzipTest compresses the
// test files.
func writeMNIST(t testing.TB, dir string, n, nTest, rows, cols int, gzipTest bool) {
	write := func(name string, data []byte, gz bool) {
		if gz {
			var b bytes.Buffer
			z := gzip.NewWriter(&b)
			_, err := z.Write(data)
			require.NoError(t, err)
			require.NoError(t, z.Close())
			data, name = b.Bytes(), name+".gz"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	set := func(count int) ([]byte, []byte) {
		var pix, labels []byte
		for k := range count {
			for i := range rows {
				for j := range cols {
					pix = append(pix, byte((k+3*i+7*j)%256))
				}
			}
			labels = append(labels, byte(k%10))
		}
		return idxBytes([]int{count, rows, cols}, pix), idxBytes([]int{count}, labels)
	}
	img, lab := set(n)
	write(MNISTTrainImages, img, false)
	write(MNISTTrainLabels, lab, false)
	img, lab = set(nTest)
	write(MNISTTestImages, img, gzipTest)
	write(MNISTTestLabels, lab, gzipTest)
}

func TestMNISTSplits(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, 60, 20, 3, 2, true)
	trainSet, val, test, err := Splits(Config{Data: "mnist", DataDir: dir})
	require.NoError(t, err)
	require.Equal(t, 50, trainSet.Size(), "the training file less its last sixth")
	require.Equal(t, 10, val.Size())
	require.Equal(t, 20, test.Size())
	for _, d := range []*Dataset{trainSet, val, test} {
		require.Equal(t, 6, d.NumFeatures)
		require.Equal(t, 10, d.NumClasses)
		require.Len(t, d.Features, 6*d.Size())
	}
	// Validation sample 3 is image 53 of the training file; pixel (2, 1)
	// is (53 + 6 + 7) mod 256 = 66, inverted: 1 - 66/256.
	require.Equal(t, int32(3), val.Labels[3])
	require.InDelta(t, 1-66.0/256, float64(val.Features[3*6+2*2+1]), 1e-7)
	require.Equal(t, float32(1), test.Features[0], "pixel 0 (no ink) becomes 1: the latest spike")
	for _, f := range trainSet.Features {
		require.True(t, f > 0 && f <= 1)
	}
}

// TestIDXBadInput: each bad file is one line naming the file and the byte
// offset (or both files) at fault.
func TestIDXBadInput(t *testing.T) {
	good := idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "x.idx: offset 0: short read"},
		{"wrong magic", append([]byte{0x1f, 0x8b, 8, 3}, good[4:]...), "x.idx: offset 0: wrong magic number 0x1f8b0803: not an IDX file"},
		{"float type", append([]byte{0, 0, 0x0d, 3}, good[4:]...), "x.idx: offset 2: IDX type code 0x0d is not supported"},
		{"no dimensions", []byte{0, 0, 8, 0}, "x.idx: offset 3: 0 dimensions"},
		{"short header", good[:9], "x.idx: offset 9: short read: the header declares 3 dimensions (12 bytes), the file ends at offset 9"},
		{"zero dimension", idxBytes([]int{2, 0}, nil), "x.idx: offset 8: dimension 1 is 0"},
		{"short data", good[:len(good)-3], "x.idx: offset 21: short read: dimensions [2 2 2] need 8 bytes of data from offset 16, the file ends at offset 21"},
		{"huge header", idxBytes([]int{1 << 30, 1 << 30}, nil), "x.idx: offset 8: the dimensions [1073741824 1073741824] describe more than 2^40 bytes"},
		{"trailing bytes", append(good, 9), "x.idx: offset 24: bytes after the 8 bytes of data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(c.data), "x.idx")
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
	idx, err := ReadIDX(bytes.NewReader(good), "x.idx")
	require.NoError(t, err)
	require.Equal(t, []int{2, 2, 2}, idx.Dims)
	require.Equal(t, good[16:], idx.Data)

	dir := t.TempDir()
	writeMNIST(t, dir, 12, 6, 2, 2, false)
	// Mismatched counts: 6 test labels for 12 training images.
	_, err = NewMNIST(filepath.Join(dir, MNISTTrainImages), filepath.Join(dir, MNISTTestLabels))
	require.ErrorContains(t, err, MNISTTrainImages+" holds 12 images but "+filepath.Join(dir, MNISTTestLabels)+" holds 6 labels")
	// Labels given as images.
	_, err = NewMNIST(filepath.Join(dir, MNISTTrainLabels), filepath.Join(dir, MNISTTrainLabels))
	require.ErrorContains(t, err, "images have 1 dimensions [12], want 3")
	// A label that is not a digit.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad-labels"), idxBytes([]int{12}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1}), 0o644))
	_, err = NewMNIST(filepath.Join(dir, MNISTTrainImages), filepath.Join(dir, "bad-labels"))
	require.ErrorContains(t, err, "bad-labels: offset 18: label 10 of sample 10 is not a digit")
	// A missing file, and no data_dir.
	require.NoError(t, os.Remove(filepath.Join(dir, MNISTTestImages)))
	_, _, _, err = MNISTSplits(dir)
	require.ErrorContains(t, err, "no "+MNISTTestImages+" (or "+MNISTTestImages+".gz)")
	_, _, _, err = Splits(Config{Data: "mnist"})
	require.ErrorContains(t, err, "data_dir: the mnist data set needs data_dir (or --data-dir)")
	// A gzip name that is not gzip.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.gz"), good, 0o644))
	_, err = ReadIDXFile(filepath.Join(dir, "x.gz"))
	require.ErrorContains(t, err, "x.gz: not a gzip file")
}

// FuzzReadIDX feeds arbitrary bytes to the IDX reader: it may reject them
// but never panic, and what it accepts has data of its dimensions' size
// and re-encodes to the same bytes. The seed corpus is in testdata/fuzz.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(idxBytes([]int{3}, []byte{7, 8, 9}))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ReadIDX(bytes.NewReader(data), "fuzz.idx")
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "fuzz.idx: offset "), err.Error())
			return
		}
		size := 1
		for _, d := range idx.Dims {
			size *= d
		}
		require.Len(t, idx.Data, size)
		require.Equal(t, data, idxBytes(idx.Dims, idx.Data))
	})
}

// TestMNISTConfigTrains trains the shipped mnist config for one epoch on
// generated IDX files of 6x6 images, with the input and hidden layers
// shrunk to fit (a 784-input TTFS layer costs O(batch x 784²) per batch:
// minutes on the pure-Go backend, too slow for a unit test).
func TestMNISTConfigTrains(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, 120, 40, 6, 6, false)
	cfg, err := ShippedConfig("mnist")
	require.NoError(t, err)
	require.Equal(t, 784, cfg.Network.Node("input").Size)
	require.Equal(t, 350, cfg.Network.Node("hidden").Size)
	cfg.DataDir = dir
	cfg.Epochs = 1
	cfg.Network.Node("input").Size = 36
	cfg.Network.Node("hidden").Size = 16
	trainSet, val, test, err := Splits(cfg)
	require.NoError(t, err)
	backend, _, err := graph.NewBackend("")
	require.NoError(t, err)
	trainer, history := fit(t, backend, cfg, trainSet, val)
	require.Len(t, history, 1)
	require.False(t, math.IsNaN(history[0].TrainLoss))
	_, acc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	require.True(t, acc >= 0 && acc <= 1)
}
