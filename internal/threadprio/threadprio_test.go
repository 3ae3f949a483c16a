package threadprio

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadNice reads a thread's nice value from /proc (field 19 of its stat
// line, counted after the command name).
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, err := strconv.Atoi(fields[16]) // stat field 19: nice
	if err != nil {
		t.Fatalf("stat %q: %v", s, err)
	}
	return n
}

func TestLower(t *testing.T) {
	if runtime.GOOS != "linux" {
		if err := Lower(5); err != ErrUnsupported {
			t.Fatalf("Lower on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		return
	}
	for _, bad := range []int{0, -1, 20} {
		if err := Lower(bad); err == nil || !strings.Contains(err.Error(), strconv.Itoa(bad)) {
			t.Errorf("Lower(%d): %v, want an error naming the value", bad, err)
		}
	}
	type seen struct{ tid, nice, after int }
	ch := make(chan seen)
	go func() {
		if err := Lower(7); err != nil {
			t.Error(err)
			ch <- seen{}
			return
		}
		tid := syscall.Gettid()
		runtime.Gosched() // still the same thread after a reschedule
		ch <- seen{tid: tid, nice: threadNice(t, tid), after: syscall.Gettid()}
	}()
	got := <-ch
	if got.tid == 0 {
		return
	}
	if got.nice != 7 || got.after != got.tid {
		t.Errorf("lowered goroutine: thread %d then %d, nice %d; want one thread at nice 7", got.tid, got.after, got.nice)
	}
	// The goroutine has returned: its thread ends with it, so no other
	// goroutine runs at its priority (the process's main thread cannot
	// end: Go parks it for good instead).
	gone := got.tid == os.Getpid()
	for i := 0; i < 200 && !gone; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", got.tid)); os.IsNotExist(err) {
			gone = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !gone {
		t.Errorf("thread %d outlived its lowered goroutine", got.tid)
	}
	// The test's own thread is untouched.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if n := threadNice(t, syscall.Gettid()); n == 7 {
		t.Errorf("another thread has nice %d too", n)
	}
}
