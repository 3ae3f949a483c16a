package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/lrkit/lrkit/internal/threadprio"
	"github.com/lrkit/lrkit/store"
)

// Metric ingest at a lower priority.
//
// A metrics batch costs far more CPU than a rate request: decoding its
// JSON, building its INSERTs, and the group transaction that stores it.
// When many trainers report at once (ranks of data-parallel runs report
// the same step), the batches' work took both processors for a few
// hundred milliseconds and rate requests queued behind it: the rate
// route's p99 rose from the bare handler's 6-11 ms to 21-47 ms in the
// mixed load test. Go has no goroutine priorities, but the kernel has
// thread priorities: over a store opened with store.Options.BackgroundNice
// (whose committers run on threads at that nice value), a few ingest
// workers on threads of their own at the same nice value
// (internal/threadprio) decode batches and queue them for the store,
// while the handlers, on the
// usual threads, only read the body, hand it over, wait and answer. With
// one more Go processor than cores per lowered thread (ExtraProcs), the
// kernel runs the rate route first whenever the cores are all busy, and
// the batches' work fills what is left: batches wait longer in a burst,
// rates do not.

// DefaultIngestWorkers is the number of ingest workers when the store runs
// at a background nice value and Options.IngestWorkers is not set.
const DefaultIngestWorkers = 2

// ingestJob is a metrics batch handed to an ingest worker.
type ingestJob struct {
	ctx   context.Context
	tok   store.Token
	id    int64
	data  []byte
	reply chan ingestReply
}

// ingestReply is what the worker made of a batch: the batch queued for its
// commit, or the error to answer.
type ingestReply struct {
	queued *queuedBatch
	err    error
}

// startIngest starts the ingest workers if the store runs at a
// background nice value.
func (s *Server) startIngest() {
	if s.st.BackgroundNice() <= 0 {
		return
	}
	if s.opts.IngestWorkers <= 0 {
		s.opts.IngestWorkers = DefaultIngestWorkers
	}
	s.ingest = make(chan ingestJob)
	for range s.opts.IngestWorkers {
		s.wg.Add(1)
		go s.ingestWorker()
	}
}

// ExtraProcs returns how many Go processors lrkit serve adds to
// GOMAXPROCS (PrioritizeRates): with ingest at a lower priority, one per
// lowered thread (the ingest workers and the store's background
// threads); otherwise two if the store syncs files on a goroutine of its
// own (an SQLite file: store.Store.SyncsFiles), else none.
func (s *Server) ExtraProcs() int {
	if s.ingest != nil {
		return s.opts.IngestWorkers + s.st.BackgroundThreads()
	}
	if s.st.SyncsFiles() {
		return 2
	}
	return 0
}

func (s *Server) ingestWorker() {
	defer s.wg.Done()
	if err := threadprio.Lower(s.st.BackgroundNice()); err != nil {
		s.log.Warn("metric ingest runs at the usual priority", "err", err)
	}
	for {
		select {
		case <-s.done:
			return
		case job := <-s.ingest:
			q, err := s.queueMetrics(job.ctx, job.tok, job.id, job.data)
			job.reply <- ingestReply{queued: q, err: err}
		}
	}
}

// handOver has an ingest worker decode and queue a batch, or does it on
// the calling goroutine if there are no workers.
func (s *Server) handOver(r *http.Request, tok store.Token, id int64, data []byte) (*queuedBatch, error) {
	if s.ingest == nil {
		return s.queueMetrics(r.Context(), tok, id, data)
	}
	job := ingestJob{ctx: r.Context(), tok: tok, id: id, data: data, reply: make(chan ingestReply, 1)}
	select {
	case s.ingest <- job:
	case <-s.done:
		return nil, store.ErrClosed
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	rep := <-job.reply
	return rep.queued, rep.err
}

// Garbage collection of lrkit serve: see PrioritizeRates.
const (
	serveGCPercent   = 1000
	serveMemoryLimit = 1 << 30
)

// PrioritizeRates tunes the process so that rates stay fast while
// metrics arrive: ExtraProcs more Go processors (unless GOMAXPROCS is
// set in the environment), and a garbage collector that runs a tenth as
// often (GOGC=1000) under a soft memory limit of 1 GiB (unless GOGC or
// GOMEMLIMIT is set).
//
// The extra processor of the default configuration is for the SQLite
// store's checkpointer, which syncs the WAL and the database file
// (fdatasync, 1-7 ms each) many times a second under load. A goroutine
// in a system call keeps its processor until the runtime's monitor
// thread takes it back, and that thread, when it has had nothing to take
// for a while, sleeps up to 10 ms between looks (sysmon and retake in
// Go's runtime/proc.go): on two cores, each sync took half the
// processors away for its length. With one extra processor, in runs
// alternating with the same build at two (docs/server.md), the rate
// route's p50 in the mixed load test fell from 11-27 ms to 1.1-5.7 ms,
// and the p99 of ingest paced at 100,000 records/s from 8.3-11.4 ms to
// 5.3-8.6 ms. The second extra processor came later, with the
// committer's rests (Options.IngestShare): the kernel shares the cores
// among the running threads, so with more processors the many goroutines
// of requests get more of the cores against the few that do background
// work on one thread each (the committer, the checkpointer, the
// collector's worker). Alternating with the same build at three
// processors, the mixed test's rate p99 fell from 9.6-12.2 ms to
// 6.1-9.2 ms, with ingest's saturation unchanged (docs/server.md).
//
// The collector: the server's live heap is small (about 20 MB in the
// mixed load test) and metric batches allocate fast, so at the default
// GOGC=100 a collection started every few hundred milliseconds, each
// taking a quarter of the processors and making the goroutines that
// allocate help it, rate requests included. With ingest at a lower
// priority it matters more, as a stop-the-world pause waits for every
// running thread to reach a safe point, a lowered thread the kernel is
// not running included: in the mixed load test the rate route's p99 was
// 16-24 ms with GOGC=100, 9-13 ms with 400 and 7-9 ms with 1000. By
// default, with the committer's rests (Options.IngestShare), it was
// 16.9-18.8 ms with GOGC=100, 9.4-15.2 ms with 400 and 5.8-15.9 ms with
// 1000; a larger GOGC was worse (docs/server.md). It returns what it
// changed, for the log, and a function that restores the previous
// settings.
func (s *Server) PrioritizeRates() (changed string, restore func()) {
	var undo []func()
	var did []string
	extra := s.ExtraProcs()
	if extra > 0 && os.Getenv("GOMAXPROCS") == "" {
		old := runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(old + extra)
		undo = append(undo, func() { runtime.GOMAXPROCS(old) })
		did = append(did, fmt.Sprintf("GOMAXPROCS %d -> %d", old, old+extra))
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		oldGC := debug.SetGCPercent(serveGCPercent)
		oldLimit := debug.SetMemoryLimit(serveMemoryLimit)
		undo = append(undo, func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) })
		did = append(did, fmt.Sprintf("GOGC %d -> %d, memory limit 1 GiB", oldGC, serveGCPercent))
	}
	return strings.Join(did, ", "), func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
}
