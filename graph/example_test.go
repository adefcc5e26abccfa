package graph_test

import (
	"fmt"
	"os"

	"github.com/gosnn/gosnn/graph"
)

// DiagnoseCUDA reads a machine through a CUDAEnv: here an empty folder as
// the file system root, with $PJRT_PLUGIN_LIBRARY_PATH pointing to a folder
// that holds no plugin.
func ExampleDiagnoseCUDA() {
	root, err := os.MkdirTemp("", "machine")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	env := graph.CUDAEnv{Root: root, WorkDir: "/work", LookupEnv: func(name string) (string, bool) {
		if name == graph.PluginPathEnvVar {
			return "/opt/pjrt", true
		}
		return "", false
	}}
	_, err = graph.DiagnoseCUDA(env, "cuda")
	fmt.Println(err)
	// Output: xla:cuda: CUDA PJRT plugin pjrt_c_api_cuda_plugin.so not found in $PJRT_PLUGIN_LIBRARY_PATH="/opt/pjrt"; install it with scripts/install-pjrt.sh cuda12 pjrt --with-nvidia && export PJRT_PLUGIN_LIBRARY_PATH=$PWD/pjrt
}
