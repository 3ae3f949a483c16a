package dispatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// logBuf collects a Queue's log lines for a test to read.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger() (*slog.Logger, *logBuf) {
	var b logBuf
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

func connect(t *testing.T, ctx context.Context, url string, cfg Config) *Queue {
	t.Helper()
	q, err := Connect(ctx, url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func submit(t *testing.T, ctx context.Context, q *Queue, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := q.Submit(ctx, Job{ID: id, Payload: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func streamMsgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// A poison job takes down every worker that takes it (here: the worker
// takes it and never acknowledges nor heartbeats). After its last delivery
// the collector reports it as lost, the study sees every job end, and the
// job can be submitted again at once.
func TestPoisonJobIsReportedLostAndCanBeResubmitted(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, logs := testLogger()
	cfg := Config{Name: "P1", AckWait: 500 * time.Millisecond, MaxDeliver: 2, Logger: log}
	q := connect(t, ctx, e.URL(), cfg)
	submit(t, ctx, q, "ok-1", "poison", "ok-2")

	doomed, killDoomed := context.WithCancel(ctx)
	defer killDoomed()
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wcfg := cfg
		wcfg.Worker = fmt.Sprint("w", w)
		wq := connect(t, ctx, e.URL(), wcfg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = wq.Work(doomed, func(ctx context.Context, job Job, _ func()) ([]byte, error) {
				if job.ID == "poison" {
					<-ctx.Done() // the worker is dead to the queue
					return nil, ctx.Err()
				}
				return []byte("done " + job.ID), nil
			})
		}()
	}
	// The advisory waits in its stream while no collector runs.
	waitFor(t, 10*time.Second, "the max-deliveries advisory", func() bool { return streamMsgs(t, q.lost) == 1 })
	got := collect(t, q, 3, 20*time.Second)
	killDoomed()
	wg.Wait()

	want := "dispatch: job poison given up after 2 deliveries: each worker that took it died or sent no heartbeat for 500ms"
	if rs := got["poison"]; len(rs) != 1 || !rs[0].Lost || rs[0].Err != want || rs[0].Attempt != 2 || rs[0].Worker != "" {
		t.Errorf("poison: results %+v, want one lost result with Err %q after 2 deliveries", rs, want)
	}
	for _, id := range []string{"ok-1", "ok-2"} {
		if rs := got[id]; len(rs) != 1 || rs[0].Lost || rs[0].Err != "" || string(rs[0].Payload) != "done "+id {
			t.Errorf("%s: results %+v", id, rs)
		}
	}
	if p, err := q.Pending(ctx); err != nil || p != 0 {
		t.Errorf("pending jobs after the poison job was given up: %d, %v; want 0", p, err)
	}
	if n := streamMsgs(t, q.lost); n != 0 {
		t.Errorf("advisories left: %d, want 0", n)
	}
	if !strings.Contains(logs.String(), `msg="dispatch: job given up" job=poison deliveries=2`) {
		t.Errorf("log does not report the lost job:\n%s", logs.String())
	}

	// A rerun submits the job again within the duplicate window; it runs.
	submit(t, ctx, q, "poison")
	hcfg := cfg
	hcfg.Worker = "healer"
	hq := connect(t, ctx, e.URL(), hcfg)
	go func() {
		_ = hq.Work(ctx, func(_ context.Context, job Job, _ func()) ([]byte, error) {
			return []byte("cured " + job.ID), nil
		})
	}()
	again := collect(t, q, 1, 20*time.Second)
	if rs := again["poison"]; len(rs) != 1 || rs[0].Lost || string(rs[0].Payload) != "cured poison" || rs[0].Attempt != 1 {
		t.Errorf("resubmitted poison: results %+v, want one success on attempt 1", rs)
	}
}

// A handler that panics fails its job with the panic's message, and the
// worker goes on to the next job.
func TestPanickingHandlerFailsItsJob(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, logs := testLogger()
	q := connect(t, ctx, e.URL(), Config{Name: "P2", Worker: "w", Logger: log})
	submit(t, ctx, q, "boom", "fine")
	go func() {
		_ = q.Work(ctx, func(_ context.Context, job Job, _ func()) ([]byte, error) {
			if job.ID == "boom" {
				steps := make([]float64, 2)
				_ = steps[len(job.ID)] // a runtime panic: index out of range
			}
			return []byte("ok"), nil
		})
	}()
	got := collect(t, q, 2, 20*time.Second)
	if rs := got["boom"]; len(rs) != 1 || rs[0].Err != "panic: runtime error: index out of range [4] with length 2" || rs[0].Attempt != 1 || rs[0].Worker != "w" {
		t.Errorf("boom: results %+v", rs)
	}
	if rs := got["fine"]; len(rs) != 1 || rs[0].Err != "" || string(rs[0].Payload) != "ok" {
		t.Errorf("fine: results %+v", rs)
	}
	if !strings.Contains(logs.String(), "dispatch: handler panicked") {
		t.Errorf("the panic is not logged:\n%s", logs.String())
	}
}

// A result larger than the server takes is replaced by a failed result
// that says why, rather than left to be redelivered until it is lost.
func TestOversizedResultIsReportedAsFailure(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := connect(t, ctx, e.URL(), Config{Name: "P5", Worker: "w", Logger: slog.New(slog.DiscardHandler)})
	submit(t, ctx, q, "huge")
	go func() {
		_ = q.Work(ctx, func(context.Context, Job, func()) ([]byte, error) {
			return make([]byte, 2<<20), nil // over the default 1 MiB payload limit
		})
	}()
	rs := collect(t, q, 1, 20*time.Second)["huge"]
	want := "dispatch: publish result of huge: nats: maximum payload exceeded"
	if len(rs) != 1 || rs[0].Err != want || rs[0].Payload != nil || rs[0].Worker != "w" {
		t.Errorf("results %+v, want one with Err %q", rs, want)
	}
}

// A job whose handler failed runs again when submitted again, at once (not
// after the duplicate window); a job whose result awaits the collector is
// not run again.
func TestResubmission(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := connect(t, ctx, e.URL(), Config{Name: "P3", Logger: slog.New(slog.DiscardHandler)})
	var runs sync.Map // job ID -> *atomic.Int32
	go func() {
		_ = q.Work(ctx, func(_ context.Context, job Job, _ func()) ([]byte, error) {
			n, _ := runs.LoadOrStore(job.ID, new(atomic.Int32))
			if k := n.(*atomic.Int32).Add(1); job.ID == "flaky" && k == 1 {
				return nil, errors.New("diverged")
			}
			return []byte("ok"), nil
		})
	}()
	count := func(id string) int32 {
		n, ok := runs.Load(id)
		if !ok {
			return 0
		}
		return n.(*atomic.Int32).Load()
	}

	submit(t, ctx, q, "flaky")
	if rs := collect(t, q, 1, 20*time.Second)["flaky"]; len(rs) != 1 || rs[0].Err != "diverged" {
		t.Fatalf("first run of flaky: %+v", rs)
	}
	submit(t, ctx, q, "flaky")
	if rs := collect(t, q, 1, 20*time.Second)["flaky"]; len(rs) != 1 || rs[0].Err != "" || string(rs[0].Payload) != "ok" {
		t.Fatalf("second run of flaky: %+v", rs)
	}

	submit(t, ctx, q, "once")
	waitFor(t, 10*time.Second, "the result of once", func() bool { return streamMsgs(t, q.results) == 1 })
	submit(t, ctx, q, "once") // its result is not collected yet: a no-op
	// The worker acks the job just after publishing its result, so the
	// queue may still hold it for a moment; it must then empty, with no
	// second copy queued.
	waitFor(t, 10*time.Second, "an empty queue after resubmitting a finished job", func() bool {
		p, err := q.Pending(ctx)
		return err == nil && p == 0
	})
	if rs := collect(t, q, 1, 20*time.Second)["once"]; len(rs) != 1 {
		t.Errorf("once: results %+v", rs)
	}
	if n := count("once"); n != 1 {
		t.Errorf("once ran %d times, want 1", n)
	}
	if n := count("flaky"); n != 2 {
		t.Errorf("flaky ran %d times, want 2", n)
	}
}

// The collector's ack deadline is Config.AckWait: a result whose collector
// is stuck is handed to another collector after it, not after 30s.
func TestCollectorAckWaitFollowsConfig(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Name: "P4", AckWait: time.Second, Logger: slog.New(slog.DiscardHandler)}
	q := connect(t, ctx, e.URL(), cfg)
	submit(t, ctx, q, "r")
	go func() {
		_ = q.Work(ctx, func(context.Context, Job, func()) ([]byte, error) { return []byte("x"), nil })
	}()
	stuck := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = q.Collect(ctx, func(Result) error {
			close(stuck)
			<-release // a coordinator hung while storing the result
			return nil
		})
	}()
	defer close(release)
	select {
	case <-stuck:
	case <-time.After(20 * time.Second):
		t.Fatal("the first collector got no result")
	}
	info, err := q.results.Consumer(ctx, "P4_collector")
	if err != nil {
		t.Fatal(err)
	}
	if got := info.CachedInfo().Config.AckWait; got != time.Second {
		t.Errorf("collector consumer AckWait = %s, want 1s", got)
	}
	other := connect(t, ctx, e.URL(), cfg)
	start := time.Now()
	got := collect(t, other, 1, 10*time.Second)
	if rs := got["r"]; len(rs) != 1 || string(rs[0].Payload) != "x" {
		t.Fatalf("second collector: %+v", got)
	}
	t.Logf("redelivered to the second collector after %s", time.Since(start).Round(time.Millisecond))
}

func (e *Embedded) port(t *testing.T) int {
	t.Helper()
	addr, ok := e.ns.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("server address %v is not TCP", e.ns.Addr())
	}
	return addr.Port
}

// Workers, the collector and Submit ride out a server restart on the same
// port and store, abrupt or graceful (lame duck mode: JetStream stops
// first, then clients are closed one by one): a job finished during the
// outage is reported after it, jobs submitted during and after it run,
// and nobody returns.
func TestWorkAndCollectRideOutServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	for _, tc := range []struct {
		name       string
		stop       func(*Embedded)
		freshStore bool // the new server has lost the old one's streams
	}{
		{"shutdown", (*Embedded).Close, false},
		{"lame duck", func(e *Embedded) { e.ns.LameDuckShutdown(); e.Close() }, false},
		{"state lost", (*Embedded).Close, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testRideOutRestart(t, tc.stop, tc.freshStore) })
	}
}

