package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lrkit/lrkit/internal/threadprio"
	"github.com/lrkit/lrkit/runlog"
)

// Group commit of metric batches.
//
// A transaction costs far more than the few rows of one metrics batch:
// on SQLite the commit itself (the WAL append and its locks) was most of
// the 350 µs a ten-record batch took. So AppendMetrics does not run its
// own transaction: it queues the batch for a committer goroutine, which
// takes every batch that arrived while the previous transaction ran (up
// to maxGroupBatches of them, or maxGroupRecords records) and stores them
// all in one transaction. Each caller waits until that transaction has
// committed: an acknowledged batch is as durable as before, and a batch
// whose transaction failed is reported failed. Under light load a group is
// one batch and nothing waits; under heavy load the cost of a commit is
// shared by the whole group. This is the group commit of database logs
// (e.g. PostgreSQL's commit_delay, without the delay: the time the last
// commit took is the window).
//
// Within a group, batches are applied in arrival order, so two batches of
// one run see each other exactly as if committed one after the other;
// each run's row is read (and locked, on PostgreSQL, in run ID order so
// replicas cannot deadlock) once and written once, with its version
// advanced by the number of batches stored. A batch that fails on its own
// (its run does not exist, its update returns an error, its batch ID was
// used for other records) writes nothing and fails alone. A failure of the
// database during the group fails the transaction; then every batch of
// the group is tried again in a transaction of its own, so that one bad
// batch cannot fail the others (unless the database did not answer in
// time: then the whole group fails at once, instead of one timeout per
// batch).
//
// The committer gives up its processor every yieldEvery while it works
// through a group (runtime.Gosched between batches and between the
// INSERT chunks of a batch). A group of a burst of batches can take tens
// of milliseconds of CPU, and Go preempts a goroutine only after 10 ms:
// without the yields the goroutines queued behind the committer on its
// processor (rate requests, the handlers of the batches it has just
// acknowledged) waited for it, and the batches that arrived meanwhile
// waited for those handlers. Yielding lets them run, so more batches are
// queued when the next group is taken, and groups grow.

const (
	maxGroupBatches = 512
	maxGroupRecords = 50000
	// yieldEvery is the longest the committer works through a group
	// without yielding its processor.
	yieldEvery = time.Millisecond
)

// pacer makes a committer yield its processor every yieldEvery.
type pacer struct {
	last   time.Time
	yields *atomic.Uint64 // counted for tests
}

// pause yields the processor if yieldEvery passed since the last yield.
func (p *pacer) pause() {
	if p == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= yieldEvery {
		runtime.Gosched()
		p.last = time.Now()
		p.yields.Add(1)
	}
}

// appendReq is a metrics batch waiting for its group commit.
type appendReq struct {
	ctx              context.Context
	projectID, runID int64
	batchID, digest  string
	recs             []runlog.Record
	stmts            []metricsStmt // the INSERTs of recs
	update           func(*Change) error
	res              AppendResult
	err              error
	done             chan struct{}
}

// committers returns how many committers the store runs: one for SQLite,
// whose single writer connection would serialise more, and a few for
// PostgreSQL.
func (s *Store) committers() int {
	if s.dialect == dialectPostgres {
		return 4
	}
	return 1
}

// startCommitters starts the goroutines that commit metric batches (see
// committers) and SQLite's checkpointer.
func (s *Store) startCommitters() {
	s.commits = make(chan *appendReq, 4*maxGroupBatches)
	s.stop = make(chan struct{})
	for range s.committers() {
		s.wg.Add(1)
		go s.committer()
	}
	if s.ckpt != nil {
		s.wg.Add(1)
		go s.checkpointer()
	}
}

