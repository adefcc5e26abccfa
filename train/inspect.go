package train

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// Inspection is one forward pass of the network over a data set: every
// population's first-spike times and the predictions, for plots (gosnn
// eval) and analysis. Nothing is trained.
type Inspection struct {
	// Populations are the names of the populations in layer order, Sizes
	// their numbers of neurons.
	Populations []string
	Sizes       []int
	// Times[p] are population p's first-spike times, row-major [samples,
	// Sizes[p]], in units of the neurons' time constants as the network
	// computes them; +Inf where a neuron stayed silent.
	Times [][]float64
	// Predictions are the classes whose output neuron spiked first (-1
	// when none spiked), Labels the data set's labels.
	Predictions []int32
	Labels      []int32
}

// Population returns the index of the population of that name, or -1.
func (in *Inspection) Population(name string) int {
	for i, p := range in.Populations {
		if p == name {
			return i
		}
	}
	return -1
}

// Inspect runs the network with its current variables (a restored
// checkpoint's) over each data set, in batches of the config's
// eval_batch_size, on backend (the one the trainer was built on), and
// returns the first-spike times of every population. The graph reuses the
// trainer's variables and changes none; it is compiled once for all sets.
func (t *Trainer) Inspect(backend backends.Backend, sets ...*Dataset) ([]*Inspection, error) {
	var names []string
	var sizes []int
	exec, err := mlctx.NewExecAny(backend, t.ctx, func(ctx *mlctx.Context, x *Node) []*Node {
		net := t.network(ctx.Reuse(), x)
		outs := []*Node{t.cfg.Loss.Predict(net.Readout)}
		names, sizes = nil, nil
		for _, p := range net.Populations {
			names = append(names, p.Name)
			sizes = append(sizes, p.FirstTimes.Shape().Dim(1))
			outs = append(outs, p.FirstTimes)
		}
		return outs
	})
	if err != nil {
		return nil, fmt.Errorf("inspect: building the forward pass: %w", err)
	}
	defer exec.Finalize()
	var out []*Inspection
	err = t.withAverages(func() error {
		var err error
		out, err = t.inspect(exec, &names, &sizes, sets)
		return err
	})
	return out, err
}

// inspect runs Inspect's forward pass over the sets; the graph sets the
// populations' names and sizes when it is built, at its first call.
func (t *Trainer) inspect(exec *mlctx.Exec, names *[]string, sizes *[]int, sets []*Dataset) ([]*Inspection, error) {
	var out []*Inspection
	for _, d := range sets {
		if err := t.checkData(d, "inspected"); err != nil {
			return nil, err
		}
		in := &Inspection{Labels: d.Labels}
		size := t.cfg.EvalBatchSize
		for start := 0; start < d.Size(); start += size {
			idx := make([]int, 0, size)
			for i := start; i < min(start+size, d.Size()); i++ {
				idx = append(idx, i)
			}
			bt := t.makeBatch(d, idx, size)
			res, err := exec.Exec(bt.x)
			if err != nil {
				return nil, fmt.Errorf("inspect: %s set, samples %d..%d: %w", d.Name, start, start+bt.n-1, err)
			}
			if in.Times == nil {
				in.Populations, in.Sizes = *names, *sizes
				in.Times = make([][]float64, len(*names))
			}
			pred := tensors.MustCopyFlatData[int32](res[0])
			in.Predictions = append(in.Predictions, pred[:bt.n]...)
			for p := range *names {
				in.Times[p] = append(in.Times[p], flatFloat64(res[1+p])[:bt.n*(*sizes)[p]]...)
			}
		}
		out = append(out, in)
	}
	return out, nil
}
