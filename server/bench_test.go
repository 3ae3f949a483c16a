package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lrkit/lrkit/store"
)

// BenchmarkLRHandler measures the handler of GET /v1/runs/{run}/lr?step=N
// alone (no network): token and run caches hit, JSON answer.
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
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := httptest.NewRequest("GET", fmt.Sprintf("/v1/runs/%d/lr?step=%d", r.ID, i%100000), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
			i++
		}
	})
}
