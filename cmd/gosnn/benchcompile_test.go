package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/train"
)

func TestBenchCompileBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown config", []string{"--configs", "yin_yang,nope"}, `--configs: "nope" is neither a config file nor a task`},
		{"no configs", []string{"--configs", ","}, "--configs is empty"},
		{"zero repeats", []string{"--repeats", "0"}, "--repeats must be >= 1, got 0"},
		{"training flag", []string{"--epochs", "2"}, "flag provided but not defined: -epochs"},
		{"positional argument", []string{"yin_yang"}, `unexpected argument "yin_yang"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench", "--compile", "--out", out}, tc.args...)
			var stdout bytes.Buffer
			err := run(context.Background(), args, &stdout)
			require.ErrorContains(t, err, tc.want)
			var u usageError
			require.True(t, errors.As(err, &u), "usage error (exit 2)?")
			_, statErr := os.Stat(out)
			require.True(t, os.IsNotExist(statErr), "nothing may be written for bad input")
			require.Empty(t, stdout.String())
		})
	}
}

func TestBenchCompileWritesRows(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"bench", "--compile", "--configs", "yin_yang_H5_WS",
		"--backends", "go", "--repeats", "1", "--out", out}, &stdout))
	files, err := filepath.Glob(filepath.Join(out, "bench_*", "compile.json"))
	require.NoError(t, err)
	require.Len(t, files, 1, stdout.String())
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var doc compileFile
	require.NoError(t, json.Unmarshal(data, &doc))
	require.Equal(t, "finished", doc.Status)
	require.Len(t, doc.Rows, 1)
	r := doc.Rows[0]
	require.Equal(t, "yin_yang_H5_WS", r.Config)
	require.Empty(t, r.Error)
	require.Greater(t, r.TrainStepSeconds, 0.0)
	cfg, err := loadConfig("yin_yang_H5_WS", "")
	require.NoError(t, err)
	trainSet, _, _, err := train.Splits(cfg)
	require.NoError(t, err)
	require.Equal(t, (trainSet.Size()+cfg.BatchSize-1)/cfg.BatchSize, r.TrainBatches)
	require.Contains(t, stdout.String(), "yin_yang_H5_WS")
}
