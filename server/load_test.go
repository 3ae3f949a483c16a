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
// next step and queues a metrics batch every 10 steps for its poster, against
// a server on an SQLite file. LRKIT_LOAD=full runs 1,000 trainers for 10 s
// offering 20,000 rate requests per second in total (the figures in
// docs/server.md); otherwise 20 trainers for 1 s offering 2,000 per second.
// LRKIT_LOAD_TRAINERS=N changes the number of trainers (at most 5,000) and
// LRKIT_LOAD_RATE=R the offered rate; R=0 makes every trainer ask again as
// soon as it has its answer (a saturation test: latency is then just the
// number of trainers over the throughput).
//
// Trainers are paced (open loop, as real training steps are), and latency
// is measured from the moment a request was due, not from when it was
// sent, so a server that falls behind shows it in the percentiles (no
// coordinated omission). It reports requests per second and p50/p99
// latency; it fails only on errors.
func TestLoad(t *testing.T) {
	trainers, dur, rate := 20, time.Second, 2000.0
	if os.Getenv("LRKIT_LOAD") == "full" {
		trainers, dur, rate = 1000, 10*time.Second, 20000
	} else if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	if n, err := strconv.Atoi(os.Getenv("LRKIT_LOAD_TRAINERS")); err == nil && n > 0 && n <= 5000 {
		trainers = n
	}
	if r, err := strconv.ParseFloat(os.Getenv("LRKIT_LOAD_RATE"), 64); err == nil && r >= 0 && r <= 1e6 {
		rate = r
	}
	// interval between one trainer's requests; 0 in a saturation test.
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(trainers) / rate * float64(time.Second))
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
	cpu0, load0 := cpuSeconds(), loadavg()
	begin := time.Now()
	deadline := begin.Add(dur)
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
			// Spread the trainers' phases evenly over one interval.
			due := begin.Add(interval * time.Duration(w) / time.Duration(trainers))
			for s := int64(0); due.Before(deadline) && err == nil; s++ {
				if interval > 0 {
					time.Sleep(time.Until(due))
				} else {
					due = time.Now()
				}
				_, err = do("GET", fmt.Sprintf("%s/v1/runs/%d/lr?step=%d", srv, run, s), nil)
				myLR = append(myLR, time.Since(due))
				due = due.Add(interval)
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
	secs := time.Since(begin).Seconds() // until the last batch was posted
	offered := "as fast as answered"
	if rate > 0 {
		offered = fmt.Sprintf("%.0f/s offered", rate)
	}
	cpu := cpuSeconds() - cpu0
	t.Logf("%d trainers, %d runs, %v, %s: LR requests %d (%.0f/s) p50 %v p99 %v; metric batches %d (%.0f/s, %.0f records/s) p50 %v p99 %v; process CPU %.2f cores, %.1f µs per LR request (batches included); load %s to %s",
		trainers, nruns, dur, offered, len(lrLat), float64(len(lrLat))/secs, q(lrLat, .5), q(lrLat, .99),
		len(postLat), float64(len(postLat))/secs, 10*float64(len(postLat))/secs, q(postLat, .5), q(postLat, .99),
		cpu/secs, cpu/float64(max(len(lrLat), 1))*1e6, load0, loadavg())
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
