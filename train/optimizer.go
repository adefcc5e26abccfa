package train

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// newOptimizer returns the config's optimizer: GoMLX's Adam at the config's
// learning rate, behind the gradient transformation of GradScale and
// GradClip when either is set.
func newOptimizer(cfg Config) optimizers.Interface {
	config := optimizers.Adam().LearningRate(cfg.LearningRate)
	if cfg.AdamEpsilon != 0 {
		config = config.Epsilon(cfg.AdamEpsilon)
	}
	adam := config.Done()
	if cfg.GradScale == 0 && cfg.GradClip == 0 {
		return adam
	}
	return &transformedGradients{Interface: adam, scale: cfg.GradScale, clip: cfg.GradClip}
}

// gradientsOptimizer is an optimizer that takes precomputed gradients
// (GoMLX's Adam does, through this method outside optimizers.Interface).
type gradientsOptimizer interface {
	UpdateGraphWithGradients(ctx *mlctx.Context, grads []*Node, lossDType dtypes.DType)
}

// transformedGradients is optax.chain(scale(s), clip(c), inner): the
// gradient of every trainable variable is multiplied by scale (0: 1),
// clipped element-wise to [-clip, clip] (0: not clipped) and handed to the
// inner optimizer. jaxsnn's Yin-Yang examples chain scale(1/tau_syn) and
// clip(0.01) before Adam; since Adam divides by the gradient's running RMS,
// the pair acts as an element-wise clip of the raw gradient at
// clip/scale.
type transformedGradients struct {
	optimizers.Interface
	scale, clip float64
}

// UpdateGraph implements optimizers.Interface.
func (o *transformedGradients) UpdateGraph(ctx *mlctx.Context, g *Graph, loss *Node) {
	inner, ok := o.Interface.(gradientsOptimizer)
	if !ok {
		panic(fmt.Errorf("optimizer %T takes no precomputed gradients: grad_scale and grad_clip need one that does (adam)", o.Interface))
	}
	grads := ctx.BuildTrainableVariablesGradientsGraph(loss)
	for i, grad := range grads {
		if o.scale != 0 {
			grad = MulScalar(grad, o.scale)
		}
		if o.clip != 0 {
			grad = ClipScalar(grad, -o.clip, o.clip)
		}
		grads[i] = grad
	}
	inner.UpdateGraphWithGradients(ctx, grads, loss.DType())
}
