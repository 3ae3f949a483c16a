package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
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
//   - It syncs the WAL on a file descriptor of its own whenever
//     walSyncFrames frames were appended since the last sync, and
//     otherwise walSyncDelay after the last sync if any were. A sync's
//     cost grows with the data it writes (about 0.7 ms for 4 KiB, 2 ms
//     for 640 KiB, 7 ms for 4 MiB on the development machine), and while
//     the kernel writes a file's dirty pages, a commit appending to the
//     same file can wait for it: with one sync a second, in each
//     checkpoint's, commits stalled for 20-30 ms (strace). Syncing every
//     10 ms instead cured that but slowed the committer in bursts of small
//     batches (the mixed load test's batches took 30% longer); a sync per
//     so much WAL makes fewer syncs there (whether that recovers the cost
//     was inside the runs' spread: docs/server.md). A side effect:
//     commits reach the disk sooner, not only at the next checkpoint.
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
	// walSyncEvery is how often the checkpointer looks whether the WAL
	// is due a sync.
	walSyncEvery = 10 * time.Millisecond
	// walSyncFrames: 160 frames (640 KiB) are about what 10 ms of
	// 128,000 records/s append, and syncing every 10 ms gave the paced
	// ingest's p99 under 10 ms (32 groups, 1-2 MiB, gave 9-18 ms).
	walSyncFrames = 160
	// walSyncDelay bounds how long a change to the WAL waits for a sync
	// when fewer than walSyncFrames frames come.
	walSyncDelay = 100 * time.Millisecond
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

// checkpointTuning holds the checkpointer's intervals and thresholds and
// how it syncs a file; tests change them (Options.tune).
type checkpointTuning struct {
	every, walSync, walSyncDelay time.Duration
	walSyncFrames, finishPages   int
	betweenPasses                func()               // tests: runs between a round's passes
	sync                         func(*os.File) error // datasync; tests make it fail
}

// defaultTuning is the checkpointer's tuning outside tests.
func defaultTuning() checkpointTuning {
	return checkpointTuning{every: checkpointEvery, walSync: walSyncEvery, walSyncDelay: walSyncDelay,
		walSyncFrames: walSyncFrames, finishPages: walFinishPages, sync: datasync}
}

// checkpointer syncs the WAL and checkpoints it until the store closes.
func (s *Store) checkpointer() {
	defer s.wg.Done()
	s.background()
	wal := walSyncer{path: s.path + "-wal", shm: s.shmFile, syncFile: s.tune.sync}
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
		case now := <-syncs.C:
			synced, err := wal.sync(now, s.tune.walSyncFrames, s.tune.walSyncDelay)
			var failed *syncError
			switch {
			case errors.As(err, &failed):
				s.noteIOFailure(failed)
			case err == nil && synced:
				s.walSyncs.Add(1)
			}
		case <-rounds.C:
			last = s.checkpointRound(last)
		}
	}
}

// walState is the WAL as a checkpoint left it: its size and how much of
// it was copied, in pages, and the wal-index's count of transactions
// (0 if unknown), which tells a WAL that restarted to the same size.
type walState struct {
	logPages, copied int
	change           uint32
}

