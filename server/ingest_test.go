package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/store"
)

// With ingest at a lower priority, batches are decoded by the ingest
// workers and stored by lowered committers; what the client sees is the
// same as without: stored once, errors with their message and status, a
// closed server answers 503 instead of hanging.
func TestLowIngestPriority(t *testing.T) {
	f := newFixtureNice(t, store.MaxBackgroundNice)
	if f.h.ingest == nil {
		t.Fatal("no ingest workers over a store at a background nice value")
	}
	if got := f.h.ExtraProcs(); got != 4 {
		t.Errorf("ExtraProcs %d, want 4 (2 ingest workers, the SQLite store's committer and checkpointer)", got)
	}
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 100000)
	path := fmt.Sprintf("/v1/runs/%d/metrics", run.ID)
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"batch_id":"x","metrics":[{"step":1,"loss":"a"}]}`, http.StatusBadRequest, "loss"},
		{`{"batch_id":"x","metrics":[{"step":-1,"loss":1}]}`, http.StatusBadRequest, "step"},
		{`{"metrics":[{"step":1,"loss":1}]}`, http.StatusBadRequest, "batch_id"},
	} {
		if code, body := f.do(f.tokA, "POST", path, c.body); code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s, want %d naming %s", c.body, code, body, c.code, c.msg)
		}
	}
	// 40 batches at once, each sent twice: every record stored once.
	var wg sync.WaitGroup
	for i := range 40 {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				postBatch(f, run.ID, fmt.Sprint("b", i), 10*i, 10, func(s int) float64 { return 1 / float64(s+1) })
			}()
		}
	}
	wg.Wait()
	var ms struct{ Metrics []MetricJSON }
	f.ok(f.tokA, "GET", path+"?limit=1000", "", &ms)
	if len(ms.Metrics) != 400 {
		t.Errorf("%d records stored, want 400", len(ms.Metrics))
	}
	// The same batch ID with other records: 409, naming it.
	if code, body := f.do(f.tokA, "POST", path, `{"batch_id":"b3","metrics":[{"step":30,"loss":9}]}`); code != http.StatusConflict || !strings.Contains(body, `batch_id \"b3\"`) {
		t.Errorf("reused batch ID: %d %s", code, body)
	}
	// A closed server (its ingest workers gone) answers 503 at once.
	f.h.Close()
	start := time.Now()
	if code, body := f.do(f.tokA, "POST", path, `{"batch_id":"late","metrics":[{"step":999,"loss":1}]}`); code != http.StatusServiceUnavailable {
		t.Errorf("batch to a closed server: %d %s", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("batch to a closed server answered after %v", d)
	}
}

// PrioritizeRates adds the lowered threads' Go processors and makes the
// collector rarer, unless the environment sets them, and restores both;
// without lowered threads it adds one processor for an SQLite file's
// syncs and leaves the collector alone.
func TestPrioritizeRates(t *testing.T) {
	for _, env := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT"} {
		t.Setenv(env, "")
	}
	f := newFixtureNice(t, store.MaxBackgroundNice)
	before := runtime.GOMAXPROCS(0)
	changed, restore := f.h.PrioritizeRates()
	if got := runtime.GOMAXPROCS(0); got != before+f.h.ExtraProcs() {
		t.Errorf("GOMAXPROCS %d after PrioritizeRates, want %d", got, before+f.h.ExtraProcs())
	}
	if !strings.Contains(changed, "-> 1000") {
		t.Errorf("changed %q, want the collector named", changed)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d after restore, want %d", got, before)
	}
	t.Setenv("GOMAXPROCS", fmt.Sprint(before))
	t.Setenv("GOGC", "100")
	if changed, restore := f.h.PrioritizeRates(); changed != "" {
		restore()
		t.Errorf("with GOMAXPROCS and GOGC set: changed %q, want nothing", changed)
	}

	// By default, two processors more over an SQLite file, and the
	// collector as with ingest at a lower priority; no processor more for
	// a store that syncs no files.
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	base := debug.SetGCPercent(-1) // the setting of the process, whatever its environment was
	debug.SetGCPercent(base)
	plain := newFixture(t)
	changed, restore = plain.h.PrioritizeRates()
	got := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	restore()
	want := fmt.Sprintf("GOMAXPROCS %d -> %d, GOGC %d -> 1000, memory limit 1 GiB", before, before+2, base)
	if changed != want || got != before+2 || gc != 1000 || plain.h.ExtraProcs() != 2 {
		t.Errorf("server over an SQLite file: changed %q, GOMAXPROCS %d, GOGC %d, %d extra; want %q", changed, got, gc, plain.h.ExtraProcs(), want)
	}
	if gc := debug.SetGCPercent(-1); gc != base {
		t.Errorf("GOGC %d after restore, want %d", gc, base)
	} else {
		debug.SetGCPercent(gc)
	}
	mem, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	onMem := New(mem, Options{})
	defer onMem.Close()
	changed, restore = onMem.PrioritizeRates()
	restore()
	if want := fmt.Sprintf("GOGC %d -> 1000, memory limit 1 GiB", base); changed != want || onMem.ExtraProcs() != 0 {
		t.Errorf("server over an in-memory store: changed %q, %d extra processors; want %q and none", changed, onMem.ExtraProcs(), want)
	}
}

