//go:build !bss2 && !bss2loopback

package bss2

import "errors"

// ErrNoChip is returned by NewChip in a binary built without the bss2 tag.
var ErrNoChip = errors.New("bss2: this gosnn was built without the BrainScaleS-2 binding; build it inside the vendor container with `go build -tags bss2 ./cmd/gosnn` (see the README, BrainScaleS-2), or use the mock (hardware.backend: mock)")

// NewChip opens the BrainScaleS-2 chip with a stored calibration. Without
// the bss2 build tag there is no binding: it returns ErrNoChip.
func NewChip(calibrationPath string) (Backend, error) { return nil, ErrNoChip }
