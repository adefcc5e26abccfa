package snn

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// Latency is the linear latency code of fastAndDeep and jaxsnn: a value
// v in [0, 1] becomes one spike at time Early + v (Late - Early), so larger
// values spike later.
type Latency struct {
	Early float64 `json:"early" yaml:"early"`
	Late  float64 `json:"late" yaml:"late"`
}

// Validate requires finite 0 <= Early < Late.
func (e Latency) Validate() error {
	if !(e.Early >= 0) || math.IsInf(e.Late, 0) || !(e.Late > e.Early) {
		return fmt.Errorf("latency encoding: need 0 <= early < late (finite), got early=%g late=%g", e.Early, e.Late)
	}
	return nil
}

// Encode maps values [batch, n] to spike times [batch, n].
func (e Latency) Encode(values *Node) *Node {
	return AddScalar(MulScalar(values, e.Late-e.Early), e.Early)
}
