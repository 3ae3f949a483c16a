//go:build unix

package safefile

import "syscall"

// nonblock keeps the open from waiting on a FIFO swapped in after Stat.
const nonblock = syscall.O_NONBLOCK
