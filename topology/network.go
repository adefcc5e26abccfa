package topology

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"go.yaml.in/yaml/v3"

	"github.com/gosnn/gosnn/snn"
)

// Network describes a spiking network as data: named nodes and the edges
// between them, like jaxsnn 0.3.0's Topology and like NIR graphs. Configs,
// the Go builder (NewNetwork) and importers produce it; each simulation
// family lowers it to a graph (event.Lower).
//
// Node kinds:
//   - input: Size features of a sample, encoded as one spike each
//     (Encoding; jaxsnn's spatio-temporal code may repeat each spike, which
//     only lif populations can receive);
//   - bias: len(Times) extra sources that spike at fixed times in every
//     sample (fastAndDeep's bias neurons);
//   - linear: a projection with trainable weights from every source it
//     receives an edge from (concatenated in edge order) to the one
//     population it has an edge to, initialised N(Init.Mean, Init.Std²),
//     optionally with trainable delays (Delay: axonal, synaptic or
//     dendritic) and learning rates of its own;
//   - conv2d: a convolutional projection (discrete networks): Channels
//     output channels, a Kernel x Kernel kernel, Stride, Padding, from one
//     source with a frame shape (an input with Shape, or a population fed
//     by a conv2d) to one population (topology/conv.go);
//   - ttfs: a population of LIF neurons that spike at most once, with
//     closed-form first-spike times and analytical gradients (Göltz et al.
//     2021);
//   - lif: a population of event-based LIF neurons that may spike up to
//     Capacity times per sample, with EventProp gradients (Wunderlich and
//     Pehle 2021).
//
// Populations receive edges only from projections (linear, conv2d). Strongly connected
// populations (through their projections) form one recurrent layer; Groups
// lists further populations to simulate as one recurrent layer although
// their connections are feed-forward (jaxsnn's yinyang_event_prop emulates
// a two-layer network that way). Output names the population whose
// first-spike times are the network's read-out.
type Network struct {
	Nodes  []Node     `json:"nodes" yaml:"nodes"`
	Edges  []Edge     `json:"edges" yaml:"edges"`
	Groups [][]string `json:"groups,omitempty" yaml:"groups,omitempty"`
	Output string     `json:"output" yaml:"output"`

	// DT and Steps are the time step and the number of steps per sample of
	// a network of discrete populations (discrete.Lower); unused otherwise.
	DT    float64 `json:"dt,omitempty" yaml:"dt,omitempty"`
	Steps int     `json:"steps,omitempty" yaml:"steps,omitempty"`
}

// Edge connects two nodes by name. In YAML it is written [from, to].
type Edge struct {
	From, To string
}

// MarshalYAML writes an edge as a two-element flow list.
func (e Edge) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: e.From}, {Kind: yaml.ScalarNode, Value: e.To},
	}}, nil
}

// UnmarshalYAML reads an edge from a two-element list [from, to].
func (e *Edge) UnmarshalYAML(value *yaml.Node) error {
	var pair []string
	if err := value.Decode(&pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("line %d: an edge is a list [from, to] of two node names", value.Line)
	}
	e.From, e.To = pair[0], pair[1]
	return nil
}

// MarshalJSON writes an edge as a two-element list.
func (e Edge) MarshalJSON() ([]byte, error) { return json.Marshal([]string{e.From, e.To}) }

// UnmarshalJSON reads an edge from a two-element list.
func (e *Edge) UnmarshalJSON(data []byte) error {
	var pair []string
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("an edge is a list [from, to] of two node names, got %s", data)
	}
	e.From, e.To = pair[0], pair[1]
	return nil
}

// The node kinds.
const (
	KindInput  = "input"
	KindBias   = "bias"
	KindLinear = "linear"
	// KindConv2D is a convolutional projection (discrete family only;
	// topology/conv.go).
	KindConv2D = "conv2d"
	KindTTFS   = "ttfs"
	KindLIF    = "lif"
)

// NodeKinds lists the known node kinds.
var NodeKinds = []string{KindInput, KindBias, KindLinear, KindConv2D, KindTTFS, KindLIF, KindDiscreteLIF, KindDiscreteLI}

// IsProjection reports whether a node kind is a projection (trainable
// weights between sources and one population): linear or conv2d.
func IsProjection(kind string) bool { return kind == KindLinear || kind == KindConv2D }

// IsPopulation reports whether a node kind is a population of neurons.
func IsPopulation(kind string) bool { _, ok := kindFamily[kind]; return ok }

