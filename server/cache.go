package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/store"
)

// The run cache.
//
// Rates are answered from memory: every run a request touched is kept as
// a runEntry, an immutable snapshot of one version of the run with its
// controller already parsed and restored, and the fixed part of the rate
// answer already written. A write through this server (metrics, an
// action) replaces the entry with the version it committed, at once. A
// refresher goroutine asks the database every Options.Refresh for the
// versions of all cached runs in one query and rebuilds the entries that
// changed (another replica's writes); when the database does not answer,
// the entries stay and rates are still served. Entries nobody asked for in
// entryIdle are dropped.
//
// Parsing a spec is the expensive part of an entry, so entries of the same
// spec and controller state (the same schedule version) share one
// ctrlBox: a fixed schedule taking metrics is parsed once, not once per
// batch.

// entryIdle is how long an unused run stays cached.
const entryIdle = 10 * time.Minute

// ctrlBox is a parsed controller, shared by the entries of one schedule
// version.
type ctrlBox struct {
	mu    sync.Mutex // guards c unless fixed (controllers are not safe for concurrent use)
	c     control.Controller
	fixed bool // a plain schedule: LR is pure, no lock needed
}

// lr returns the controller's rate at step.
func (b *ctrlBox) lr(step int64) float64 {
	if b.fixed {
		return b.c.LR(step)
	}
	b.mu.Lock()
	v := b.c.LR(step)
	b.mu.Unlock()
	return v
}

// lrs writes the rates of steps from, from+1, ... into out.
func (b *ctrlBox) lrs(from int64, out []float64) {
	if !b.fixed {
		b.mu.Lock()
		defer b.mu.Unlock()
	}
	for i := range out {
		out[i] = b.c.LR(from + int64(i))
	}
}

// horizonWarning is control.HorizonWarning for a run of budget steps.
func (b *ctrlBox) horizonWarning(budget int64) string {
	if !b.fixed {
		b.mu.Lock()
		defer b.mu.Unlock()
	}
	return control.HorizonWarning(b.c, budget)
}

// runEntry is one version of a run, as the rate route serves it. It is
// not changed after it is built, except for its last use.
type runEntry struct {
	run          store.Run
	box          *ctrlBox
	schedVersion string
	// tail ends every rate answer of this version:
	// ,"version":V,"schedule_version":"S","status":"running","budget":B}\n
	tail []byte
	used atomic.Int64 // the server's coarse clock (UnixNano) when a request last used it
}

func newEntry(run store.Run, box *ctrlBox, schedVersion string) *runEntry {
	e := &runEntry{run: run, box: box, schedVersion: schedVersion}
	t := make([]byte, 0, 96)
	t = append(t, `,"version":`...)
	t = strconv.AppendInt(t, run.Version, 10)
	t = append(t, `,"schedule_version":"`...)
	t = append(t, schedVersion...)
	t = append(t, `","status":`...)
	t = strconv.AppendQuote(t, string(run.Status))
	t = append(t, `,"budget":`...)
	t = strconv.AppendInt(t, run.Budget, 10)
	e.tail = append(t, "}\n"...)
	return e
}

// scheduleVersion identifies the rates a run gives: a hash of its spec and
// its controller's state, the two things its rates are a function of. A
// fixed schedule keeps it while metrics arrive; a controller that learns
// from them changes it as its state changes.
func scheduleVersion(r store.Run) string {
	h := fnv.New64a()
	h.Write([]byte(r.Spec))
	h.Write([]byte{0})
	h.Write(r.ControllerState)
	return strconv.FormatUint(h.Sum64(), 16)
}

// buildController parses a run's stored spec (in the untrusted mode: no
// file access) and restores its state.
func buildController(r store.Run) (control.Controller, error) {
	c, err := parseSpec(r.Spec)
	if err != nil {
		return nil, fmt.Errorf("run %d: stored spec: %w", r.ID, err)
	}
	if len(r.ControllerState) > 0 {
		if err := c.Restore(r.ControllerState); err != nil {
			return nil, fmt.Errorf("run %d: restore controller: %w", r.ID, err)
		}
	}
	return c, nil
}

func newBox(c control.Controller) *ctrlBox {
	_, fixed := c.(*control.Fixed)
	return &ctrlBox{c: c, fixed: fixed}
}

