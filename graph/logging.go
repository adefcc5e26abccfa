package graph

import (
	"flag"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"k8s.io/klog/v2"
)

// verbose says whether GoMLX's and go-xla's own output reaches the user.
var verbose atomic.Bool

// klogFlags holds klog's settings: klog.InitFlags on a private FlagSet
// gives access to them without touching the program's flag.CommandLine.
var klogFlags = sync.OnceValue(func() *flag.FlagSet {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
})

// SetVerbose decides whether the log lines of GoMLX and go-xla (klog: "nvidia-smi
// command not found ...", plugin loading) and the pure-Go backend's start-up
// line ("SimpleGo backend: parallelism set to -1", printed on stdout) are
// shown, on stderr. Off by default, so that stdout holds only gosnn's output
// and the errors of NewBackend say in one line what is missing. It applies
// at once and to every later NewBackend.
func SetVerbose(v bool) {
	verbose.Store(v)
	configureLogging()
}

// Verbose reports the setting of SetVerbose.
func Verbose() bool { return verbose.Load() }

// configureLogging points klog at stderr (verbose) or nowhere. klog's
// default is every Info line on stderr; with logtostderr=false its output
// goes to the writer of SetOutput, and only lines at or above
// stderrthreshold (FATAL here) are copied to stderr.
func configureLogging() {
	fs := klogFlags()
	if Verbose() {
		_ = fs.Set("logtostderr", "true")
		_ = fs.Set("stderrthreshold", "INFO")
		klog.SetOutput(os.Stderr)
		return
	}
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// stdoutMu serialises the swaps of os.Stdout in withStdout.
var stdoutMu sync.Mutex

// devNull receives what GoMLX prints on stdout while it is not wanted.
var devNull = sync.OnceValue(func() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return os.Stderr
	}
	return f
})

// quietStdout runs fn with os.Stdout pointing to stderr (verbose) or to
// the null device. GoMLX's pure-Go backend prints its parallelism setting
// with fmt.Printf when it is created, and gosnn's stdout is for results.
// Only Go code that reads os.Stdout during fn is affected.
func quietStdout(fn func() error) error {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	saved := os.Stdout
	os.Stdout = devNull()
	if Verbose() {
		os.Stdout = os.Stderr
	}
	defer func() { os.Stdout = saved }()
	return fn()
}