// Node is one named element of a Network. Which fields apply depends on
// Kind (see Network); Validate names a field set on a kind that does not
// use it.
type Node struct {
	Name string `json:"name" yaml:"name"`
	Kind string `json:"kind" yaml:"kind"`

	// Size is the number of features (input) or neurons (populations).
	Size int `json:"size,omitempty" yaml:"size,omitempty"`
	// Encoding turns an input's features in [0, 1] into spikes (latency
	// by default, or jaxsnn's spatio-temporal code).
	Encoding *snn.Encoding `json:"encoding,omitempty" yaml:"encoding,omitempty"`
	// Shape, when set, makes an input of a discrete network take frames:
	// [channels, height, width] with Size = their product; each sample's
	// features are Network.Steps frames (topology/conv.go).
	Shape []int `json:"shape,omitempty" yaml:"shape,omitempty,flow"`
	// Channels, Kernel, Stride and Padding are a conv2d projection's
	// output channels, square kernel side, stride (0: 1) and zero padding.
	Channels int `json:"channels,omitempty" yaml:"channels,omitempty"`
	Kernel   int `json:"kernel,omitempty" yaml:"kernel,omitempty"`
	Stride   int `json:"stride,omitempty" yaml:"stride,omitempty"`
	Padding  int `json:"padding,omitempty" yaml:"padding,omitempty"`
	// Times are a bias node's spike times.
	Times []float64 `json:"times,omitempty" yaml:"times,omitempty"`
	// Duplication repeats each of a bias node's spikes that many times
	// through the same weight (0 or 1: once), as jaxsnn's spatio-temporal
	// code repeats its bias input together with the features.
	Duplication int `json:"duplication,omitempty" yaml:"duplication,omitempty"`
	// Init is a projection's weight initialisation.
	Init *Init `json:"init,omitempty" yaml:"init,omitempty"`
	// LearningRate of a projection's weights (0: the config's); it
	// follows the same schedule (fastAndDeep's per-layer learning_rate).
	LearningRate float64 `json:"learning_rate,omitempty" yaml:"learning_rate,omitempty"`
	// Delay, when set, delays a projection's spikes (see Delay).
	Delay *Delay `json:"delay,omitempty" yaml:"delay,omitempty"`
	// Trainable, set to false, holds a projection's weights at their
	// initial (or checkpointed) values: the optimizer's step is undone and
	// weight bumping leaves them alone (nil or true: trained).
	Trainable *bool `json:"trainable,omitempty" yaml:"trainable,omitempty"`
	// Monitor, on a projection, records the mean, standard deviation,
	// minimum and maximum of its weights (and of its effective delays)
	// after every epoch, as columns of metrics.csv (fastAndDeep's monitor
	// flags).
	Monitor bool `json:"monitor,omitempty" yaml:"monitor,omitempty"`
	// Sparse, on a linear projection of a discrete network, propagates its
	// sources' spikes sparsely: at most Sparse active sources per sample
	// and step, their weight rows gathered and summed
	// (discrete.SparseMatMul, graphcore_snn's sparse path); spikes beyond
	// it are counted as overflow and left out (0: the dense product). It
	// pays on the pure-Go backend at spike densities of about 1 % (README,
	// "Sparse against dense").
	Sparse int `json:"sparse,omitempty" yaml:"sparse,omitempty"`
	// Pool, on a projection of a discrete network whose one source has
	// frames, pools those frames before the projection (snnax's
	// MaxPool2d / AvgPool2d between a spiking layer and the next
	// projection; topology/conv.go).
	Pool *Pool `json:"pool,omitempty" yaml:"pool,omitempty"`
	// Dropout, on a projection of a discrete network, zeroes each of its
	// sources' spikes (after Pool) with this probability at every step
	// while training, the others scaled by 1/(1 - Dropout); evaluation
	// takes them all (GoMLX's layers.DropoutStatic, as discrete.Dropout).
	Dropout float64 `json:"dropout,omitempty" yaml:"dropout,omitempty"`
	// LayerNorm, on a projection of a discrete network, normalises its
	// output at every step over the target population's neurons, with a
	// learned gain and offset (GoMLX's layers.LayerNormalization, as
	// discrete.LayerNorm; Ba, Kiros & Hinton 2016).
	LayerNorm bool `json:"layer_norm,omitempty" yaml:"layer_norm,omitempty"`

	// Neuron holds a population's LIF parameters.
	Neuron *snn.LIF `json:"neuron,omitempty" yaml:"neuron,omitempty"`
	// Capacity is the number of spikes per sample a lif population keeps;
	// spikes beyond it are counted as overflow. In a recurrent layer of
	// several populations each keeps its own (the event family: a full
	// population fires no more).
	Capacity int `json:"capacity,omitempty" yaml:"capacity,omitempty"`
	// Horizon bounds a population's simulated time, in units of its
	// tau_syn after each sample's earliest input: later spikes do not
	// happen (jaxsnn's t_max; 0: event.DefaultHorizon).
	Horizon float64 `json:"horizon,omitempty" yaml:"horizon,omitempty"`
	// MaxGradNorm is fastAndDeep's max_dw_norm of a ttfs population: the
	// per-sample gradient of every spike time is clipped to this norm
	// (0 = off).
	MaxGradNorm float64 `json:"max_grad_norm,omitempty" yaml:"max_grad_norm,omitempty"`
	// MaxMissing is fastAndDeep's max_num_missing_spikes of a population:
	// the fraction of (sample, neuron) first spikes that may be missing in
	// a batch before weight bumping acts on the population.
	MaxMissing float64 `json:"max_missing" yaml:"max_missing"`

	// Euler holds a discrete population's parameters (topology/discrete.go).
	Euler *Euler `json:"euler,omitempty" yaml:"euler,omitempty"`
}

