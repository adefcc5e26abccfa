package plots_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gosnn/gosnn/train"
	"github.com/gosnn/gosnn/train/plots"
)

// The loss and accuracy curves of a three-epoch history, as PNG and SVG.
func ExampleCurves() {
	dir, err := os.MkdirTemp("", "plots-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	history := []train.EpochMetrics{
		{Epoch: 1, TrainLoss: 1.1, ValLoss: 0.9, TrainAccuracy: 0.45, ValAccuracy: 0.6},
		{Epoch: 2, TrainLoss: 0.7, ValLoss: 0.6, TrainAccuracy: 0.7, ValAccuracy: 0.75},
		{Epoch: 3, TrainLoss: 0.5, ValLoss: 0.5, TrainAccuracy: 0.8, ValAccuracy: 0.82},
	}
	for _, fig := range plots.Curves(history) {
		paths, err := fig.Save(dir)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, p := range paths {
			fmt.Println(filepath.Base(p))
		}
	}
	// Output:
	// loss.png
	// loss.svg
	// accuracy.png
	// accuracy.svg
}