func testRideOutRestart(t *testing.T, stop func(*Embedded), freshStore bool) {
	dir := t.TempDir()
	opts := embeddedOptions(dir)
	opts.LameDuckDuration, opts.LameDuckGracePeriod = 2*time.Second, 500*time.Millisecond
	e, err := startEmbedded(opts)
	if err != nil {
		t.Fatal(err)
	}
	port := e.port(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, logs := testLogger()
	cfg := Config{Name: "O1", AckWait: 10 * time.Second, RetryFor: 30 * time.Second, Logger: log}
	q := connect(t, ctx, e.URL(), cfg)
	wcfg := cfg
	wcfg.Worker = "w"
	wq := connect(t, ctx, e.URL(), wcfg)

	started := make(chan struct{})
	release := make(chan struct{})
	workErr := make(chan error, 1)
	go func() {
		workErr <- wq.Work(ctx, func(_ context.Context, job Job, _ func()) ([]byte, error) {
			if job.ID == "in-flight" {
				close(started)
				<-release
			}
			return []byte("done " + job.ID), nil
		})
	}()
	var mu sync.Mutex
	got := map[string]int{}
	collectErr := make(chan error, 1)
	go func() {
		collectErr <- q.Collect(ctx, func(r Result) error {
			mu.Lock()
			defer mu.Unlock()
			if r.Err == "" && string(r.Payload) == "done "+r.JobID {
				got[r.JobID]++
			}
			return nil
		})
	}()
	have := func(ids ...string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if got[id] == 0 {
					return false
				}
			}
			return true
		}
	}
	submit(t, ctx, q, "before")
	waitFor(t, 10*time.Second, "the result of before", have("before"))
	submit(t, ctx, q, "in-flight")
	<-started

	go func() { // finish the job while the server goes away
		time.Sleep(200 * time.Millisecond)
		close(release)
	}()
	stop(e) // the outage begins
	submitErr := make(chan error, 1)
	go func() { submitErr <- q.Submit(ctx, Job{ID: "during"}) }()
	time.Sleep(2 * time.Second)
	for name, ch := range map[string]chan error{"Work": workErr, "Collect": collectErr, "Submit": submitErr} {
		select {
		case err := <-ch:
			t.Fatalf("%s returned during the outage: %v", name, err)
		default:
		}
	}
	if freshStore {
		dir = t.TempDir()
	}
	opts = embeddedOptions(dir)
	opts.Port = port
	e2, err := startEmbedded(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if err := <-submitErr; err != nil {
		t.Fatalf("Submit across the outage: %v", err)
	}
	submit(t, ctx, q, "after")
	waitFor(t, 30*time.Second, "every result after the restart", have("before", "in-flight", "during", "after"))
	for name, ch := range map[string]chan error{"Work": workErr, "Collect": collectErr} {
		select {
		case err := <-ch:
			t.Fatalf("%s returned: %v", name, err)
		default:
		}
	}
	// The job acknowledged across the restart left the queue.
	waitFor(t, 10*time.Second, "an empty job queue", func() bool {
		p, err := q.Pending(ctx)
		return err == nil && p == 0
	})
	// A retry loop asleep in its backoff when the results came through
	// says "reachable again" only when it wakes (up to a few seconds later
	// on a loaded machine: a make test of 2026-12-07): wait for the lines,
	// then check.
	wants := []string{"dispatch: disconnected from NATS", "dispatch: reconnected to NATS", "dispatch: NATS unavailable, retrying", "dispatch: NATS reachable again"}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		l := logs.String()
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(l, w) }) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s: %d results, want 1", id, n)
		}
	}
	l := logs.String()
	if testing.Verbose() {
		t.Logf("log:\n%s", l)
	}
	for _, want := range wants {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

// With NATS gone for good, Work, Collect, Submit and Connect give up after
// Config.RetryFor with an error that says so.
func TestGiveUpAfterRetryFor(t *testing.T) {
	e := startServer(t)
	url := e.URL()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log, logs := testLogger()
	cfg := Config{Name: "O2", RetryFor: 1500 * time.Millisecond, Logger: log}
	q := connect(t, ctx, url, cfg)
	e.Close()

	ops := map[string]func() error{
		"Work": func() error {
			return q.Work(ctx, func(context.Context, Job, func()) ([]byte, error) { return nil, nil })
		},
		"Collect": func() error { return q.Collect(ctx, func(Result) error { return nil }) },
		"Submit":  func() error { return q.Submit(ctx, Job{ID: "j"}) },
		"Connect": func() error {
			_, err := Connect(ctx, url, cfg)
			return err
		},
	}
	type outcome struct {
		name string
		err  error
		took time.Duration
	}
	done := make(chan outcome, len(ops))
	for name, op := range ops {
		go func() {
			start := time.Now()
			err := op()
			done <- outcome{name, err, time.Since(start)}
		}()
	}
	for range ops {
		o := <-done
		t.Logf("%s gave up after %s: %v", o.name, o.took.Round(time.Millisecond), o.err)
		if o.err == nil || !strings.Contains(o.err.Error(), "NATS unavailable for") || !strings.Contains(o.err.Error(), "giving up") {
			t.Errorf("%s: error %v, want one that says it gave up", o.name, o.err)
		}
		if o.took < cfg.RetryFor || o.took > cfg.RetryFor+8*time.Second {
			t.Errorf("%s gave up after %s, want RetryFor (%s) plus at most a last attempt", o.name, o.took, cfg.RetryFor)
		}
	}
	if !strings.Contains(logs.String(), "dispatch: giving up") {
		t.Errorf("giving up is not logged:\n%s", logs.String())
	}
}
