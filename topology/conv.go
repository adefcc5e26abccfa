package topology

import (
	"fmt"
	"strconv"
	"strings"
)

// Frame inputs and conv2d projections (discrete family): snnax's README
// network Conv2d -> LIF -> flatten -> Linear -> LIF reads
//
//	- {name: input, kind: input, size: 2312, shape: [2, 34, 34]}
//	- {name: conv, kind: conv2d, channels: 32, kernel: 7, stride: 2, init: {mean: 0, std: 0.1}}
//	- {name: hidden, kind: discrete_lif, size: 6272, euler: {...}}   # [32, 14, 14]
//	- {name: fc, kind: linear, init: {mean: 0, std: 0.01}}
//	- {name: out, kind: discrete_li, size: 10, euler: {...}}
//
// with edges [input, conv], [conv, hidden], [hidden, fc], [fc, out].
//
// Every node has a shape: an input's Shape (or [Size]), a bias node's
// [len(Times)], a population's [Size], except that a population fed by a
// conv2d has the convolution's output shape [channels, height', width'],
// height' = (height + 2 padding - kernel) / stride + 1 (rounded down), and
// Size must be its product. A linear projection flattens its sources (the
// flatten layer is implicit). Shapes are written [channels, height, width]
// (snnax's, PyTorch's order) but the values are stored channels-last:
// neuron (or feature) (y, x, c) is number (y width + x) channels + c, the
// layout of train.BinEvents' frames and of discrete.Conv2D.

// validateInputShape checks a frame input's shape and size.
func (n *Network) validateInputShape(p string, node Node, at func(path, format string, args ...any)) {
	if node.Encoding != nil {
		at(p+".encoding", "an input with a shape takes frames of spikes, not features to encode; give shape or encoding, not both")
	}
	if len(node.Shape) != 3 {
		at(p+".shape", "is [channels, height, width], got %d values %v", len(node.Shape), node.Shape)
		return
	}
	prod := 1
	for i, d := range node.Shape {
		if d < 1 {
			at(fmt.Sprintf("%s.shape[%d]", p, i), "must be >= 1, got %d", d)
			return
		}
		prod *= d
	}
	if node.Size != prod {
		at(p+".size", "must be the product of shape %s, %d, got %d", fmtShape(node.Shape), prod, node.Size)
	}
}

// validateConv checks a conv2d node's own fields.
func validateConv(p string, node Node, at func(path, format string, args ...any)) {
	if node.Channels < 1 {
		at(p+".channels", "a conv2d needs its output channels >= 1, got %d", node.Channels)
	}
	if node.Kernel < 1 {
		at(p+".kernel", "a conv2d needs its kernel side >= 1, got %d", node.Kernel)
	}
	if node.Stride < 0 {
		at(p+".stride", "must be >= 1 (0: 1), got %d", node.Stride)
	}
	if node.Padding < 0 {
		at(p+".padding", "must be >= 0, got %d", node.Padding)
	}
}

// Pool kinds.
const (
	PoolMax = "max"
	PoolAvg = "avg"
)

// Pool is a projection's pooling of its source's frames: each channel's
// non-overlapping Size x Size windows become their maximum (max) or mean
// (avg), so frames [c, h, w] become [c, h/Size, w/Size]. h and w must be
// multiples of Size: the whole frame is pooled.
type Pool struct {
	Kind string `json:"kind" yaml:"kind"`
	Size int    `json:"size" yaml:"size"`
}

// validatePool checks a pool's own fields.
func validatePool(p string, pool *Pool, at func(path, format string, args ...any)) {
	if pool.Kind != PoolMax && pool.Kind != PoolAvg {
		at(p+".pool.kind", "must be %q or %q, got %q", PoolMax, PoolAvg, pool.Kind)
	}
	if pool.Size < 1 {
		at(p+".pool.size", "must be >= 1 (the side of the pooled windows), got %d", pool.Size)
	}
}

// PoolOf returns the frames [channels, height, width] that the projection
// of that name in a valid network pools, and what they pool to; nil, nil
// when it does not pool.
func (n *Network) PoolOf(name string) (in, out []int) {
	node := n.Node(name)
	if node.Pool == nil {
		return nil, nil
	}
	shapes, _ := n.shapes()
	in = shapes[n.Sources(name)[0]]
	return in, pooled(in, node.Pool)
}

// pooled is the shape of frames in after pool.
func pooled(in []int, pool *Pool) []int {
	return []int{in[0], in[1] / pool.Size, in[2] / pool.Size}
}

// ConvStride is a conv2d node's stride (0 means 1).
func (node *Node) ConvStride() int { return max(node.Stride, 1) }

// Conv is the geometry of one conv2d projection: its source's shape In and
// its output shape Out, both [channels, height, width].
type Conv struct {
	In, Out []int
}

// ConvOf returns the geometry of the conv2d node of that name in a valid
// network; In is after the node's pooling.
func (n *Network) ConvOf(name string) Conv {
	shapes, _ := n.shapes()
	node := n.Node(name)
	in := shapes[n.Sources(name)[0]]
	if node.Pool != nil {
		in = pooled(in, node.Pool)
	}
	return Conv{In: in, Out: convOut(in, node)}
}

// InputFeatures is the number of features of one sample the input node
// takes: its size, or steps frames of its size for a frame input.
func (n *Network) InputFeatures() int {
	for _, node := range n.Nodes {
		if node.Kind == KindInput {
			if node.Shape != nil {
				return n.Steps * node.Size
			}
			return node.Size
		}
	}
	return 0
}

