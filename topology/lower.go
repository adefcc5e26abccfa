package topology

import (
	"fmt"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// LowerFunc turns a network into a graph for the features [batch, inputs]:
// what a simulation family provides (event.Lower, discrete.Lower).
type LowerFunc func(ctx *context.Context, net *Network, features *graph.Node) Lowered

var lowerings sync.Map // family name -> LowerFunc

// RegisterLowering makes Lower use fn for networks of the family (each
// family's package registers itself when imported).
func RegisterLowering(family string, fn LowerFunc) { lowerings.Store(family, fn) }

// Lower builds the forward pass of net with the lowering of its family
// (Network.Family: the kinds of its populations decide): the one place
// where a family is chosen, so a trainer runs any network without knowing
// its kind. It panics when the family's package is not linked in.
func Lower(ctx *context.Context, net *Network, features *graph.Node) Lowered {
	fn, ok := lowerings.Load(net.Family())
	if !ok {
		panic(fmt.Errorf("network description: no lowering registered for the %s family (import its package)", net.Family()))
	}
	return fn.(LowerFunc)(ctx, net, features)
}

// ValuesOnlyParam is the graph parameter (context.Context.SetGraphParam, a
// bool) that tells a family's lowering its graph needs values only, never
// a gradient, as in an evaluation pass. The families then build cheaper
// graphs of the same values: the event LIF layers leave out the EventProp
// terms (zero in value by construction, but in a recurrent layer [batch,
// K, K] pair tensors per pass and a quarter of its XLA compile time), the
// discrete family its hand-written backward pass. The outputs of such a
// graph carry no gradient, or a wrong one: set it only where none is taken.
const ValuesOnlyParam = "gosnn_values_only"

// SetValuesOnly marks graph g of ctx as needing values only (see
// ValuesOnlyParam).
func SetValuesOnly(ctx *context.Context, g *graph.Graph) { ctx.SetGraphParam(g, ValuesOnlyParam, true) }

// ValuesOnly reports whether graph g of ctx needs values only (see
// ValuesOnlyParam).
func ValuesOnly(ctx *context.Context, g *graph.Graph) bool {
	return context.GetGraphParamOr(ctx, g, ValuesOnlyParam, false)
}
