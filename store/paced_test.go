package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// TestPacedIngest measures the store alone under metric batches that
// arrive at a steady rate (open loop: each batch is timed from when it
// was due, so a stall counts for every batch it holds up), as the
// server's metrics route sees them at less than saturation. It runs only
// with LRKIT_LOAD=paced: LRKIT_PACED_RATE batches per second (default
// 2,000) of LRKIT_PACED_BATCH records (default 50: 100,000 records/s,
// half of issue 18's ingest target) from 64 goroutines over 8 runs, for
// LRKIT_PACED_SECS seconds (default 6, at most 60), and logs the
// latency's p50, p99 and maximum. scripts/store-paced.sh compares two
// trees with it, interleaved.
func TestPacedIngest(t *testing.T) {
	if os.Getenv("LRKIT_LOAD") != "paced" {
		t.Skip("LRKIT_LOAD=paced runs it")
	}
	env := func(name string, def, most float64) float64 {
		text := os.Getenv(name)
		if text == "" {
			return def
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || v <= 0 || v > most {
			t.Fatalf("%s=%q: want a number above 0 and at most %g", name, text, most)
		}
		return v
	}
	rate := env("LRKIT_PACED_RATE", 2000, 20000)
	batch := int(env("LRKIT_PACED_BATCH", 50, 1000))
	dur := time.Duration(env("LRKIT_PACED_SECS", 6, 60) * float64(time.Second))
	const conns, nruns = 64, 8

	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "paced.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	var runs []int64
	for i := range nruns {
		r, err := s.CreateRun(ctx, p.ID, fmt.Sprint("r", i), "constant(peak=0.1)", 1<<40, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r.ID)
	}
	interval := time.Duration(float64(conns) / rate * float64(time.Second))
	begin := time.Now().Add(10 * time.Millisecond)
	end := begin.Add(dur)
	lats := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			due := begin.Add(interval * time.Duration(c) / conns)
			for i := 0; due.Before(end); i++ {
				time.Sleep(time.Until(due))
				recs := make([]runlog.Record, batch)
				for j := range recs {
					step := int64(c)<<32 | int64(i*batch+j)
					recs[j] = runlog.Record{Step: step, LR: 0.1, Loss: 2.5, GradNorm: 0.3,
						Present: runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm}
				}
				if _, err := s.AppendMetrics(ctx, p.ID, runs[c%nruns], fmt.Sprint(c, "-", i), recs, nil); err != nil {
					t.Error(err)
					return
				}
				lats[c] = append(lats[c], time.Since(due))
				due = due.Add(interval)
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lats...)
	if len(all) == 0 {
		t.Fatal("no batch stored")
	}
	slices.Sort(all)
	q := func(f float64) time.Duration {
		return all[min(len(all)-1, int(f*float64(len(all))))].Round(10 * time.Microsecond)
	}
	groups, batches := s.CommitStats()
	t.Logf("%d batches of %d records at %.0f/s (%.0f records/s) for %v: latency p50 %v, p99 %v, max %v; %d groups",
		batches, batch, rate, rate*float64(batch), dur, q(0.5), q(0.99), all[len(all)-1].Round(10*time.Microsecond), groups)
}
