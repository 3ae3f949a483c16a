package losscurve

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	obs := []float64{4, 3, 2, 1}
	pred := []float64{4.4, 3, 1.8, 1}
	m, err := Score(pred, obs)
	if err != nil {
		t.Fatal(err)
	}
	// Σd² = 0.16+0.04 = 0.2; Σ(o−2.5)² = 5; |d|/o = 0.1, 0, 0.1, 0; the
	// signed errors +0.1 and −0.1 cancel in Bias.
	want := Metrics{R2: 1 - 0.2/5, MAE: 0.6 / 4, RMSE: math.Sqrt(0.2 / 4), PredE: 0.2 / 4, WorstE: 0.1, Bias: 0}
	for _, c := range [][3]any{{"R2", m.R2, want.R2}, {"MAE", m.MAE, want.MAE}, {"RMSE", m.RMSE, want.RMSE}, {"PredE", m.PredE, want.PredE}, {"WorstE", m.WorstE, want.WorstE}, {"Bias", m.Bias, want.Bias}} {
		if !near(c[1].(float64), c[2].(float64), 1e-12) {
			t.Errorf("%s = %.15g, want %.15g", c[0], c[1], c[2])
		}
	}
	// All too low: 0.9 for 1 and 1.6 for 2 are 10% and 20% under.
	if low, err := Score([]float64{0.9, 1.6}, []float64{1, 2}); err != nil || !near(low.Bias, -0.15, 1e-12) || !near(low.PredE, 0.15, 1e-12) {
		t.Errorf("Score of predictions all too low: Bias %v, PredE %v (err %v), want -0.15 and 0.15", low.Bias, low.PredE, err)
	}
	mean := MeanMetrics([]Metrics{m, {R2: 1, Bias: -0.2}})
	if !near(mean.R2, (want.R2+1)/2, 1e-12) || !near(mean.WorstE, 0.05, 1e-12) || !near(mean.Bias, -0.1, 1e-12) {
		t.Errorf("MeanMetrics = %+v", mean)
	}
	for _, tc := range []struct {
		p, o []float64
		want string
	}{
		{[]float64{1}, []float64{1, 2}, "1 predictions for 2 observations"},
		{nil, nil, "no observations"},
		{[]float64{1}, []float64{-1}, "observation 0 is -1"},
		{[]float64{math.NaN()}, []float64{1}, "prediction 0 is NaN"},
	} {
		if _, err := Score(tc.p, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Score(%v, %v) error %v, want %q", tc.p, tc.o, err, tc.want)
		}
	}
}

// synthRun samples law's prediction for lrs every `every` steps.
func synthRun(name string, law Law, lrs []float64, every int) Run {
	pred := law.Predict(lrs)
	r := Run{Name: name, LRs: lrs}
	for s := every - 1; s < len(lrs); s += every {
		r.Points = append(r.Points, Point{Step: s, Loss: pred[s]})
	}
	return r
}

// testSchedules returns warm-up + constant, cosine and WSD (linear
// cooldown over the last 20%) schedules of T steps.
func testSchedules(T int, peak float64) map[string][]float64 {
	W := T / 50
	mk := func(f func(i int) float64) []float64 {
		out := make([]float64, T)
		for i := range out {
			if i < W {
				out[i] = peak * float64(i+1) / float64(W)
			} else {
				out[i] = f(i)
			}
		}
		return out
	}
	return map[string][]float64{
		"constant": mk(func(int) float64 { return peak }),
		"cosine": mk(func(i int) float64 {
			return peak * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(i-W)/float64(T-W))))
		}),
		"wsd": mk(func(i int) float64 {
			if i < T*8/10 {
				return peak
			}
			return peak * (1 - float64(i-T*8/10)/float64(T-T*8/10))
		}),
	}
}

