package store

import (
	"context"
	"time"
)

// Checkpoints of SQLite's write-ahead log.
//
// In WAL mode a commit appends the changed pages to the WAL, and a
// checkpoint copies them back into the database file, syncing both files
// (with synchronous=NORMAL, the only syncs there are). By default SQLite
// checkpoints on the committing connection, after a commit that takes the
// WAL past 1,000 pages: the metrics committer then stopped, with its
// group's callers waiting, for a copy of up to 4 MB and two fsyncs, once
// every few hundred commits under load. The committer's connection now
// checkpoints only past walSafetyPages (a WAL the checkpointer could not
// keep down); a goroutine of its own checkpoints every checkpointEvery on
// a connection of its own, in PASSIVE mode: it takes no lock a writer or
// reader waits for, and copies what no reader still needs. Durability is
// unchanged: a transaction is committed once its pages are in the WAL.

const (
	// checkpointEvery: every 100 ms cost about 5% more CPU per 10-record
	// batch than no background checkpoints (hot pages copied and files
	// synced ten times as often); every second cost nothing measurable
	// (ceiling benchmark, CPU per batch over the bare handler's, load
	// average 3.5-4).
	checkpointEvery = time.Second
	// walSafetyPages is the WAL size (in pages, 4 KiB by default) past
	// which a commit checkpoints anyway.
	walSafetyPages = 16384
)

// checkpointer checkpoints the WAL every checkpointEvery until the store
// closes.
func (s *Store) checkpointer() {
	defer s.wg.Done()
	s.background()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if err := s.checkpoint(); err == nil {
			s.checkpoints.Add(1)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint. An error is remembered if it
// says the file is damaged (Health, Ping); otherwise the next tick tries
// again.
func (s *Store) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var busy, logPages, copied int
	err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
	return s.noteDamage(err)
}