// convOut is the output shape of a conv2d on in ([channels, height,
// width]), nil when the kernel does not fit.
func convOut(in []int, node *Node) []int {
	k, s, pad := node.Kernel, node.ConvStride(), node.Padding
	if len(in) != 3 || in[1]+2*pad < k || in[2]+2*pad < k {
		return nil
	}
	return []int{node.Channels, (in[1]+2*pad-k)/s + 1, (in[2]+2*pad-k)/s + 1}
}

// shapes infers every node's shape (projections: their output's) and
// reports the first conflict as a FieldError path and message.
func (n *Network) shapes() (map[string][]int, *FieldError) {
	index := map[string]int{}
	for i, node := range n.Nodes {
		index[node.Name] = i
	}
	out := map[string][]int{}
	visiting := map[string]bool{}
	var shapeOf func(name string) ([]int, *FieldError)
	shapeOf = func(name string) ([]int, *FieldError) {
		if s, ok := out[name]; ok {
			return s, nil
		}
		node := n.Node(name)
		p := fmt.Sprintf("nodes[%d] (%s)", index[name], name)
		// poolSource is the frames a pooling projection sees: its source's,
		// pooled.
		poolSource := func() ([]int, *FieldError) {
			srcs := n.Sources(name)
			if len(srcs) != 1 {
				return nil, &FieldError{Path: p + ".pool", Msg: fmt.Sprintf("projection %q pools the frames of one source, it has %d", name, len(srcs))}
			}
			if visiting[name] {
				return nil, &FieldError{Path: p + ".pool", Msg: fmt.Sprintf("projection %q is part of a recurrent loop; a pooling projection is feed-forward", name)}
			}
			visiting[name] = true
			in, err := shapeOf(srcs[0])
			if err != nil {
				return nil, err
			}
			if len(in) != 3 {
				return nil, &FieldError{Path: p + ".pool", Msg: fmt.Sprintf("projection %q pools frames [channels, height, width]; its source %q has shape %s (a population has a frame shape only when a conv2d feeds it; an input gets one from its shape key)", name, srcs[0], fmtShape(in))}
			}
			if k := node.Pool.Size; k < 1 || in[1]%k != 0 || in[2]%k != 0 {
				return nil, &FieldError{Path: p + ".pool.size", Msg: fmt.Sprintf("projection %q: pool size %d does not divide the %d x %d frames of %q, shape %s", name, k, in[1], in[2], srcs[0], fmtShape(in))}
			}
			return pooled(in, node.Pool), nil
		}
		var s []int
		switch {
		case node.Pool != nil && node.Kind == KindLinear:
			if _, err := poolSource(); err != nil {
				return nil, err
			}
			s = []int{node.Size}
		case node.Kind == KindInput && node.Shape != nil:
			s = node.Shape
		case node.Kind == KindBias:
			s = []int{len(node.Times)}
		case node.Kind == KindConv2D:
			if visiting[name] {
				return nil, &FieldError{Path: p, Msg: fmt.Sprintf("conv2d %q is part of a recurrent loop; convolutions are feed-forward", name)}
			}
			src := n.Sources(name)[0]
			var in []int
			var err *FieldError
			if node.Pool != nil {
				in, err = poolSource()
			} else {
				visiting[name] = true
				in, err = shapeOf(src)
			}
			if err != nil {
				return nil, err
			}
			if len(in) != 3 {
				return nil, &FieldError{Path: p, Msg: fmt.Sprintf("conv2d %q needs a source of shape [channels, height, width]; %q has shape %s (a population has a frame shape only when a conv2d feeds it; an input gets one from its shape key)", name, src, fmtShape(in))}
			}
			if s = convOut(in, node); s == nil {
				return nil, &FieldError{Path: p + ".kernel", Msg: fmt.Sprintf("conv2d %q: kernel %d (padding %d) is larger than the %d x %d frames of %q, shape %s", name, node.Kernel, node.Padding, in[1], in[2], src, fmtShape(in))}
			}
		case IsPopulation(node.Kind):
			s = []int{node.Size}
			for _, proj := range n.Sources(name) {
				if n.Node(proj).Kind != KindConv2D {
					continue
				}
				if len(n.Sources(name)) > 1 {
					return nil, &FieldError{Path: p, Msg: fmt.Sprintf("population %q receives conv2d %q and %d more projections; a population fed by a conv2d receives only that one", name, proj, len(n.Sources(name))-1)}
				}
				cs, err := shapeOf(proj)
				if err != nil {
					return nil, err
				}
				src := n.Sources(proj)[0]
				if prod := cs[0] * cs[1] * cs[2]; prod != node.Size {
					return nil, &FieldError{Path: p + ".size", Msg: fmt.Sprintf("conv2d %q turns %q of shape %s into shape %s, %d neurons, but population %q has size %d",
						proj, src, fmtShape(out[src]), fmtShape(cs), prod, name, node.Size)}
				}
				s = cs
			}
		default: // a plain input, a linear projection: flat
			s = []int{node.Size}
		}
		out[name] = s
		return s, nil
	}
	for _, node := range n.Nodes {
		if _, err := shapeOf(node.Name); err != nil {
			return out, err
		}
	}
	return out, nil
}

// validateShapes reports a conflict between the shapes of the nodes of a
// discrete network (called once its structure is valid).
func (n *Network) validateShapes(at func(path, format string, args ...any)) {
	if n.Family() != FamilyDiscrete {
		return
	}
	if _, err := n.shapes(); err != nil {
		at(err.Path, "%s", err.Msg)
	}
}

// fmtShape writes a shape as [c, h, w].
func fmtShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