func TestFitRecoversLaws(t *testing.T) {
	sch := testSchedules(4000, 3e-4)
	truth := []Law{
		&MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1},
		&Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: WarmupB, Warmup: -1},
		&Power{L0: 2.5, A: 10, Alpha: 0.5},
	}
	for _, law := range truth {
		train := []Run{synthRun("constant", law, sch["constant"], 50), synthRun("cosine", law, sch["cosine"], 50)}
		if law.Name() == KindMPL {
			// The loss-drop saturation needs a sharp decay to be identified.
			train = append(train, synthRun("wsd", law, sch["wsd"], 50))
		}
		fit, rep, err := Fit(context.Background(), law.Name(), train, FitOptions{})
		if err != nil {
			t.Fatalf("%s: %v", law.Name(), err)
		}
		held := synthRun("wsd-held", law, testSchedules(6000, 3e-4)["wsd"], 50)
		m, err := Evaluate(fit, held)
		if err != nil {
			t.Fatal(err)
		}
		if m.PredE > 2e-4 || m.R2 < 0.9999 {
			t.Errorf("%s: held-out PredE %.3g R² %.6f (fit %v, objective %.3g)", law.Name(), m.PredE, m.R2, fit.Params(), rep.Objective)
		}
		// Deterministic: a second fit gives identical parameters.
		again, _, err := Fit(context.Background(), law.Name(), train, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range fit.Params() {
			if again.Params()[k] != v {
				t.Errorf("%s: parameter %s differs between fits: %v vs %v", law.Name(), k, v, again.Params()[k])
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	lrs := testSchedules(1000, 1e-3)["constant"]
	good := synthRun("ok", &Power{L0: 2, A: 1, Alpha: 0.5}, lrs, 100)
	bad := func(f func(r *Run)) Run {
		r := Run{Name: "bad.csv", LRs: lrs, Points: append([]Point(nil), good.Points...)}
		f(&r)
		return r
	}
	for _, tc := range []struct {
		kind string
		runs []Run
		want string
	}{
		{"mpl", nil, "no runs"},
		{"nope", []Run{good}, `unknown law "nope"`},
		{"power", []Run{bad(func(r *Run) { r.Points[3].Loss = math.NaN() })}, "run bad.csv: point 3 at step 399: loss NaN"},
		{"power", []Run{bad(func(r *Run) { r.Points[3].Loss = -1 })}, "loss -1"},
		{"power", []Run{bad(func(r *Run) { r.Points[4].Step = r.Points[3].Step })}, "point 4: step 399 does not increase"},
		{"power", []Run{bad(func(r *Run) { r.Points = r.Points[:3] })}, "need at least 5"},
		{"power", []Run{bad(func(r *Run) { r.Points[9].Step = 5000 })}, "outside the 1000 steps"},
		{"power", []Run{bad(func(r *Run) { r.LRs = nil })}, "empty learning-rate sequence"},
		{"annealing", []Run{good}, ""},
		{"mpl", []Run{good}, ""},
	} {
		_, _, err := Fit(context.Background(), tc.kind, tc.runs, FitOptions{})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.kind, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.kind, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Fit(ctx, "mpl", []Run{good}, FitOptions{}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled fit: error %v", err)
	}
}

// TestDropRepeatedPoints: a run resumed from another's checkpoint logs
// the same losses until its rates depart; those points are fitted once,
// while another run's different losses at the same steps are all kept.
func TestDropRepeatedPoints(t *testing.T) {
	law := &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}
	sch := testSchedules(2000, 3e-4)
	constant := synthRun("constant", law, sch["constant"], 50)
	wsd := synthRun("wsd", law, sch["wsd"], 50) // constant until step 1600, then decays
	other := synthRun("other-seed", law, sch["constant"], 50)
	for i := range other.Points {
		other.Points[i].Loss *= 1.001 // an independent run: the same rates, other losses
	}
	dep := Departure(wsd.LRs, constant.LRs)
	wantRepeated := 0
	for _, p := range wsd.Points {
		if p.Step <= dep {
			wantRepeated++
		}
	}
	got, n := dropRepeatedPoints([]Run{constant, wsd, other})
	if n != wantRepeated || wantRepeated < 20 {
		t.Fatalf("removed %d points, want the %d wsd points up to its departure at step %d", n, wantRepeated, dep)
	}
	if len(got) != 3 || len(got[0].Points) != len(constant.Points) || len(got[2].Points) != len(other.Points) {
		t.Errorf("kept %d runs, points %d/%d/%d", len(got), len(got[0].Points), len(got[1].Points), len(got[2].Points))
	}
	for _, p := range got[1].Points {
		if p.Step <= dep {
			t.Errorf("wsd point at step %d (before its departure at %d) kept", p.Step, dep)
		}
	}
	// A run identical to an earlier one adds nothing and is dropped.
	if got, n := dropRepeatedPoints([]Run{constant, constant}); len(got) != 1 || n != len(constant.Points) {
		t.Errorf("a duplicated run: %d runs kept, %d points removed", len(got), n)
	}
	_, rep, err := Fit(context.Background(), KindMPL, []Run{constant, wsd}, FitOptions{Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	wantPoints := len(fitPoints(constant))
	for _, p := range fitPoints(wsd) {
		if p.Step > dep {
			wantPoints++
		}
	}
	if rep.Repeated != wantRepeated || rep.Points != wantPoints {
		t.Errorf("fit report: %d repeated, %d points; want %d and %d", rep.Repeated, rep.Points, wantRepeated, wantPoints)
	}
}
