package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
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
