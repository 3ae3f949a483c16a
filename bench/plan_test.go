package bench

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// gridStudy is a planner test study: one workload at two budgets, cosine
// tuned at each budget, WSD tuned at budget 1 and reusing that peak at
// 0.5. Its grid spans 1e-3..1e-1 in five points, a factor √10 apart.
const gridStudy = `name: g
workloads: [w1]
budgets: [0.5, 1.0]
seeds: [0, 1, 2]
baseline: cosine
tuning:
  mode: grid
  seeds: [10, 11]
  warmup: 0.05
  grid: {points: 5, range: [0.001, 0.1], extend: 2}
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
  - name: wsd
    spec: warmup(wsd(peak=${peak}, steps=${steps}, decay=0.2), steps=${warmup})
    tune_budget: 1.0
`

var gridInfo = map[string]WorkloadInfo{"w1": {StepHint: 1000, DefaultPeak: 0.01, Target: 0.9, HigherIsBetter: true}}

// fakeResult is a run whose final accuracy peaks at the log-peak opt and
// falls off quadratically in decades; a peak above diverge diverges.
func fakeResult(tr Trial, opt, diverge float64) TrialResult {
	peak := tr.Params["peak"]
	if peak > diverge {
		return TrialResult{Key: tr.Key, Diverged: true, FinalMetric: runlog.Num(math.NaN())}
	}
	d := math.Log10(peak) - math.Log10(opt)
	m := 0.95 - 0.01*d*d
	return TrialResult{Key: tr.Key, Steps: tr.Steps, FinalMetric: runlog.Num(m),
		Evals: []EvalPoint{{Step: tr.Steps, Metric: runlog.Num(m), ValLoss: runlog.Num(1 - m)}}}
}

// simulate plans, "runs" every new trial with fakeResult, and plans again
// until the plan adds nothing; it returns the last plan, the results and
// the number of rounds.
func simulate(t *testing.T, s *Study, opt, diverge float64) (*Plan, map[string]TrialResult, int) {
	t.Helper()
	return runPlan(t, s, gridInfo, func(tr Trial) TrialResult { return fakeResult(tr, opt, diverge) })
}

// runPlan plans, "runs" every new trial with fake, and plans again until
// the plan adds nothing; it returns the last plan, the results and the
// number of rounds.
func runPlan(t *testing.T, s *Study, info map[string]WorkloadInfo, fake func(Trial) TrialResult) (*Plan, map[string]TrialResult, int) {
	t.Helper()
	results := map[string]TrialResult{}
	for round := 1; round < 50; round++ {
		p, err := s.Plan(info, results, nil)
		if err != nil {
			t.Fatal(err)
		}
		added := 0
		for _, tr := range p.Trials {
			if _, ok := results[tr.Key]; !ok {
				results[tr.Key] = fake(tr)
				added++
			}
		}
		if added == 0 {
			return p, results, round
		}
	}
	t.Fatal("the plan did not settle in 50 rounds")
	return nil, nil, 0
}