// committer commits groups of queued batches until the store closes.
func (s *Store) committer() {
	defer s.wg.Done()
	s.background()
	group := make([]*appendReq, 0, maxGroupBatches)
	pace := &pacer{yields: &s.yields}
	rest := time.NewTimer(time.Hour)
	rest.Stop()
	for {
		var first *appendReq
		select {
		case <-s.walFinish: // nil but for SQLite files
			s.finishCheckpoint()
			continue
		case first = <-s.commits:
		case <-s.stop:
			for {
				select {
				case r := <-s.commits:
					r.err = ErrClosed
					close(r.done)
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
		n := len(first.recs)
	fill:
		for len(group) < maxGroupBatches && n < maxGroupRecords {
			select {
			case r := <-s.commits:
				group = append(group, r)
				n += len(r.recs)
			default:
				break fill
			}
		}
		start := time.Now()
		pace.last = start
		s.commitGroup(group, pace)
		for _, r := range group {
			close(r.done)
		}
		s.rest(time.Since(start), rest)
	}
}

// Sharing the processors with latency-critical work.
//
// In a burst of metric batches (the ranks of data-parallel runs report
// the same steps at the same moment) the committer works without a pause
// for as long as batches keep arriving, a whole processor's worth, and
// the work that cannot wait (the server's rate route: a trainer stands
// still until it has its rate) queues behind it at equal priority: in the
// mixed load test the rate route's p99 was 30-50 ms while the bare
// handler's was 2-8 ms. Batches can wait: their senders post them in the
// background. So, while a caller-given test reports latency-critical work
// (ShareProcessor), a committer rests after each group for a time in
// proportion to the time the group took, so that it works at most a
// given share of the time; batches that arrive meanwhile join the next
// group, which stores them more cheaply (one commit, one read and write
// of each run, for more batches). It never rests when ingest falls
// behind (maxGroupBatches or more batches waiting), nor longer than
// maxRest at a time, nor while nothing latency-critical is going on: an
// ingest-only load keeps the full speed of the committer.

// maxRest is the longest a committer rests after a group.
const maxRest = 20 * time.Millisecond

// processorShare is what ShareProcessor set.
type processorShare struct {
	share float64
	busy  func() bool
}

// ShareProcessor makes the metric committers work at most share of the
// time (0 < share <= 1; 1 lifts the limit) whenever busy reports true;
// busy is called once per group commit, from the committers, and must be
// cheap and safe for concurrent use. The last call wins: a store shares
// the processors for one server. See the comment above maxRest.
func (s *Store) ShareProcessor(share float64, busy func() bool) error {
	if !(share > 0 && share <= 1) {
		return fmt.Errorf("store: processor share %v: want more than 0, at most 1", share)
	}
	if busy == nil || share == 1 {
		s.share.Store(nil)
		return nil
	}
	s.share.Store(&processorShare{share: share, busy: busy})
	return nil
}

// RestStats returns how often the committers rested (ShareProcessor) and
// for how long in all.
func (s *Store) RestStats() (rests uint64, total time.Duration) {
	return s.rests.Load(), time.Duration(s.rested.Load())
}

// rest makes a committer whose last group took worked rest, if the
// processor is shared now (ShareProcessor), on the timer t.
func (s *Store) rest(worked time.Duration, t *time.Timer) {
	sh := s.share.Load()
	if sh == nil || len(s.commits) >= maxGroupBatches || !sh.busy() {
		return
	}
	d := min(time.Duration(float64(worked)*(1-sh.share)/sh.share), maxRest)
	if d <= 0 {
		return
	}
	start := time.Now()
	t.Reset(d)
	select {
	case <-t.C:
	case <-s.stop: // closing: the rest ends early, and counts as long as it was
		t.Stop()
		d = min(d, time.Since(start))
	}
	s.rests.Add(1)
	s.rested.Add(int64(d))
}

// commitGroup stores a group of batches in one transaction, or each in
// its own if the group's transaction fails.
func (s *Store) commitGroup(group []*appendReq, pace *pacer) {
	live := make([]*appendReq, 0, len(group))
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err // the caller gave up before its batch was stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := s.groupTx(live, pace)
	if err == nil {
		return
	}
	// A database that did not answer in time (or a closed store) would
	// fail each batch again, one timeout after another: fail them all now.
	if len(live) == 1 || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
		for _, r := range live {
			r.err = err
		}
		return
	}
	for _, r := range live {
		if err := s.groupTx([]*appendReq{r}, pace); err != nil {
			r.err = err
		}
	}
}

// groupRun is a run as a group transaction changes it.
type groupRun struct {
	run     Run
	orig    int64 // its version when read
	added   int64 // metric records stored
	err     error // ErrNotFound: every batch for it fails with this
	touched bool
}

// groupTx stores reqs in one transaction. Errors of one batch are set on
// it; the error returned is the database's, and means nothing was stored.
func (s *Store) groupTx(reqs []*appendReq, pace *pacer) error {
	for _, r := range reqs {
		r.res, r.err = AppendResult{}, nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.noteDamage(err)
	}
	// SQLite's statements inside the transaction run on local memory and
	// a lock already held: they get a context without a deadline, which
	// spares the driver a goroutine per statement to watch it (the lock
	// wait of BEGIN and COMMIT is still bounded by ctx). PostgreSQL's go
	// over the network and keep the deadline.
	sctx := ctx
	if s.dialect == dialectSQLite {
		sctx = context.Background()
	}
	if err := s.applyGroup(sctx, tx, reqs, pace); err != nil {
		tx.Rollback()
		return s.noteDamage(err)
	}
	if err := tx.Commit(); err != nil {
		return s.noteDamage(err)
	}
	s.groups.Add(1)
	s.batches.Add(uint64(len(reqs)))
	return nil
}

// CommitStats returns how many group transactions of metric batches have
// committed, and how many batches they held in all.
func (s *Store) CommitStats() (groups, batches uint64) {
	return s.groups.Load(), s.batches.Load()
}

// yieldCount returns how often the committers yielded their processor
// inside a group (for tests).
func (s *Store) yieldCount() uint64 { return s.yields.Load() }

type runKey struct{ project, run int64 }

func (s *Store) applyGroup(ctx context.Context, tx *sql.Tx, reqs []*appendReq, pace *pacer) error {
	runs := map[runKey]*groupRun{}
	var keys []runKey
	for _, r := range reqs {
		k := runKey{r.projectID, r.runID}
		if _, ok := runs[k]; !ok {
			runs[k] = nil
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b runKey) int {
		if a.run != b.run {
			return cmp.Compare(a.run, b.run)
		}
		return cmp.Compare(a.project, b.project)
	})
	for _, k := range keys {
		run, err := s.lockRun(ctx, tx, k.project, k.run)
		switch {
		case errors.Is(err, ErrNotFound):
			runs[k] = &groupRun{err: ErrNotFound}
		case err != nil:
			return err
		default:
			runs[k] = &groupRun{run: run, orig: run.Version}
		}
	}
	now := s.ms()
	for _, r := range reqs {
		pace.pause()
		g := runs[runKey{r.projectID, r.runID}]
		if g.err != nil {
			r.err = g.err
			continue
		}
		// The batch ID first: a retry stops here.
		res, err := s.txExec(ctx, tx, insertBatchSQL, r.runID, r.batchID, len(r.recs), r.digest, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var stored string
			if err := s.txQueryRow(ctx, tx, batchDigestSQL, r.runID, r.batchID).Scan(&stored); err != nil {
				return err
			}
			if stored != "" && stored != r.digest {
				r.err = ErrBatchReused
				continue
			}
			r.res = AppendResult{Duplicate: true, Skipped: len(r.recs), Run: g.run}
			continue
		}
		ch := Change{Run: g.run, recs: r.recs, fresh: func() ([]runlog.Record, error) {
			return s.freshRecords(ctx, tx, r.runID, r.recs)
		}}
		// A step stored before is at most the last step: the last step
		// of the stored steps and the batch's new ones is the largest of
		// all.
		for _, rec := range r.recs {
			ch.Run.LastStep = max(ch.Run.LastStep, rec.Step)
		}
		if r.update != nil {
			err = r.update(&ch)
		}
		if err == nil {
			err = ch.Run.checkStatus()
		}
		if err != nil {
			// The batch fails alone: take back its ID.
			r.err = err
			if _, err := tx.ExecContext(ctx, s.q("DELETE FROM run_batches WHERE run_id = ? AND batch_id = ?"), r.runID, r.batchID); err != nil {
				return err
			}
			continue
		}
		n, err := s.insertMetrics(ctx, tx, r.stmts, pace)
		if err != nil {
			return err
		}
		if ch.freshRead && n != len(ch.freshRecs) {
			return fmt.Errorf("stored %d new steps of batch %q, %d expected", n, r.batchID, len(ch.freshRecs))
		}
		evs, err := s.insertEvents(ctx, tx, r.runID, ch.events, now)
		if err != nil {
			return err
		}
		ch.Run.ID, ch.Run.ProjectID = r.runID, r.projectID
		ch.Run.Version = g.run.Version + 1
		ch.Run.Updated = time.UnixMilli(now)
		g.run, g.touched = ch.Run, true
		g.added += int64(n)
		r.res = AppendResult{Inserted: n, Skipped: len(r.recs) - n, Run: g.run, Events: evs}
	}
	for _, k := range keys {
		g := runs[k]
		if g.err != nil || !g.touched {
			continue
		}
		if err := s.saveRun(ctx, tx, &g.run, g.orig, now, g.added); err != nil {
			return err
		}
	}
	return nil
}

// batchDigest is a digest of a batch's records, stored with its batch ID
// so that the ID sent again with other records is told from a retry.
func batchDigest(recs []runlog.Record) string {
	h := sha256.New()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	for _, r := range recs {
		put(uint64(r.Step))
		put(uint64(r.Present))
		for _, f := range floatFields {
			if v, ok := r.Value(f); ok {
				put(math.Float64bits(v))
			}
		}
		if r.Has(runlog.FieldExamplesSeen) {
			put(uint64(r.ExamplesSeen))
		}
		if r.Has(runlog.FieldWallSeconds) {
			put(math.Float64bits(r.WallSeconds))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// background puts the calling goroutine, a committer or the checkpointer,
// on a thread of its own at the store's background nice value, if set. A
// system that cannot lower one thread runs it at the usual priority.
func (s *Store) background() {
	if s.nice <= 0 {
		return
	}
	if threadprio.Lower(s.nice) == nil {
		s.niced.Add(1)
	}
}

// BackgroundNice returns the nice value of the store's background threads
// (Options.BackgroundNice; 0: off).
func (s *Store) BackgroundNice() int { return s.nice }

// SyncsFiles reports whether the store syncs files on a goroutine of its
// own: an SQLite file's checkpointer does (its fdatasync calls block a
// thread for milliseconds); PostgreSQL and in-memory stores do not.
func (s *Store) SyncsFiles() bool { return s.ckpt != nil }

// BackgroundThreads returns how many of the store's goroutines run on
// threads of their own at Options.BackgroundNice (0 if it is off): the
// committers and the checkpointer.
func (s *Store) BackgroundThreads() int {
	if s.nice <= 0 {
		return 0
	}
	n := s.committers()
	if s.ckpt != nil {
		n++
	}
	return n
}
