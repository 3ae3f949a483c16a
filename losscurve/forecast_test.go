package losscurve

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

// liveTruth is the law the live runs follow.
var liveTruth = &MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: ConventionPaper, Warmup: -1}

// liveRecords logs lr at every step and, every 10 steps, the truth's loss
// capped at 11 (a run starts near ln(vocabulary)), up to step next−1.
func liveRecords(rate func(int64) float64, next int64) []runlog.Record {
	lrs := make([]float64, next)
	for i := range lrs {
		lrs[i] = rate(int64(i))
	}
	pred := liveTruth.Predict(lrs)
	var recs []runlog.Record
	for s := int64(0); s < next; s++ {
		r := runlog.Record{Step: s}
		r.Set(runlog.FieldLR, lrs[s])
		if s%10 == 9 {
			r.Set(runlog.FieldLoss, min(pred[s], 11))
		}
		recs = append(recs, r)
	}
	return recs
}

// warmWSD is a warm-up from 0 over 100 steps to 1e-3, then WSD decaying
// linearly to 1e-4 from decayAt to 5000.
func warmWSD(decayAt int64) func(int64) float64 {
	return func(t int64) float64 {
		switch {
		case t < 100:
			return 1e-3 * float64(t) / 100
		case t < decayAt:
			return 1e-3
		default:
			return 1e-3 * (1 - 0.9*float64(t-decayAt)/float64(5000-decayAt))
		}
	}
}

