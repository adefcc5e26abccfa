// Package configs holds the shipped experiment configs (YAML), embedded in
// the binary so that "gosnn train yinyang" works from any folder.
package configs

import "embed"

// FS holds the shipped configs, one file per experiment.
//
//go:embed *.yaml
var FS embed.FS
