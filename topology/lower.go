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
