package discrete

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
)

// Func is a stateless layer: any GoMLX function of one input, applied
// independently at every time step (its variables are shared over time).
type Func struct {
	kind string
	fn   func(ctx *context.Context, x *Node) *Node
}

// NewFunc wraps fn as a layer of the given kind (used in the scope name).
func NewFunc(kind string, fn func(ctx *context.Context, x *Node) *Node) *Func {
	return &Func{kind: kind, fn: fn}
}

// Kind implements Layer.
func (f *Func) Kind() string { return f.kind }

// Init implements Layer: no state.
func (f *Func) Init(*context.Context, *Node) State { return nil }

// Step implements Layer.
func (f *Func) Step(ctx *context.Context, _ State, x *Node) (State, *Node) { return nil, f.fn(ctx, x) }

// Dense is GoMLX's layers.Dense with n outputs (variables "dense/weights"
// [inputs, n] and, with a bias, "dense/biases"), weights N(mean, std²)
// when WithInit is set and GoMLX's default initializer otherwise.
type Dense struct {
	n             int
	bias, init    bool
	mean, std     float64
	sparseK       int
	inputGradient bool
}

// NewDense returns a dense projection to n outputs, without bias (like
// jaxsnn's Linear).
func NewDense(n int) *Dense { return &Dense{n: n, inputGradient: true} }

// WithBias adds a learned bias.
func (d *Dense) WithBias() *Dense { d.bias = true; return d }

// WithInit draws the initial weights from N(mean, std²) (jaxsnn's Linear
// init; its Yin-Yang example uses 0 and 0.7 or 0.2).
func (d *Dense) WithInit(mean, std float64) *Dense { d.init, d.mean, d.std = true, mean, std; return d }

// WithSparse propagates the input, which must be spikes [batch, inputs],
// through SparseMatMul with capacity k active spikes per sample and step
// (not with a bias). The weights are the same variable as the dense path's.
// Spikes beyond k are dropped from the product and counted in the layer's
// state (Result.Overflow).
func (d *Dense) WithSparse(k int) *Dense { d.sparseK = k; return d }

// WithoutInputGradient skips the dense input gradient of the sparse path:
// for a first layer, whose spikes are data.
func (d *Dense) WithoutInputGradient() *Dense { d.inputGradient = false; return d }

// Kind implements Layer.
func (d *Dense) Kind() string {
	if d.sparseK > 0 {
		return "sparse_dense"
	}
	return "dense"
}

// Init implements Layer: the sparse path counts overflowed spikes per
// sample in its state ([batch], int32); the dense path has none.
func (d *Dense) Init(_ *context.Context, x *Node) State {
	if d.sparseK <= 0 {
		return nil
	}
	if d.bias {
		panicf("sparse dense layer: a bias is not supported")
	}
	if x.Rank() != 2 {
		panicf("sparse dense layer: input must be spikes [batch, inputs], got %s", x.Shape())
	}
	return sparseState{overflow: Zeros(x.Graph(), overflowShape(x))}
}

// sparseState is the running count of overflowed spikes per sample.
type sparseState struct{ overflow *Node }

// Step implements Layer.
func (d *Dense) Step(ctx *context.Context, state State, x *Node) (State, *Node) {
	if d.init {
		ctx = ctx.WithInitializer(normalInit(ctx, d.mean, d.std))
	}
	if d.sparseK <= 0 {
		return nil, layers.Dense(ctx, x, d.bias, d.n)
	}
	// The same variable as layers.Dense's, so both paths load one checkpoint.
	w := ctx.In("dense").VariableWithShape("weights", weightShape(x, d.n)).ValueGraph(x.Graph())
	out, overflow := sparseMatMul(x, w, d.sparseK, d.inputGradient)
	return sparseState{overflow: Add(state.(sparseState).overflow, overflow)}, out
}

// Conv2D is GoMLX's convolution over [batch, height, width, channels] with
// the given output channels, square kernel and stride, no padding, with
// bias (equinox's nn.Conv2d defaults, as in snnax's README network).
func Conv2D(channels, kernel, stride int) *Func {
	return NewFunc("conv", func(ctx *context.Context, x *Node) *Node {
		return layers.Convolution(ctx, x).Channels(channels).KernelSize(kernel).Strides(stride).Done()
	})
}

// MaxPool2D takes the maximum over windows of window×window pixels, with
// stride window, of [batch, height, width, channels].
func MaxPool2D(window int) *Func {
	return NewFunc("max_pool", func(_ *context.Context, x *Node) *Node {
		return MaxPool(x).Window(window).Strides(window).Done()
	})
}

// MeanPool2D averages over windows of window×window pixels, stride window.
func MeanPool2D(window int) *Func {
	return NewFunc("mean_pool", func(_ *context.Context, x *Node) *Node {
		return MeanPool(x).Window(window).Strides(window).Done()
	})
}

// Flatten reshapes [batch, ...] to [batch, features] (snnax's flatten).
func Flatten() *Func {
	return NewFunc("flatten", func(_ *context.Context, x *Node) *Node {
		return Reshape(x, x.Shape().Dim(0), -1)
	})
}

// Dropout zeroes inputs with probability rate while training (a new mask
// at every step), GoMLX's layers.DropoutStatic.
func Dropout(rate float64) *Func {
	return NewFunc("dropout", func(ctx *context.Context, x *Node) *Node { return layers.DropoutStatic(ctx, x, rate) })
}

// LayerNorm is GoMLX's layer normalisation over the last axis, with learned
// gain and offset.
func LayerNorm() *Func {
	return NewFunc("layer_norm", func(ctx *context.Context, x *Node) *Node {
		return layers.LayerNormalization(ctx, x, -1).Done()
	})
}
