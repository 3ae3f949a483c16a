package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lrkit/lrkit/internal/iofault"
)

// A real SQLite I/O error makes the store damaged and refuse writes: a
// process whose file size limit stops the WAL from growing gets EFBIG
// from write(2), which SQLite reports as SQLITE_IOERR_WRITE.
func TestSQLiteWriteErrorIsDamage(t *testing.T) {
	if !iofault.InChild(t) {
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s, p, run := openWithRun(t, path, Options{})
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "a", lossRecords(0, 10), nil); err != nil {
		t.Fatal(err)
	}
	iofault.StopGrowth(t, path, path+"-wal")
	_, err := s.AppendMetrics(ctx, p.ID, run.ID, "big", lossRecords(10, 20000), nil) // about 1 MB of WAL
	if !errors.Is(err, ErrDamaged) || !isIOError(err) {
		t.Fatalf("a batch the WAL cannot hold: %v; want an SQLite I/O error as damage", err)
	}
	if perr := s.Ping(ctx); !errors.Is(perr, ErrDamaged) {
		t.Errorf("Ping after the I/O error: %v; want ErrDamaged", perr)
	}
	if _, err := s.AppendMetrics(ctx, p.ID, run.ID, "small", lossRecords(30000, 1), nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("a small batch after the I/O error: %v; want it refused with ErrDamaged", err)
	}
	if got, err := s.Metrics(ctx, p.ID, run.ID, 0, 0); err != nil || len(got) != 10 {
		t.Errorf("reads after the I/O error: %d metrics, %v; want the 10 stored before", len(got), err)
	}
}
