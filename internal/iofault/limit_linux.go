package iofault

import (
	"os"
	"syscall"
	"testing"
)

// Headroom is how far past the largest of the named files StopGrowth lets
// files grow.
const Headroom = 64 << 10

// StopGrowth sets the process's file size limit (RLIMIT_FSIZE) Headroom
// bytes above the largest of files (those that exist), so that a write
// that would grow a file past it fails with EFBIG: the Go runtime ignores
// SIGXFSZ, which would otherwise end the process. Call it only in the
// child process (InChild). It skips the test if the limit cannot be set.
func StopGrowth(t *testing.T, files ...string) {
	t.Helper()
	var largest int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	limit := uint64(largest + Headroom)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
	}
}
