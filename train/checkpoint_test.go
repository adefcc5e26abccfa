package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// trainedCheckpoint trains a small TTFS network for one epoch on backend
// and saves its checkpoint into a new results folder.
func trainedCheckpoint(t *testing.T, backend string, hidden int) (dir string, trainer *Trainer, test *Dataset) {
	b, _, err := graph.NewBackend(backend)
	require.NoError(t, err)
	cfg := shipped(t, "yin_yang", hidden)
	cfg.BatchSize, cfg.Epochs = 50, 1
	d := smallYinYang(t, 200, 3)
	test = smallYinYang(t, 200, 4)
	trainer, history := fit(t, b, cfg, d, test)
	dir = t.TempDir()
	require.NoError(t, SaveCheckpoint(trainer, dir, 1, history, backend, nil))
	return dir, trainer, test
}

// binFile is the checkpoint's data file.
func binFile(t *testing.T, dir string) string {
	files, err := filepath.Glob(filepath.Join(dir, "checkpoint-*.bin"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	return files[0]
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir, trainer, test := trainedCheckpoint(t, "go", 6)
	_, wantAcc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	ckpt, err := ReadCheckpoint(CheckpointDir(dir, 1))
	require.NoError(t, err)
	require.Equal(t, 1, ckpt.Manifest.Epoch)
	require.Len(t, ckpt.Manifest.History, 1)
	b, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	fresh, err := NewTrainer(b, trainer.cfg, test.NumFeatures, test.NumClasses)
	require.NoError(t, err)
	require.NoError(t, fresh.Restore(ckpt))
	_, acc, err := fresh.Evaluate(test)
	require.NoError(t, err)
	require.Equal(t, wantAcc, acc)
	for _, e := range mustEntries(t, CheckpointDir(dir, 1)) {
		info, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o644), info.Mode().Perm(), e.Name())
	}
}

func mustEntries(t *testing.T, dir string) []os.DirEntry {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	return entries
}

// TestCheckpointDamageIsNamed breaks a saved checkpoint in each way and
// requires one error line naming the folder, the file and the damage.
func TestCheckpointDamageIsNamed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"truncated", func(t *testing.T, dir string) {
			f := binFile(t, dir)
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f, data[:len(data)/2], 0o644))
		}, "is truncated or extended"},
		{"corrupted", func(t *testing.T, dir string) {
			f := binFile(t, dir)
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			data[len(data)/2] ^= 0x40
			require.NoError(t, os.WriteFile(f, data, 0o644))
		}, "is corrupted: its SHA-256 differs from the manifest's"},
		{"missing file", func(t *testing.T, dir string) { require.NoError(t, os.Remove(binFile(t, dir))) }, "is missing"},
		{"garbled manifest", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, manifestName), []byte("{\"epoch\": 1, "), 0o644))
		}, "manifest.json is corrupted"},
		{"no manifest", func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, manifestName))) },
			"no readable manifest.json (not a complete checkpoint)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, _ := trainedCheckpoint(t, "go", 4)
			ck := CheckpointDir(dir, 1)
			tc.damage(t, ck)
			_, err := ReadCheckpoint(ck)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, ck)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// TestCheckpointWrongShape loads a checkpoint of 4 hidden neurons into a
// network of 5: the error names the variable and both shapes, and nothing
// is loaded.
func TestCheckpointWrongShape(t *testing.T) {
	dir, trainer, test := trainedCheckpoint(t, "go", 4)
	ckpt, err := ReadCheckpoint(CheckpointDir(dir, 1))
	require.NoError(t, err)
	b, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	cfg := trainer.cfg.Clone()
	cfg.Network.Node("hidden").Size = 5
	other, err := NewTrainer(b, cfg, test.NumFeatures, test.NumClasses)
	require.NoError(t, err)
	err = other.Restore(ckpt)
	require.Error(t, err)
	require.ErrorContains(t, err, "variable /to_hidden/weights has shape (Float32)[5 4], the network needs (Float32)[5 5]")
	require.False(t, strings.Contains(err.Error(), "\n"))
}

// TestCheckpointAcrossBackends saves on xla:cpu and loads on the pure-Go
// backend: the same test accuracy.
func TestCheckpointAcrossBackends(t *testing.T) {
	if !graph.HasCPUPlugin() {
		t.Skip("the XLA CPU plugin is not installed")
	}
	dir, trainer, test := trainedCheckpoint(t, "xla:cpu", 8)
	_, xlaAcc, err := trainer.Evaluate(test)
	require.NoError(t, err)
	ckpt, err := ReadCheckpoint(CheckpointDir(dir, 1))
	require.NoError(t, err)
	b, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	onGo, err := NewTrainer(b, trainer.cfg, test.NumFeatures, test.NumClasses)
	require.NoError(t, err)
	require.NoError(t, onGo.Restore(ckpt))
	_, goAcc, err := onGo.Evaluate(test)
	require.NoError(t, err)
	require.Equal(t, xlaAcc, goAcc)
}

// TestBestValCheckpoint: a run writes the weights of its best validation
// epoch as checkpoints/best-val; they give the test accuracy summary.json
// records for that epoch, and a run continued after that epoch compares
// its later epochs with them, as the uninterrupted run does.
func TestBestValCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a short run")
	}
	b, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	cfg := shipped(t, "yin_yang", 6)
	cfg.BatchSize, cfg.Epochs, cfg.TrainSize, cfg.ValSize, cfg.TestSize, cfg.SavePoints = 100, 3, 300, 200, 200, nil
	dir := t.TempDir()
	summary, err := (&Run{Dir: dir, Config: cfg, Backend: b, BackendName: "go"}).Execute(context.Background())
	require.NoError(t, err)
	best, err := ReadCheckpoint(BestValDir(dir))
	require.NoError(t, err)
	require.Equal(t, summary.BestValEpoch, best.Manifest.Epoch)
	require.Len(t, best.Manifest.History, best.Manifest.Epoch)
	epochs, err := ListCheckpoints(dir)
	require.NoError(t, err)
	require.Equal(t, []int{3}, epochs, "the best-validation checkpoint is not an epoch checkpoint")

	_, _, testSet, err := Splits(cfg)
	require.NoError(t, err)
	trainer, err := NewTrainer(b, cfg, testSet.NumFeatures, testSet.NumClasses)
	require.NoError(t, err)
	require.NoError(t, trainer.Restore(best))
	_, acc, err := trainer.Evaluate(testSet)
	require.NoError(t, err)
	require.Equal(t, summary.BestValTestAccuracy, acc)

	for _, tc := range []struct {
		start     int
		wantEpoch int
		wantAcc   float64
	}{
		{3, summary.BestValEpoch, summary.BestValAccuracy}, // resumed after the best epoch
		{summary.BestValEpoch - 1, 0, 0},                   // resumed before it: a new course
	} {
		resumed, err := NewTrainer(b, cfg, testSet.NumFeatures, testSet.NumClasses)
		require.NoError(t, err)
		require.NoError(t, restoreBest(resumed, dir, tc.start))
		epoch, acc := resumed.BestValidation()
		require.Equal(t, tc.wantEpoch, epoch, "start %d", tc.start)
		require.Equal(t, tc.wantAcc, acc, "start %d", tc.start)
	}
}
