package bss2

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosnn/gosnn/snn"
	"github.com/gosnn/gosnn/topology"
)

// Limits are the sizes of a BrainScaleS-2 chip (HX, BSS2.md): 512 neurons
// in two hemispheres of 256 columns, each hemisphere's neurons driven by
// its own synapse array of 256 rows, 6-bit weights.
type Limits struct {
	Neurons           int // all neurons of the chip
	HemisphereNeurons int // neurons per hemisphere (one synapse array)
	HemisphereRows    int // synapse rows per hemisphere
	WeightMax         int // largest weight magnitude in hardware units
}

// ChipLimits are the limits of one BrainScaleS-2 (HX) chip.
func ChipLimits() Limits {
	return Limits{Neurons: 512, HemisphereNeurons: 256, HemisphereRows: 256, WeightMax: 63}
}

// Mapping places a network description on a chip: which hardware neuron
// every population neuron is, which synapse rows every presynaptic neuron
// drives (one excitatory and one inhibitory row per hemisphere it reaches:
// weights are unsigned, the sign is the receptor of the row), and the
// layer layout of the weights (Weights). It is computed by Map.
type Mapping struct {
	Network *topology.Network
	Limits  Limits
	// Layers in the order of topology.Network.Layers: every layer comes
	// after the layers it receives from.
	Layers []MappedLayer
	// Sources are the external spike sources (input and bias nodes) with
	// their sizes, in node order.
	Sources []Source
	// RowsUsed counts the synapse rows used in each hemisphere.
	RowsUsed []int
}

// Source is an external spike source.
type Source struct {
	Name string
	Size int
}

// MappedLayer is one layer (a feed-forward population or a recurrent set
// of populations) on the chip.
type MappedLayer struct {
	Populations []MappedPopulation
	Recurrent   bool
	// Rows are the blocks of the layer's input weight rows: each external
	// source (an earlier population, an input or a bias node) in order.
	Rows []RowBlock
	// Projections are the parts of the weights that exist: a projection
	// from one of its sources to one population.
	Projections []ProjectionBlock
}

// MappedPopulation is a population's place in its layer and on the chip.
type MappedPopulation struct {
	Name   string
	Kind   string // topology.KindLIF or KindTTFS
	Size   int
	Offset int // first neuron inside the layer
	// Capacity is the number of spikes per sample the software model
	// keeps (Size for ttfs: first spikes only).
	Capacity    int
	Neuron      snn.LIF
	MaxGradNorm float64
	// Hardware are the logical hardware neurons (0..511): hemisphere
	// h = n / 256, column n % 256.
	Hardware []int
}

// RowBlock is a source's rows in a layer's input weights.
type RowBlock struct {
	Source string
	Offset int
	Size   int
}

// ProjectionBlock is where one projection's weights from one source sit in
// its layer's weights: rows [Row, Row+Rows) of In (or of Rec when
// Recurrent), columns [Col, Col+Cols).
type ProjectionBlock struct {
	Projection, Source, Target string
	Recurrent                  bool
	Row, Rows, Col, Cols       int
}

// Name joins the layer's populations with '+' (event.Lower's scope of a
// recurrent layer).
func (l MappedLayer) Name() string {
	var names []string
	for _, p := range l.Populations {
		names = append(names, p.Name)
	}
	return strings.Join(names, "+")
}

// Neurons is the number of neurons of the layer.
func (l MappedLayer) Neurons() int {
	n := 0
	for _, p := range l.Populations {
		n += p.Size
	}
	return n
}

// InputRows is the number of rows of the layer's input weights.
func (l MappedLayer) InputRows() int {
	n := 0
	for _, r := range l.Rows {
		n += r.Size
	}
	return n
}

// Population returns the mapped population of that name, or nil.
func (m *Mapping) Population(name string) *MappedPopulation {
	for i := range m.Layers {
		for j := range m.Layers[i].Populations {
			if m.Layers[i].Populations[j].Name == name {
				return &m.Layers[i].Populations[j]
			}
		}
	}
	return nil
}