// Frozen reports whether a projection's weights are held fixed
// (trainable: false).
func (n *Node) Frozen() bool { return n.Trainable != nil && !*n.Trainable }

// Copies is the number of spikes per neuron and sample of an input or bias
// node (its duplication; 1 otherwise).
func (n *Node) Copies() int {
	switch {
	case n == nil:
		return 1
	case n.Kind == KindInput && n.Encoding != nil:
		return n.Encoding.Copies()
	case n.Kind == KindBias && n.Duplication > 1:
		return n.Duplication
	}
	return 1
}

// Init is a normal weight initialisation N(Mean, Std²).
type Init struct {
	Mean float64 `json:"mean" yaml:"mean"`
	Std  float64 `json:"std" yaml:"std"`
}

// FieldError is a validation error that names the node (or the network
// key) and the field at fault. Path is the location in the config, such as
// "network.nodes[2].size", so that config readers can add a line number.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Node returns the node of that name, or nil.
func (n *Network) Node(name string) *Node {
	for i := range n.Nodes {
		if n.Nodes[i].Name == name {
			return &n.Nodes[i]
		}
	}
	return nil
}

// Sources returns the names of the nodes with an edge to name, in edge order.
func (n *Network) Sources(name string) []string {
	var out []string
	for _, e := range n.Edges {
		if e.To == name {
			out = append(out, e.From)
		}
	}
	return out
}

// Targets returns the names of the nodes name has an edge to, in edge order.
func (n *Network) Targets(name string) []string {
	var out []string
	for _, e := range n.Edges {
		if e.From == name {
			out = append(out, e.To)
		}
	}
	return out
}

