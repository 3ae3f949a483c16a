package early

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// synth returns a trial whose loss is floor + 1/sqrt(1+t/50) times
// (1 + noise·ε) and whose gradient norm is grad·(1 + noise·ε'), ε and ε'
// standard normal, for steps 0..upto−1 of budget.
func synth(id string, budget, upto int64, floor, grad, noise float64, rng *rand.Rand) Trial {
	t := Trial{ID: id, Budget: budget}
	for s := range upto {
		l := (floor + 1/math.Sqrt(1+float64(s)/50)) * (1 + noise*rng.NormFloat64())
		g := grad * (1 + noise*rng.NormFloat64())
		t.Records = append(t.Records, runlog.Record{Step: s, Loss: l, GradNorm: g,
			Present: runlog.FieldLoss | runlog.FieldGradNorm})
	}
	return t
}

func TestScoreAtExact(t *testing.T) {
	tr := Trial{ID: "a", Budget: 100}
	for s := range int64(20) {
		tr.Records = append(tr.Records, runlog.Record{Step: s, Loss: 2, GradNorm: 0.5, Present: runlog.FieldLoss | runlog.FieldGradNorm})
	}
	cases := []struct {
		rule Rule
		want float64
	}{
		{RuleLoss, math.Log(2)},
		{RuleGradNorm, math.Log(0.5)},
		{RulePaper, -math.Log(2) + math.Log(0.5)},
		{RuleBoth, math.Log(2) + math.Log(0.5)},
	}
	for _, c := range cases {
		s, err := ScoreAt(tr, 10, c.rule, Window{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s.Score-c.want) > 1e-12 || s.SE != 0 || s.Loss != 2 || s.GradNorm != 0.5 || s.Step != 10 {
			t.Errorf("%s: %+v, want score %v with SE 0", c.rule.Name, s, c.want)
		}
	}
}

// TestScoreBlocks: the window of 10 steps before step 20 in 5 blocks of
// 2; losses 1..10 in it give block means 1.5, 3.5, ... 9.5 of which the
// score is the mean of the logs and SE their SD/√5.
func TestScoreBlocks(t *testing.T) {
	tr := Trial{ID: "a", Budget: 200}
	for s := range int64(20) {
		tr.Records = append(tr.Records, runlog.Record{Step: s, Loss: float64(s - 9), GradNorm: 1, Present: runlog.FieldLoss | runlog.FieldGradNorm})
	}
	s, err := ScoreAt(tr, 20, RuleLoss, Window{})
	if err != nil {
		t.Fatal(err)
	}
	logs := []float64{math.Log(1.5), math.Log(3.5), math.Log(5.5), math.Log(7.5), math.Log(9.5)}
	m, sd := meanSD(logs)
	if math.Abs(s.Score-m) > 1e-12 || math.Abs(s.SE-sd/math.Sqrt(5)) > 1e-12 || s.Loss != 5.5 {
		t.Errorf("got %+v, want score %v SE %v loss 5.5", s, m, sd/math.Sqrt(5))
	}
}

func TestRankOrdersByRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// "low" has the lowest loss and the highest gradient norm.
	trials := []Trial{
		synth("mid", 1000, 300, 1.0, 1.0, 0.01, rng),
		synth("low", 1000, 300, 0.5, 2.0, 0.01, rng),
		synth("high", 1000, 300, 1.5, 0.5, 0.01, rng),
	}
	cases := []struct {
		rule Rule
		want []string
	}{
		{RuleLoss, []string{"low", "mid", "high"}},
		{RuleGradNorm, []string{"high", "mid", "low"}},
		{RulePaper, []string{"high", "mid", "low"}},
	}
	for _, c := range cases {
		for _, f := range []float64{0.1, 0.2, 0.3} {
			got, err := Rank(trials, f, c.rule, Window{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, s := range got {
				ids = append(ids, s.ID)
				if s.Rank != i+1 || s.Step != CheckpointStep(1000, f) {
					t.Errorf("%s at %v: score %d has rank %d step %d", c.rule.Name, f, i, s.Rank, s.Step)
				}
			}
			if strings.Join(ids, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s at %v: ranked %v, want %v", c.rule.Name, f, ids, c.want)
			}
		}
	}
}

func TestRankErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := synth("a", 1000, 150, 1, 1, 0, rng)
	b := synth("b", 500, 150, 1, 1, 0, rng)
	noGrad := Trial{ID: "c", Budget: 100, Records: []runlog.Record{}}
	for s := range int64(20) {
		noGrad.Records = append(noGrad.Records, runlog.Record{Step: s, Loss: 1, Present: runlog.FieldLoss})
	}
	cases := []struct {
		name   string
		trials []Trial
		f      float64
		rule   Rule
		w      Window
		want   string
	}{
		{"budgets", []Trial{a, b}, 0.1, RuleLoss, Window{}, "trial b has budget 500, trial a 1000"},
		{"not reached", []Trial{a}, 0.2, RuleLoss, Window{}, "trial a has 0 records in steps 150..199, want all 50 (has it reached step 200?)"},
		{"fraction", []Trial{a}, 1.5, RuleLoss, Window{}, "fraction 1.5"},
		{"no grad", []Trial{noGrad}, 0.2, RuleGradNorm, Window{}, "trial c: step 15 lacks the loss or gradient norm rule \"gradnorm\" needs"},
		{"window", []Trial{a}, 0.1, RuleLoss, Window{Frac: 2}, "window fraction 2"},
		{"before 0", []Trial{a}, 0.01, RuleLoss, Window{Frac: 0.05}, "a window of 50 steps before step 10 starts before step 0"},
		{"empty rule", []Trial{a}, 0.1, Rule{Name: "x"}, Window{}, `rule "x" weighs neither`},
		{"none", nil, 0.1, RuleLoss, Window{}, "no trials"},
	}
	for _, c := range cases {
		_, err := Rank(c.trials, c.f, c.rule, c.w)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := RuleByName("peek"); err == nil || !strings.Contains(err.Error(), `unknown rule "peek"`) {
		t.Errorf("RuleByName: %v", err)
	}
	if r, err := RuleByName("paper"); err != nil || r != RulePaper {
		t.Errorf("RuleByName(paper) = %v, %v", r, err)
	}
}

// TestDivergedScoresWorst: a NaN loss in the window gives +Inf, last.
func TestDivergedScoresWorst(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bad := synth("nan", 1000, 200, 0.1, 1, 0, rng)
	bad.Records[90].Loss = math.NaN()
	ok := synth("ok", 1000, 200, 1, 1, 0, rng)
	got, err := Rank([]Trial{bad, ok}, 0.1, RuleLoss, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ID != "ok" || !math.IsInf(got[1].Score, 1) {
		t.Errorf("ranked %+v, want the diverged trial last with +Inf", got)
	}
	// A trial whose log ends at a NaN loss before the window (the run
	// stopped there) scores +Inf too, rather than failing for want of
	// records.
	early := synth("early-nan", 1000, 31, 0.1, 1, 0, rng)
	early.Records[30].Loss = math.Inf(1)
	got, err = Rank([]Trial{early, ok}, 0.1, RuleLoss, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ID != "ok" || !math.IsInf(got[1].Score, 1) {
		t.Errorf("ranked %+v, want the trial that diverged at step 30 last", got)
	}
}

// stepLoss is a trial whose loss is before (up to step 99) then after,
// times 1 + 0.01·ε, with a gradient norm of 1.
func stepLoss(id string, budget, upto int64, before, after float64, rng *rand.Rand) Trial {
	t := Trial{ID: id, Budget: budget}
	for s := range upto {
		l := before
		if s >= 100 {
			l = after
		}
		t.Records = append(t.Records, runlog.Record{Step: s, Loss: l * (1 + 0.01*rng.NormFloat64()), GradNorm: 1,
			Present: runlog.FieldLoss | runlog.FieldGradNorm})
	}
	return t
}

func TestDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		name   string
		trials []Trial
		p      Policy
		stop   []bool
		frac   []float64
	}{
		{"clearly worse stops", []Trial{
			synth("good", 1000, 100, 0.5, 1, 0.02, rng),
			synth("bad", 1000, 100, 2.0, 1, 0.02, rng),
		}, DefaultPolicy(), []bool{false, true}, []float64{0.1, 0.1}},
		{"keep 2 keeps both", []Trial{
			synth("good", 1000, 100, 0.5, 1, 0.02, rng),
			synth("bad", 1000, 100, 2.0, 1, 0.02, rng),
		}, Policy{Rule: RuleLoss, Keep: 2}, []bool{false, false}, []float64{0.1, 0.1}},
		{"equal trials run on", []Trial{
			synth("a", 1000, 300, 1, 1, 0.0, rng),
			synth("b", 1000, 300, 1, 1, 0.0, rng),
		}, DefaultPolicy(), []bool{false, false}, []float64{0.3, 0.3}},
		{"no checkpoint yet", []Trial{
			synth("a", 1000, 99, 1, 1, 0.02, rng),
			synth("b", 1000, 99, 5, 1, 0.02, rng),
		}, DefaultPolicy(), []bool{false, false}, []float64{0, 0}},
		{"compared at the common checkpoint", []Trial{
			synth("ahead", 1000, 250, 2.0, 1, 0.02, rng),
			synth("behind", 1000, 120, 0.5, 1, 0.02, rng),
		}, DefaultPolicy(), []bool{true, false}, []float64{0.1, 0.1}},
		// "late" is far behind at 10% and stopped there; its records past
		// 10% (a probe's, or a replay's) are better than "steady"'s at 20%
		// and 30%, but a stopped trial does not compete again: "steady"
		// survives (before this rule, both were stopped).
		{"a stopped trial does not stop its winner later", []Trial{
			stepLoss("steady", 1000, 300, 1.0, 1.0, rng),
			stepLoss("late", 1000, 300, 2.0, 0.5, rng),
		}, DefaultPolicy(), []bool{false, true}, []float64{0.3, 0.1}},
	}
	for _, c := range cases {
		ds, err := c.p.Decide(c.trials)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, d := range ds {
			if d.ID != c.trials[i].ID || d.Stop != c.stop[i] || d.Fraction != c.frac[i] {
				t.Errorf("%s: decision %d = %+v, want stop %v at %v", c.name, i, d, c.stop[i], c.frac[i])
			}
		}
	}
}

// TestFalseStopRate: siblings that are the same process stop each other
// at about the rate 1 − Φ(Z) per comparison promises (2.3% at Z = 2).
func TestFalseStopRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p := Policy{Rule: RuleLoss, Checkpoints: []float64{0.2}, Z: 2}
	stops, n := 0, 600
	for k := range n {
		a := synth(fmt.Sprint("a", k), 1000, 200, 1, 1, 0.05, rng)
		b := synth(fmt.Sprint("b", k), 1000, 200, 1, 1, 0.05, rng)
		ds, err := p.Decide([]Trial{a, b})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Stop {
				stops++
			}
		}
	}
	// One comparison per pair (the worse against the best); t with 4
	// degrees of freedom per side is heavier tailed than the normal, so
	// allow up to 8%; a rule without a margin would stop 50%.
	if rate := float64(stops) / float64(n); rate > 0.08 {
		t.Errorf("false stop rate %.3f, want under 0.08", rate)
	} else {
		t.Logf("false stop rate %.3f over %d equal pairs", rate, n)
	}
}

func TestSimulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	trials := []Trial{
		synth("best", 1000, 1000, 0.5, 1, 0.02, rng),
		synth("near", 1000, 1000, 0.52, 1, 0.02, rng),
		synth("bad1", 1000, 1000, 1.5, 1, 0.02, rng),
		synth("bad2", 1000, 1000, 3.0, 1, 0.02, rng),
	}
	final := []float64{0.50, 0.51, 1.5, 3.0}
	o, err := DefaultPolicy().Simulate(trials, final, true, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	// bad1 and bad2 stop at 10% (step 100); near is within noise of best
	// at 10%, 20% and 30% (2% apart with 2% noise averaged over 50 steps is
	// not: check what happened rather than assume).
	stopped := map[string]bool{}
	for _, id := range o.Stopped {
		stopped[id] = true
	}
	if !stopped["bad1"] || !stopped["bad2"] || stopped["best"] {
		t.Fatalf("stopped %v, want bad1 and bad2 and not best", o.Stopped)
	}
	want := int64(4000 - 900 - 900)
	if stopped["near"] {
		t.Logf("near was stopped too")
		want = o.StepsRun // counted below
	}
	if o.StepsFull != 4000 || o.StepsRun != want {
		t.Errorf("steps run %d of %d, want %d of 4000", o.StepsRun, o.StepsFull, want)
	}
	if math.Abs(o.Saved-(1-float64(o.StepsRun)/4000)) > 1e-15 || o.StoppedWinner || o.Regret != 0 {
		t.Errorf("outcome %+v", o)
	}
	// The same trials with the final values reversed: the policy stops
	// the final winner.
	o, err = DefaultPolicy().Simulate(trials, []float64{3, 1.5, 0.51, 0.5}, true, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	if !o.StoppedWinner || o.StoppedNear != 2 || o.Regret <= 0 {
		t.Errorf("reversed finals: %+v, want the winner and the runner-up stopped and positive regret", o)
	}
	if _, err := DefaultPolicy().Simulate(trials, final[:2], true, 0); err == nil {
		t.Error("mismatched finals: no error")
	}
}

func TestPolicyErrors(t *testing.T) {
	cases := []struct {
		p    Policy
		want string
	}{
		{Policy{Rule: RuleLoss, Checkpoints: []float64{0.3, 0.2}}, "want increasing fractions in (0, 1)"},
		{Policy{Rule: RuleLoss, Checkpoints: []float64{1}}, "want increasing fractions in (0, 1)"},
		{Policy{Rule: RuleLoss, Z: -1}, "want Z ≥ 0"},
		{Policy{Rule: RuleLoss, Keep: -1}, "Keep -1"},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	tr := []Trial{synth("a", 100, 50, 1, 1, 0, rng)}
	for _, c := range cases {
		if _, err := c.p.Decide(tr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.p, err, c.want)
		}
	}
}

func TestCorrelations(t *testing.T) {
	cases := []struct {
		x, y          []float64
		spear, kendal float64
	}{
		// Reference values computed by hand: ranks of y are 1, 2, 3.5, 5,
		// 3.5, so ρ = 8/√95; τ-b = (8 − 1)/√(9·10).
		{[]float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7}, 8 / math.Sqrt(95), 7 / math.Sqrt(90)},
		{[]float64{1, 2, 3}, []float64{3, 2, 1}, -1, -1},
		{[]float64{1, 2, 3}, []float64{10, 20, 30}, 1, 1},
	}
	for _, c := range cases {
		if got := Spearman(c.x, c.y); math.Abs(got-c.spear) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", c.x, c.y, got, c.spear)
		}
		if got := Kendall(c.x, c.y); math.Abs(got-c.kendal) > 1e-12 {
			t.Errorf("Kendall(%v, %v) = %v, want %v", c.x, c.y, got, c.kendal)
		}
	}
	if !math.IsNaN(Spearman([]float64{1, 1}, []float64{1, 2})) || !math.IsNaN(Kendall([]float64{1, 1}, []float64{1, 2})) {
		t.Error("constant input: want NaN")
	}
}

func TestValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	// In every group the final value is the trial's floor, so the loss
	// rule's early ranking is the final one and the paper rule's (which
	// prefers high loss; the gradient norms are equal) is reversed.
	var groups []Group
	for g := range 6 {
		gr := Group{Name: fmt.Sprint("g", g), LowerBetter: true}
		for k, floor := range []float64{0.3, 0.9, 1.5, 2.1} {
			gr.Trials = append(gr.Trials, synth(fmt.Sprint("t", k), 1000, 1000, floor, 1, 0.01, rng))
			gr.Final = append(gr.Final, floor)
		}
		groups = append(groups, gr)
	}
	ag, err := Validate(groups, []float64{0.1, 0.3}, []Rule{RuleLoss, RulePaper}, ValidateOptions{Bootstrap: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ag) != 4 {
		t.Fatalf("%d agreements, want 4", len(ag))
	}
	for _, a := range ag {
		want := 1.0
		if a.Rule == "paper" {
			want = -1
		}
		if a.Spearman != want || a.Kendall != want || a.SpearmanCI != [2]float64{want, want} || a.Chance != 0.25 || a.Groups != 6 {
			t.Errorf("%+v: want correlations %v", a, want)
		}
		if want == 1 && (a.Top1 != 1 || a.Regret != 0) {
			t.Errorf("%+v: want top-1 1 and regret 0", a)
		}
		if want == -1 && (a.Top1 != 0 || math.Abs(a.Regret-1.8) > 1e-12) {
			t.Errorf("%+v: want top-1 0 and regret 1.8", a)
		}
	}
}

func TestBootstrapMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, ci := BootstrapMean([]float64{0, 1, math.NaN()}, 4000, rng)
	if m != 0.5 || ci[0] != 0 || ci[1] != 1 {
		t.Errorf("mean %v interval %v, want 0.5 and [0, 1] (two values, NaN left out)", m, ci)
	}
	if got := Quantile([]float64{1, 2, 3, 4}, 0.5); got != 2.5 {
		t.Errorf("median of 1..4 = %v", got)
	}
}

// TestRuleIgnoresAbsentSignal: RuleLoss ranks logs that hold no gradient
// norms (a trainer reporting only its loss); the ignored signal's absence
// must not make every score NaN.
func TestRuleIgnoresAbsentSignal(t *testing.T) {
	var trials []Trial
	for i, lvl := range []float64{3, 1, 2} {
		var recs []runlog.Record
		for s := int64(0); s < 400; s++ {
			recs = append(recs, runlog.Record{Step: s, Loss: lvl, Present: runlog.FieldLoss})
		}
		trials = append(trials, Trial{ID: fmt.Sprint(i), Budget: 1000, Records: recs})
	}
	scores, err := Rank(trials, 0.3, RuleLoss, Window{})
	if err != nil {
		t.Fatal(err)
	}
	if scores[0].ID != "1" || scores[1].ID != "2" || scores[2].ID != "0" || math.IsNaN(scores[0].Score) || scores[0].Score != math.Log(1) {
		t.Errorf("scores %+v", scores)
	}
}
