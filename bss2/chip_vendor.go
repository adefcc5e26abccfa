//go:build bss2 && !bss2loopback

package bss2

// The vendor shim: libgosnn_bss2.so, built by make -C bss2/shim inside the
// vendor container. Without it the build stops here with one message.

/*
#cgo CFLAGS: -I${SRCDIR}/shim -I${SRCDIR}/shim/build
#cgo LDFLAGS: -L${SRCDIR}/shim/build -lgosnn_bss2 -Wl,-rpath,${SRCDIR}/shim/build
#if !__has_include("gosnn_bss2_config.h")
#error "gosnn -tags bss2 needs the BrainScaleS-2 shim library: build it inside the vendor container with `make -C bss2/shim` (see the README, BrainScaleS-2), or build without -tags bss2 and train with the mock"
#endif
*/
import "C"
