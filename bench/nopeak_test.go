package bench

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// runPlanFailing is runPlan with a fake runner that may fail a trial: run
// returns its result, or the error of a trial that could not run. It
// returns the settled plan, the results and the failures.
func runPlanFailing(t *testing.T, s *Study, info map[string]WorkloadInfo, run func(Trial) (TrialResult, string)) (*Plan, map[string]TrialResult, map[string]string) {
	t.Helper()
	results, failed, errs := map[string]TrialResult{}, map[string]bool{}, map[string]string{}
	for round := 1; round < 50; round++ {
		p, err := s.Plan(info, results, failed)
		if err != nil {
			t.Fatal(err)
		}
		added := 0
		for _, tr := range p.Trials {
			if _, ok := results[tr.Key]; ok || failed[tr.Key] {
				continue
			}
			added++
			if r, msg := run(tr); msg != "" {
				failed[tr.Key], errs[tr.Key] = true, msg
			} else {
				results[tr.Key] = r
			}
		}
		if added == 0 {
			return p, results, errs
		}
	}
	t.Fatal("the plan did not settle in 50 rounds")
	return nil, nil, nil
}

// TestPlanNoPeakWhenEverySelectionRunFails: every selection run of WSD
// fails (seed 10's cannot run, seed 11's diverge), cosine trains. WSD's
// grid still extends downwards as far as it may (a lower peak might
// train), then its cell has no peak: the planner used to take the grid's
// low edge and train the evaluation runs there. WSD trains no evaluation
// run, nor does its cell that reuses budget 1's peak; the summary leaves
// it out of every verdict and says why, and the report says "no peak:
// every selection run failed" for it.
func TestPlanNoPeakWhenEverySelectionRunFails(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, results, errs := runPlanFailing(t, s, gridInfo, func(tr Trial) (TrialResult, string) {
		switch {
		case tr.Entry != "wsd":
			return fakeResult(tr, 0.01, 1), ""
		case tr.Seed == 10:
			return TrialResult{}, "trial " + tr.Key + ": exit status 1"
		}
		return TrialResult{Key: tr.Key, Diverged: true, FinalMetric: runlog.Num(math.NaN())}, ""
	})

	// The planner: no peak for WSD, at either budget.
	c := cellOf(p, "wsd", 1)
	if !c.NoPeak || c.Tuned || c.Spec != "" || c.Lo != -2 || c.Hi != 4 || len(c.Grid) != 7 {
		t.Fatalf("WSD at 1: no peak %v, tuned %v (point %d), spec %q, grid [%d, %d] with %d points scored; want no peak after two extensions downwards ([-2, 4], 7 points)",
			c.NoPeak, c.Tuned, c.Chosen, c.Spec, c.Lo, c.Hi, len(c.Grid))
	}
	for _, gp := range c.Grid {
		if gp.Diverged != 2 || !math.IsNaN(gp.Metric) {
			t.Errorf("WSD at 1, point %d: %d of 2 selection runs failed, metric %v", gp.Index, gp.Diverged, gp.Metric)
		}
	}
	if c := cellOf(p, "wsd", 0.5); !c.NoPeak || c.Tuned || c.ReusedFrom != 1 || c.Spec != "" {
		t.Errorf("WSD at 0.5: no peak %v, tuned %v, reused from %v, spec %q; want no peak, from budget 1", c.NoPeak, c.Tuned, c.ReusedFrom, c.Spec)
	}
	for _, b := range []float64{0.5, 1} {
		if c := cellOf(p, "cosine", b); c.NoPeak || !c.Tuned || c.Chosen != 2 {
			t.Errorf("cosine at %g: no peak %v, tuned %v at point %d; want point 2", b, c.NoPeak, c.Tuned, c.Chosen)
		}
	}
	count := map[string]int{}
	for _, tr := range p.Trials {
		count[tr.Entry+" "+tr.Role]++
	}
	// WSD: 7 points × 2 selection seeds at budget 1, nothing at 0.5, no
	// evaluation run. Cosine: 5 points × 2 seeds and 3 evaluation runs
	// per budget.
	if want := map[string]int{"wsd tune": 14, "cosine tune": 20, "cosine eval": 6}; !reflect.DeepEqual(count, want) {
		t.Errorf("trials by schedule and role %v, want %v", count, want)
	}
	failed := map[string]bool{}
	for k := range errs {
		failed[k] = true
	}
	// (The grid points' metrics are NaN, which DeepEqual never equals.)
	if again, err := s.Plan(gridInfo, results, failed); err != nil || !reflect.DeepEqual(again.Trials, p.Trials) || !cellOf(again, "wsd", 1).NoPeak {
		t.Errorf("re-planning from the results gave another plan (%v)", err)
	}

	// The summary: WSD is in no verdict, and Summarize says so with
	// ErrNoResults (lrkit bench exits non-zero).
	out := &Outcome{Trials: p.Trials, Results: results, Failed: errs, Plan: p}
	sum, err := Summarize(s, out)
	wantErr := `bench: study "g": no successful trials for wsd: 7 of 14 trials failed, so no verdict is drawn about it (the other schedules are scored); the first failure: trial w1/wsd/b1/tune/k-1/s10: exit status 1`
	if !errors.Is(err, ErrNoResults) || err.Error() != wantErr {
		t.Fatalf("Summarize: %v,\nwant %s (wrapping ErrNoResults)", err, wantErr)
	}
	if !reflect.DeepEqual(sum.NoResults, []string{"wsd"}) || len(sum.NoPeak) != 2 || sum.Recommended != "cosine" {
		t.Errorf("no results %v, %d cells without a peak, recommended %q; want [wsd], 2, cosine", sum.NoResults, len(sum.NoPeak), sum.Recommended)
	}
	if c := sum.Compare["wsd"]; c == nil || c.Pairs != 0 {
		t.Errorf("WSD compared with the baseline: %+v", c)
	}
	if !strings.HasSuffix(sum.Headline, " wsd: no peak (every selection run failed), not compared (see Tuned peaks).") {
		t.Errorf("headline %q does not say that WSD is not compared and why", sum.Headline)
	}
	for _, cl := range sum.Claims {
		if strings.HasPrefix(cl.Text, "WSD matches cosine") && cl.Verdict != "not tested: wsd has no peak (every selection run failed)" {
			t.Errorf("claim %q: %q", cl.Text, cl.Verdict)
		}
	}

	// The report.
	rep, err := BuildReport(sum, out, testTime)
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Files["report.md"])
	for _, want := range []string{
		"**" + sum.Headline + "**",
		"2 cells (a schedule on a problem) have no peak: every selection run failed (diverged or could not run), so none was chosen and no evaluation run was trained: wsd on w1@0.5 (reusing budget 1); wsd on w1@1.",
		"1 of 2 schedules have no successful evaluation run and are in no verdict, claim or recommendation: wsd",
		"| wsd | — |  | no peak: every selection run failed |",
		"| problem | cosine | wsd |\n|---|---|---|\n| w1@0.5 | 0.01 [0.001, 0.1] | no peak: every selection run failed (from 1) |\n| w1@1 | 0.01 [0.001, 0.1] | no peak: every selection run failed [0.0001, 0.1] |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "low edge") {
		t.Errorf("report.md puts WSD's peak at the grid's low edge:\n%s", md)
	}
	if csv := string(rep.Files["results.csv"]); strings.Contains(csv, "/wsd/b1/eval/") || strings.Contains(csv, "/wsd/b0.5/eval/") {
		t.Errorf("results.csv lists evaluation runs of WSD:\n%s", csv)
	}
	var doc struct {
		Entries []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
			Cells   []struct {
				Problem string `json:"problem"`
				NoPeak  string `json:"no_peak"`
			} `json:"cells"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(rep.Files["results.json"], &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc.Entries {
		if e.Name != "wsd" {
			continue
		}
		if e.Verdict != "no peak: every selection run failed" || len(e.Cells) != 2 || e.Cells[0].NoPeak != "every selection run failed" || e.Cells[1].NoPeak != "every selection run failed" {
			t.Errorf("results.json: WSD %+v", e)
		}
	}
}
