package bss2

import (
	"fmt"

	"github.com/gosnn/gosnn/topology"
)

// EncodeInput turns features [batch][size of the input node] in [0, 1]
// into the spike trains of the network's external sources: the input
// node's latency code (one spike per feature) and every bias node's
// times, as event.Lower encodes them.
func EncodeInput(m *Mapping, features [][]float64) (Input, error) {
	in := Input{Sources: map[string]Spikes{}}
	for _, s := range m.Sources {
		node := m.Network.Node(s.Name)
		times := make([][]float64, len(features))
		for b, row := range features {
			switch node.Kind {
			case topology.KindInput:
				if len(row) != node.Size {
					return in, fmt.Errorf("bss2 input: sample %d has %d features, input %q has size %d", b, len(row), node.Name, node.Size)
				}
				times[b] = make([]float64, len(row))
				for f, v := range row {
					times[b][f] = node.Encoding.Early + v*(node.Encoding.Late-node.Encoding.Early)
				}
			case topology.KindBias:
				times[b] = append([]float64(nil), node.Times...)
			}
		}
		in.Sources[s.Name] = SpikesFromTimes(times)
	}
	return in, nil
}
