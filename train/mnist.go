package train

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// IDX is the content of one IDX file (LeCun's format of the MNIST files):
// unsigned bytes with their dimensions, row-major.
type IDX struct {
	Dims []int
	Data []byte
}

// idxUnsignedByte is the IDX type code of unsigned bytes, the only type
// the MNIST files use.
const idxUnsignedByte = 0x08

// idxMaxDims bounds the number of dimensions an IDX header may declare
// (MNIST uses 1 and 3).
const idxMaxDims = 8

// ReadIDX reads an IDX file from r: a 4-byte magic number (0, 0, the type
// code, the number of dimensions), one big-endian uint32 per dimension, then
// the data. Only unsigned bytes (type 0x08) are read. name is the file's
// name in errors, which give the byte offset at fault: a wrong magic number,
// a header or data shorter than the header promises, bytes after the data.
// The data is read as it comes, so that a header promising more than the
// file holds never allocates what it promises.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	var magic [4]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("%s: offset %d: short read: an IDX file starts with a 4-byte magic number, the file ends after %d bytes", name, n, n)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: offset 0: wrong magic number %#08x: not an IDX file (MNIST's start with 0x00000801 or 0x00000803)", name, binary.BigEndian.Uint32(magic[:]))
	}
	if magic[2] != idxUnsignedByte {
		return nil, fmt.Errorf("%s: offset 2: IDX type code %#02x is not supported (only unsigned bytes, 0x08)", name, magic[2])
	}
	ndims := int(magic[3])
	if ndims < 1 || ndims > idxMaxDims {
		return nil, fmt.Errorf("%s: offset 3: %d dimensions: want 1 to %d", name, ndims, idxMaxDims)
	}
	header := make([]byte, 4*ndims)
	if n, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%s: offset %d: short read: the header declares %d dimensions (%d bytes), the file ends at offset %d", name, 4+n, ndims, 4*ndims, 4+n)
	}
	dims := make([]int, ndims)
	size := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(header[4*i:])
		if d == 0 || d > 1<<31-1 {
			return nil, fmt.Errorf("%s: offset %d: dimension %d is %d: want 1 to 2^31-1", name, 4+4*i, i, d)
		}
		dims[i] = int(d)
		// Checked before multiplying: the product of a few 2^31 dimensions
		// overflows int64 (found by FuzzReadIDX).
		if size > (1<<40)/int64(d) {
			return nil, fmt.Errorf("%s: offset %d: the dimensions %v describe more than 2^40 bytes", name, 4+4*i, dims[:i+1])
		}
		size *= int64(d)
	}
	start := int64(4 + 4*ndims)
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, fmt.Errorf("%s: offset %d: %w", name, start+int64(len(data)), err)
	}
	if int64(len(data)) < size {
		return nil, fmt.Errorf("%s: offset %d: short read: dimensions %v need %d bytes of data from offset %d, the file ends at offset %d",
			name, start+int64(len(data)), dims, size, start, start+int64(len(data)))
	}
	var one [1]byte
	if n, _ := r.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%s: offset %d: bytes after the %d bytes of data that dimensions %v describe", name, start+size, size, dims)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// ReadIDXFile reads an IDX file (gzip-compressed when its name ends in
// .gz, as the files are published).
func ReadIDXFile(path string) (*IDX, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	var r io.Reader = bytes.NewReader(raw)
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
		}
		defer func() { _ = z.Close() }()
		r = z
	}
	return ReadIDX(r, path)
}

// MNIST file names as published (each may also end in .gz).
const (
	MNISTTrainImages = "train-images-idx3-ubyte"
	MNISTTrainLabels = "train-labels-idx1-ubyte"
	MNISTTestImages  = "t10k-images-idx3-ubyte"
	MNISTTestLabels  = "t10k-labels-idx1-ubyte"
)

// NewMNIST reads a pair of MNIST image and label IDX files into a data set
// whose features are fastAndDeep's (src/datasets.py FullMnist, invert=True):
// pixel p becomes 1 - p/256, so that ink (large p) comes out small and,
// through the network's latency encoding early + v (late - early), spikes
// early. Images are [n, rows, cols], labels [n] with values 0..9.
func NewMNIST(imagesPath, labelsPath string) (*Dataset, error) {
	images, err := ReadIDXFile(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXFile(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%s: images have %d dimensions %v, want 3 (count, rows, columns)", imagesPath, len(images.Dims), images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%s: labels have %d dimensions %v, want 1 (count)", labelsPath, len(labels.Dims), labels.Dims)
	}
	n := images.Dims[0]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("mnist: %s holds %d images but %s holds %d labels", imagesPath, n, labelsPath, labels.Dims[0])
	}
	nf := images.Dims[1] * images.Dims[2]
	d := &Dataset{Name: "mnist", Features: make([]float32, n*nf), Labels: make([]int32, n), NumFeatures: nf, NumClasses: 10}
	for c := range 10 {
		d.ClassNames = append(d.ClassNames, strconv.Itoa(c))
	}
	for i, l := range labels.Data {
		if l > 9 {
			return nil, fmt.Errorf("%s: offset %d: label %d of sample %d is not a digit 0..9", labelsPath, 8+i, l, i)
		}
		d.Labels[i] = int32(l)
	}
	for i, p := range images.Data {
		d.Features[i] = float32(1 - float64(p)/256)
	}
	return d, nil
}

// Subset returns the samples [from, to) of d as a data set of its own
// (sharing d's memory).
func (d *Dataset) Subset(name string, from, to int) *Dataset {
	return &Dataset{Name: name, Features: d.Features[from*d.NumFeatures : to*d.NumFeatures], Labels: d.Labels[from:to],
		NumFeatures: d.NumFeatures, NumClasses: d.NumClasses, ClassNames: d.ClassNames}
}

// findIDX finds an MNIST file in dir, plain or gzip-compressed.
func findIDX(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("mnist: %w", err)
		}
	}
	return "", fmt.Errorf("data_dir %s: no %s (or %s.gz): point data_dir (--data-dir) at the folder of the four MNIST IDX files", dir, name, name)
}

// MNISTSplits reads the MNIST files of dir and splits them like
// fastAndDeep (src/datasets.py FullMnist): the training set is the
// training file less its last sixth (50000 of 60000 samples), validation
// that last sixth (samples 50000..59999), test the t10k files. dir is the
// config's data_dir; gosnn downloads nothing.
func MNISTSplits(dir string) (trainSet, val, test *Dataset, err error) {
	if dir == "" {
		return nil, nil, nil, errors.New("data_dir: the mnist data set needs data_dir (or --data-dir): the folder holding " +
			strings.Join([]string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels}, ", "))
	}
	var paths [4]string
	for i, name := range []string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels} {
		if paths[i], err = findIDX(dir, name); err != nil {
			return nil, nil, nil, err
		}
	}
	all, err := NewMNIST(paths[0], paths[1])
	if err != nil {
		return nil, nil, nil, err
	}
	nVal := all.Size() / 6
	if nVal < 1 {
		return nil, nil, nil, fmt.Errorf("%s: %d training images: too few to split off a validation sixth", paths[0], all.Size())
	}
	test, err = NewMNIST(paths[2], paths[3])
	if err != nil {
		return nil, nil, nil, err
	}
	cut := all.Size() - nVal
	return all.Subset("mnist-train", 0, cut), all.Subset("mnist-val", cut, all.Size()), test, nil
}
