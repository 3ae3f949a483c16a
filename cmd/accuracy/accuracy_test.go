package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/epfl"
)

func TestCopyLaw(t *testing.T) {
	c := copyLaw{losscurve.Run{Points: []losscurve.Point{{Step: 10, Loss: 4}, {Step: 20, Loss: 3}, {Step: 40, Loss: 2}}}}
	got := c.Predict(make([]float64, 50))
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 4}, {10, 4}, {15, 3.5}, {30, 2.5}, {40, 2}, {49, 2}} {
		if math.Abs(got[tc.step]-tc.want) > 1e-12 {
			t.Errorf("step %d: %g, want %g", tc.step, got[tc.step], tc.want)
		}
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct {
		c    epfl.Curve
		want string
	}{
		{epfl.Curve{ID: "g__m__cos10_lr0.001_T25000", Family: "cosine"}, "cosine to 10%"},
		{epfl.Curve{ID: "g__m__cos0_lr0.001_T25000", Family: "cosine"}, "cosine to 0"},
		{epfl.Curve{ID: "g__m__wsd0.2sqrt_lr0.001_T25000", Family: "wsd", Shape: "sqrt", T: 25000, DecayStart: 20000}, "WSD 1−√"},
		{epfl.Curve{ID: "g__m__wsd0.2linear_lr0.001_T25000", Family: "wsd", Shape: "linear", T: 25000, DecayStart: 20000}, "WSD linear, cooldown ≤ 20%"},
		{epfl.Curve{ID: "g__m__wsd0.4linear_lr0.001_T25000", Family: "wsd", Shape: "linear", T: 25000, DecayStart: 15000}, "WSD linear, cooldown 40–90%"},
		{epfl.Curve{ID: "g__m__lin0.994_lr0.001_T50000", Family: "linear_decay", Shape: "linear", T: 50000, DecayStart: 300}, "linear decay"},
	} {
		if got := family(tc.c); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.c.ID, got, tc.want)
		}
	}
}

func TestDiffCI(t *testing.T) {
	mk := func(key string, pe ...float64) fitResult {
		r := fitResult{m: method{key: key}}
		for i, v := range pe {
			r.curves = append(r.curves, curveResult{held: heldRun{run: losscurve.Run{Name: string(rune('a' + i))}}, sc: losscurve.Scored{Metrics: losscurve.Metrics{PredE: v}}})
		}
		return r
	}
	splits := []split{{role: roleTest}}
	res := []fitResult{mk("x", 0.002, 0.003, 0.004), mk("y", 0.001, 0.002, 0.003)}
	mean, lo, hi, n := diffCI(splits, res, "x", "y", roleTest)
	if n != 3 || math.Abs(mean-0.001) > 1e-15 || math.Abs(lo-0.001) > 1e-15 || math.Abs(hi-0.001) > 1e-15 {
		t.Errorf("mean %g [%g, %g] over %d, want a constant difference 0.001", mean, lo, hi, n)
	}
	// The same runs held out by a second split of the role are pairs of
	// their own, not overwritten by the first split's.
	splits = append(splits, split{role: roleTest})
	second := []fitResult{mk("x", 0.005, 0.005, 0.005), mk("y", 0.001, 0.001, 0.001)}
	for i := range second {
		second[i].split = 1
	}
	mean, _, _, n = diffCI(splits, append(res, second...), "x", "y", roleTest)
	if n != 6 || math.Abs(mean-0.0025) > 1e-15 {
		t.Errorf("two splits: mean %g over %d, want 0.0025 over 6", mean, n)
	}
}

