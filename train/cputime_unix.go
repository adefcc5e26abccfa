//go:build unix

package train

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system, all threads) this process has
// used so far; 0 where it cannot be read. On a loaded machine it measures
// compilation far more steadily than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
