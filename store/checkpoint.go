package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Checkpoints of SQLite's write-ahead log.
//
// In WAL mode a commit appends the changed pages to the WAL, and a
// checkpoint copies them back into the database file. With
// synchronous=NORMAL the only syncs SQLite makes are a checkpoint's (the
// WAL before copying, the database file after copying all of it) and the
// WAL header's when the WAL starts again from its beginning ("restarts",
// at the first commit after a checkpoint copied all of it). By default
// SQLite checkpoints on the committing connection past 1,000 pages, with
// the metrics committer's callers waiting. Here the committer's connection
// checkpoints by itself only past walSafetyPages; a goroutine of its own
// (the checkpointer) does the work, on a connection of its own:
//
//   - Every walSyncEvery, if the WAL has changed, it syncs the WAL on a
//     file descriptor of its own. A sync's cost grows with the data it
//     writes (about 0.7 ms for 4 KiB, 2 ms for 640 KiB, 7 ms for 4 MiB on
//     the development machine), and while the kernel writes a file's
//     dirty pages, a commit appending to the same file can wait for it:
//     with one sync a second, in each checkpoint's, commits stalled for
//     20-30 ms (strace). A side effect: commits reach the disk within
//     about walSyncEvery, not only at the next checkpoint.
//   - Every checkpointEvery it runs up to checkpointPasses PASSIVE
//     checkpoints (no lock a writer or reader waits for), each followed by
//     a sync of the database file on a descriptor of its own: SQLite syncs
//     the database file only after a checkpoint that copied the whole WAL,
//     which under continuous writes never happens, so the copies stayed
//     dirty until the committer's own checkpoint synced them (15-20 ms on
//     the committer's path).
//   - Under continuous writes the WAL then never restarts on its own: a
//     background checkpoint never finds it fully copied. When it holds
//     walFinishPages or more, the checkpointer asks the committer to
//     finish the checkpoint between two groups: what is left to copy is
//     what was committed during the background passes, and the syncs have
//     little left to write (4-9 ms measured, once a second), after which
//     the next commit restarts the WAL. Without that, the committer's
//     connection checkpointed the whole second's WAL itself at
//     walSafetyPages, with 60-80 ms commits.
//
// Durability is unchanged: a transaction is committed once its pages are
// in the WAL. The store's own descriptors only sync files (never write
// them); the database file's is closed after SQLite's connections, as
// closing a descriptor drops the process's POSIX locks on the file.
const (
	// checkpointEvery: every 100 ms cost about 5% more CPU per 10-record
	// batch than no background checkpoints (hot pages copied and files
	// synced ten times as often); every second cost nothing measurable
	// (ceiling benchmark, CPU per batch over the bare handler's, load
	// average 3.5-4).
	checkpointEvery = time.Second
	// walSyncEvery: 10 and 25 ms gave the same paced ingest tails.
	walSyncEvery = 10 * time.Millisecond
	// checkpointPasses: the second pass copies what was committed during
	// the first and its sync, so that the committer's finish has less.
	checkpointPasses = 2
	// walFinishPages is the WAL size (pages) from which the committer
	// finishes a checkpoint the background passes could not complete;
	// below it, the WAL is left to grow until a later round.
	walFinishPages = 4096
	// walSafetyPages is the WAL size (in pages, 4 KiB by default) past
	// which a commit checkpoints anyway: a WAL the checkpointer could not
	// keep down. 64 MiB was reached within a second at 128,000 records/s.
	walSafetyPages = 65536
)

// checkpointTuning holds the checkpointer's intervals and thresholds;
// tests shorten them (Options.tune).
type checkpointTuning struct {
	every, walSync time.Duration
	finishPages    int
}

