package train

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/stretchr/testify/require"

	snngraph "github.com/gosnn/gosnn/graph"
)

// recordingOptimizer hands the gradients it receives out of the graph.
type recordingOptimizer struct {
	optimizers.Interface
	got *Node
}

func (r *recordingOptimizer) UpdateGraphWithGradients(_ *mlctx.Context, grads []*Node, _ dtypes.DType) {
	r.got = grads[0]
}

// TestGradScaleAndClip: the optimizer sees optax.chain(scale(s), clip(c))
// of the gradient: each component multiplied by s, then clipped to [-c, c].
func TestGradScaleAndClip(t *testing.T) {
	backend, _, err := snngraph.NewBackend("")
	require.NoError(t, err)
	slopes := []float64{1e-5, -3e-5, 2e-4, -1e-3, 0}
	for _, tc := range []struct {
		scale, clip float64
	}{{200, 0.01}, {0, 0.01}, {200, 0}, {1.0 / 6e-6, 0.01}} {
		ctx := mlctx.New()
		rec := &recordingOptimizer{Interface: optimizers.Adam().Done()}
		opt := &transformedGradients{Interface: rec, scale: tc.scale, clip: tc.clip}
		exec, err := mlctx.NewExec(backend, ctx, func(ctx *mlctx.Context, a *Node) *Node {
			w := ctx.WithInitializer(func(g *Graph, s shapes.Shape) *Node { return Zeros(g, s) }).VariableWithShape("w", a.Shape()).ValueGraph(a.Graph())
			opt.UpdateGraph(ctx, a.Graph(), ReduceAllSum(Mul(a, w))) // gradient = a
			return rec.got
		})
		require.NoError(t, err)
		out, err := exec.Exec(tensors.FromValue(slopes))
		require.NoError(t, err)
		got := tensors.MustCopyFlatData[float64](out[0])
		for i, g := range slopes {
			want := g
			if tc.scale != 0 {
				want *= tc.scale
			}
			if tc.clip != 0 {
				want = min(max(want, -tc.clip), tc.clip)
			}
			require.InDelta(t, want, got[i], 1e-12, "scale %g clip %g component %d", tc.scale, tc.clip, i)
		}
	}
	require.IsType(t, optimizers.Adam().Done(), newOptimizer(Config{LearningRate: 1e-3}), "no transformation without grad_scale and grad_clip")
	require.IsType(t, &transformedGradients{}, newOptimizer(Config{LearningRate: 1e-3, GradClip: 0.01}))
}
