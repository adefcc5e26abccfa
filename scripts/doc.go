// Package scripts holds no Go code: its tests exercise the shell scripts
// beside it (gpu-check.sh --dry-run, shellcheck), so that they are checked
// on every machine, also those without a GPU.
package scripts