// TestSplits checks the protocol on the shared data: the fit runs, and
// that a WSD run is scored only from its cooldown.
func TestSplits(t *testing.T) {
	dir, err := epfl.Dir()
	if err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("reads every curve")
	}
	splits, err := buildSplits(dir)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, s := range splits {
		roles[s.role]++
		if s.name == "124M, peak 0.001" {
			if s.role != roleTest || !strings.Contains(s.fitIDs[0]+s.fitIDs[1], "const_lr0.001_T50000") || !strings.Contains(s.fitIDs[0]+s.fitIDs[1], "cos10_lr0.001_T25000") {
				t.Errorf("split %s: role %s, fit %v", s.name, s.role, s.fitIDs)
			}
			for _, h := range s.held {
				if strings.HasSuffix(h.run.Name, "wsd0.2linear_lr0.001_T50000") && h.from != 40001 {
					t.Errorf("%s scored from %d, want 40001 (its cooldown starts at 40000)", h.run.Name, h.from)
				}
			}
			if len(s.held) != 31 {
				t.Errorf("%d held-out runs, want 31", len(s.held))
			}
		}
		if strings.Contains(s.name, ", fit up to ") && len(s.fit) != 3 {
			t.Errorf("horizon split %s: fit runs %v, want the constant, cosine and 20%% WSD runs", s.name, s.fitIDs)
		}
		if s.name == "124M, peak 0.001, fit up to 15000" {
			// The paper's shape: three fit runs stopped at 15000 steps
			// (the constant run seen that far), runs up to 50000 held out.
			if s.role != roleHorizon || len(s.fit) != 3 {
				t.Errorf("split %s: role %s, fit %v", s.name, s.role, s.fitIDs)
			}
			for _, f := range s.fit {
				if len(f.LRs) != 15000 || f.Points[len(f.Points)-1].Step >= 15000 {
					t.Errorf("fit run %s: %d steps, last point at %d, want it stopped at 15000", f.Name, len(f.LRs), f.Points[len(f.Points)-1].Step)
				}
			}
			ids := strings.Join(s.fitIDs, " ")
			for _, want := range []string{"const_lr0.001_T50000", "cos10_lr0.001_T15000", "wsd0.2linear_lr0.001_T15000"} {
				if !strings.Contains(ids, want) {
					t.Errorf("fit runs %v lack %s", s.fitIDs, want)
				}
			}
			heldConstant := false
			for _, h := range s.held {
				heldConstant = heldConstant || strings.HasSuffix(h.run.Name, "const_lr0.001_T50000")
				switch {
				case strings.HasSuffix(h.run.Name, "const_lr0.001_T50000") && (h.from != 15000 || h.family != "constant"):
					t.Errorf("the constant run is scored from %d as %q, want 15000 (where the fit stopped seeing it), constant", h.from, h.family)
				case strings.HasSuffix(h.run.Name, "cos10_lr0.001_T50000") && h.from > 400:
					t.Errorf("the long cosine is scored from %d, want its warm-up's end", h.from)
				}
			}
			if !heldConstant {
				t.Error("the rest of the constant run past 15000 is not held out, as the paper's split holds out its constant run")
			}
		}
	}
	if roles[roleValidation] != 5 || roles[roleTest] != 2 || roles[roleHorizon] != 2 || roles[roleSecondary] < 10 {
		t.Errorf("splits per role %v", roles)
	}
}

