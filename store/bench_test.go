package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

func benchStore(b *testing.B) (*Store, Project, Run, string) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	p, _ := s.CreateProject(ctx, "p")
	token, _, _ := s.CreateToken(ctx, p.ID, "t")
	run, _ := s.CreateRun(ctx, p.ID, "r", "cosine(peak=0.1)", 1<<40, []byte(`{}`))
	return s, p, run, token
}

// BenchmarkAppendMetrics stores batches of 100 records on SQLite; one op
// is one batch (one transaction).
func BenchmarkAppendMetrics(b *testing.B) {
	s, p, run, _ := benchStore(b)
	ctx := context.Background()
	batch := make([]runlog.Record, 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = runlog.Record{Step: int64(i*100 + j), LR: 0.1, Loss: 2.5, GradNorm: 0.3,
				Present: runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm}
		}
		if _, err := s.AppendMetrics(ctx, p.ID, run.ID, fmt.Sprint(i), batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}

// BenchmarkAppendMetricsParallel stores ten-record batches from 64
// goroutines at once on SQLite, as a server's metrics requests do: the
// group commit shares one transaction among the batches that arrive
// while the last one commits. One op is one batch.
func BenchmarkAppendMetricsParallel(b *testing.B) {
	s, p, run, _ := benchStore(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on two cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]runlog.Record, 10)
		for pb.Next() {
			n := next.Add(1)
			for j := range batch {
				batch[j] = runlog.Record{Step: n*10 + int64(j), Loss: 2.5, Present: runlog.FieldLoss}
			}
			if _, err := s.AppendMetrics(ctx, p.ID, run.ID, strconv.FormatInt(n, 10), batch, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "records/s")
	groups, batches := s.CommitStats()
	b.ReportMetric(float64(batches)/float64(max(groups, 1)), "batches/commit")
}

// BenchmarkLookupTokenAndRun is the read path of an authenticated request
// on SQLite: the token by hash, then the run, from parallel goroutines.
func BenchmarkLookupTokenAndRun(b *testing.B) {
	s, _, run, token := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, err := s.LookupToken(ctx, token)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.GetRun(ctx, tok.ProjectID, run.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdateRun is a controller-state update on SQLite.
func BenchmarkUpdateRun(b *testing.B) {
	s, p, run, _ := benchStore(b)
	ctx := context.Background()
	state := []byte(`{"ema":0.123456789,"best":2.5,"bad_epochs":3}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.UpdateRun(ctx, p.ID, run.ID, func(c *Change) error { c.Run.ControllerState = state; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// viewFixture stores a run of n records on SQLite (lr, loss and grad
// norm at every step, a validation loss every 1000th) for View to read.
func viewFixture(b *testing.B, n int) (*Store, Project, Run) {
	s, p, run, _ := benchStore(b)
	ctx := context.Background()
	batch := make([]runlog.Record, 0, 10000)
	for i := range n {
		r := runlog.Record{Step: int64(i), LR: 0.1, Loss: 2.5 - float64(i)/float64(n), GradNorm: 0.3,
			Present: runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm}
		if i%1000 == 0 {
			r.ValLoss, r.Present = 2.6-float64(i)/float64(n), r.Present|runlog.FieldValLoss
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.AppendMetrics(ctx, p.ID, run.ID, strconv.Itoa(i), batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return s, p, run
}

// BenchmarkView reads a dashboard run page's view (1000 thinned metrics,
// 50 events) of a run of 300,000 and of 3,000,000 records on SQLite, as
// the run page does. Storing the larger run takes a minute or so.
func BenchmarkView(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"300k", 300_000}, {"3M", 3_000_000}} {
		n := c.n
		b.Run(c.name, func(b *testing.B) {
			s, p, run := viewFixture(b, n)
			ctx := context.Background()
			for b.Loop() {
				v, err := s.View(ctx, p.ID, run.ID, 1000, 50)
				if err != nil {
					b.Fatal(err)
				}
				if v.Count != n || len(v.Metrics) < 900 {
					b.Fatalf("count %d, %d metrics", v.Count, len(v.Metrics))
				}
			}
		})
	}
}
