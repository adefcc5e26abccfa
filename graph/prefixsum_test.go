package graph

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

func TestPrefixSum(t *testing.T) {
	backend, _, err := NewBackend("")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 5, 16, 33} {
		const rows = 3
		x := make([]int32, rows*n)
		for i := range x {
			x[i] = int32(rng.IntN(7)) - 3
		}
		exec, err := NewExec(backend, func(x *Node) *Node { return PrefixSum(x, -1) })
		require.NoError(t, err)
		got := tensors.MustCopyFlatData[int32](exec.MustExec(tensors.FromFlatDataAndDimensions(x, rows, n))[0])
		for r := range rows {
			sum := int32(0)
			for k := range n {
				sum += x[r*n+k]
				require.Equal(t, sum, got[r*n+k], "n=%d row %d column %d", n, r, k)
			}
		}
	}
}