// TestWidenReport checks the choice of the widening past the fit: points
// whose errors need c = 6 to be covered make the rule pick 6.
func TestWidenReport(t *testing.T) {
	law := &losscurve.Power{L0: 2, A: 1, Alpha: 0.5}
	f := &losscurve.Fitted{Law: law, Sigma: 0.001, Info: losscurve.FitInfo{From: 10, To: 999}}
	lrs := make([]float64, 3000)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	mid, _, hi := f.Interval(lrs, level)
	// Ten points past the fit, each off by 1 + 5.5·ln(x) unwidened
	// half-widths: covered from c = 6 on, not at 5.
	run := losscurve.Run{Name: "held", LRs: lrs}
	for k := range 10 {
		step := 1200 + 150*k
		x := float64(step+1) / 1000
		half := math.Log(hi[step]/mid[step]) / f.Widening(step)
		run.Points = append(run.Points, losscurve.Point{Step: step, Loss: mid[step] * math.Exp((1+5.5*math.Log(x))*half)})
	}
	splits := []split{{role: roleValidation}}
	res := []fitResult{{m: method{key: "lrkit"}, fitted: f, curves: []curveResult{{held: heldRun{run: run}}}}}
	var b strings.Builder
	widenReport(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, pastByRole(splits, res))
	out := b.String()
	for _, want := range []string{"| splits | points | c = 0 | c = 1 | c = 2 | c = 3 | c = 4 | c = 5 | c = 6 | c = 7 | c = 8 |\n|---|---|---|---|---|---|---|---|---|---|---|\n", "| validation | 10 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 1.000 | 1.000 | 1.000 |", "The rule picks c = 6: `losscurve.ExtrapolationWidening`."} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestHorizonReport checks the measurement of the horizon bias: points
// whose relative error is exactly k·ln(x) give back k, and the report
// says whether losscurve.MeasuredHorizonBias matches it.
func TestHorizonReport(t *testing.T) {
	law := &losscurve.Power{L0: 2, A: 1, Alpha: 0.5}
	lrs := make([]float64, 3000)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	for _, c := range []struct {
		k    float64
		want string
	}{
		{losscurve.MeasuredHorizonBias, fmt.Sprintf("Here k = %.5f over 10 points: `losscurve.MeasuredHorizonBias`", losscurve.MeasuredHorizonBias)},
		{2 * losscurve.MeasuredHorizonBias, "does not match this measurement"},
	} {
		f := &losscurve.Fitted{Law: law, Sigma: 0.001, Info: losscurve.FitInfo{From: 10, To: 999}}
		pred := f.Predict(lrs)
		run := losscurve.Run{Name: "held", LRs: lrs}
		for i := range 10 {
			step := 1200 + 150*i
			x := float64(step+1) / 1000
			run.Points = append(run.Points, losscurve.Point{Step: step, Loss: pred[step] * (1 + c.k*math.Log(x))})
		}
		corrected := *f
		corrected.HorizonBias = losscurve.MeasuredHorizonBias
		splits := []split{{role: roleValidation}}
		var res []fitResult
		for _, m := range []struct {
			key string
			f   *losscurve.Fitted
		}{{"lrkit", f}, {"horizon", &corrected}, {"released", f}} {
			sc, err := losscurve.EvaluateFrom(m.f, run, 0, level)
			if err != nil {
				t.Fatal(err)
			}
			res = append(res, fitResult{m: method{key: m.key}, fitted: m.f, curves: []curveResult{{held: heldRun{run: run}, sc: sc, intervals: true}}})
		}
		past := pastByRole(splits, res)
		if got := horizonBias(past[roleValidation]); math.Abs(got-c.k) > 1e-12 {
			t.Errorf("k %g: measured %g", c.k, got)
		}
		var b strings.Builder
		horizonReport(func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }, splits, res, past)
		out := b.String()
		if !strings.Contains(out, c.want) {
			t.Errorf("k %g: report lacks %q:\n%s", c.k, c.want, out)
		}
		if c.k == losscurve.MeasuredHorizonBias && !strings.Contains(out, "→ +0.000% (") {
			t.Errorf("corrected errors are not 0 where the points follow the correction exactly:\n%s", out)
		}
	}
}

// TestDerivedMethodSharesTheFit checks that the corrected row is scored
// from the lrkit row's fit, not fitted again: one evaluation gives both,
// the same law, the corrected one with HorizonBias set and its final
// prediction moved by HorizonFactor.
func TestDerivedMethodSharesTheFit(t *testing.T) {
	law := &losscurve.Power{L0: 2, A: 3, Alpha: 0.4}
	run := func(name string, n int) losscurve.Run {
		r := losscurve.Run{Name: name, LRs: make([]float64, n)}
		for i := range r.LRs {
			r.LRs[i] = 1e-3
		}
		pred := law.Predict(r.LRs)
		for s := 10; s < n; s += 20 {
			r.Points = append(r.Points, losscurve.Point{Step: s, Loss: pred[s]})
		}
		return r
	}
	s := split{role: roleTest, fit: []losscurve.Run{run("a", 1000), run("b", 1000)}, held: []heldRun{{run: run("long", 3000), from: 1000}}}
	m := method{key: "lrkit", kind: losscurve.KindPower, opts: losscurve.FitOptions{Bootstrap: -1}, roles: roleOrder}
	rs := evaluate(context.Background(), m, s)
	if len(rs) != 2 || rs[0].m.key != "lrkit" || rs[1].m.key != "horizon" {
		t.Fatalf("results %d, want the lrkit row and the corrected row", len(rs))
	}
	a, b := rs[0], rs[1]
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.fitted.HorizonBias != 0 || b.fitted.HorizonBias != losscurve.MeasuredHorizonBias || a.fitted.Law != b.fitted.Law {
		t.Errorf("corrected row: bias %g (lrkit row %g), same law %v", b.fitted.HorizonBias, a.fitted.HorizonBias, a.fitted.Law == b.fitted.Law)
	}
	last := b.fitted.Info.To
	if last <= 0 || len(a.curves) != 1 || len(b.curves) != 1 {
		t.Fatalf("fitted to step %d, curves %d and %d", last, len(a.curves), len(b.curves))
	}
	want := a.curves[0].sc.FinalPred * b.fitted.HorizonFactor(2990)
	if got := b.curves[0].sc.FinalPred; math.Abs(got-want) > 1e-12*want {
		t.Errorf("corrected final prediction %g, want %g", got, want)
	}
}
