package train

import (
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/gosnn/gosnn/topology"
)

// applyTuning gives the tuned variables of a lowered network their own
// learning rate and positivity clamp, after the optimizer's update in g.
//
// Adam's step is linear in the learning rate (lr m̂/(√v̂ + ε)), so scaling
// a variable's step by lr_v/lr is Adam at lr_v, with the same schedule (the
// StepLR factor multiplies both): fastAndDeep's per-layer parameter
// groups. A clamped variable (positivity clamp of delays) is set to
// max(value, 0) after the step, like fastAndDeep's delays_rectify. A
// frozen variable (trainable: false) keeps its value from before the step.
func (t *Trainer) applyTuning(g *Graph, tuned []topology.TunedVariable) {
	for _, tv := range tuned {
		v := tv.Variable
		if !v.ChangedInGraph(g) {
			continue
		}
		if tv.Frozen {
			// The value it had before the graph ran, bit for bit.
			v.SetValueGraph(g.GetParameterByName(v.ParameterName()))
			continue
		}
		after := v.ValueGraph(g)
		if tv.LearningRate > 0 && tv.LearningRate != t.cfg.LearningRate {
			before := g.GetParameterByName(v.ParameterName())
			after = Add(before, MulScalar(Sub(after, before), tv.LearningRate/t.cfg.LearningRate))
		}
		if tv.NonNegative {
			after = Max(after, ScalarZero(g, after.DType()))
		}
		v.SetValueGraph(after)
	}
}