// cached returns the cached entry of run id, or nil. It takes no lock:
// the rate route's concurrent readers touch no shared word.
func (s *Server) cached(id int64) *runEntry {
	if v, ok := s.runs.Load(id); ok {
		return v.(*runEntry)
	}
	return nil
}

// entry returns the run of a project with its controller: from the cache,
// or read from the database once and cached.
func (s *Server) entry(ctx context.Context, projectID, id int64) (*runEntry, error) {
	if e := s.cached(id); e != nil {
		if e.run.ProjectID != projectID {
			return nil, fmt.Errorf("run %d: %w", id, store.ErrNotFound)
		}
		s.touch(e)
		return e, nil
	}
	run, err := s.st.GetRun(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	return s.entryFor(run)
}

// touch records that e was used now (a write only once per clockTick).
func (s *Server) touch(e *runEntry) {
	if now := s.clock.Load(); e.used.Load() != now {
		e.used.Store(now)
	}
}

// entryFor returns the entry of a run just read or written: the cached one
// if it is that version, else a new one (sharing the cached controller if
// the schedule version is the same), cached unless a newer version is.
func (s *Server) entryFor(run store.Run) (*runEntry, error) {
	old := s.cached(run.ID)
	if old != nil && old.run.Version == run.Version && old.run.ProjectID == run.ProjectID {
		old.used.Store(s.clock.Load())
		return old, nil
	}
	sv := scheduleVersion(run)
	var box *ctrlBox
	if old != nil && old.schedVersion == sv && old.run.Spec == run.Spec && bytes.Equal(old.run.ControllerState, run.ControllerState) {
		box = old.box
	} else {
		c, err := buildController(run)
		if err != nil {
			return nil, err
		}
		box = newBox(c)
	}
	return s.remember(s.newEntry(run, box, sv)), nil
}

// newEntry is newEntry used now.
func (s *Server) newEntry(run store.Run, box *ctrlBox, schedVersion string) *runEntry {
	e := newEntry(run, box, schedVersion)
	e.used.Store(s.clock.Load())
	return e
}

// remember caches e unless a newer version of its run is cached, and
// returns the entry cached.
func (s *Server) remember(e *runEntry) *runEntry {
	for {
		v, loaded := s.runs.LoadOrStore(e.run.ID, e)
		if !loaded {
			return e
		}
		old := v.(*runEntry)
		if old.run.Version > e.run.Version {
			return old
		}
		if s.runs.CompareAndSwap(e.run.ID, old, e) {
			return e
		}
	}
}

// ticker advances the server's coarse clock every clockTick until the
// server closes: token ages and the last use of cached runs read it
// instead of time.Now, which costs a third of a microsecond on a
// virtual machine's clock, several times per request.
func (s *Server) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.clock.Store(now.UnixNano())
			s.flushLR()
		}
	}
}

// clockTick is the resolution of the server's coarse clock.
const clockTick = 5 * time.Millisecond

// refresher keeps the cached runs up to date with the database until the
// server closes.
func (s *Server) refresher() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if err := s.refresh(context.Background()); err != nil {
			s.log.Warn("run cache refresh (serving cached runs)", "err", err)
		}
	}
}

// refresh compares the cached runs' versions with the database's and
// rebuilds the changed ones; idle and deleted runs are dropped.
func (s *Server) refresh(ctx context.Context) error {
	idle := time.Now().Add(-entryIdle).UnixNano()
	var ids []int64
	s.runs.Range(func(k, v any) bool {
		id, e := k.(int64), v.(*runEntry)
		if e.used.Load() < idle {
			s.runs.CompareAndDelete(id, e)
		} else {
			ids = append(ids, id)
		}
		return true
	})
	if len(ids) == 0 {
		return nil
	}
	versions, err := s.st.RunVersions(ctx, ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		e := s.cached(id)
		if e == nil {
			continue
		}
		v, ok := versions[id]
		if !ok {
			s.runs.CompareAndDelete(id, e)
			continue
		}
		if v <= e.run.Version {
			continue
		}
		run, err := s.st.GetRun(ctx, e.run.ProjectID, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.entryFor(run); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
