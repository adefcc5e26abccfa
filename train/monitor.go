package train

import (
	"fmt"
	"math"

	"github.com/gosnn/gosnn/topology"
)

// Stat is one named per-epoch statistic (a metrics.csv column).
type Stat struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// monitorStats is fastAndDeep's per-layer monitoring: for every projection
// with monitor: true, the mean, standard deviation, minimum and maximum of
// its weights ("<node>_weights_mean", ...) and, when it has delays, of its
// effective delays d = positivity(p) ("<node>_delays_mean", ...), in node
// order. Shared delay parameters are tiled evenly over the neurons, so the
// statistics of the parameters are those of the delays.
func (t *Trainer) monitorStats() ([]Stat, error) {
	var out []Stat
	for _, node := range t.cfg.Network.Nodes {
		if node.Kind != topology.KindLinear || !node.Monitor {
			continue
		}
		values := func(name string) ([]float64, error) {
			v := t.ctx.GetVariableByScopeAndName("/"+node.Name, name)
			if v == nil {
				return nil, fmt.Errorf("monitor of node %q: no variable /%s/%s", node.Name, node.Name, name)
			}
			value, err := v.Value()
			if err != nil {
				return nil, fmt.Errorf("monitor of node %q: reading %s: %w", node.Name, v.ScopeAndName(), err)
			}
			return flatFloat64(value), nil
		}
		w, err := values("weights")
		if err != nil {
			return nil, err
		}
		out = appendMoments(out, node.Name+"_weights", w)
		if node.Delay == nil {
			continue
		}
		p, err := values("delays")
		if err != nil {
			return nil, err
		}
		for i, x := range p {
			p[i] = node.Delay.Positivity.Apply(x)
		}
		out = appendMoments(out, node.Name+"_delays", p)
	}
	return out, nil
}

// appendMoments appends prefix_mean, _std (population), _min and _max of xs.
func appendMoments(out []Stat, prefix string, xs []float64) []Stat {
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range xs {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	mean := sum / float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return append(out,
		Stat{prefix + "_mean", mean}, Stat{prefix + "_std", math.Sqrt(ss / float64(len(xs)))},
		Stat{prefix + "_min", lo}, Stat{prefix + "_max", hi})
}
