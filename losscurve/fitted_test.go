package losscurve

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// noisyRun samples law's prediction for lrs every `every` steps with a
// multiplicative log-normal noise of scale sigma.
func noisyRun(name string, law Law, lrs []float64, every int, sigma float64, rng *rand.Rand) Run {
	pred := law.Predict(lrs)
	r := Run{Name: name, LRs: lrs}
	for s := every - 1; s < len(lrs); s += every {
		r.Points = append(r.Points, Point{Step: s, Loss: pred[s] * math.Exp(sigma*rng.NormFloat64())})
	}
	return r
}

// TestIntervalCoverageSynthetic fits the multi-power law to noisy samples
// of itself and checks that the 90% prediction intervals of held-out runs
// (another horizon and cooldown) hold about 90% of their noisy points,
// and that the law is recovered.
func TestIntervalCoverageSynthetic(t *testing.T) {
	truth := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	const sigma = 0.003
	covered, total := 0, 0
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		sch := testSchedules(3000, 3e-4)
		train := []Run{
			noisyRun("constant", truth, sch["constant"], 15, sigma, rng),
			noisyRun("cosine", truth, sch["cosine"], 15, sigma, rng),
			noisyRun("wsd", truth, sch["wsd"], 15, sigma, rng),
		}
		fit, rep, err := Fit(context.Background(), KindMPL, train, FitOptions{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if len(fit.Members) != DefaultBootstrap || rep.Bootstrap != DefaultBootstrap {
			t.Fatalf("%d bootstrap refits (report %d), want %d", len(fit.Members), rep.Bootstrap, DefaultBootstrap)
		}
		// The residual scale estimates the noise.
		if math.Abs(fit.Sigma-sigma)/sigma > 0.15 {
			t.Errorf("seed %d: Sigma %.5f, noise %.5f", seed, fit.Sigma, sigma)
		}
		held := noisyRun("held", truth, testSchedules(4500, 3e-4)["wsd"], 15, sigma, rng)
		sc, err := EvaluateFrom(fit, held, 0, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		covered += sc.Covered
		total += sc.Points
		// Against the noise-free truth the point prediction is close.
		clean := synthRun("clean", truth, held.LRs, 15)
		m, err := Evaluate(fit, clean)
		if err != nil {
			t.Fatal(err)
		}
		if m.PredE > 1e-3 {
			t.Errorf("seed %d: PredE against the truth %.5f", seed, m.PredE)
		}
	}
	cov := float64(covered) / float64(total)
	t.Logf("coverage of the 90%% interval: %.3f over %d points", cov, total)
	if math.Abs(cov-0.9) > 0.06 {
		t.Errorf("coverage %.3f, want 0.90 ± 0.06", cov)
	}
}

func TestIntervalShape(t *testing.T) {
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	f := &Fitted{Law: law, Sigma: 0.01, Members: []Law{&Power{L0: 2, A: 1.1, Alpha: 0.5}, &Power{L0: 2, A: 0.9, Alpha: 0.5}}}
	lrs := make([]float64, 100)
	mid, lo, hi := f.Interval(lrs, 0.9)
	for i := range mid {
		// s² = σ² + sample variance of the members' log predictions.
		a, b := math.Log(2+1.1/math.Sqrt(float64(i+1))), math.Log(2+0.9/math.Sqrt(float64(i+1)))
		m := (a + b) / 2
		s := math.Sqrt(0.01*0.01 + ((a-m)*(a-m)+(b-m)*(b-m))/1)
		z := 1.6448536269514722
		if !near(lo[i], mid[i]*math.Exp(-z*s), 1e-12) || !near(hi[i], mid[i]*math.Exp(z*s), 1e-12) {
			t.Fatalf("step %d: interval [%g, %g] around %g, want ±%g in log", i, lo[i], hi[i], mid[i], z*s)
		}
	}
	// Without members only Sigma counts.
	f.Members = nil
	_, lo, hi = f.Interval(lrs, 0.5)
	if r := math.Log(hi[10] / lo[10]); !near(r, 2*0.6744897501960817*0.01, 1e-12) {
		t.Errorf("50%% interval log-width %g", r)
	}
}

func TestSaveLoadFitted(t *testing.T) {
	sch := testSchedules(2000, 1e-3)
	truth := &Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: WarmupB, Warmup: -1}
	f, _, err := Fit(context.Background(), KindAnnealing, []Run{synthRun("c", truth, sch["constant"], 20), synthRun("w", truth, sch["wsd"], 20)}, FitOptions{Bootstrap: 3})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Save(&buf, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sigma"`, `"members"`, `"fit"`, `"peak": 0.001`, `"recipe": "lrkit"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("saved JSON lacks %s:\n%s", want, buf.String())
		}
	}
	back, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := back.(*Fitted)
	if !ok {
		t.Fatalf("Load returned %T, want *Fitted", back)
	}
	if len(g.Members) != 3 || g.Sigma != f.Sigma || g.Info.Peak != f.Info.Peak || g.Info.From != f.Info.From || g.Info.To != f.Info.To {
		t.Errorf("round trip: %+v, want %+v", g.Info, f.Info)
	}
	lrs := sch["cosine"]
	_, lo1, hi1 := f.Interval(lrs, 0.9)
	_, lo2, hi2 := g.Interval(lrs, 0.9)
	for i := 100; i < len(lrs); i += 300 {
		if !near(lo1[i], lo2[i], 1e-12) || !near(hi1[i], hi2[i], 1e-12) {
			t.Errorf("step %d: interval [%g,%g] after the round trip, [%g,%g] before", i, lo2[i], hi2[i], lo1[i], hi1[i])
		}
	}
	for _, tc := range []struct{ json, want string }{
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"sigma":-1}`, "sigma is -1"},
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"members":[{"L0":1}]}`, `members[0]: losscurve: power law: parameter "A" missing`},
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"fit":{"peak":1,"from":5,"to":2}}`, "from 5, to 2"},
		{`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"fit":{"peak":1,"decay":2}}`, "fit.decay is 2"},
	} {
		if _, err := Load(strings.NewReader(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.json, err, tc.want)
		}
	}
}

func TestBlockWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := blockWeights(rng, []int{100, 7})
	if len(w) != 107 {
		t.Fatalf("%d weights", len(w))
	}
	// Run 1: ⌈√100⌉ = 10-point blocks, 10 of them; run 2: 3-point blocks, 3.
	s1, s2 := 0.0, 0.0
	for i, v := range w {
		if v < 0 || v != math.Trunc(v) {
			t.Fatalf("weight %d is %v", i, v)
		}
		if i < 100 {
			s1 += v
		} else {
			s2 += v
		}
	}
	if s1 != 100 || s2 != 9 {
		t.Errorf("weights sum to %v and %v, want 100 and 9", s1, s2)
	}
	again := blockWeights(rand.New(rand.NewPCG(3, 4)), []int{100, 7})
	for i := range w {
		if w[i] != again[i] {
			t.Fatal("same seed, different resample")
		}
	}
}

func TestDefinedFromAndCurve(t *testing.T) {
	lrs := testSchedules(1000, 1e-3)["cosine"] // warm-up 20 steps, peak at step 19
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	if got := DefinedFrom(law, lrs); got != 19 {
		t.Errorf("DefinedFrom(bare law) = %d, want the warm-up end 19", got)
	}
	f := &Fitted{Law: law, Info: FitInfo{From: 99}}
	from, mid, lo, hi := Curve(f, lrs, 0.9)
	if from != 99 || len(mid) != 1000-99 || len(lo) != len(mid) || len(hi) != len(mid) {
		t.Fatalf("Curve from %d with %d points", from, len(mid))
	}
	if !near(mid[0], 2+1/math.Sqrt(100), 1e-12) {
		t.Errorf("first point %g", mid[0])
	}
	// Rates that end before the first fitted step: nothing is defined (it
	// was one point at the last step, a prediction where the law is not).
	if from, mid, lo, hi := Curve(f, lrs[:50], 0.9); from != 99 || mid != nil || lo != nil || hi != nil {
		t.Errorf("Curve of 50 steps from %d with %d points, want from 99 and none", from, len(mid))
	}
}

func TestExtrapolation(t *testing.T) {
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	fitted := &Fitted{Law: law, Info: FitInfo{From: 99, To: 23999}}
	for _, c := range []struct {
		name string
		law  Law
		n    int
		want float64
	}{
		{"within the fitted steps", fitted, 12000, 0.5},
		{"to the last fitted step", fitted, 24000, 1},
		{"three times as long", fitted, 72000, 3},
		{"a bare law records no fitted steps", law, 72000, 0},
		{"a fitted law without them", &Fitted{Law: law}, 72000, 0},
		{"no steps", fitted, 0, 0},
	} {
		if got := Extrapolation(c.law, c.n); got != c.want {
			t.Errorf("%s: Extrapolation = %g, want %g", c.name, got, c.want)
		}
	}
}

// TestIntervalWidensPastTheFit checks the band's widening after the last
// fitted step: none up to it, 1 + c·ln(x) at x times the fitted steps.
func TestIntervalWidensPastTheFit(t *testing.T) {
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	f := &Fitted{Law: law, Sigma: 0.01, Info: FitInfo{From: 10, To: 999}}
	lrs := make([]float64, 3000)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	mid, _, hi := f.Interval(lrs, 0.9)
	half := func(i int) float64 { return math.Log(hi[i] / mid[i]) }
	base := half(500)
	for _, c := range []struct {
		step int
		want float64
	}{
		{500, 1},
		{999, 1},
		{1999, 1 + ExtrapolationWidening*math.Log(2)},
		{2999, 1 + ExtrapolationWidening*math.Log(3)},
	} {
		if got := half(c.step) / base; !near(got, c.want, 1e-9) {
			t.Errorf("step %d: half-width %g times the fitted range's, want %g", c.step, got, c.want)
		}
	}
	if w := (&Fitted{Law: law}).Widening(5000); w != 1 {
		t.Errorf("a law without its fitted steps widens by %g, want 1", w)
	}
}

func TestHorizonNote(t *testing.T) {
	mpl := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	fitted := func(law Law, recipe string) *Fitted {
		return &Fitted{Law: law, Info: FitInfo{Recipe: recipe, From: 99, To: 23999}}
	}
	const low = "; on runs 2-3.3x longer than their fit runs, such fits predicted too low a loss"
	for _, c := range []struct {
		name     string
		law      Law
		n        int
		want     string // prefix; "" for no note
		wantsLow bool
	}{
		{"within 1.5x", fitted(mpl, RecipeDefault), 36000, "", false},
		{"3x, lrkit recipe", fitted(mpl, RecipeDefault), 72000, "the prediction reaches step 71999, 3.0x the steps the law was fitted on (to step 23999): a long extrapolation in time", true},
		{"3x, released recipe: no direction claimed", fitted(mpl, RecipeReleased), 72000, "the prediction reaches step 71999, 3.0x", false},
		{"3x, power law: no direction claimed", fitted(&Power{L0: 2, A: 1, Alpha: 0.5}, RecipeDefault), 72000, "the prediction reaches step 71999, 3.0x", false},
		{"a bare law", mpl, 72000, "", false},
		{"3x, corrected: says so, no direction claimed", &Fitted{Law: mpl, HorizonBias: MeasuredHorizonBias, Info: FitInfo{From: 99, To: 23999}}, 72000,
			"the prediction reaches step 71999, 3.0x the steps the law was fitted on (to step 23999): a long extrapolation in time; corrected past step 23999 for the bias measured on held-out runs (" + fmt.Sprintf("x%.4f", 1+MeasuredHorizonBias*math.Log(72000.0/24000)) + " at the last step", false},
	} {
		got := HorizonNote(c.law, c.n)
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") || strings.Contains(got, low) != c.wantsLow {
			t.Errorf("%s: note %q", c.name, got)
		}
	}
}

func TestHorizonBiasCorrectsPastTheFit(t *testing.T) {
	mpl := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	lrs := make([]float64, 3000)
	for i := range lrs {
		lrs[i] = 3e-4 * (1 - float64(i)/3000)
	}
	plain := &Fitted{Law: mpl, Sigma: 0.01, Info: FitInfo{From: 10, To: 999}}
	corr := *plain
	corr.HorizonBias = 0.01
	base := mpl.Predict(lrs)
	p0, p1 := plain.Predict(lrs), corr.Predict(lrs)
	m0, lo0, hi0 := plain.Interval(lrs, 0.9)
	m1, lo1, hi1 := corr.Interval(lrs, 0.9)
	for _, c := range []struct {
		step int
		want float64 // factor over the law's own prediction
	}{
		{10, 1}, {999, 1}, // up to the last fitted step: the law alone
		{1000, 1 + 0.01*math.Log(1001.0/1000)},
		{1999, 1 + 0.01*math.Log(2)},
		{2999, 1 + 0.01*math.Log(3)},
	} {
		i := c.step
		if p0[i] != base[i] || m0[i] != base[i] {
			t.Errorf("step %d: HorizonBias 0 changed the prediction (%g, %g against %g)", i, p0[i], m0[i], base[i])
		}
		if got := p1[i] / base[i]; !near(got, c.want, 1e-12) {
			t.Errorf("step %d: Predict corrected by %g, want %g", i, got, c.want)
		}
		if got := corr.HorizonFactor(i); !near(got, c.want, 1e-12) {
			t.Errorf("step %d: HorizonFactor %g, want %g", i, got, c.want)
		}
		// Interval moves the prediction and its band together.
		if !near(m1[i], p1[i], 1e-12) || !near(lo1[i]/lo0[i], c.want, 1e-12) || !near(hi1[i]/hi0[i], c.want, 1e-12) {
			t.Errorf("step %d: Interval (%g, %g, %g) not the uncorrected (%g, %g, %g) times %g", i, lo1[i], m1[i], hi1[i], lo0[i], m0[i], hi0[i], c.want)
		}
	}
	// The law itself (and what it was fitted to) is untouched.
	if again := mpl.Predict(lrs); again[2999] != base[2999] {
		t.Errorf("the base law's prediction changed: %g, then %g", base[2999], again[2999])
	}
	if f := (&Fitted{Law: mpl, HorizonBias: 0.01}); f.HorizonFactor(5000) != 1 {
		t.Errorf("a law without its fitted steps is corrected by %g, want 1", f.HorizonFactor(5000))
	}
}