func TestLiveConstantPrefixIsNotIdentifiable(t *testing.T) {
	rate := warmWSD(3000)
	run := LiveRun{Name: "const", Records: liveRecords(rate, 2000), Rate: rate, Next: 2000, Budget: 5000}
	f, err := Live(context.Background(), run, ForecastOptions{Fit: FitOptions{Bootstrap: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Identifiable || !strings.Contains(f.Reason, "not identifiable until the rate has decayed: since the warm-up the rate has fallen 0% below its peak") {
		t.Errorf("identifiable %v, reason %q", f.Identifiable, f.Reason)
	}
	if len(f.Options) != 0 || f.Final != nil {
		t.Errorf("a degenerate fit ranks nothing: options %v, final %v", f.Options, f.Final)
	}
	// Defined from the first fitted loss (after the warm-up) until the
	// schedule leaves the rates the fit has seen (the decay begins after step 3000).
	if f.DefinedFrom != 109 || f.DefinedTo != 3000 {
		t.Errorf("defined on [%d, %d], want [109, 3000]", f.DefinedFrom, f.DefinedTo)
	}
	checkCurve(t, f, run)

	// The power law ignores the schedule: identifiable, but its options
	// are all alike and it says so.
	p, err := Live(context.Background(), run, ForecastOptions{Kind: KindPower})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Identifiable || len(p.Options) != 3 || p.Final == nil || p.DefinedTo != 4999 {
		t.Fatalf("power: %+v", p)
	}
	// Both notes: the schedule-blind law, and 5000 steps from 2000 fitted.
	if !strings.HasPrefix(p.Note, "the power law ignores the schedule") || !strings.HasSuffix(p.Note, "; the prediction reaches step 4999, 2.5x the steps the law was fitted on (to step 1999): a long extrapolation in time") {
		t.Errorf("power note %q", p.Note)
	}
	for _, o := range p.Options {
		if !near(o.Final.Loss, p.Final.Loss, 1e-12) {
			t.Errorf("power option %s: %g, current schedule %g", o.Name, o.Final.Loss, p.Final.Loss)
		}
	}
}

func TestLiveAfterADecay(t *testing.T) {
	rate := warmWSD(1500)
	run := LiveRun{Name: "wsd", Records: liveRecords(rate, 3000), Rate: rate, Next: 3000, Budget: 5000}
	f, err := Live(context.Background(), run, ForecastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Identifiable || f.Reason != "" || f.Final == nil || len(f.Options) != 3 {
		t.Fatalf("forecast %+v", f)
	}
	// 5000 steps from 3000 fitted (the last loss at step 2999).
	if want := "the prediction reaches step 4999, 1.7x the steps the law was fitted on (to step 2999): a long extrapolation in time; on runs 2-3.3x longer"; !strings.HasPrefix(f.Note, want) {
		t.Errorf("note %q, want it to start %q", f.Note, want)
	}
	// Within 1.5x no note: the same run a thousand steps on.
	later := LiveRun{Name: "wsd", Records: liveRecords(rate, 4000), Rate: rate, Next: 4000, Budget: 5000}
	if g, err := Live(context.Background(), later, ForecastOptions{Fit: FitOptions{Bootstrap: -1}}); err != nil || g.Note != "" {
		t.Errorf("at step 4000 of 5000: note %q, err %v; want none", g.Note, err)
	}
	for i := 1; i < len(f.Options); i++ {
		if f.Options[i].Final.Loss < f.Options[i-1].Final.Loss {
			t.Errorf("options not best first: %+v", f.Options)
		}
	}
	lrs := make([]float64, 5000)
	for i := range lrs {
		lrs[i] = rate(int64(i))
	}
	want := liveTruth.Predict(lrs)[4999]
	if math.Abs(f.Final.Loss-want)/want > 2e-3 || !(f.Final.Lo <= f.Final.Loss && f.Final.Loss <= f.Final.Hi) {
		t.Errorf("final %+v, truth %.5f", f.Final, want)
	}
	if f.DefinedFrom != 109 || f.DefinedTo != 4999 || len(f.Curve) != 200 || f.Curve[len(f.Curve)-1].Step != 4999 {
		t.Errorf("curve on [%d, %d], %d points", f.DefinedFrom, f.DefinedTo, len(f.Curve))
	}
	checkCurve(t, f, run)
}

// checkCurve checks that the forecast's curve stays within a few times the
// losses observed after the warm-up (a chart's range can come from the
// observed losses) and that its steps are increasing and in range.
func checkCurve(t *testing.T, f Forecast, run LiveRun) {
	t.Helper()
	lo, hi := math.Inf(1), 0.0
	for _, r := range run.Records {
		if r.Has(runlog.FieldLoss) && r.Step >= 100 {
			lo, hi = min(lo, r.Loss), max(hi, r.Loss)
		}
	}
	for i, c := range f.Curve {
		if c.Step < f.DefinedFrom || c.Step > f.DefinedTo || (i > 0 && c.Step <= f.Curve[i-1].Step) {
			t.Fatalf("curve step %d outside [%d, %d] or not increasing", c.Step, f.DefinedFrom, f.DefinedTo)
		}
		if c.Loss < lo/3 || c.Loss > 3*hi || c.Lo > c.Loss || c.Hi < c.Loss {
			t.Fatalf("curve point %+v outside [%g, %g] (observed %g..%g)", c, lo/3, 3*hi, lo, hi)
		}
	}
}

func TestLiveErrors(t *testing.T) {
	rate := warmWSD(3000)
	f, err := Live(context.Background(), LiveRun{Records: liveRecords(rate, 130), Rate: rate, Next: 130, Budget: 5000}, ForecastOptions{})
	if err != nil || f.Identifiable || f.Reason != "not enough losses yet: 3 logged after the warm-up, the fit needs 5" || f.Curve != nil {
		t.Errorf("early forecast %+v, %v", f, err)
	}
	for _, tc := range []struct {
		run  LiveRun
		want string
	}{
		{LiveRun{Next: 10, Budget: 100}, "no schedule (Rate is nil)"},
		{LiveRun{Rate: rate, Next: 200, Budget: 100}, "next step 200 and budget 100"},
		{LiveRun{Name: "bad", Rate: func(int64) float64 { return math.NaN() }, Next: 10, Budget: 100}, "run bad: rate at step 0 is NaN"},
	} {
		if _, err := Live(context.Background(), tc.run, ForecastOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
