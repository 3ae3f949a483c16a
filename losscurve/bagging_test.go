package losscurve

import (
	"bytes"
	"context"
	"math"
	"sort"
	"strings"
	"testing"
)

// TestBaggedPredictIsMembersAggregate builds a *Fitted by hand and checks
// that Predict is the members' mean or median at every step, the point
// fit's without members or with AggregatePoint, and that the interval is
// centred on the bagged prediction.
func TestBaggedPredictIsMembersAggregate(t *testing.T) {
	point := &Power{L0: 2, A: 1, Alpha: 0.5}
	members := []Law{
		&Power{L0: 2.1, A: 1, Alpha: 0.5},
		&Power{L0: 1.9, A: 1.2, Alpha: 0.4},
		&Power{L0: 2.3, A: 0.8, Alpha: 0.6},
		&Power{L0: 2.0, A: 1.1, Alpha: 0.55},
	}
	lrs := make([]float64, 300)
	for i := range lrs {
		lrs[i] = 1e-3
	}
	preds := make([][]float64, len(members))
	for j, m := range members {
		preds[j] = m.Predict(lrs)
	}
	pt := point.Predict(lrs)
	for _, how := range []string{"", AggregatePoint, AggregateMean, AggregateMedian} {
		f := &Fitted{Law: point, Members: members, Aggregate: how, Sigma: 0.01}
		got := f.Predict(lrs)
		mid, lo, hi := f.Interval(lrs, 0.9)
		for i := 0; i < len(lrs); i += 37 {
			v := make([]float64, len(preds))
			for j := range preds {
				v[j] = preds[j][i]
			}
			want := pt[i]
			switch how {
			case AggregateMean:
				want = (v[0] + v[1] + v[2] + v[3]) / 4
			case AggregateMedian:
				sort.Float64s(v)
				want = (v[1] + v[2]) / 2
			}
			if !near(got[i], want, 1e-12) || mid[i] != got[i] {
				t.Errorf("aggregate %q, step %d: Predict %g, Interval's centre %g, want %g", how, i, got[i], mid[i], want)
			}
			if !(lo[i] < got[i] && got[i] < hi[i]) {
				t.Errorf("aggregate %q, step %d: %g outside its interval [%g, %g]", how, i, got[i], lo[i], hi[i])
			}
		}
	}
	// Without members every aggregation is the point fit.
	f := &Fitted{Law: point, Aggregate: AggregateMean}
	if got := f.Predict(lrs); got[100] != pt[100] {
		t.Errorf("no members: %g, want the point fit's %g", got[100], pt[100])
	}
	// A member with no usable value at a step is left out of it.
	if got := aggregate(AggregateMedian, []float64{3, 1, 2}, 9); got != 2 {
		t.Errorf("median of 3,1,2: %g", got)
	}
	if got := aggregate(AggregateMean, nil, 9); got != 9 {
		t.Errorf("no values: %g, want the fallback 9", got)
	}
}

// TestFitBags checks that the default recipe's fitted law predicts the
// DefaultAggregate of its bootstrap refits, that the converged
// recipe predicts with the point fit, and that the aggregation survives
// Save and Load.
func TestFitBags(t *testing.T) {
	sch := testSchedules(2000, 1e-3)
	truth := &Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: WarmupB, Warmup: -1}
	runs := []Run{synthRun("c", truth, sch["constant"], 20), synthRun("w", truth, sch["wsd"], 20)}
	f, _, err := Fit(context.Background(), KindAnnealing, runs, FitOptions{Bootstrap: 4})
	if err != nil {
		t.Fatal(err)
	}
	if f.Aggregate != DefaultAggregate || len(f.Members) != 4 {
		t.Fatalf("aggregate %q with %d members, want %q with 4", f.Aggregate, len(f.Members), DefaultAggregate)
	}
	lrs := sch["cosine"]
	got := f.Predict(lrs)
	point := Base(f).Predict(lrs)
	var preds [][]float64
	for _, m := range f.Members {
		preds = append(preds, m.Predict(lrs))
	}
	for i := 100; i < len(lrs); i += 211 {
		var v []float64
		for _, p := range preds {
			v = append(v, p[i])
		}
		want := point[i]
		if DefaultAggregate != AggregatePoint {
			want = aggregate(DefaultAggregate, v, point[i])
		}
		if !near(got[i], want, 1e-12*want) {
			t.Errorf("step %d: %g, want the members' %s %g", i, got[i], DefaultAggregate, want)
		}
	}
	var buf bytes.Buffer
	if err := Save(&buf, f); err != nil {
		t.Fatal(err)
	}
	if DefaultAggregate != AggregatePoint && !strings.Contains(buf.String(), `"aggregate": "`+DefaultAggregate+`"`) {
		t.Errorf("saved JSON lacks the aggregation:\n%s", buf.String())
	}
	back, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := back.Predict(lrs); b[1500] != got[1500] {
		t.Errorf("after Save and Load: %g, want %g", b[1500], got[1500])
	}
	c, _, err := Fit(context.Background(), KindAnnealing, runs, FitOptions{Recipe: RecipeConverged, Bootstrap: 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.Aggregate != AggregatePoint || math.Abs(c.Predict(lrs)[1500]-Base(c).Predict(lrs)[1500]) != 0 {
		t.Errorf("converged recipe: aggregate %q, want the point fit", c.Aggregate)
	}
	if _, _, err := Fit(context.Background(), KindPower, runs, FitOptions{Aggregate: "mode"}); err == nil || !strings.Contains(err.Error(), `aggregate "mode"`) {
		t.Errorf("unknown aggregation: error %v", err)
	}
	if _, err := Load(strings.NewReader(`{"law":"power","params":{"L0":1,"A":1,"alpha":1},"aggregate":"mode"}`)); err == nil || !strings.Contains(err.Error(), `aggregate "mode"`) {
		t.Errorf("unknown aggregation in JSON: error %v", err)
	}
}