// checkpointer syncs the WAL and checkpoints it until the store closes.
func (s *Store) checkpointer() {
	defer s.wg.Done()
	s.background()
	wal := walSyncer{path: s.path + "-wal"}
	defer wal.close()
	syncs := time.NewTicker(s.tune.walSync)
	defer syncs.Stop()
	rounds := time.NewTicker(s.tune.every)
	defer rounds.Stop()
	var last walState
	for {
		select {
		case <-s.stop:
			return
		case <-syncs.C:
			if synced, err := wal.sync(); err == nil && synced {
				s.walSyncs.Add(1)
			}
		case <-rounds.C:
			last = s.checkpointRound(last)
		}
	}
}

// walState is the WAL as a checkpoint left it: its size and how much of
// it was copied, in pages.
type walState struct{ logPages, copied int }

// checkpointRound runs the background passes of one round and, if the
// WAL is large and could not be copied whole, asks the committer to
// finish. It returns the WAL's state after the round; given the state
// after the last one, it does nothing more when nothing was committed
// since.
func (s *Store) checkpointRound(last walState) walState {
	for pass := range checkpointPasses {
		logPages, copied, err := s.checkpoint()
		if err != nil {
			return walState{}
		}
		s.checkpoints.Add(1)
		now := walState{logPages, copied}
		if logPages <= 0 || now == last {
			return now // SQLite could not run it, the WAL is empty, or unchanged
		}
		last = now
		// SQLite has synced the database file only if the pass copied the
		// whole WAL and nothing was committed meanwhile.
		if copied > 0 {
			if err := datasync(s.dbFile); err != nil {
				return now
			}
		}
		if copied < logPages {
			return now // a reader needs older pages: the WAL cannot restart yet
		}
		if pass == checkpointPasses-1 && logPages >= s.tune.finishPages {
			select {
			case s.walFinish <- struct{}{}:
			default: // asked already
			}
		}
	}
	return last
}

// checkpoint runs one PASSIVE checkpoint and returns the WAL's size and
// how much of it is now copied, in pages (-1 if SQLite could not run it).
// An error is remembered if it says the file is damaged (Health, Ping);
// otherwise the next round tries again.
func (s *Store) checkpoint() (logPages, copied int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var busy int
	err = s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
	return logPages, copied, s.noteDamage(err)
}

// finishCheckpoint runs, on the committer's connection between groups, a
// checkpoint that copies the rest of the WAL; the next commit then
// restarts it.
func (s *Store) finishCheckpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var busy, logPages, copied int
	err := s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
	if s.noteDamage(err) == nil && busy == 0 && copied >= logPages {
		s.finishes.Add(1)
	}
}

// CheckpointStats returns how many background checkpoint passes have
// run, how many checkpoints the committer finished (each lets the WAL
// restart from its beginning under continuous writes), and how many
// times the WAL was synced between checkpoints. All are 0 for PostgreSQL
// and an in-memory database.
func (s *Store) CheckpointStats() (passes, finished, walSyncs uint64) {
	return s.checkpoints.Load(), s.finishes.Load(), s.walSyncs.Load()
}

// walSyncer syncs a WAL file when it has changed since its last sync.
// SQLite keeps the file while any connection to the database is open (the
// store's are, until Close), so one descriptor serves; the file may not
// exist before the first write.
type walSyncer struct {
	path string
	f    *os.File
	// size and modified as at the last sync.
	size     int64
	modified time.Time
}

// sync syncs the WAL if its size or modification time changed since the
// last sync, and says whether it did. (A write within the same tick of
// the file system's clock as the last sync, not growing the file, waits
// for a later write or the next checkpoint.)
func (w *walSyncer) sync() (bool, error) {
	if w.f == nil {
		f, err := os.Open(w.path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		w.f = f
	}
	fi, err := w.f.Stat()
	if err != nil {
		return false, err
	}
	if fi.Size() == w.size && fi.ModTime().Equal(w.modified) {
		return false, nil
	}
	if err := datasync(w.f); err != nil {
		return false, err
	}
	w.size, w.modified = fi.Size(), fi.ModTime()
	return true, nil
}

func (w *walSyncer) close() {
	if w.f != nil {
		w.f.Close()
	}
}
