package server

import (
	"fmt"
	"math"
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