// Options.IngestShare: the default, clamped to at most 1, passed to the
// store; the committer rests while the rate route answers (the fast path,
// counted at each tick of the coarse clock) and not after it stopped, nor
// after the server closed.
func TestIngestShare(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, DefaultIngestShare}, {-1, DefaultIngestShare}, {math.NaN(), DefaultIngestShare}, {0.5, 0.5}, {1, 1}, {3, 1},
	} {
		mem, err := store.Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		s := New(mem, Options{IngestShare: tc.in})
		if s.opts.IngestShare != tc.want {
			t.Errorf("IngestShare %v: the server uses %v, want %v", tc.in, s.opts.IngestShare, tc.want)
		}
		s.Close()
		mem.Close()
	}

	f := newFixture(t)
	if f.h.ratesServed() {
		t.Fatal("rates served before any request")
	}
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000)
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("10 s without %s", what)
			}
		}
	}
	// The fast path counts answers for the next tick: keep asking until a
	// tick has seen one.
	until("a rate answer seen", func() bool { f.lr(f.tokA, run.ID, 1); return f.h.ratesServed() })
	rests0, _ := f.st.RestStats()
	postBatch(f, run.ID, "b1", 0, 10, func(int) float64 { return 1 })
	postBatch(f, run.ID, "b2", 10, 10, func(int) float64 { return 1 })
	until("a rest after a batch while rates were answered", func() bool { r, _ := f.st.RestStats(); return r > rests0 })
	_, metrics := f.do("", "GET", "/metrics", "")
	var rested float64
	for line := range strings.Lines(metrics) {
		if v, ok := strings.CutPrefix(line, "lrkit_store_commit_rest_seconds_total "); ok {
			rested, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if rested <= 0 {
		t.Errorf("lrkit_store_commit_rest_seconds_total %v after a rest, want more than 0", rested)
	}

	// A batch's rest follows its answer, before the next batch is stored:
	// the count read after a batch includes the rests of those before it.
	until("the rate route idle for two ticks", func() bool { return !f.h.ratesServed() })
	postBatch(f, run.ID, "b3", 20, 10, func(int) float64 { return 1 })
	rests1, _ := f.st.RestStats()
	postBatch(f, run.ID, "b4", 30, 10, func(int) float64 { return 1 })
	postBatch(f, run.ID, "b5", 40, 10, func(int) float64 { return 1 })
	if r, _ := f.st.RestStats(); r != rests1 {
		t.Errorf("%d rests with the rate route idle, want none", r-rests1)
	}

	// A range of rates, answered by the route's general path (the Python
	// client asks for blocks), counts at once.
	until("the rate route idle for two ticks", func() bool { return !f.h.ratesServed() })
	asked := f.h.clock.Load()
	f.getBody(f.tokA, fmt.Sprintf("/v1/runs/%d/lr?from=0&to=512", run.ID))
	if seen := f.h.lrSeen.Load(); seen < asked {
		t.Errorf("a range of rates answered, the rate route last seen in use at %d, before the request (%d)", seen, asked)
	}

	until("a rate answer seen", func() bool { f.lr(f.tokA, run.ID, 1); return f.h.ratesServed() })
	f.h.Close()
	ctx := context.Background()
	var project struct {
		ID int64 `json:"project_id"`
	}
	f.ok(f.tokA, "GET", "/v1/project", "", &project)
	recs := []runlog.Record{{Step: 50, Loss: 1, Present: runlog.FieldLoss}}
	var rests2 uint64
	for i := range 3 {
		recs[0].Step = 50 + int64(i)
		if _, err := f.st.AppendMetrics(ctx, project.ID, run.ID, fmt.Sprint("c", i), recs, nil); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			rests2, _ = f.st.RestStats()
		}
	}
	if r, _ := f.st.RestStats(); r != rests2 {
		t.Errorf("%d rests after the server closed, want none", r-rests2)
	}
}
