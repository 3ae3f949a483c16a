// Package threadprio runs a goroutine on an operating-system thread of its
// own at a lower scheduling priority (a higher nice value), so that
// background work, such as lrkit serve's metric ingest, leaves the
// processors to latency-critical work, such as its rate route, whenever
// they are all busy.
//
// Go schedules goroutines on GOMAXPROCS threads and knows no priorities.
// A goroutine locked to a thread whose nice value is raised runs, as far
// as the kernel is concerned, at that priority; for the kernel to have a
// choice, the process needs more Go processors than cores (one more per
// such thread), otherwise a lowered thread would still hold one of the
// few processors the other goroutines have.
package threadprio

import (
	"errors"
	"fmt"
)

// MaxNice is the largest nice value: the lowest priority.
const MaxNice = 19

// ErrUnsupported is returned by Lower where the nice value of one thread
// cannot be set (outside Linux, a nice value is the whole process's).
var ErrUnsupported = errors.New("threadprio: a thread's own nice value is not supported on this system")

// Lower locks the calling goroutine to its thread and sets that thread's
// nice value to nice (1 to MaxNice). The goroutine must never unlock the
// thread: when it returns, Go ends the thread, so no other goroutine ever
// runs at the lowered priority. On error the goroutine is not locked.
func Lower(nice int) error {
	if nice < 1 || nice > MaxNice {
		return fmt.Errorf("threadprio: nice value %d: want 1 to %d", nice, MaxNice)
	}
	return lower(nice)
}