// Map places a valid network on a chip of the given limits. Any number of
// feed-forward layers and recurrent layers map; neurons are numbered
// layer by layer (hemisphere 0 first), and every hemisphere gives each
// presynaptic neuron that reaches one of its neurons two synapse rows
// (excitatory and inhibitory). What does not fit is refused with a
// *topology.FieldError per problem naming the node and the limit; prefix
// is the network's path in its config ("network", or "").
func Map(net *topology.Network, lim Limits, prefix string) (*Mapping, error) {
	if err := net.Validate(prefix); err != nil {
		return nil, err
	}
	if lim.Neurons < 1 || lim.HemisphereNeurons < 1 || lim.HemisphereRows < 2 || lim.WeightMax < 1 {
		return nil, fmt.Errorf("bss2: unusable chip limits %+v", lim)
	}
	var errs []error
	at := func(name, format string, args ...any) {
		path := nodePath(net, name)
		if prefix != "" {
			path = prefix + "." + path
		}
		errs = append(errs, &topology.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	size := func(name string) int {
		n := net.Node(name)
		if n.Kind == topology.KindBias {
			return len(n.Times)
		}
		return n.Size
	}
	m := &Mapping{Network: net, Limits: lim}
	for _, n := range net.Nodes {
		if n.Kind == topology.KindInput || n.Kind == topology.KindBias {
			m.Sources = append(m.Sources, Source{Name: n.Name, Size: size(n.Name)})
		}
	}
	layers, _ := net.Layers() // Validate checked it
	next := 0                 // next free hardware neuron
	for _, layer := range layers {
		ml := MappedLayer{Recurrent: layer.Recurrent()}
		offset := map[string]int{}
		o := 0
		for _, name := range layer.Populations {
			node := net.Node(name)
			capacity := node.Capacity
			if node.Kind == topology.KindTTFS {
				capacity = node.Size
			}
			mp := MappedPopulation{Name: name, Kind: node.Kind, Size: node.Size, Offset: o, Capacity: capacity,
				Neuron: *node.Neuron, MaxGradNorm: node.MaxGradNorm}
			for range node.Size {
				mp.Hardware = append(mp.Hardware, next)
				next++
			}
			if next > lim.Neurons {
				at(name, "population %q needs hardware neurons up to %d, the chip has %d (%d neurons in all populations so far)", name, next, lim.Neurons, next)
			}
			offset[name] = o
			o += node.Size
			ml.Populations = append(ml.Populations, mp)
		}
		// The rows, in event.Lower's order.
		rowOf := map[string]int{}
		rows := 0
		for _, name := range layer.Populations {
			for _, proj := range net.Sources(name) {
				for _, s := range net.Sources(proj) {
					if po, inside := offset[s]; inside && ml.Recurrent {
						ml.Projections = append(ml.Projections, ProjectionBlock{Projection: proj, Source: s, Target: name, Recurrent: true,
							Row: po, Rows: size(s), Col: offset[name], Cols: net.Node(name).Size})
						continue
					}
					r, seen := rowOf[s]
					if !seen || !ml.Recurrent {
						// A feed-forward population concatenates its
						// projections' sources, repeats included.
						r = rows
						rowOf[s] = r
						rows += size(s)
						ml.Rows = append(ml.Rows, RowBlock{Source: s, Offset: r, Size: size(s)})
					}
					ml.Projections = append(ml.Projections, ProjectionBlock{Projection: proj, Source: s, Target: name,
						Row: r, Rows: size(s), Col: offset[name], Cols: net.Node(name).Size})
				}
			}
		}
		m.Layers = append(m.Layers, ml)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Synapse rows: per hemisphere, the distinct presynaptic neurons.
	hemispheres := (lim.Neurons + lim.HemisphereNeurons - 1) / lim.HemisphereNeurons
	type pre struct {
		source string
		neuron int
	}
	drives := make([]map[pre]bool, hemispheres)
	for h := range drives {
		drives[h] = map[pre]bool{}
	}
	m.RowsUsed = make([]int, hemispheres)
	reported := map[int]bool{}
	for _, l := range m.Layers {
		for _, pb := range l.Projections {
			target := m.Population(pb.Target)
			for c := range pb.Cols {
				h := target.Hardware[c] / lim.HemisphereNeurons
				for r := range pb.Rows {
					p := pre{pb.Source, r}
					if !drives[h][p] {
						drives[h][p] = true
						m.RowsUsed[h] += 2
					}
				}
				if m.RowsUsed[h] > lim.HemisphereRows && !reported[h] {
					reported[h] = true
					at(pb.Projection, "projection %q from %q to %q needs %d synapse rows in hemisphere %d (an excitatory and an inhibitory row per presynaptic neuron), the chip has %d per hemisphere",
						pb.Projection, pb.Source, pb.Target, m.RowsUsed[h], h, lim.HemisphereRows)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// nodePath is "nodes[i] (name)", the form of topology's field paths.
func nodePath(net *topology.Network, name string) string {
	for i, n := range net.Nodes {
		if n.Name == name {
			return fmt.Sprintf("nodes[%d] (%s)", i, name)
		}
	}
	return name
}

// String describes the mapping, one line per population and projection.
func (m *Mapping) String() string {
	var b strings.Builder
	for i, l := range m.Layers {
		kind := "feed-forward"
		if l.Recurrent {
			kind = "recurrent"
		}
		fmt.Fprintf(&b, "layer %d (%s, %s): %d neurons, %d input rows\n", i, l.Name(), kind, l.Neurons(), l.InputRows())
		for _, p := range l.Populations {
			first, last := p.Hardware[0], p.Hardware[len(p.Hardware)-1]
			fmt.Fprintf(&b, "  population %s (%s): %d neurons -> hardware neurons %d..%d (hemisphere %d..%d)\n",
				p.Name, p.Kind, p.Size, first, last, first/m.Limits.HemisphereNeurons, last/m.Limits.HemisphereNeurons)
		}
		for _, pb := range l.Projections {
			where := "input"
			if pb.Recurrent {
				where = "recurrent"
			}
			fmt.Fprintf(&b, "  projection %s: %s -> %s, %s rows %d..%d, columns %d..%d\n",
				pb.Projection, pb.Source, pb.Target, where, pb.Row, pb.Row+pb.Rows-1, pb.Col, pb.Col+pb.Cols-1)
		}
	}
	used := 0
	for _, l := range m.Layers {
		used += l.Neurons()
	}
	fmt.Fprintf(&b, "neurons: %d of %d; synapse rows per hemisphere: %v of %d", used, m.Limits.Neurons, m.RowsUsed, m.Limits.HemisphereRows)
	return b.String()
}
