package event

import "github.com/gosnn/gosnn/topology"

// Networks of ttfs and lif populations lower through Lower.
func init() { topology.RegisterLowering(topology.FamilyEvent, Lower) }