// Validate checks the whole description and returns every problem found,
// each a *FieldError naming the node and field (joined with errors.Join).
// prefix is the description's path in its config ("network"; "" for none).
func (n *Network) Validate(prefix string) error {
	var errs []error
	at := func(path, format string, args ...any) {
		if prefix != "" {
			path = prefix + "." + path
		}
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if len(n.Nodes) == 0 {
		at("nodes", "a network needs at least one node")
		return errors.Join(errs...)
	}
	seen := map[string]int{}
	inputs := 0
	for i, node := range n.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		if node.Name == "" {
			at(p+".name", "every node needs a name")
		} else if strings.ContainsAny(node.Name, "/+ \t") {
			at(p+".name", "node name %q may not contain '/', '+' or spaces", node.Name)
		} else if j, dup := seen[node.Name]; dup {
			at(p+".name", "node %q is already defined by nodes[%d]", node.Name, j)
		} else {
			seen[node.Name] = i
		}
		p += fmt.Sprintf(" (%s)", node.Name)
		unused := func(field string, set bool) {
			if set {
				at(p+"."+field, "not used by a %s node", node.Kind)
			}
		}
		isPop := IsPopulation(node.Kind)
		switch node.Kind {
		case KindInput:
			inputs++
			if node.Size < 1 {
				at(p+".size", "must be >= 1, got %d", node.Size)
			}
			if node.Shape != nil {
				n.validateInputShape(p, node, at)
			} else if node.Encoding == nil {
				at(p+".encoding", "an input needs an encoding (early, late; or kind: spatio_temporal, t_late, duplication)")
			} else if err := node.Encoding.Validate(); err != nil {
				at(p+".encoding", "%v", err)
			}
		case KindBias:
			unused("size", node.Size != 0)
			if len(node.Times) == 0 {
				at(p+".times", "a bias node needs at least one spike time")
			}
			if node.Duplication < 0 {
				at(p+".duplication", "must be >= 0, got %d", node.Duplication)
			}
			for j, t := range node.Times {
				if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
					at(fmt.Sprintf("%s.times[%d]", p, j), "must be finite and >= 0, got %g", t)
				}
			}
		case KindLinear, KindConv2D:
			unused("size", node.Size != 0)
			if node.Kind == KindConv2D {
				validateConv(p, node, at)
			}
			if node.Init == nil {
				at(p+".init", "a projection needs an init (mean, std)")
			} else if !(node.Init.Std >= 0) || math.IsInf(node.Init.Std, 0) || math.IsNaN(node.Init.Mean) || math.IsInf(node.Init.Mean, 0) {
				at(p+".init", "needs a finite mean and a finite std >= 0, got mean %g std %g", node.Init.Mean, node.Init.Std)
			}
		case KindTTFS, KindLIF:
			if node.Size < 1 {
				at(p+".size", "must be >= 1, got %d", node.Size)
			}
			if node.Neuron == nil {
				at(p+".neuron", "a population needs its neuron parameters")
			} else if err := node.Neuron.Validate(); err != nil {
				at(p+".neuron", "%v", err)
			}
			if node.Kind == KindLIF && node.Capacity < 1 {
				at(p+".capacity", "must be >= 1, got %d", node.Capacity)
			}
			if node.Kind == KindTTFS {
				unused("capacity", node.Capacity != 0)
			}
			if !(node.Horizon >= 0) || math.IsInf(node.Horizon, 0) {
				at(p+".horizon", "must be >= 0 and finite (0: the default), got %g", node.Horizon)
			}
			if !(node.MaxGradNorm >= 0) || math.IsInf(node.MaxGradNorm, 0) {
				at(p+".max_grad_norm", "must be >= 0 and finite, got %g", node.MaxGradNorm)
			}
			if !(node.MaxMissing >= 0 && node.MaxMissing <= 1) {
				at(p+".max_missing", "must be in [0, 1], got %g", node.MaxMissing)
			}
		case KindDiscreteLIF, KindDiscreteLI:
			// validateDiscrete checks them with the network's dt.
		case "":
			at(p+".kind", "missing; one of %s", strings.Join(NodeKinds, ", "))
		default:
			at(p+".kind", "unknown node kind %q; one of %s", node.Kind, strings.Join(NodeKinds, ", "))
		}
		if !slices.Contains(NodeKinds, node.Kind) {
			continue // which fields apply is unknown
		}
		if !isPop {
			unused("neuron", node.Neuron != nil)
			unused("capacity", node.Capacity != 0)
			unused("max_grad_norm", node.MaxGradNorm != 0)
			unused("horizon", node.Horizon != 0)
			unused("max_missing", node.MaxMissing != 0)
		}
		if node.Kind != KindInput {
			unused("encoding", node.Encoding != nil)
		}
		if node.Kind != KindBias {
			unused("times", len(node.Times) > 0)
			unused("duplication", node.Duplication != 0)
		}
		if !IsProjection(node.Kind) {
			unused("init", node.Init != nil)
		}
		if node.Kind != KindInput {
			unused("shape", node.Shape != nil)
		}
		if node.Kind != KindConv2D {
			unused("channels", node.Channels != 0)
			unused("kernel", node.Kernel != 0)
			unused("stride", node.Stride != 0)
			unused("padding", node.Padding != 0)
		}
	}
	if inputs != 1 {
		at("nodes", "needs exactly one input node, got %d", inputs)
	}
	n.validateDelays(at)
	n.validateDiscrete(at)
	kindOf := func(name string) string {
		if i, ok := seen[name]; ok {
			return n.Nodes[i].Kind
		}
		return ""
	}
	edgeSeen := map[Edge]int{}
	for i, e := range n.Edges {
		p := fmt.Sprintf("edges[%d]", i)
		fromKind, toKind := kindOf(e.From), kindOf(e.To)
		switch {
		case fromKind == "":
			at(p, "edge [%s, %s]: no node named %q", e.From, e.To, e.From)
			continue
		case toKind == "":
			at(p, "edge [%s, %s]: no node named %q", e.From, e.To, e.To)
			continue
		}
		if j, dup := edgeSeen[e]; dup {
			at(p, "edge [%s, %s] repeats edges[%d]", e.From, e.To, j)
		}
		edgeSeen[e] = i
		switch {
		case toKind == KindInput || toKind == KindBias:
			at(p, "edge [%s, %s]: a %s node receives no edges", e.From, e.To, toKind)
		case IsProjection(toKind) && IsProjection(fromKind):
			at(p, "edge [%s, %s]: a projection's source must be an input, bias or population", e.From, e.To)
		case IsPopulation(toKind) && !IsProjection(fromKind):
			at(p, "edge [%s, %s]: a population receives edges only from projections (linear or conv2d nodes)", e.From, e.To)
		}
	}
	for i, node := range n.Nodes {
		p := fmt.Sprintf("nodes[%d] (%s)", i, node.Name)
		switch {
		case IsProjection(node.Kind):
			if node.Kind == KindConv2D && len(n.Sources(node.Name)) > 1 {
				at(p, "conv2d %q convolves one source, has %d (%s)", node.Name, len(n.Sources(node.Name)), strings.Join(n.Sources(node.Name), ", "))
			}
			if len(n.Sources(node.Name)) == 0 {
				at(p, "projection %q has no source (no edge leads to it)", node.Name)
			}
			if t := n.Targets(node.Name); len(t) != 1 {
				at(p, "projection %q must lead to exactly one population, has %d targets", node.Name, len(t))
			}
		case IsPopulation(node.Kind):
			if len(n.Sources(node.Name)) == 0 {
				at(p, "population %q has no incoming projection", node.Name)
			}
			if node.Kind != KindTTFS {
				break
			}
			// A ttfs population sees one time per source neuron.
			for _, proj := range n.Sources(node.Name) {
				for _, s := range n.Sources(proj) {
					if copies := n.Node(s).Copies(); copies > 1 {
						at(p, "ttfs population %q receives %q, which repeats every spike (duplication %d); only lif populations take repeated spikes", node.Name, s, copies)
					}
				}
			}
		}
	}
	if n.Output == "" {
		at("output", "names the read-out population; missing")
	} else if k := kindOf(n.Output); !IsPopulation(k) {
		at("output", "must name a population, %q is %s", n.Output, map[bool]string{true: "a " + k + " node", false: "not a node"}[k != ""])
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Structure that needs a well-formed graph.
	for gi, group := range n.Groups {
		for j, name := range group {
			if k := kindOf(name); k != KindLIF {
				at(fmt.Sprintf("groups[%d][%d]", gi, j), "a recurrent group holds lif populations, %q is %s", name, map[bool]string{true: "a " + k + " node", false: "not a node"}[k != ""])
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	layers, err := n.Layers()
	if err != nil {
		at("edges", "%v", err)
		return errors.Join(errs...)
	}
	n.validateDelayLayers(layers, at)
	n.validateShapes(at)
	for _, l := range layers {
		if len(l.Populations) > 1 || l.SelfLoop {
			for _, name := range l.Populations {
				if k := kindOf(name); k != KindLIF && k != KindDiscreteLIF {
					at(fmt.Sprintf("nodes[%d] (%s)", seen[name], name), "is part of a recurrent loop; only lif and discrete_lif populations can be recurrent, not %s", k)
				}
			}
		}
	}
	if !slices.ContainsFunc(layers, func(l Layer) bool { return slices.Contains(l.Populations, n.Output) }) {
		at("output", "population %q is not reached from the input", n.Output)
	}
	return errors.Join(errs...)
}

// Layer is a set of populations simulated together: one population
// (feed-forward unless SelfLoop), or a recurrent group.
type Layer struct {
	// Populations in the order of the description's nodes; their neurons
	// are numbered in this order inside the layer.
	Populations []string
	// SelfLoop is true for a single population with a projection back to
	// itself.
	SelfLoop bool
}

// Recurrent reports whether the layer's neurons feed each other.
func (l Layer) Recurrent() bool { return len(l.Populations) > 1 || l.SelfLoop }

// Layers returns the populations grouped into layers (strongly connected
// components through the projections, merged with Groups) in an order
// where every layer comes after the layers it receives from. It fails when
// the groups make a cycle between layers.
func (n *Network) Layers() ([]Layer, error) {
	// Population graph: p -> q when a projection leads from p to q.
	var pops []string
	index := map[string]int{}
	for _, node := range n.Nodes {
		if IsPopulation(node.Kind) {
			index[node.Name] = len(pops)
			pops = append(pops, node.Name)
		}
	}
	adj := make([][]int, len(pops))
	self := make([]bool, len(pops))
	for _, node := range n.Nodes {
		if !IsProjection(node.Kind) {
			continue
		}
		for _, to := range n.Targets(node.Name) {
			q, ok := index[to]
			if !ok {
				continue
			}
			for _, from := range n.Sources(node.Name) {
				if p, ok := index[from]; ok {
					adj[p] = append(adj[p], q)
					if p == q {
						self[p] = true
					}
				}
			}
		}
	}
	// Union-find over SCCs (Tarjan) and the declared groups.
	parent := make([]int, len(pops))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) { parent[find(a)] = find(b) }
	for _, comp := range tarjan(adj) {
		for _, v := range comp[1:] {
			union(comp[0], v)
		}
	}
	for _, group := range n.Groups {
		for _, name := range group[1:] {
			union(index[group[0]], index[name])
		}
	}
	// Condensed graph and its topological order (Kahn, ties by node order).
	roots := []int{}
	members := map[int][]int{}
	for i := range pops {
		r := find(i)
		if _, ok := members[r]; !ok {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	indeg := map[int]int{}
	cadj := map[int]map[int]bool{}
	for p, qs := range adj {
		for _, q := range qs {
			a, b := find(p), find(q)
			if a == b {
				continue
			}
			if cadj[a] == nil {
				cadj[a] = map[int]bool{}
			}
			if !cadj[a][b] {
				cadj[a][b] = true
				indeg[b]++
			}
		}
	}
	var order []Layer
	done := map[int]bool{}
	for len(order) < len(roots) {
		progressed := false
		for _, r := range roots {
			if done[r] || indeg[r] > 0 {
				continue
			}
			done[r] = true
			progressed = true
			l := Layer{}
			for _, i := range members[r] {
				l.Populations = append(l.Populations, pops[i])
			}
			l.SelfLoop = len(l.Populations) == 1 && self[members[r][0]]
			order = append(order, l)
			for b := range cadj[r] {
				indeg[b]--
			}
			break // restart, so that ties follow the node order
		}
		if !progressed {
			return nil, fmt.Errorf("the recurrent groups %v make a cycle between layers", n.Groups)
		}
	}
	return order, nil
}

// tarjan returns the strongly connected components of a graph with more
// than one vertex.
func tarjan(adj [][]int) [][]int {
	index := make([]int, len(adj))
	low := make([]int, len(adj))
	onStack := make([]bool, len(adj))
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range adj[v] {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				comps = append(comps, comp)
			}
		}
	}
	for v := range adj {
		if index[v] < 0 {
			visit(v)
		}
	}
	return comps
}

// Lowered is a Network turned into a graph by a simulation family: the
// first-spike times of every population, in layer order, where each
// population's incoming weights live (for weight bumping), and the
// read-out.
type Lowered struct {
	Populations []LoweredPopulation
	// Readout is the output population's first-spike times [batch, size]
	// (event family), or its output over time [batch, steps, size] (discrete
	// family: the membrane of a discrete_li, the spikes of a discrete_lif).
	Readout *graph.Node
	// Overflow counts the spikes of the batch that did not fit the
	// populations' capacities (a scalar of the time dtype).
	Overflow *graph.Node
	// Tuned lists the variables with their own learning rate or a
	// positivity clamp (projections' learning_rate, delays).
	Tuned []TunedVariable
}

// LoweredPopulation is one population of a Lowered network.
type LoweredPopulation struct {
	Name string
	// FirstTimes are the neurons' first-spike times [batch, size], +Inf
	// for silent neurons.
	FirstTimes *graph.Node
	// Spikes are a discrete population's spikes over time [batch, steps,
	// size] (nil in the event family), for rate regularisers.
	Spikes *graph.Node
	// MaxMissing is the node's MaxMissing.
	MaxMissing float64
	// Incoming lists the weight variables whose columns Offset,
	// Offset+1, ... hold the incoming weights of the population's neurons.
	Incoming []WeightColumns
}

// WeightColumns locates a population's incoming weights in a variable.
type WeightColumns struct {
	Variable *context.Variable
	Offset   int
}
