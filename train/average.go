package train

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
)

// averageScope holds the running averages of the trainable variables
// (Config.WeightAverage): /average/<scope>/<name> for each variable
// <scope>/<name>, and the number of updates so far.
const averageScope = "/average"

// updateAverages adds the step's new trainable values to their exponential
// moving averages (Polyak & Juditsky 1992; the "ExponentialMovingAverage"
// of TensorFlow, whose warm-up it shares):
//
//	avg <- d avg + (1 - d) w,  d = min(decay, (1 + n) / (10 + n))
//
// after n >= 1 earlier updates (the first sets avg = w), so that the average follows the fast early
// changes of the weights and averages over ~1/(1-decay) steps later. Called
// in the training graph after the optimizer step and the weight bumping.
func (t *Trainer) updateAverages(ctx *mlctx.Context, g *Graph) {
	decay := t.cfg.WeightAverage
	if decay == 0 {
		return
	}
	var trainable []*mlctx.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.Shape().DType.IsFloat() {
			trainable = append(trainable, v)
		}
	}
	actx := ctx.InAbsPath(averageScope).Checked(false)
	countVar := actx.VariableWithValue("updates", float64(0)).SetTrainable(false)
	count := countVar.ValueGraph(g)
	// The first update copies the weights (the average starts at the
	// weights after the first step).
	d := Where(Equal(count, ZerosLike(count)), ZerosLike(count),
		Min(Scalar(g, dtypes.Float64, decay), Div(AddScalar(count, 1), AddScalar(count, 10))))
	for _, v := range trainable {
		avgVar := ctx.InAbsPath(averageScope+v.Scope()).Checked(false).
			VariableWithValue(v.Name(), tensors.FromShape(v.Shape())).SetTrainable(false)
		w := v.ValueGraph(g)
		dw := ConvertDType(d, w.DType())
		avg := Add(Mul(dw, avgVar.ValueGraph(g)), Mul(OneMinus(dw), w))
		avgVar.SetValueGraph(avg)
	}
	countVar.SetValueGraph(AddScalar(count, 1))
}

// withAverages runs fn with every trainable variable set to its running
// average (when Config.WeightAverage is set and the averages exist), and
// sets the variables back afterwards: evaluation, inference, inspection
// and weights.json see the averaged network, training continues from the
// optimizer's own weights.
func (t *Trainer) withAverages(fn func() error) error {
	if t.cfg.WeightAverage == 0 {
		return fn()
	}
	type swapped struct {
		v     *mlctx.Variable
		value *tensors.Tensor
	}
	var saved []swapped
	restore := func() error {
		for _, s := range saved {
			if err := s.v.SetValue(s.value); err != nil {
				return fmt.Errorf("restoring %s after evaluating its average: %w", s.v.ScopeAndName(), err)
			}
		}
		return nil
	}
	for v := range t.ctx.IterVariables() {
		if !v.Trainable || !v.Shape().DType.IsFloat() {
			continue
		}
		avgVar := t.ctx.InAbsPath(averageScope + v.Scope()).GetVariable(v.Name())
		if avgVar == nil || !avgVar.HasValue() {
			continue // no training step yet: the weights are their own average
		}
		avg, err := avgVar.Value()
		if err != nil {
			return err
		}
		avgCopy, err := avg.LocalClone()
		if err != nil {
			return err
		}
		current, err := v.Value()
		if err != nil {
			return err
		}
		keep, err := current.LocalClone()
		if err != nil {
			return err
		}
		if err := v.SetValue(avgCopy); err != nil {
			_ = restore()
			return fmt.Errorf("setting %s to its average: %w", v.ScopeAndName(), err)
		}
		saved = append(saved, swapped{v, keep})
	}
	err := fn()
	if restoreErr := restore(); restoreErr != nil && err == nil {
		err = restoreErr
	}
	return err
}
