package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// A real SQLite I/O error makes the store damaged and refuse writes: a
// process whose file size limit (RLIMIT_FSIZE) stops the WAL from growing
// gets EFBIG from write(2), which SQLite reports as SQLITE_IOERR_WRITE.
// The limit is the whole process's, so the test runs in a child process
// (this test binary again).
func TestSQLiteWriteErrorIsDamage(t *testing.T) {
	if os.Getenv("LRKIT_TEST_FSIZE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestSQLiteWriteErrorIsDamage$", "-test.v")
		cmd.Env = append(os.Environ(), "LRKIT_TEST_FSIZE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _ := s.CreateProject(ctx, "p")
	run, err := s.CreateRun(ctx, p.ID, "r", "constant(peak=0.1)", 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := func(from, n int64) []runlog.Record {
		out := make([]runlog.Record, n)
		for i := range out {
			out[i] = runlog.Record{Step: from + int64(i), Loss: 1, GradNorm: 0.5, Present: runlog.FieldLoss | runlog.FieldGradNorm}
		}
		return out
	}
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "a", recs(0, 10), nil); err != nil {
		t.Fatal(err)
	}
	var largest int64
	for _, f := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	// Files may grow by 64 KiB more, no further; SIGXFSZ is ignored by
	// the Go runtime, so write(2) fails with EFBIG instead.
	limit := uint64(largest + 64<<10)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
	}
	_, err = s.AppendMetrics(ctx, p.ID, run.ID, "big", recs(10, 20000), nil) // about 1 MB of WAL
	if !errors.Is(err, ErrDamaged) || !isIOError(err) {
		t.Fatalf("a batch the WAL cannot hold: %v; want an SQLite I/O error as damage", err)
	}
	if perr := s.Ping(ctx); !errors.Is(perr, ErrDamaged) {
		t.Errorf("Ping after the I/O error: %v; want ErrDamaged", perr)
	}
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "small", recs(30000, 1), nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("a small batch after the I/O error: %v; want it refused with ErrDamaged", err)
	}
	if got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0); err != nil || len(got) != 10 {
		t.Errorf("reads after the I/O error: %d metrics, %v; want the 10 stored before", len(got), err)
	}
}
