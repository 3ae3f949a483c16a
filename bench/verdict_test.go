package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// synthetic describes a study whose results are drawn from a known model:
// each run reaches the target 0.9 at T = base_p · effect_e · exp(shared +
// own) steps, where base_p is the problem's typical time (300 to 700 of
// 1000 steps), shared is a per-problem-and-seed lognormal term that every
// entry's run on that seed shares (the initialisation and data order) and
// own is the run's own noise. Evaluations every 10 steps.
type synthetic struct {
	problems, seeds int
	effects         map[string]float64 // entry → multiplier of time to target (0.98: 2% faster)
	shared, own     float64            // standard deviations of the log noise
	seed            uint64
	evals           int // evaluations over the budget (100 if 0)
}

const synthBudget = 1000

func (sy synthetic) outcome() (*Study, *Outcome) {
	rng := rand.New(rand.NewPCG(sy.seed, 7))
	if sy.evals == 0 {
		sy.evals = 100
	}
	s := &Study{Name: "synthetic", Baseline: "cosine", Budgets: []float64{1}, Eval: EvalConfig{Count: sy.evals}, Tuning: Tuning{Mode: "grid", Seeds: []int64{100}}}
	entries := []string{"cosine"}
	for e := range sy.effects {
		if e != "cosine" {
			entries = append(entries, e)
		}
	}
	// Map order is random: sort the other entries by name.
	for i := 1; i < len(entries); i++ {
		for j := i; j > 1 && entries[j] < entries[j-1]; j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
	for _, e := range entries {
		s.Schedules = append(s.Schedules, Entry{Name: e, Spec: e + "(peak=${peak}, steps=${steps})"})
	}
	for i := 0; i < sy.seeds; i++ {
		s.Seeds = append(s.Seeds, int64(i))
	}
	out := &Outcome{Results: map[string]TrialResult{}, Failed: map[string]string{}}
	for p := 0; p < sy.problems; p++ {
		w := fmt.Sprintf("w%02d", p)
		s.Workloads = append(s.Workloads, w)
		base := 300 + 400*rng.Float64()
		for i := range sy.seeds {
			shared := sy.shared * rng.NormFloat64()
			for _, e := range entries {
				effect := sy.effects[e]
				if effect == 0 {
					effect = 1
				}
				tt := base * effect * math.Exp(shared+sy.own*rng.NormFloat64())
				tr := Trial{Key: fmt.Sprintf("%s/%s/s%d", w, e, i), Workload: w, Entry: e, Spec: fmt.Sprintf("%s(peak=0.1, steps=%d)", e, synthBudget),
					Budget: 1, Steps: synthBudget, Seed: int64(i), Study: i, Role: "eval", Params: map[string]float64{"peak": 0.1}, Target: 0.9, Higher: true}
				out.Trials = append(out.Trials, tr)
				out.Results[tr.Key] = synthRun(tr.Key, tt, synthBudget/sy.evals)
			}
		}
	}
	s.applyDefaults()
	return s, out
}

// synthRun is a run whose accuracy climbs to 0.9 at step tt and on to
// 0.9 + 0.05·(1 − tt/budget) at the end.
func synthRun(key string, tt float64, every int) TrialResult {
	r := TrialResult{Key: key, Steps: synthBudget}
	for step := int64(every); step <= synthBudget; step += int64(every) {
		m := 0.9 * math.Sqrt(math.Min(1, float64(step)/tt))
		if float64(step) >= tt {
			m = 0.9 + 0.05*(float64(step)-tt)/(synthBudget-tt+1)
		}
		r.Evals = append(r.Evals, EvalPoint{Step: step, Metric: runlog.Num(m), ValLoss: runlog.Num(1 - m)})
		r.FinalMetric = runlog.Num(m)
	}
	return r
}

func summarizeSynthetic(t *testing.T, sy synthetic) *Summary {
	t.Helper()
	s, out := sy.outcome()
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// A 2% true advantage, with realistic noise (10% run-to-run spread in the
// time to target, most of it shared by the runs of one seed) on 20
// problems × 5 seeds evaluated every 1% of the budget, is found: faster, the superiority claim holds, and
// the headline recommends it; over ten random studies.
func TestVerdictFindsTwoPercent(t *testing.T) {
	for k := range 10 {
		sum := summarizeSynthetic(t, synthetic{problems: 20, seeds: 5, effects: map[string]float64{"fast": 0.98}, shared: 0.1, own: 0.03, seed: uint64(k)})
		c := sum.Compare["fast"]
		if c.Verdict != VerdictFaster || answer(c, false) != Holds {
			t.Errorf("study %d: speedup %.4f [%.4f, %.4f]: verdict %q, claim %q; want faster, holds", k, c.Speedup, c.Low, c.High, c.Verdict, answer(c, false))
		}
		if c.Problems != 20 || c.Pairs != 100 {
			t.Errorf("study %d: %d problems, %d pairs", k, c.Problems, c.Pairs)
		}
		if sum.Recommended != "fast" || !strings.HasPrefix(sum.Headline, "fast is faster than cosine") {
			t.Errorf("study %d: recommended %q, headline %q", k, sum.Recommended, sum.Headline)
		}
		if math.Abs(c.Speedup-1/0.98) > 0.01 {
			t.Errorf("study %d: speedup %.4f, want about %.4f", k, c.Speedup, 1/0.98)
		}
		if k > 0 {
			continue
		}
		// The report says what the headline says.
		_, out := synthetic{problems: 20, seeds: 5, effects: map[string]float64{"fast": 0.98}, shared: 0.1, own: 0.03, seed: 0}.outcome()
		rep, err := BuildReport(sum, out, testTime)
		if err != nil {
			t.Fatal(err)
		}
		md := string(rep.Files["report.md"])
		row := fmt.Sprintf("| fast | %.2f× | %.2f–%.2f× | faster |", c.Speedup, c.Low, c.High)
		for _, want := range []string{"**" + sum.Headline + "**", "## Recommended schedule: fast", row} {
			if !strings.Contains(md, want) {
				t.Errorf("report.md lacks %q", want)
			}
		}
	}
}

// Equal schedules, evaluated 20 times per budget (a margin of ±5%): a
// superiority claim holds about as often as the interval's one-sided error
// rate (2.5%), never much more, and most studies say they are the same
// within the margin. A 95% interval
// misses 1 in 40 times on one side by construction, so "never" cannot be
// promised; what is checked is the rate over 200 random studies.
func TestVerdictEqualSchedules(t *testing.T) {
	const studies = 200
	falseHolds, same := 0, 0
	for k := range studies {
		sum := summarizeSynthetic(t, synthetic{problems: 12, seeds: 5, effects: map[string]float64{"twin": 1}, shared: 0.1, own: 0.05, seed: uint64(1000 + k), evals: 20})
		c := sum.Compare["twin"]
		if answer(c, false) == Holds {
			falseHolds++
		}
		switch c.Verdict {
		case VerdictSame:
			same++
		case VerdictInconclusive:
		case VerdictFaster:
			if !strings.HasPrefix(sum.Headline, "twin is faster") {
				t.Errorf("study %d: verdict faster but headline %q", k, sum.Headline)
			}
		}
		if c.Verdict != VerdictFaster && !strings.HasPrefix(sum.Headline, "No schedule is clearly faster than cosine") {
			t.Errorf("study %d: verdict %q, headline %q", k, c.Verdict, sum.Headline)
		}
	}
	if rate := float64(falseHolds) / studies; rate > 0.05 {
		t.Errorf("superiority claim held for equal schedules in %d of %d studies (%.1f%%), want at most 5%%", falseHolds, studies, 100*rate)
	}
	if same < studies/2 {
		t.Errorf("equal schedules were the same within the margin in only %d of %d studies", same, studies)
	}
	t.Logf("equal schedules: superiority held falsely in %d of %d studies; same within the margin in %d", falseHolds, studies, same)
}

// The two-stage bootstrap resamples problems, not pairs: a study whose
// effect differs between problems (+10% on half, −10% on the other half)
// has a much wider interval than pairs treated as independent would
// give, and is not called faster.
func TestVerdictClustersProblems(t *testing.T) {
	groups := [][]float64{}
	for p := range 6 {
		d := 0.1
		if p%2 == 1 {
			d = -0.08
		}
		groups = append(groups, []float64{d, d + 0.001, d - 0.001, d, d})
	}
	est, lo, hi := clusterBootstrap(groups, Resamples, 1)
	if math.Abs(est-0.01) > 1e-9 || lo > -0.04 || hi < 0.06 {
		t.Errorf("estimate %.4f interval [%.4f, %.4f], want 0.01 in an interval of about ±0.07", est, lo, hi)
	}
	est2, lo2, hi2 := clusterBootstrap(groups, Resamples, 1)
	if est2 != est || lo2 != lo || hi2 != hi {
		t.Error("the bootstrap is not deterministic for a seed")
	}
	// Pairs as independent values: all 30 in one group.
	var flat []float64
	for _, g := range groups {
		flat = append(flat, g...)
	}
	_, flo, fhi := clusterBootstrap([][]float64{flat}, Resamples, 1)
	if fhi-flo > (hi-lo)/1.5 {
		t.Errorf("independent pairs' interval [%.4f, %.4f] is not much narrower than the clustered [%.4f, %.4f]", flo, fhi, lo, hi)
	}
}

// A problem no schedule reaches, and one every schedule reaches at the
// first evaluation, are excluded, counted and named; the rest are scored.
func TestVerdictExcludesProblems(t *testing.T) {
	s, out := synthetic{problems: 4, seeds: 3, effects: map[string]float64{"fast": 0.9}, shared: 0.05, own: 0.02, seed: 3}.outcome()
	for _, tr := range out.Trials {
		switch tr.Workload {
		case "w00":
			out.Results[tr.Key] = synthRun(tr.Key, 5000, 10) // never reached
		case "w01":
			out.Results[tr.Key] = synthRun(tr.Key, 1, 10) // reached at the first evaluation
		}
	}
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Scored) != 2 || len(sum.Excluded) != 2 {
		t.Fatalf("scored %v, excluded %v", sum.Scored, sum.Excluded)
	}
	if x := sum.Excluded[0]; x.Problem.Workload != "w00" || !strings.Contains(x.Reason, "no schedule reaches") {
		t.Errorf("first exclusion %+v", x)
	}
	if x := sum.Excluded[1]; x.Problem.Workload != "w01" || !strings.Contains(x.Reason, "first evaluation") {
		t.Errorf("second exclusion %+v", x)
	}
	if c := sum.Compare["fast"]; c.Problems != 2 || c.Pairs != 6 {
		t.Errorf("comparison over %d problems, %d pairs; want 2 and 6", c.Problems, c.Pairs)
	}
	if !strings.Contains(sum.Headline, "2 of 4 problems do not discriminate") {
		t.Errorf("headline %q does not count the excluded problems", sum.Headline)
	}
	rep, err := BuildReport(sum, out, testTime)
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Files["report.md"])
	for _, want := range []string{"2 of 4 problems do not discriminate", "w00@1 (not scored)", "no: every schedule reaches the target at the first evaluation on every seed"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// An unreached run costs Censor × its budget; a refined run's first run
// counts in its cost.
func TestCensoring(t *testing.T) {
	s, out := synthetic{problems: 2, seeds: 2, effects: map[string]float64{"slow": 1}, seed: 4}.outcome()
	for _, tr := range out.Trials {
		if tr.Entry == "slow" {
			r := synthRun(tr.Key, 5000, 10)
			r.ExtraSteps = 100
			out.Results[tr.Key] = r
		}
	}
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sum.Scored {
		for _, r := range sum.Cells["slow"][p].Runs {
			if r.Cost != Censor*synthBudget+100 || !math.IsInf(r.Steps, 1) {
				t.Errorf("%s: unreached run costs %v (steps %v), want %v", p, r.Cost, r.Steps, Censor*synthBudget+100)
			}
		}
	}
	if c := sum.Compare["slow"]; c.Verdict != VerdictSlower {
		t.Errorf("a schedule that never reaches the target: %+v", c)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.25, 2}, {0.1, 1.4}, {1, 5}} {
		if got := quantile(xs, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestClaimAnswers(t *testing.T) {
	m := 0.05
	tests := []struct {
		low, high float64
		matches   bool
		want      string
	}{
		{1.01, 1.2, false, Holds},
		{0.99, 1.04, false, DoesNotHold}, // any advantage is under the margin
		{0.97, 1.2, false, Inconclusive},
		{0.96, 1.1, true, Holds}, // above 1/1.05
		{0.8, 0.94, true, DoesNotHold},
		{0.9, 1.1, true, Inconclusive},
	}
	for _, tc := range tests {
		c := &Comparison{Low: tc.low, High: tc.high, Pairs: 10, Margin: m}
		if got := answer(c, tc.matches); got != tc.want {
			t.Errorf("[%v, %v] matches=%v: %q, want %q", tc.low, tc.high, tc.matches, got, tc.want)
		}
	}
}

var testTime = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// A study may pin a problem's target; the others come from the workload
// when there is no tuned baseline (as here), and results.json and
// results.csv carry every target.
func TestPinnedTarget(t *testing.T) {
	s, out := synthetic{problems: 2, seeds: 2, effects: map[string]float64{"fast": 0.9}, shared: 0.05, own: 0.02, seed: 5}.outcome()
	s.Targets = Targets{"w00": 0.92}
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	if tg := sum.Targets[Problem{"w00", 1}]; tg.Value != 0.92 || tg.Source != "study" {
		t.Errorf("pinned target %+v", tg)
	}
	if tg := sum.Targets[Problem{"w01", 1}]; tg.Value != 0.9 || tg.Source != "workload" {
		t.Errorf("unpinned target %+v", tg)
	}
	rep, err := BuildReport(sum, out, testTime)
	if err != nil {
		t.Fatal(err)
	}
	if js := string(rep.Files["results.json"]); !strings.Contains(js, `"target": 0.92,`) || !strings.Contains(js, `"target_source": "study"`) {
		t.Errorf("results.json lacks the pinned target:\n%.600s", js)
	}
	if csv := string(rep.Files["results.csv"]); !strings.Contains(csv, ",0.92,study,true,") {
		t.Errorf("results.csv lacks the pinned target")
	}
}
