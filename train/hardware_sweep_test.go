package train

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosnn/gosnn/bss2"
	"github.com/gosnn/gosnn/graph"
)

// TestHardwareSweep (GOSNN_HW_SWEEP=1; GOSNN_HW_EPOCHS, default 10) trains
// the chip-fitted Yin-Yang network with the mock in the loop on 1000
// samples for each jitter sigma (0..5 % of tau_syn, 6-bit weights) and
// each weight resolution (4, 5, 6, 8 bits, float; no jitter), the other
// artifacts at jaxsnn's operating point, and prints the test accuracies
// (600 samples) as a Markdown table.
func TestHardwareSweep(t *testing.T) {
	if os.Getenv("GOSNN_HW_SWEEP") == "" {
		t.Skip("set GOSNN_HW_SWEEP=1 (a few minutes)")
	}
	epochs := 10
	if s := os.Getenv("GOSNN_HW_EPOCHS"); s != "" {
		epochs, _ = strconv.Atoi(s)
	}
	backend, _, err := graph.NewBackend("go")
	require.NoError(t, err)
	trainSet, val, test := smallYinYang(t, 1000, 42), smallYinYang(t, 300, 41), smallYinYang(t, 600, 40)
	type point struct {
		label  string
		jitter float64 // fraction of tau_syn
		bits   int
	}
	var points []point
	for _, j := range []float64{0, 0.01, 0.02, 0.05} {
		points = append(points, point{fmt.Sprintf("jitter %.0f %% tau_syn, 6 bits", 100*j), j, 6})
	}
	for _, b := range []int{4, 5, 8, 0} {
		label := fmt.Sprintf("%d-bit weights, no jitter", b)
		if b == 0 {
			label = "float weights, no jitter"
		}
		points = append(points, point{label, 0, b})
	}
	out := fmt.Sprintf("| mock setting | test accuracy after %d epochs |\n|---|---|\n", epochs)
	for _, p := range points {
		cfg := hardwareYinYang(t, 60)
		cfg.Epochs, cfg.LearningRate = epochs, 0.01
		mc := bss2.DefaultMock()
		mc.Jitter = p.jitter * bss2.OperatingTauSyn
		mc.WeightBits = p.bits
		cfg.Hardware.Mock = &mc
		trainer, _ := fit(t, backend, cfg, trainSet, val)
		_, acc, err := trainer.Evaluate(test)
		require.NoError(t, err)
		out += fmt.Sprintf("| %s | %.1f %% |\n", p.label, 100*acc)
		t.Logf("%s: %.1f %%", p.label, 100*acc)
	}
	t.Log("\n" + out)
}
