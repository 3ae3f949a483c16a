package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/lrkit/lrkit/store"
)

// discardWriter is a ResponseWriter that keeps only the status and the
// byte count, reused across requests.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	d.n += len(b)
	return len(b), nil
}
func (d *discardWriter) WriteHeader(c int) { d.code = c }

// BenchmarkLRHandler measures GET /v1/runs/{run}/lr?step=N through the
// server's handler alone (routing, auth, cache, answer; no network): the
// token and the run are cached. Each goroutine reuses one request and one
// writer, so allocs/op are the server's own.
func BenchmarkLRHandler(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, _ := st.CreateProject(ctx, "b")
	tok, _, _ := st.CreateToken(ctx, p.ID, "b")
	r, _ := st.CreateRun(ctx, p.ID, "r", "warmup(cosine(peak=3e-4, steps=100000), steps=1000)", 100000, []byte("{}"))
	s := New(st, Options{})
	defer s.Close()
	queries := make([]string, 1000)
	for i := range queries {
		queries[i] = "step=" + strconv.Itoa(i*97)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/runs/%d/lr?step=0", r.ID), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := &discardWriter{h: http.Header{}}
		i := 0
		for pb.Next() {
			req.URL.RawQuery = queries[i%len(queries)]
			clear(w.h)
			w.code, w.n = 0, 0
			s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatal(w.code)
			}
			i++
		}
	})
}

// BenchmarkMetricsHandler measures POST /v1/runs/{run}/metrics with
// batches of 10 and of 64 records (the Python client's) through the
// server's handler (decoding, checks, the group commit into SQLite, the
// answer; no network), from 64 goroutines at once as concurrent trainers
// send them. One op is one batch.
func BenchmarkMetricsHandler(b *testing.B) {
	for _, n := range []int64{10, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchMetrics(b, n) })
	}
}

func benchMetrics(b *testing.B, per int64) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p, _ := st.CreateProject(ctx, "b")
	tok, _, _ := st.CreateToken(ctx, p.ID, "b")
	runs := make([]int64, 8)
	for i := range runs {
		r, _ := st.CreateRun(ctx, p.ID, fmt.Sprint("r", i), "warmup(cosine(peak=3e-4, steps=100000), steps=1000)", 100000, []byte("{}"))
		runs[i] = r.ID
	}
	s := New(st, Options{})
	defer s.Close()
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		var body []byte
		for pb.Next() {
			n := next.Add(1)
			body = append(body[:0], `{"batch_id":"`...)
			body = strconv.AppendInt(body, n, 10)
			body = append(body, `","metrics":[`...)
			for i := range per {
				if i > 0 {
					body = append(body, ',')
				}
				body = fmt.Appendf(body, `{"step":%d,"loss":%g}`, n*per+i, 3/float64(n*per+i+1))
			}
			body = append(body, "]}"...)
			req := httptest.NewRequest("POST", fmt.Sprintf("/v1/runs/%d/metrics", runs[n%int64(len(runs))]), bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			clear(w.h)
			w.code, w.n = 0, 0
			s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatal(w.code)
			}
		}
	})
	b.ReportMetric(float64(int64(b.N)*per)/b.Elapsed().Seconds(), "records/s")
	g, bt := st.CommitStats()
	b.ReportMetric(float64(bt)/float64(max(g, 1)), "batches/commit")
}
