package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPretrainedReproduceRecordedAccuracy runs "gosnn inference" on every
// results folder shipped under pretrained/ (on the default backend) and
// requires exactly the test accuracy its summary.json recorded at the end
// of training.
func TestPretrainedReproduceRecordedAccuracy(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "pretrained", "*", "summary.json"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs, "no pretrained networks found")
	for _, summary := range dirs {
		dir := filepath.Dir(summary)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			before := listTree(t, dir)
			want := strconv.FormatFloat(summaryNumbers(t, dir)["test_accuracy"].(float64), 'g', -1, 64)
			var stdout bytes.Buffer
			require.NoError(t, run(context.Background(), []string{"inference", dir}, &stdout))
			require.Contains(t, stdout.String(), "\ntest_accuracy "+want+"\n")
			require.Equal(t, before, listTree(t, dir), "inference writes nothing")
			_, err := os.Stat(filepath.Join(dir, "config.yaml"))
			require.NoError(t, err)
		})
	}
}
