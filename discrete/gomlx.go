package discrete

import (
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/layers"

	snngraph "github.com/gosnn/gosnn/graph"
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

// Dense is a dense projection to n outputs over the last axis, with the
// variables of GoMLX's layers.Dense ("dense/weights" [inputs, n] and, with
// a bias, "dense/biases" [n], zero-initialised), weights N(mean, std²)
// when WithInit is set and the context's initializer otherwise. It
// multiplies with graph.MatMulFastGrad rather than calling layers.Dense,
// whose dot gradient is 10-30x slower (see MatMulFastGrad); GoMLX's weight
// regularizers are not applied.
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
	// The same variable for both paths, so they load one checkpoint.
	w := ctx.In("dense").VariableWithShape("weights", weightShape(x, d.n)).ValueGraph(x.Graph())
	if d.sparseK <= 0 {
		return nil, denseProduct(ctx, x, w, d.bias)
	}
	out, overflow := sparseMatMul(x, w, d.sparseK, d.inputGradient)
	return sparseState{overflow: Add(state.(sparseState).overflow, overflow)}, out
}

// denseProduct is x·w over x's last axis, plus the bias variable.
func denseProduct(ctx *context.Context, x, w *Node, bias bool) *Node {
	dims := slices.Clone(x.Shape().Dimensions)
	n := w.Shape().Dim(1)
	out := snngraph.MatMulFastGrad(Reshape(x, -1, dims[len(dims)-1]), w)
	if bias {
		b := ctx.In("dense").WithInitializer(initializers.Zero).
			VariableWithShape("biases", shapes.Make(x.DType(), n)).ValueGraph(x.Graph())
		out = Add(out, InsertAxes(b, 0))
	}
	dims[len(dims)-1] = n
	return Reshape(out, dims...)
}

// Conv2D is a 2D convolution of [batch, height, width, channels] with
// the given output channels, square kernel and stride, no padding, with
// bias (equinox's nn.Conv2d defaults, as in snnax's README network): the
// kernel×kernel patches are gathered and projected as by Dense (variables
// "dense/weights" [kernel·kernel·channels, out] and "dense/biases"). GoMLX's own layers.Convolution is not used because its
// gradient needs Reverse, which the pure-Go backend lacks; on XLA it may be
// used through NewFunc.
func Conv2D(channels, kernel, stride int) *Func {
	return NewFunc("conv", func(ctx *context.Context, x *Node) *Node {
		w := ctx.In("dense").VariableWithShape("weights", shapes.Make(x.DType(), kernel*kernel*x.Shape().Dim(3), channels)).
			ValueGraph(x.Graph())
		return denseProduct(ctx, convPatches(x, kernel, stride), w, true)
	})
}

// convPatches returns the patches [batch, h', w', k·k·c] of x
// [batch, h, w, c] for kernel k and stride s (h' = (h-k)/s + 1), by one
// Gather (its gradient, a scatter-add, exists on every backend).
func convPatches(x *Node, k, stride int) *Node {
	dims := x.Shape().Dimensions
	if x.Rank() != 4 || k < 1 || stride < 1 || dims[1] < k || dims[2] < k {
		panicf("conv2d: need [batch, height, width, channels] of at least the kernel %d (stride %d), got %s", k, stride, x.Shape())
	}
	ho, wo := (dims[1]-k)/stride+1, (dims[2]-k)/stride+1
	idx := make([]int32, 0, ho*wo*k*k*2)
	for r := range ho {
		for c := range wo {
			for i := range k {
				for j := range k {
					idx = append(idx, int32(r*stride+i), int32(c*stride+j))
				}
			}
		}
	}
	indices := Const(x.Graph(), tensors.FromFlatDataAndDimensions(idx, ho, wo, k, k, 2))
	p := Gather(TransposeAllAxes(x, 1, 2, 0, 3), indices) // [h', w', k, k, batch, c]
	p = TransposeAllAxes(p, 4, 0, 1, 2, 3, 5)
	return Reshape(p, dims[0], ho, wo, k*k*dims[3])
}

// MaxPool2D takes the maximum over non-overlapping windows of
// window×window pixels of [batch, height, width, channels] (height and
// width multiples of window). It reshapes and reduces instead of calling
// GoMLX's MaxPool, whose gradient (SelectAndScatterMax) the pure-Go
// backend does not implement.
func MaxPool2D(window int) *Func {
	return NewFunc("max_pool", func(_ *context.Context, x *Node) *Node { return pool2D(x, window, true) })
}

// MeanPool2D averages over non-overlapping windows, as MaxPool2D.
func MeanPool2D(window int) *Func {
	return NewFunc("mean_pool", func(_ *context.Context, x *Node) *Node { return pool2D(x, window, false) })
}

// pool2D is MaxPool2D (max) or MeanPool2D of x [batch, h, w, c].
func pool2D(x *Node, k int, max bool) *Node {
	if max {
		return ReduceMax(poolWindows(x, k), 2, 4)
	}
	return ReduceMean(poolWindows(x, k), 2, 4)
}

// poolWindows reshapes [batch, h, w, c] to [batch, h/k, k, w/k, k, c].
func poolWindows(x *Node, k int) *Node {
	dims := x.Shape().Dimensions
	if x.Rank() != 4 || k < 1 || dims[1]%k != 0 || dims[2]%k != 0 {
		panicf("pooling: need [batch, height, width, channels] with height and width multiples of the window %d, got %s", k, x.Shape())
	}
	return Reshape(x, dims[0], dims[1]/k, k, dims[2]/k, k, dims[3])
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
