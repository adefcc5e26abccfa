//go:build bss2loopback

package bss2

/*
#cgo CFLAGS: -I${SRCDIR}/shim
#include <stdint.h>
int64_t gosnn_bss2_loopback_live(void);
*/
import "C"

// loopbackLive is the number of the loopback library's allocations not yet
// freed (the leak check of the tests).
func loopbackLive() int64 { return int64(C.gosnn_bss2_loopback_live()) }
