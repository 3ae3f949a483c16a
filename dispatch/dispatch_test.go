package dispatch

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets this test binary double as an external worker process:
// with LRKIT_DISPATCH_WORKER set to a NATS URL it runs a worker that
// announces each job and then blocks, so a test can kill it mid-job.
func TestMain(m *testing.M) {
	if url := os.Getenv("LRKIT_DISPATCH_WORKER"); url != "" {
		os.Exit(runBlockingWorker(url))
	}
	os.Exit(m.Run())
}

func runBlockingWorker(url string) int {
	ctx := context.Background()
	q, err := Connect(ctx, url, Config{Name: os.Getenv("LRKIT_DISPATCH_NAME"), AckWait: time.Second, Worker: "doomed"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = q.Work(ctx, func(ctx context.Context, job Job, heartbeat func()) ([]byte, error) {
		fmt.Printf("started %s\n", job.ID)
		select {} // never finishes: the test kills this process
	})
	fmt.Fprintln(os.Stderr, err)
	return 1
}

func startServer(t *testing.T) *Embedded {
	t.Helper()
	e, err := StartEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// collect gathers results until want distinct jobs have one, or timeout.
func collect(t *testing.T, q *Queue, want int, timeout time.Duration) map[string][]Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var mu sync.Mutex
	got := map[string][]Result{}
	_ = q.Collect(ctx, func(r Result) error {
		mu.Lock()
		defer mu.Unlock()
		got[r.JobID] = append(got[r.JobID], r)
		if len(got) == want {
			cancel()
		}
		return nil
	})
	return got
}

func TestInProcessWorkersRunEveryJobOnce(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := Connect(ctx, e.URL(), Config{Name: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const n = 40
	for i := 0; i < n; i++ {
		if err := q.Submit(ctx, Job{ID: fmt.Sprintf("job-%02d", i), Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// Submitting a job again within the duplicate window is a no-op.
	if err := q.Submit(ctx, Job{ID: "job-00", Payload: []byte("0")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wq, err := Connect(ctx, e.URL(), Config{Name: "T1", Worker: fmt.Sprint("w", w)})
		if err != nil {
			t.Fatal(err)
		}
		defer wq.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = wq.Work(ctx, func(_ context.Context, job Job, hb func()) ([]byte, error) {
				hb()
				return []byte("squared:" + string(job.Payload)), nil
			})
		}()
	}
	got := collect(t, q, n, 30*time.Second)
	cancel()
	wg.Wait()
	if len(got) != n {
		t.Fatalf("results for %d jobs, want %d", len(got), n)
	}
	for id, rs := range got {
		if len(rs) != 1 {
			t.Errorf("%s: %d results, want 1", id, len(rs))
		}
		if !strings.HasPrefix(string(rs[0].Payload), "squared:") || rs[0].Err != "" {
			t.Errorf("%s: result %+v", id, rs[0])
		}
	}
	if p, err := q.Pending(context.Background()); err != nil || p != 0 {
		t.Errorf("pending jobs after the run: %d, %v; want 0", p, err)
	}
}

func TestHandlerErrorIsReported(t *testing.T) {
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := Connect(ctx, e.URL(), Config{Name: "T2"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Submit(ctx, Job{ID: "bad"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = q.Work(ctx, func(context.Context, Job, func()) ([]byte, error) {
			return nil, fmt.Errorf("workload diverged at step 12")
		})
	}()
	got := collect(t, q, 1, 20*time.Second)
	if rs := got["bad"]; len(rs) != 1 || rs[0].Err != "workload diverged at step 12" {
		t.Fatalf("got %+v", got)
	}
}

// A real worker process takes a job and is killed with SIGKILL before it
// finishes; after the ack deadline the job is redelivered to a live worker
// and exactly one result arrives.
func TestKilledWorkerJobIsRedelivered(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a worker process")
	}
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Name: "T3", AckWait: time.Second}
	q, err := Connect(ctx, e.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Submit(ctx, Job{ID: "trial-1", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LRKIT_DISPATCH_WORKER="+e.URL(), "LRKIT_DISPATCH_NAME=T3")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "started trial-1" {
		_ = cmd.Process.Kill()
		t.Fatalf("worker process said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	live, err := Connect(ctx, e.URL(), Config{Name: "T3", AckWait: time.Second, Worker: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	go func() {
		_ = live.Work(ctx, func(_ context.Context, job Job, _ func()) ([]byte, error) {
			return []byte("done"), nil
		})
	}()
	got := collect(t, q, 1, 30*time.Second)
	rs := got["trial-1"]
	if len(rs) != 1 {
		t.Fatalf("results for trial-1: %+v, want exactly one", rs)
	}
	if rs[0].Worker != "survivor" || rs[0].Attempt < 2 {
		t.Errorf("result %+v: want worker survivor on attempt >= 2", rs[0])
	}
}

// A long job that sends heartbeats outlives several ack deadlines without
// being redelivered.
func TestHeartbeatExtendsDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	e := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Name: "T4", AckWait: time.Second}
	q, err := Connect(ctx, e.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Submit(ctx, Job{ID: "long"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	starts := 0
	for w := 0; w < 2; w++ {
		wq, err := Connect(ctx, e.URL(), Config{Name: "T4", AckWait: time.Second, Worker: fmt.Sprint("w", w)})
		if err != nil {
			t.Fatal(err)
		}
		defer wq.Close()
		go func() {
			_ = wq.Work(ctx, func(_ context.Context, job Job, hb func()) ([]byte, error) {
				mu.Lock()
				starts++
				mu.Unlock()
				for i := 0; i < 30; i++ { // 3 s, three ack deadlines
					time.Sleep(100 * time.Millisecond)
					hb()
				}
				return []byte("ok"), nil
			})
		}()
	}
	got := collect(t, q, 1, 30*time.Second)
	if len(got["long"]) != 1 {
		t.Fatalf("results: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if starts != 1 {
		t.Errorf("job started %d times, want 1 (heartbeats should prevent redelivery)", starts)
	}
}
