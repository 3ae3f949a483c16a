package losscurve

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestPriorCandidates: a fit that chooses its prior's weight by forward
// validation scores every candidate on held-out points, recovers a known
// law from noise-free curves, and rejects bad candidates.
func TestPriorCandidates(t *testing.T) {
	sch := testSchedules(4000, 3e-4)
	truth := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	train := []Run{synthRun("constant", truth, sch["constant"], 50), synthRun("cosine", truth, sch["cosine"], 50), synthRun("wsd", truth, sch["wsd"], 50)}
	cands := []float64{0, 1e-6, 1e-4}
	fit, rep, err := Fit(context.Background(), KindMPL, train, FitOptions{Recipe: RecipeConverged, PriorCandidates: cands})
	if err != nil {
		t.Fatal(err)
	}
	ch := rep.Prior
	if ch == nil {
		t.Fatal("no prior choice reported")
	}
	// Each run holds out the points after 2/3 of its span: the constant
	// and cosine runs about a third of their 78 points after warm-up; the
	// WSD run, fitted only from where it leaves the constant run (step
	// 3200), a third of its last 16.
	if ch.Held < 2*24+3 || ch.Held > 2*28+7 || ch.Fallback != "" {
		t.Errorf("held-out points %d (fallback %q), want about a third of 78+78+16", ch.Held, ch.Fallback)
	}
	if len(ch.Scores) != len(cands) {
		t.Errorf("scores %v, want one per candidate %v", ch.Scores, cands)
	}
	best := math.Inf(1)
	for _, s := range ch.Scores {
		best = min(best, s)
	}
	if got := ch.Scores[formatWeight(ch.Weight)]; got != best {
		t.Errorf("chose weight %g with held-out PredE %g, the best candidate has %g (%v)", ch.Weight, got, best, ch.Scores)
	}
	// Noise-free curves: the strongest prior biases the held-out part.
	if ch.Weight == 1e-4 {
		t.Errorf("chose the strongest prior on noise-free curves: %v", ch.Scores)
	}
	held := synthRun("wsd-held", truth, testSchedules(6000, 3e-4)["wsd"], 50)
	m, err := Evaluate(fit, held)
	if err != nil {
		t.Fatal(err)
	}
	if m.PredE > 2e-4 {
		t.Errorf("held-out PredE %.3g with the chosen weight %g", m.PredE, ch.Weight)
	}
	for _, tc := range []struct {
		kind string
		opts FitOptions
		want string
	}{
		{KindAnnealing, FitOptions{PriorCandidates: []float64{0}}, `prior candidates apply to the mpl law only, not "annealing"`},
		{KindMPL, FitOptions{PriorCandidates: []float64{0, -1}}, "prior candidate 1 is -1, want a finite weight >= 0"},
		{KindMPL, FitOptions{PriorCandidates: []float64{math.NaN()}}, "prior candidate 0 is NaN"},
		{KindMPL, FitOptions{Recipe: RecipeReleased, PriorCandidates: []float64{0}}, "the released recipe takes no prior candidates"},
	} {
		if _, _, err := Fit(context.Background(), tc.kind, train[:2], tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.kind, tc.opts, err, tc.want)
		}
	}
}

// TestPriorCentre checks that the prior pulls C, β and γ towards the
// centre it is given (a strong weight on noise-free curves of another law
// lands near the centre, not near the truth), and that a bad centre is
// refused with the value's name.
func TestPriorCentre(t *testing.T) {
	sch := testSchedules(4000, 3e-4)
	truth := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	train := []Run{synthRun("constant", truth, sch["constant"], 50), synthRun("cosine", truth, sch["cosine"], 50), synthRun("wsd", truth, sch["wsd"], 50)}
	for _, centre := range [][]float64{nil, {4, 0.35, 0.9}} {
		want := centre
		if want == nil {
			want = DefaultPriorCentre()
		}
		f, _, err := Fit(context.Background(), KindMPL, train, FitOptions{Prior: 1, PriorCentre: centre, Bootstrap: -1})
		if err != nil {
			t.Fatal(err)
		}
		p := f.Law.Params()
		for i, name := range []string{"C", "beta", "gamma"} {
			if r := p[name] / want[i]; r < 0.9 || r > 1.1 {
				t.Errorf("centre %v: fitted %s = %.4g, want within 10%% of the centre's %g", centre, name, p[name], want[i])
			}
		}
	}
	for _, tc := range []struct {
		centre []float64
		want   string
	}{
		{[]float64{1, 0.5}, "2 values, want 3"},
		{[]float64{0, 0.5, 0.5}, "C = 0, want a positive finite value"},
		{[]float64{1, math.NaN(), 0.5}, "beta = NaN"},
		{[]float64{1, 0.5, math.Inf(1)}, "gamma = +Inf"},
	} {
		_, _, err := Fit(context.Background(), KindMPL, train, FitOptions{PriorCentre: tc.centre, Bootstrap: -1})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("centre %v: error %v, want one containing %q", tc.centre, err, tc.want)
		}
	}
}
