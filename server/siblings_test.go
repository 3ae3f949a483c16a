package server

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
)

// TestRunsPageEarlyRanking: three runs that share a budget of 1000 steps
// and have passed 30% of it are ranked by their loss just before step 300;
// a run with another budget is left out of the ranking.
func TestRunsPageEarlyRanking(t *testing.T) {
	f := newFixture(t)
	levels := map[string]float64{"slow": 3, "best": 1, "middle": 2}
	for _, name := range []string{"slow", "best", "middle"} {
		run := f.createRun(f.tokA, name, "cosine(peak=0.01, steps=1000)", 1000)
		lvl := levels[name]
		postBatch(f, run.ID, "b", 0, 320, func(i int) float64 { return lvl + math.Pow(float64(i+1), -0.5) })
	}
	other := f.createRun(f.tokA, "other-budget", "cosine(peak=0.01, steps=500)", 500)
	postBatch(f, other.ID, "b", 0, 320, func(i int) float64 { return 0.5 })
	runs, err := f.st.ListRuns(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	sibs, err := f.h.earlyRanking(t.Context(), 1, runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sibs) != 1 || sibs[0].Budget != 1000 || sibs[0].Step != 300 || sibs[0].Fraction != 0.3 {
		t.Fatalf("groups %+v, want one at step 300 of budget 1000", sibs)
	}
	var order []string
	for _, s := range sibs[0].Scores {
		order = append(order, fmt.Sprintf("%d:%s", s.Rank, s.Name))
	}
	if got := strings.Join(order, " "); got != "1:best 2:middle 3:slow" {
		t.Errorf("ranking %s", got)
	}
	_, body := get(t, f.browser(f.tokA), f.srv.URL+"/")
	if !strings.Contains(body, "Early ranking") || !strings.Contains(body, "budget 1000: at step 300 (30% of the budget)") {
		t.Errorf("runs page lacks the ranking")
	}
}

// The ranking reads each sibling's window before the checkpoint (5% of
// the budget), not every step before it: it read all of them on every
// load of the runs page and every 5 s refresh of it (a few siblings of a
// million steps: seconds and a gigabyte per load). Measured by
// allocations: ranking two runs at step 30,000 of 100,000 allocates about
// what reading their 5,000-step windows does, not six times as much.
func TestEarlyRankingReadsTheWindow(t *testing.T) {
	f := newFixture(t)
	const budget = 100000
	for k := range 2 {
		run := f.createRun(f.tokA, fmt.Sprint("sib", k), "cosine(peak=0.01, steps=100000)", budget)
		for b := range 3 {
			postBatch(f, run.ID, fmt.Sprint("b", b), b*10000, 10000, func(i int) float64 { return float64(k+1) + math.Pow(float64(i+1), -0.5) })
		}
		postBatch(f, run.ID, "last", 30000, 1, func(int) float64 { return float64(k + 1) })
	}
	ctx := t.Context()
	runs, err := f.st.ListRuns(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	mallocs := func(fn func()) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		fn()
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs
	}
	window := mallocs(func() {
		for _, r := range runs {
			if _, err := f.st.Metrics(ctx, 1, r.ID, 25000, 5000); err != nil {
				t.Fatal(err)
			}
		}
	})
	var sibs []rankGroup
	rank := mallocs(func() { sibs, err = f.h.earlyRanking(ctx, 1, runs) })
	if err != nil {
		t.Fatal(err)
	}
	if len(sibs) != 1 || sibs[0].Step != 30000 || len(sibs[0].Scores) != 2 || sibs[0].Scores[0].Name != "sib0" {
		t.Fatalf("ranking %+v, want sib0 before sib1 at step 30000", sibs)
	}
	if rank > 2*window {
		t.Errorf("ranking allocated %d times, reading the two windows %d: it read more than the windows", rank, window)
	}
}