// checkpointRound runs the background passes of one round and, if the
// WAL is large and could not be copied whole, asks the committer to
// finish. It returns the WAL's state after the round; given the state
// after the last one, it does nothing more when nothing was committed
// since.
func (s *Store) checkpointRound(last walState) walState {
	for pass := range checkpointPasses {
		_, logPages, copied, err := s.checkpoint(s.ckpt)
		if err != nil {
			return walState{}
		}
		s.checkpoints.Add(1)
		now := walState{logPages: logPages, copied: copied}
		if s.shmFile != nil {
			now.change, _, _ = readWALIndex(s.shmFile)
		}
		if logPages <= 0 || now == last {
			return now // SQLite could not run it, the WAL is empty, or unchanged
		}
		last = now
		// SQLite has synced the database file only if the pass copied the
		// whole WAL and nothing was committed meanwhile.
		if copied > 0 {
			if err := s.tune.sync(s.dbFile); err != nil {
				s.noteIOFailure(&syncError{path: s.path, err: err})
				return now
			}
		}
		if copied < logPages {
			return now // a reader needs older pages: the WAL cannot restart yet
		}
		if pass < checkpointPasses-1 && s.tune.betweenPasses != nil {
			s.tune.betweenPasses()
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

// checkpoint runs one PASSIVE checkpoint on db (the checkpointer's or
// the committer's connection) and returns whether SQLite found it busy,
// the WAL's size and how much of it is now copied, in pages (-1 if SQLite
// could not run it). An error that says the file is damaged, or an I/O
// error (the checkpoint's sync among them), is remembered as damage
// (noteDamage); otherwise the next round tries again.
func (s *Store) checkpoint(db *sql.DB) (busy bool, logPages, copied int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var b int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&b, &logPages, &copied)
	return b != 0, logPages, copied, s.noteDamage(err)
}

// finishCheckpoint runs, on the committer's connection between groups, a
// checkpoint that copies the rest of the WAL; the next commit then
// restarts it.
func (s *Store) finishCheckpoint() {
	if busy, logPages, copied, err := s.checkpoint(s.w); err == nil && !busy && copied >= logPages {
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

// walSyncer syncs a WAL file when enough has been appended to it since
// its last sync, or anything a while ago. SQLite keeps the WAL file while
// any connection to the database is open (the store's are, until Close),
// so one descriptor serves; it may not exist before the first write.
type walSyncer struct {
	path string
	f    *os.File
	// shm is the store's descriptor of the wal-index (the "-shm" file),
	// closed by the store after SQLite's connections: SQLite holds locks
	// on it.
	shm      *os.File
	synced   uint32 // the WAL's frame count at the last sync
	syncedAt time.Time
	syncFile func(*os.File) error // the tuning's
}

// syncError is a failed sync of one of the database's files.
type syncError struct {
	path string
	err  error
}

func (e *syncError) Error() string {
	return fmt.Sprintf("sync of %s failed: %v", e.path, e.err)
}

func (e *syncError) Unwrap() error { return e.err }

// noteIOFailure marks the store damaged after a failed sync of its
// database file or WAL (its own syncs, or SQLite's, which SQLite reports
// as an I/O error) or any other SQLite I/O error, and makes it refuse
// writes from then on (see writable); it returns the error it recorded.
//
// After a failed fsync or fdatasync the kernel may have dropped the pages
// it could not write and marked them clean, so that a later sync succeeds
// without writing them: what was committed may not be on the disk, and
// trying again cannot tell. A checkpoint whose sync fails matters most:
// retried, it would let SQLite restart the WAL over frames whose copies
// in the database file the kernel may have dropped. Going on would also
// acknowledge new batches as durable on a file that may have lost older
// ones. So Ping and every write report the damage (lrkit serve's /healthz
// says "damaged", writes answer 503) until the server is restarted on a
// checked or restored file. (PostgreSQL panics on such a failure since
// its commit "PANIC on fsync() failure", November 2018, back-patched to
// every supported release, with the setting data_sync_retry to retry
// instead; https://wiki.postgresql.org/wiki/Fsync_Errors.)
func (s *Store) noteIOFailure(cause error) error {
	err := fmt.Errorf("%w: %w (committed data may not be on the disk: check the disk, then restart; restore from a backup if the integrity check fails)", ErrDamaged, cause)
	s.damaged.CompareAndSwap(nil, &err)
	s.ioFailed.CompareAndSwap(nil, &err)
	return err
}

// writable returns nil, or the damage after which the store refuses
// writes (an I/O error: noteIOFailure).
func (s *Store) writable() error {
	if p := s.ioFailed.Load(); p != nil {
		return *p
	}
	return nil
}

// readWALIndex reads, from the wal-index (the -shm file), its count of
// transactions (iChange, byte 8) and how many frames the WAL holds
// (mxFrame, byte 16), in the machine's byte order
// (https://www.sqlite.org/walformat.html, "The WAL-Index Header"; struct
// WalIndexHdr in SQLite's wal.c). Values read while a commit updates
// them are hints only, which the next read corrects.
func readWALIndex(shm *os.File) (change, frames uint32, err error) {
	var b [20]byte
	if _, err := shm.ReadAt(b[:], 0); err != nil {
		return 0, 0, err
	}
	return binary.NativeEndian.Uint32(b[8:]), binary.NativeEndian.Uint32(b[16:]), nil
}

// sync syncs the WAL if minFrames frames or more were appended since the
// last sync (counting from its beginning if it restarted since), or any
// after maxDelay, and says whether it did.
func (w *walSyncer) sync(now time.Time, minFrames int, maxDelay time.Duration) (bool, error) {
	if w.shm == nil {
		return false, nil
	}
	_, n, err := readWALIndex(w.shm)
	if err != nil {
		return false, err
	}
	appended := n - w.synced
	if n < w.synced {
		appended = n // restarted
	}
	if appended == 0 || int(appended) < minFrames && now.Sub(w.syncedAt) < maxDelay {
		return false, nil
	}
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
	if err := w.syncFile(w.f); err != nil {
		return false, &syncError{path: w.path, err: err}
	}
	w.synced, w.syncedAt = n, now
	return true, nil
}

func (w *walSyncer) close() {
	if w.f != nil {
		w.f.Close()
	}
}
