package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/graph"
)

// TestVerboseFlag: --verbose is taken out of the arguments anywhere before
// "--" and switches graph's verbose logging on.
func TestVerboseFlag(t *testing.T) {
	defer graph.SetVerbose(false)
	require.Equal(t, []string{"train", "yinyang", "--epochs", "2"}, globalFlags([]string{"train", "--verbose", "yinyang", "--epochs", "2"}))
	require.True(t, graph.Verbose())
	graph.SetVerbose(false)
	require.Equal(t, []string{"bench", "--", "--verbose"}, globalFlags([]string{"bench", "--", "--verbose"}))
	require.False(t, graph.Verbose())

	var out strings.Builder
	require.NoError(t, run(context.Background(), []string{"--verbose", "backends"}, &out))
	require.Contains(t, out.String(), "go")
	require.True(t, graph.Verbose())
}