func parseGrid(t *testing.T, text string) *Study {
	t.Helper()
	s, err := ParseStudy("g.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cellOf(p *Plan, entry string, budget float64) *CellState {
	for _, c := range p.Cells {
		if c.Entry == entry && c.Budget == budget {
			return c
		}
	}
	return nil
}

func TestPlanFirstRoundIsTheGrid(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, err := s.Plan(gridInfo, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// cosine at 2 budgets and WSD at budget 1: 3 grids × 5 peaks × 2
	// selection seeds, nothing else until they finish.
	if got := roles(p.Trials); got["tune"] != 30 || got["eval"] != 0 {
		t.Fatalf("first round %v, want 30 selection runs", got)
	}
	want := []float64{0.001, 0.00316228, 0.01, 0.0316228, 0.1}
	for i, w := range want {
		tr := p.Trials[2*i]
		if math.Abs(tr.Params["peak"]-w) > 1e-6*w || !strings.Contains(tr.Spec, "steps=25)") {
			t.Errorf("grid point %d: peak %v spec %s, want peak %v and a 25-step warm-up", i, tr.Params["peak"], tr.Spec, w)
		}
	}
	if c := cellOf(p, "wsd", 0.5); c.Tuned || c.ReusedFrom != 1 {
		t.Errorf("WSD at 0.5 before its tuning budget finished: tuned %v, reused from %v", c.Tuned, c.ReusedFrom)
	}
	// Part of every grid done: still no extension and no evaluation.
	results := map[string]TrialResult{}
	for _, tr := range p.Trials {
		if tr.Grid != 3 {
			results[tr.Key] = fakeResult(tr, 0.01, 1)
		}
	}
	q, err := s.Plan(gridInfo, results, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Trials, p.Trials) {
		t.Error("a partly run grid changed the plan")
	}
}

func TestPlanInteriorOptimum(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, results, rounds := simulate(t, s, 0.01, 1)
	if rounds != 3 { // the grids, the evaluation runs, nothing new
		t.Errorf("%d rounds, want 3", rounds)
	}
	for _, c := range p.Cells {
		lo, hi := 0, 4
		if c.ReusedFrom != 0 {
			lo, hi = 2, 2 // only the peak it reuses
		}
		if !c.Tuned || c.Chosen != 2 || c.AtEdge || c.Lo != lo || c.Hi != hi || math.Abs(c.Peak-0.01) > 1e-12 {
			t.Errorf("%s %s: tuned %v chosen %d [%d, %d] at edge %v peak %v; want point 2 (0.01) of an unextended grid",
				c.Entry, c.Problem(), c.Tuned, c.Chosen, c.Lo, c.Hi, c.AtEdge, c.Peak)
		}
		if !strings.Contains(c.Spec, "peak=0.01,") {
			t.Errorf("%s %s: spec %s", c.Entry, c.Problem(), c.Spec)
		}
	}
	if c := cellOf(p, "wsd", 0.5); c.ReusedFrom != 1 || len(c.Grid) != 0 {
		t.Errorf("WSD at 0.5: reused from %v with %d grid points, want budget 1's peak and no runs of its own", c.ReusedFrom, len(c.Grid))
	}
	got := roles(p.Trials)
	if got["tune"] != 30 || got["eval"] != 12 || len(results) != 42 {
		t.Errorf("finished plan %v with %d results, want 30 selection and 12 evaluation runs", got, len(results))
	}
	// The same results plan the same trials (Load relies on it).
	again, err := s.Plan(gridInfo, results, nil)
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Errorf("re-planning from the results gave another plan (%v)", err)
	}
}

func TestPlanExtendsPastEdges(t *testing.T) {
	s := parseGrid(t, gridStudy)
	tests := []struct {
		name            string
		opt             float64
		lo, hi, chosen  int
		atEdge          bool
		edge            string
		selectionPerRun int
	}{
		// 10^-3.5 is one step below the grid: one extension finds it, a
		// second shows it is interior.
		{"one step below", math.Pow(10, -3.5), -2, 4, -1, false, "", 7},
		// 10^-1.1 is between the top point and the next: the top point
		// 0.1 is best on the grid; one extension up (0.316) is worse.
		{"just above", math.Pow(10, -1.1), 0, 5, 4, false, "", 6},
		// 1.0 is four steps above: two extensions and still at the edge.
		{"far above", 1, 0, 6, 6, true, "high", 7},
	}
	for _, tc := range tests {
		p, _, _ := simulate(t, s, tc.opt, 100)
		c := cellOf(p, "cosine", 1)
		if c.Lo != tc.lo || c.Hi != tc.hi || c.Chosen != tc.chosen || c.AtEdge != tc.atEdge || c.Edge != tc.edge {
			t.Errorf("%s: grid [%d, %d] chose %d at edge %v %q; want [%d, %d], %d, %v %q",
				tc.name, c.Lo, c.Hi, c.Chosen, c.AtEdge, c.Edge, tc.lo, tc.hi, tc.chosen, tc.atEdge, tc.edge)
		}
		n := 0
		for _, tr := range p.Trials {
			if tr.Entry == "cosine" && tr.Budget == 1 && tr.Role == "tune" {
				n++
			}
		}
		if n != 2*tc.selectionPerRun {
			t.Errorf("%s: %d selection runs, want %d points × 2 seeds", tc.name, n, tc.selectionPerRun)
		}
		if len(c.Grid) != tc.hi-tc.lo+1 {
			t.Errorf("%s: %d grid points scored", tc.name, len(c.Grid))
		}
	}
}

// A diverged (or failed) run is the worst point: with every peak above
// 0.02 diverging and the optimum at 1, the best point is the highest one
// that trains.
func TestPlanDivergedIsWorst(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, _, _ := simulate(t, s, 1, 0.02)
	if c := cellOf(p, "cosine", 1); c.Chosen != 2 || c.AtEdge {
		t.Errorf("chose point %d (at edge %v), want 2 (0.01, the highest that does not diverge)", c.Chosen, c.AtEdge)
	}
	// A failed selection run counts as diverged.
	first, err := s.Plan(gridInfo, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	results, failed := map[string]TrialResult{}, map[string]bool{}
	for _, tr := range first.Trials {
		if tr.Grid == 2 {
			failed[tr.Key] = true
			continue
		}
		results[tr.Key] = fakeResult(tr, 0.01, 1)
	}
	q, err := s.Plan(gridInfo, results, failed)
	if err != nil {
		t.Fatal(err)
	}
	if c := cellOf(q, "cosine", 1); !c.Tuned || c.Chosen == 2 {
		t.Errorf("with point 2's runs failed: tuned %v, chose %d", c.Tuned, c.Chosen)
	}
}

// Selection runs and evaluation runs never share a seed, and a study that
// names a seed in both is refused with its line.
func TestPlanSeedsDisjoint(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, _, _ := simulate(t, s, 0.01, 1)
	tune, eval := map[int64]bool{}, map[int64]bool{}
	for _, tr := range p.Trials {
		switch tr.Role {
		case "tune":
			tune[tr.Seed] = true
		case "eval":
			eval[tr.Seed] = true
		default:
			t.Errorf("%s: role %q", tr.Key, tr.Role)
		}
	}
	if !reflect.DeepEqual(tune, map[int64]bool{10: true, 11: true}) || !reflect.DeepEqual(eval, map[int64]bool{0: true, 1: true, 2: true}) {
		t.Errorf("selection seeds %v, evaluation seeds %v", tune, eval)
	}
	bad := strings.Replace(gridStudy, "seeds: [10, 11]", "seeds: [10, 2]", 1)
	_, err := ParseStudy("g.yaml", []byte(bad))
	want := "g.yaml:8: tuning.seeds.1: seed 2 is both a selection seed and an evaluation seed (seeds)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("shared seed: err %v, want %q...", err, want)
	}
}

// The baseline's targets come from its selection runs at the chosen peak,
// so a baseline that reuses a peak trains those at every budget.
func TestPlanReusedBaselineTrainsReferenceRuns(t *testing.T) {
	text := strings.Replace(gridStudy, "    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})\n",
		"    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})\n    tune_budget: 1.0\n", 1)
	s := parseGrid(t, text)
	p, _, _ := simulate(t, s, 0.01, 1)
	c := cellOf(p, "cosine", 0.5)
	if c.ReusedFrom != 1 || len(c.Grid) != 1 || c.Grid[0].Index != 2 || c.Lo != 2 || c.Hi != 2 {
		t.Fatalf("cosine at 0.5: reused from %v, grid %+v [%d, %d]; want the chosen point's selection runs only", c.ReusedFrom, c.Grid, c.Lo, c.Hi)
	}
	n := 0
	for _, tr := range p.Trials {
		if tr.Entry == "cosine" && tr.Budget == 0.5 && tr.Role == "tune" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d selection runs of cosine at 0.5, want 2 (one per selection seed)", n)
	}
}

func TestParseGridErrors(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"no selection seeds", "  seeds: [10, 11]\n", "", "g.yaml:7: tuning.seeds: grid mode needs selection seeds"},
		{"small grid", "points: 5", "points: 3", "g.yaml:10: tuning.grid.points: points 3: want at least 5"},
		{"bad range", "range: [0.001, 0.1]", "range: [0.1, 0.001]", "g.yaml:10: tuning.grid.range: range [0.1 0.001]"},
		{"tune budget", "tune_budget: 1.0", "tune_budget: 0.75", "g.yaml:16: schedules.1.tune_budget: tune_budget 0.75 is not one of the study's budgets"},
		{"warmup", "warmup: 0.05", "warmup: 1.5", "g.yaml:9: tuning.warmup: warmup 1.5"},
		{"space", "  warmup: 0.05\n", "  warmup: 0.05\n  trials: 3\n", "g.yaml:10: tuning.trials: grid mode searches the peak on tuning.grid"},
	}
	for _, tc := range tests {
		text := strings.Replace(gridStudy, tc.from, tc.to, 1)
		if text == gridStudy {
			t.Fatalf("%s: %q not in the study", tc.name, tc.from)
		}
		_, err := ParseStudy("g.yaml", []byte(text))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got  %v\n want %s...", tc.name, err, tc.want)
		}
	}
	ext := strings.Replace(gridStudy, "mode: grid", "mode: external", 1)
	if _, err := ParseStudy("g.yaml", []byte(ext)); err == nil || !strings.Contains(err.Error(), "tune_budget needs tuning.mode grid") {
		t.Errorf("tune_budget in external mode: %v", err)
	}
}

