package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lrkit/lrkit/store"
)

// TestLoad simulates trainers over loopback: each asks for the rate of its
// next step and queues a metrics batch every 10 steps for its poster, against a server on
// an SQLite file. LRKIT_LOAD=full runs 1,000 trainers for 10 s (the
// figures in docs/server.md); otherwise 20 trainers for 1 s.
// LRKIT_LOAD_TRAINERS=N changes the number of trainers (at most 5,000). It reports
// requests per second and p50/p99 latency; it fails only on errors.
func TestLoad(t *testing.T) {
	trainers, dur := 20, time.Second
	if os.Getenv("LRKIT_LOAD") == "full" {
		trainers, dur = 1000, 10*time.Second
	} else if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	if n, err := strconv.Atoi(os.Getenv("LRKIT_LOAD_TRAINERS")); err == nil && n > 0 && n <= 5000 {
		trainers = n
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "load.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _ := st.CreateProject(ctx, "load")
	tok, _, _ := st.CreateToken(ctx, p.ID, "load")
	srv := newLoopbackServer(t, New(st, Options{}))
	tr := &http.Transport{MaxIdleConns: trainers * 2, MaxIdleConnsPerHost: trainers * 2, MaxConnsPerHost: trainers * 2}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	do := func(method, url string, body []byte) (time.Duration, error) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			return d, fmt.Errorf("%s %s: %d", method, url, resp.StatusCode)
		}
		return d, nil
	}
	// 100 runs shared by the trainers (10 trainers per run at full size,
	// as data-parallel ranks would be; each trainer posts its own steps).
	nruns := max(trainers/10, 1)
	runIDs := make([]int64, nruns)
	for i := range runIDs {
		r, err := st.CreateRun(ctx, p.ID, "run"+strconv.Itoa(i), "warmup(cosine(peak=3e-4, steps=100000), steps=1000)", 100000, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		runIDs[i] = r.ID
	}
	var mu sync.Mutex
	var lrLat, postLat []time.Duration
	var firstErr error
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := range trainers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run := runIDs[w%nruns]
			rank := int64(w / nruns)
			var myLR, myPost []time.Duration
			var err, postErr error
			// Metrics go from a second goroutine, as the Python client's
			// background thread sends them: rate requests do not wait for
			// them (up to 100 queued batches).
			batches := make(chan []byte, 100)
			posted := make(chan struct{})
			go func() {
				defer close(posted)
				for b := range batches {
					if postErr != nil {
						continue
					}
					var d time.Duration
					d, postErr = do("POST", fmt.Sprintf("%s/v1/runs/%d/metrics", srv, run), b)
					myPost = append(myPost, d)
				}
			}()
			for s := int64(0); time.Now().Before(deadline) && err == nil; s++ {
				var d time.Duration
				d, err = do("GET", fmt.Sprintf("%s/v1/runs/%d/lr?step=%d", srv, run, s), nil)
				myLR = append(myLR, d)
				if s%10 == 9 {
					var b bytes.Buffer
					fmt.Fprintf(&b, `{"batch_id":"%d-%d","metrics":[`, w, s)
					for i := range int64(10) {
						if i > 0 {
							b.WriteByte(',')
						}
						// Each rank owns its own step numbers.
						fmt.Fprintf(&b, `{"step":%d,"loss":%g}`, (s-9+i)*1000+rank, 3.0/float64(s+1))
					}
					b.WriteString("]}")
					batches <- b.Bytes()
				}
			}
			close(batches)
			<-posted
			if err == nil {
				err = postErr
			}
			mu.Lock()
			lrLat, postLat = append(lrLat, myLR...), append(postLat, myPost...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	q := func(ds []time.Duration, f float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[int(f*float64(len(ds)-1))]
	}
	secs := time.Since(deadline.Add(-dur)).Seconds() // until the last batch was posted
	t.Logf("%d trainers, %d runs, %v: LR requests %d (%.0f/s) p50 %v p99 %v; metric batches %d (%.0f/s, %.0f records/s) p50 %v p99 %v",
		trainers, nruns, dur, len(lrLat), float64(len(lrLat))/secs, q(lrLat, .5), q(lrLat, .99),
		len(postLat), float64(len(postLat))/secs, 10*float64(len(postLat))/secs, q(postLat, .5), q(postLat, .99))
	if len(lrLat) == 0 || len(postLat) == 0 {
		t.Fatal("no requests completed")
	}
}

// newLoopbackServer serves h on 127.0.0.1 and returns its base URL.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := &http.Server{Handler: h}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String()
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
