package sweep_test

import (
	"fmt"

	"github.com/gosnn/gosnn/train/sweep"
)

// A sweep file over the hidden layer's size and the seed: four points,
// each a config of its own.
func Example() {
	plan, err := sweep.Parse([]byte(`
name: hidden
base: yin_yang
set: {epochs: 20}
grid:
  network.nodes.hidden.size: [30, 120]
  seed: [1, 2]
`), "hidden.yaml", ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, p := range plan.Points {
		cfg := plan.Configs[i]
		fmt.Printf("point %d: %s=%s %s=%s -> hidden %d, seed %d, %d epochs\n", p.Index,
			p.Settings[0].Key, p.Settings[0].Text(), p.Settings[1].Key, p.Settings[1].Text(),
			cfg.Network.Node("hidden").Size, cfg.Seed, cfg.Epochs)
	}
	// Output:
	// point 0: network.nodes.hidden.size=30 seed=1 -> hidden 30, seed 1, 20 epochs
	// point 1: network.nodes.hidden.size=30 seed=2 -> hidden 30, seed 2, 20 epochs
	// point 2: network.nodes.hidden.size=120 seed=1 -> hidden 120, seed 1, 20 epochs
	// point 3: network.nodes.hidden.size=120 seed=2 -> hidden 120, seed 2, 20 epochs
}
