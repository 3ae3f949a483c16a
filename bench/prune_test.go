package bench

import (
	"context"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// withPrune is gridStudy with a tuning.prune line.
func withPrune(line string) string {
	grid := "  grid: {points: 5, range: [0.001, 0.1], extend: 2}\n"
	return strings.Replace(gridStudy, grid, grid+"  prune: "+line+"\n", 1)
}

// prunedStudy is gridStudy with the pruner on.
var prunedStudy = withPrune("{rule: loss}")

// fakeEarly is a run's early curve: a training loss that is lowest for
// peaks near opt (1 + decades² away from it, falling slowly with the
// step) with a small deterministic wiggle, so that the pruner's
// batch-means standard errors are positive, and a gradient norm of 1.
func fakeEarly(tr Trial, opt float64, steps int64) *EarlyCurve {
	d := math.Log10(tr.Params["peak"]) - math.Log10(opt)
	c := &EarlyCurve{}
	for i := int64(0); i < steps; i++ {
		c.add(1+d*d+0.5/float64(i+1)+0.01*math.Sin(float64(i)), 1)
	}
	return c
}

// fakePruned is fakeResult with early records: a probe stops at StopAt.
func fakePruned(tr Trial, opt float64) TrialResult {
	r := fakeResult(tr, opt, 1e9)
	n := earlySteps(tr)
	if tr.StopAt > 0 {
		r.Steps = tr.StopAt
	}
	r.Early = fakeEarly(tr, opt, n)
	return r
}

// simulatePruned is simulate with fakePruned results.
func simulatePruned(t *testing.T, s *Study, opt float64) (*Plan, map[string]TrialResult) {
	t.Helper()
	p, results, _ := runPlan(t, s, gridInfo, func(tr Trial) TrialResult { return fakePruned(tr, opt) })
	return p, results
}

func TestPrunedGridProbesFirst(t *testing.T) {
	s := parseGrid(t, prunedStudy)
	p, err := s.Plan(gridInfo, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3 grids × 5 peaks × 2 selection seeds of probes, nothing else.
	if got := roles(p.Trials); got["probe"] != 30 || got["tune"] != 0 || got["eval"] != 0 {
		t.Fatalf("first round %v, want 30 probes", got)
	}
	for _, tr := range p.Trials {
		// The probe is the budget's own schedule, cut at 30% of it.
		if want := int64(math.Ceil(0.3 * float64(tr.Steps))); tr.StopAt != want {
			t.Errorf("%s: stop at %d, want %d of %d steps", tr.Key, tr.StopAt, want, tr.Steps)
		}
		if !strings.Contains(tr.Spec, "steps="+strconv.FormatInt(tr.Steps, 10)) {
			t.Errorf("%s: spec %s is not the %d-step schedule", tr.Key, tr.Spec, tr.Steps)
		}
	}
}

func TestPrunedGridTrainsOnlySurvivors(t *testing.T) {
	s := parseGrid(t, prunedStudy)
	p, results := simulatePruned(t, s, 0.01)
	c := cellOf(p, "cosine", 1)
	if !c.Tuned || !c.Probed {
		t.Fatalf("cell tuned %v probed %v", c.Tuned, c.Probed)
	}
	// The early loss separates the decades clearly: only the point at the
	// optimum survives (keep 1), and it is the chosen one.
	if len(c.Pruned) != 4 || math.Abs(c.Peak-0.01) > 1e-9 {
		t.Fatalf("pruned %v, chose peak %v; want 4 pruned and 0.01", c.Pruned, c.Peak)
	}
	full := 0
	for _, tr := range p.Trials {
		if tr.Entry == "cosine" && tr.Budget == 1 && tr.Role == "tune" {
			full++
			if tr.Grid != c.Chosen {
				t.Errorf("a pruned point got a full run: %s", tr.Key)
			}
		}
	}
	if full != 2 {
		t.Errorf("%d full selection runs, want 2 (one point × 2 seeds)", full)
	}
	// The pruned points are not candidates.
	for _, g := range c.Grid {
		for _, k := range c.Pruned {
			if g.Index == k {
				t.Errorf("pruned point %d scored as a candidate", k)
			}
		}
	}
	out := &Outcome{Plan: p, Trials: p.Trials, Results: results}
	rows := livePruning(s, out)
	if len(rows) != 1 || rows[0].Workload != "w1" {
		t.Fatalf("live pruning rows %+v", rows)
	}
	r := rows[0]
	// cosine at 0.5 and 1, WSD at 1: each 5 probes of 30% and 1 survivor,
	// on 2 seeds: run = 2·(5·0.3 + 1)·steps, full = 2·5·steps.
	wantRun := 2 * (5*(150+300+300) + 500 + 1000 + 1000)
	wantFull := 2 * 5 * (500 + 1000 + 1000)
	if r.Cells != 3 || r.Points != 15 || r.Pruned != 12 || r.StepsRun != int64(wantRun) || r.StepsFull != int64(wantFull) {
		t.Errorf("live pruning %+v, want 3 cells, 15 points, 12 pruned, %d of %d steps", r, wantRun, wantFull)
	}
	if math.Abs(r.Saved-0.5) > 1e-12 {
		t.Errorf("saved %v, want 0.5", r.Saved)
	}
	// Pruned cells are not replayed (their losers have no full run).
	if rep := replayPruning(s, out, map[string]bool{"w1": true}); rep != nil {
		t.Errorf("replay of a pruned study: %+v", rep)
	}
}

func TestPrunedGridExtendsPastEdge(t *testing.T) {
	// The optimum (0.3) lies above the grid (0.001..0.1): the best survivor
	// is at the high edge, the grid grows and the new point's probe runs.
	s := parseGrid(t, prunedStudy)
	p, _ := simulatePruned(t, s, 0.3)
	c := cellOf(p, "cosine", 1)
	// Point 5 (0.316) wins once probed and sits at the new edge, so the
	// grid grows once more; point 6 (1.0) is pruned, and 5 is chosen off
	// the edge.
	if !c.Tuned || c.Hi != 6 || c.Chosen != 5 || c.AtEdge || !reflect.DeepEqual(c.Pruned, []int{0, 1, 2, 3, 6}) {
		t.Fatalf("tuned %v, grid %d..%d, chosen %d, at edge %v, pruned %v; want grid 0..6, 5 chosen off the edge, 0-3 and 6 pruned",
			c.Tuned, c.Lo, c.Hi, c.Chosen, c.AtEdge, c.Pruned)
	}
	// Extending the grid let the new probe beat the old survivor (4); its
	// full runs stay in the plan although it is pruned now.
	got := map[int]bool{}
	for _, tr := range p.Trials {
		if tr.Entry == "cosine" && tr.Budget == 1 && tr.Role == "tune" {
			got[tr.Grid] = true
		}
	}
	if !got[4] || !got[5] || len(got) != 2 {
		t.Errorf("full runs at points %v, want 4 (kept from before the extension) and 5", got)
	}
}

func TestPruneReplayOnUnprunedGrid(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, results, _ := runPlan(t, s, gridInfo, func(tr Trial) TrialResult { return fakePruned(tr, 0.01) })
	out := &Outcome{Plan: p, Trials: p.Trials, Results: results}
	rows := replayPruning(s, out, map[string]bool{"w1": true})
	if len(rows) != 1 {
		t.Fatalf("replay rows %+v", rows)
	}
	r := rows[0]
	// Cosine at two budgets and WSD at one, two seeds each: 6 groups of 5
	// points; the 4 losers of each are stopped at the first checkpoint
	// (10%) and the chosen peak survives.
	if r.Cells != 6 || r.Points != 30 || r.Pruned != 24 || r.WinnerStopped != 0 || r.Regret != 0 {
		t.Fatalf("replay %+v, want 6 groups, 30 points, 24 stopped, no winner stopped", r)
	}
	if math.Abs(r.Saved-0.72) > 1e-9 { // 4 of 5 stopped at 10%: 1 − (1 + 4·0.1)/5
		t.Errorf("saved %v, want 0.72", r.Saved)
	}
	// A study without early records (older results) has no replay.
	for k, r := range results {
		r.Early = nil
		results[k] = r
	}
	if rows := replayPruning(s, out, map[string]bool{"w1": true}); rows != nil {
		t.Errorf("replay without early records: %+v", rows)
	}
}

func TestPruneSettingsValidated(t *testing.T) {
	cases := []struct{ text, want string }{
		{withPrune("{at: [0.2, 0.1]}"), "tuning.prune.at.1: at [0.2 0.1]: want increasing fractions of the budget in (0, 0.5]"},
		{withPrune("{at: [0.7]}"), "tuning.prune.at.0"},
		{withPrune("{rule: lossy}"), `tuning.prune.rule: early: unknown rule "lossy"`},
		{withPrune("{z: -1}"), "tuning.prune.z: z -1"},
		{withPrune("{keep: -2}"), "tuning.prune.keep: keep -2"},
		{strings.Replace(strings.Replace(gridStudy, "mode: grid", "mode: external", 1), "    tune_budget: 1.0\n", "", 1), "tuning.seeds: only tuning.mode grid takes seeds"},
		{"name: g\nworkloads: [w1]\nschedules: [{name: c, spec: 'constant(peak=${peak})'}]\ntuning:\n  prune: {rule: loss}\n", "tuning.prune: only tuning.mode grid takes prune"},
	}
	for _, c := range cases {
		_, err := ParseStudy("g.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}

func TestProbeTrialStopsAndKeepsEarlyRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	tr := Trial{Key: "probe", Workload: "logreg-iris", Spec: "cosine(peak=0.1, steps=100)", Steps: 100, StopAt: 30,
		Seed: 1, Params: map[string]float64{"peak": 0.1}, Higher: true, EvalEvery: 10}
	res, err := RunTrial(context.Background(), tr, TrialOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 30 || res.Early == nil || len(res.Early.Loss) != 30 || len(res.Early.GradNorm) != 30 {
		t.Fatalf("probe ran %d steps with %v early records, want 30 and 30", res.Steps, res.Early)
	}
	full := tr
	full.StopAt = 0
	fr, err := RunTrial(context.Background(), full, TrialOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Steps != 100 || len(fr.Early.Loss) != 30 {
		t.Fatalf("full run: %d steps, %d early records; want 100 and 30 (30%% of the budget)", fr.Steps, len(fr.Early.Loss))
	}
	// Deterministic training: the probe is the full run's start.
	for i := range res.Early.Loss {
		if res.Early.Loss[i] != fr.Early.Loss[i] || !(res.Early.GradNorm[i] > 0) {
			t.Fatalf("step %d: probe loss %v, full run %v (gradient norm %v)", i, res.Early.Loss[i], fr.Early.Loss[i], res.Early.GradNorm[i])
		}
	}
	if res.LR[len(res.LR)-1] <= fr.LR[len(fr.LR)-1] {
		t.Errorf("the probe's last rate %v is not above the full run's end %v: was the schedule shortened?", res.LR[len(res.LR)-1], fr.LR[len(fr.LR)-1])
	}
}

func TestPrunedGridAllProbesDiverged(t *testing.T) {
	// Every peak above 2e-4 diverges: the whole initial grid's probes
	// diverge, so no point survives; the grid grows downwards as an
	// unpruned grid of diverged runs does, and settles on the first peak
	// that trains (k = −2, 1e-4), at the low edge after both extensions.
	s := parseGrid(t, prunedStudy)
	p, _, _ := runPlan(t, s, gridInfo, func(tr Trial) TrialResult {
		if tr.Params["peak"] > 2e-4 {
			return TrialResult{Key: tr.Key, Diverged: true, FinalMetric: runlog.Num(math.NaN()), Steps: 3}
		}
		return fakePruned(tr, 1e-4)
	})
	c := cellOf(p, "cosine", 1)
	if !c.Tuned || c.Chosen != -2 || !c.AtEdge || c.Edge != "low" {
		t.Fatalf("tuned %v chose %d (edge %v %q), want -2 at the low edge", c.Tuned, c.Chosen, c.AtEdge, c.Edge)
	}
}

func TestPrunerCannotJudgeShortBudgets(t *testing.T) {
	// 20- and 40-step budgets: the checkpoint at 10% (step 2 or 4) has no
	// room for the policy's 5-step window, so no cell is pruned, every
	// point is trained, and the report says why.
	s := parseGrid(t, prunedStudy)
	info := map[string]WorkloadInfo{"w1": {StepHint: 40, DefaultPeak: 0.01, Target: 0.9, HigherIsBetter: true}}
	p, results, _ := runPlan(t, s, info, func(tr Trial) TrialResult { return fakePruned(tr, 0.01) })
	out := &Outcome{Plan: p, Trials: p.Trials, Results: results}
	rows := livePruning(s, out)
	if len(rows) != 1 || rows[0].Pruned != 0 || rows[0].Unjudged != 3 || !strings.Contains(rows[0].Notes[0], "starts before step 0") {
		t.Fatalf("rows %+v, want 3 unjudged cells, none pruned, with the reason", rows)
	}
	sum := &Summary{Study: s, Pruning: rows}
	if tb := livePruneTable(sum); !strings.Contains(tb.note, "could not judge") || !strings.Contains(tb.note, "w1@1 cosine: not pruned") {
		t.Errorf("table note %q does not list the cells not judged", tb.note)
	}
	if got := roles(p.Trials)["tune"]; got != 30 {
		t.Errorf("%d full selection runs, want all 30", got)
	}
}

func TestEarlyRecordsBounded(t *testing.T) {
	for _, c := range []struct{ steps, stop, want int64 }{
		{1000, 0, 300}, {1001, 0, 301}, {1000, 500, 500}, {10, 0, 3}, {10_000_000, 0, MaxEarlySteps}, {1_000_000, 400_000, MaxEarlySteps},
	} {
		if got := earlySteps(Trial{Steps: c.steps, StopAt: c.stop}); got != c.want {
			t.Errorf("steps %d stop %d: %d early records, want %d", c.steps, c.stop, got, c.want)
		}
	}
}
