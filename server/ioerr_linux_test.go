package server

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// When SQLite cannot write (here: a file size limit, RLIMIT_FSIZE, stops
// the WAL from growing, so write(2) fails with EFBIG and SQLite reports
// an I/O error), the batch is answered 503 "database damaged", /healthz
// says "damaged", later batches are refused, and rates are still served.
// The limit is the whole process's, so the test runs in a child process
// (this test binary again).
func TestServerDamagedByIOError(t *testing.T) {
	if os.Getenv("LRKIT_TEST_FSIZE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestServerDamagedByIOError$", "-test.v")
		cmd.Env = append(os.Environ(), "LRKIT_TEST_FSIZE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000000)
	postBatch(f, run.ID, "a", 0, 10, func(int) float64 { return 1 })
	var largest int64
	for _, p := range []string{f.dbPath, f.dbPath + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	limit := uint64(largest + 64<<10)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
	}
	metrics := fmt.Sprintf("/v1/runs/%d/metrics", run.ID)
	var big strings.Builder
	big.WriteString(`{"batch_id":"big","metrics":[`)
	for i := range 10000 { // the most a batch may hold: about 500 KB of WAL
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"step":%d,"loss":1,"grad_norm":0.5}`, 10+i)
	}
	big.WriteString("]}")
	if code, body := f.do(f.tokA, "POST", metrics, big.String()); code != 503 || !strings.Contains(body, "database damaged") {
		t.Errorf("a batch SQLite cannot write: %d %s; want 503, database damaged", code, body)
	}
	if code, body := f.do("", "GET", "/healthz", ""); code != 503 || !strings.Contains(body, `"damaged"`) {
		t.Errorf("healthz after the I/O error: %d %s; want 503, damaged", code, body)
	}
	if code, body := f.do(f.tokA, "POST", metrics, `{"batch_id":"small","metrics":[{"step":30000,"loss":1}]}`); code != 503 || !strings.Contains(body, "database damaged") {
		t.Errorf("a small batch after the I/O error: %d %s; want 503, database damaged", code, body)
	}
	if got := f.lr(f.tokA, run.ID, 5); got != 0.1 {
		t.Errorf("rate after the I/O error: %v; want 0.1 (rates are still served)", got)
	}
}
