package threadprio

import (
	"fmt"
	"runtime"
	"syscall"
)

// lower sets the nice value of the calling thread: Linux applies
// setpriority(PRIO_PROCESS, tid) to the one thread tid names (see
// setpriority(2), "a thread's nice value").
func lower(nice int) error {
	runtime.LockOSThread()
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("threadprio: set the nice value of thread %d to %d: %w", syscall.Gettid(), nice, err)
	}
	return nil
}
