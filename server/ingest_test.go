package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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

	// By default, one processor more for an SQLite file's syncs, and the
	// collector as it was; none for a store that syncs no files.
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	plain := newFixture(t)
	changed, restore = plain.h.PrioritizeRates()
	got := runtime.GOMAXPROCS(0)
	restore()
	if want := fmt.Sprintf("GOMAXPROCS %d -> %d", before, before+1); changed != want || got != before+1 || plain.h.ExtraProcs() != 1 {
		t.Errorf("server over an SQLite file: changed %q, GOMAXPROCS %d, %d extra; want %q", changed, got, plain.h.ExtraProcs(), want)
	}
	mem, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	onMem := New(mem, Options{})
	defer onMem.Close()
	if changed, _ := onMem.PrioritizeRates(); changed != "" || onMem.ExtraProcs() != 0 {
		t.Errorf("server over an in-memory store: changed %q, %d extra processors; want none", changed, onMem.ExtraProcs())
	}
}
