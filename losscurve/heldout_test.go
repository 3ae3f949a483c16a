package losscurve

import (
	"math"
	"strings"
	"testing"
)

func TestDeparture(t *testing.T) {
	constant := []float64{1, 2, 3, 3, 3, 3, 3, 3}
	cosine := []float64{1, 2, 3, 2.9, 2.5, 2, 1.5, 1.1}
	for _, tc := range []struct {
		name string
		lrs  []float64
		fits [][]float64
		want int
	}{
		{"wsd resumed from the constant run", []float64{1, 2, 3, 3, 3, 2, 1, 0}, [][]float64{constant, cosine}, 5},
		{"cosine of another horizon", []float64{1, 2, 3, 2.95, 2.8, 2.5}, [][]float64{constant, cosine}, 3},
		{"a prefix of a fit run", []float64{1, 2, 3, 3}, [][]float64{constant}, 4},
		{"longer than the fit run", []float64{1, 2, 3, 3, 3, 3, 3, 3, 3, 2}, [][]float64{constant}, 8},
		{"no fit runs", []float64{1, 2}, nil, 0},
		{"equal to 1e-12 relative", []float64{1 + 1e-13, 2, 3, 1}, [][]float64{constant}, 3},
	} {
		if got := Departure(tc.lrs, tc.fits...); got != tc.want {
			t.Errorf("%s: Departure = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestEvaluateFrom(t *testing.T) {
	lrs := make([]float64, 100)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	pred := law.Predict(lrs)
	run := Run{Name: "r", LRs: lrs}
	for s := 9; s < 100; s += 10 {
		// Observed 1% above the law before step 50, exact after.
		o := pred[s]
		if s < 50 {
			o *= 1.01
		}
		run.Points = append(run.Points, Point{Step: s, Loss: o})
	}
	all, err := EvaluateFrom(law, run, 0, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	own, err := EvaluateFrom(law, run, 50, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if all.Points != 10 || own.Points != 5 || own.PredE != 0 || !near(all.PredE, 5*(0.01/1.01)/10, 1e-12) {
		t.Errorf("all %+v, from 50 %+v", all, own)
	}
	if own.FinalPred != pred[99] || own.FinalObs != pred[99] || own.FinalError != 0 || own.Covered != 0 {
		t.Errorf("final: %+v", own)
	}
	// A *Fitted law counts the points in its interval: with Sigma 0.005 the
	// 90% interval is ±0.82% in log, so the 1%-off points fall outside.
	f := &Fitted{Law: law, Sigma: 0.005}
	sc, err := EvaluateFrom(f, run, 0, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Covered != 5 {
		t.Errorf("%d points inside the interval, want 5", sc.Covered)
	}
	if _, err := EvaluateFrom(law, run, 100, 0.9); err == nil || !strings.Contains(err.Error(), "run r: no observed points at or after step 100") {
		t.Errorf("nothing to score: error %v", err)
	}
}

func TestSpearman(t *testing.T) {
	for _, tc := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{[]float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 0.8},
		// Ties share their average rank: ranks (1.5, 1.5, 3, 4) and (1..4):
		// ρ = Pearson of the ranks = 4.5/sqrt(4.5·5).
		{[]float64{5, 5, 6, 7}, []float64{1, 2, 3, 4}, 4.5 / math.Sqrt(4.5*5)},
	} {
		if got := Spearman(tc.a, tc.b); !near(got, tc.want, 1e-12) {
			t.Errorf("Spearman(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for _, tc := range [][2][]float64{{{1}, {1}}, {{1, 2}, {1}}, {{1, 1, 1}, {1, 2, 3}}} {
		if got := Spearman(tc[0], tc[1]); !math.IsNaN(got) {
			t.Errorf("Spearman(%v, %v) = %v, want NaN", tc[0], tc[1], got)
		}
	}
}

func TestScoreRuns(t *testing.T) {
	lrs := make([]float64, 100)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	law := &Power{L0: 2, A: 1, Alpha: 0.5}
	pred := law.Predict(lrs)
	mk := func(name string, off float64) Run {
		r := Run{Name: name, LRs: lrs}
		for s := 9; s < 100; s += 10 {
			r.Points = append(r.Points, Point{Step: s, Loss: pred[s] * (1 + off)})
		}
		return r
	}
	runs := []Run{mk("a", 0), mk("b", 0.02)}
	sc, err := ScoreRuns(law, runs, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Runs) != 2 || sc.Points != 20 || sc.Coverage != nil || sc.Runs[1].Run != "b" || !near(sc.Mean.PredE, (0.02/1.02)/2, 1e-12) {
		t.Errorf("scores %+v", sc)
	}
	sc, err = ScoreRuns(&Fitted{Law: law, Sigma: 0.005}, runs, 0.9)
	if err != nil || sc.Coverage == nil || *sc.Coverage != 0.5 || *sc.Runs[0].Coverage != 1 || *sc.Runs[1].Coverage != 0 {
		t.Errorf("fitted scores %+v %v", sc, err)
	}
}
