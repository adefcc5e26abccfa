package train

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/gosnn/gosnn/configs"
)

// ShippedConfigs lists the names of the configs shipped in configs/
// (embedded in the binary), such as "yin_yang".
func ShippedConfigs() []string {
	entries, _ := fs.ReadDir(configs.FS, ".")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// ShippedConfig reads the shipped config of that name (configs/NAME.yaml).
func ShippedConfig(name string) (Config, error) {
	data, err := fs.ReadFile(configs.FS, name+".yaml")
	if err != nil {
		return Config{}, fmt.Errorf("no shipped config %q (shipped: %s)", name, strings.Join(ShippedConfigs(), ", "))
	}
	return ParseConfig(data, "configs/"+name+".yaml")
}

// DefaultYinYang returns the shipped configs/yin_yang.yaml: fastAndDeep's
// Yin-Yang TTFS network and recipe, the run of "gosnn train yinyang".
func DefaultYinYang() Config {
	cfg, err := ShippedConfig("yin_yang")
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return cfg
}