// A cell whose peak stays at the edge after every extension is reported:
// in the summary, the report's notes and its tuned-peaks table.
func TestEdgeCellReported(t *testing.T) {
	s := parseGrid(t, gridStudy)
	p, results, _ := simulate(t, s, 1, 100)
	sum, err := Summarize(s, &Outcome{Trials: p.Trials, Results: results, Plan: p, Failed: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	// cosine at both budgets and WSD at budget 1 (and 0.5, which reuses
	// it) chose the top of a grid extended twice.
	if len(sum.AtEdge) != 4 {
		t.Fatalf("%d cells at the edge, want 4", len(sum.AtEdge))
	}
	rep, err := BuildReport(sum, &Outcome{Trials: p.Trials, Results: results, Plan: p, Failed: map[string]string{}}, testTime)
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Files["report.md"])
	for _, want := range []string{"4 tuned peaks stayed at an edge of the grid after every extension", "cosine on w1@1 (high edge)", "1 [0.001, 1] high edge"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// workload_budgets gives a workload its own budgets.
func TestPlanWorkloadBudgets(t *testing.T) {
	text := strings.Replace(gridStudy, "workloads: [w1]\nbudgets: [0.5, 1.0]\n", "workloads: [w1, w2]\nbudgets: [0.5, 1.0]\nworkload_budgets:\n  w2: [0.1]\n", 1)
	if _, err := ParseStudy("g.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), "tune_budget 1 is not one of the study's budgets for w2") {
		t.Fatalf("tune_budget missing from w2's budgets: %v", err)
	}
	text = strings.Replace(text, "    tune_budget: 1.0\n", "", 1)
	s := parseGrid(t, text)
	info := map[string]WorkloadInfo{"w1": gridInfo["w1"], "w2": {StepHint: 2000, DefaultPeak: 1e-3, Target: 0.9, HigherIsBetter: true}}
	p, err := s.Plan(info, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	budgets := map[string]map[float64]bool{}
	for _, tr := range p.Trials {
		if budgets[tr.Workload] == nil {
			budgets[tr.Workload] = map[float64]bool{}
		}
		budgets[tr.Workload][tr.Budget] = true
		if tr.Workload == "w2" && tr.Steps != 200 {
			t.Errorf("%s: %d steps, want 200", tr.Key, tr.Steps)
		}
	}
	if len(budgets["w1"]) != 2 || len(budgets["w2"]) != 1 || !budgets["w2"][0.1] {
		t.Errorf("budgets planned: %v", budgets)
	}
	if got := s.AllBudgets(); !reflect.DeepEqual(got, []float64{0.1, 0.5, 1}) {
		t.Errorf("AllBudgets %v", got)
	}
}
