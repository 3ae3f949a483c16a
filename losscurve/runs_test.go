package losscurve

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

func rec(step int64, lr, loss float64) runlog.Record {
	r := runlog.Record{Step: step}
	if !math.IsNaN(lr) {
		r.Set(runlog.FieldLR, lr)
	}
	if !math.IsNaN(loss) {
		r.Set(runlog.FieldLoss, loss)
	}
	return r
}

func TestRunFromRecordsInterpolates(t *testing.T) {
	nan := math.NaN()
	var recs []runlog.Record
	for s := int64(0); s <= 100; s += 10 {
		recs = append(recs, rec(s, 1e-3*float64(100-s)/100+1e-4, 5-float64(s)/100))
	}
	recs = append(recs, rec(105, nan, 3.9))
	run, warns, err := RunFromRecords(recs, RecordOptions{Name: "log.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.LRs) != 106 || len(run.Points) != 12 {
		t.Fatalf("%d rates, %d points", len(run.LRs), len(run.Points))
	}
	// Linear between logged steps, held after the last.
	for _, c := range []struct {
		step int
		want float64
	}{{0, 1.1e-3}, {5, 1.05e-3}, {15, 0.95e-3}, {100, 1e-4}, {105, 1e-4}} {
		if !near(run.LRs[c.step], c.want, 1e-15) {
			t.Errorf("lr[%d] = %g, want %g", c.step, run.LRs[c.step], c.want)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "log.csv: lr logged at 11 of 106 steps") {
		t.Errorf("warnings %q", warns)
	}
	// A schedule replaces the log's rates, without a warning.
	s, err := schedule.Parse("cosine(peak=1e-3, steps=105)")
	if err != nil {
		t.Fatal(err)
	}
	run, warns, err = RunFromRecords(recs, RecordOptions{Name: "log.csv", Schedule: s})
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %q", err, warns)
	}
	if run.LRs[50] != s.LR(50) {
		t.Errorf("lr[50] = %g, want the schedule's %g", run.LRs[50], s.LR(50))
	}
}

func TestRunFromRecordsFallsBackToValLoss(t *testing.T) {
	var recs []runlog.Record
	for s := int64(0); s < 10; s++ {
		r := runlog.Record{Step: s}
		r.Set(runlog.FieldLR, 1e-3)
		r.Set(runlog.FieldValLoss, 4-0.1*float64(s))
		recs = append(recs, r)
	}
	run, warns, err := RunFromRecords(recs, RecordOptions{Name: "v.jsonl"})
	if err != nil || len(warns) != 0 || len(run.Points) != 10 || run.Points[3].Loss != 3.7 {
		t.Fatalf("run %+v warns %q err %v", run.Points, warns, err)
	}
}

func TestRunFromRecordsErrors(t *testing.T) {
	nan := math.NaN()
	pos := func(i int) string { return "f.csv:" + string(rune('2'+i)) }
	for _, tc := range []struct {
		recs []runlog.Record
		want string
	}{
		{[]runlog.Record{rec(0, 1, nan), rec(1, 1, nan)}, "f.csv: no loss values"},
		{[]runlog.Record{rec(0, nan, 3), rec(1, nan, 2)}, "f.csv: no lr values"},
		{[]runlog.Record{rec(0, 1, 3), rec(1, 1, nan)}, "need at least 5"},
		{[]runlog.Record{rec(0, 1, 3), rec(1, 1, math.Inf(1))}, "f.csv:3: loss is +Inf at step 1"},
		{[]runlog.Record{rec(0, 1, 3), rec(1, -1, 2)}, "f.csv:3: lr is -1 at step 1"},
		{[]runlog.Record{rec(5, 1, 3), rec(5, 1, 2)}, "f.csv:3: step 5 does not increase"},
	} {
		_, _, err := RunFromRecords(tc.recs, RecordOptions{Name: "f.csv", Position: pos})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// Without Position, errors name the record.
	_, _, err := RunFromRecords([]runlog.Record{rec(0, 1, -2)}, RecordOptions{Name: "g.csv"})
	if err == nil || !strings.Contains(err.Error(), "g.csv: record 1: loss is -2") {
		t.Errorf("error %v", err)
	}
}

func TestFitMinStep(t *testing.T) {
	law := &Power{L0: 2, A: 3, Alpha: 0.5}
	lrs := testSchedules(2000, 1e-3)["constant"]
	r := synthRun("r", law, lrs, 100)
	fit, _, err := Fit(context.Background(), KindPower, []Run{r}, FitOptions{MinStep: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if a := fit.Params()["alpha"]; !near(a, 0.5, 1e-4) {
		t.Errorf("alpha %g", a)
	}
	if _, _, err := Fit(context.Background(), KindPower, []Run{r}, FitOptions{MinStep: 1700}); err == nil || !strings.Contains(err.Error(), "3 points at or after step 1700") {
		t.Errorf("error %v", err)
	}
}

// TestRunStepLimit: a log whose steps run past the limit is refused with
// its position, before a rate per step is allocated (a 7-row log ending at
// step 2e9 took all 24 GB of the machine before the limit).
func TestRunStepLimit(t *testing.T) {
	var recs []runlog.Record
	for i, s := range []int64{0, 10, 20, 30, 40, 50, 2_000_000_000} {
		recs = append(recs, runlog.Record{Step: s, Loss: 3 - 0.1*float64(i), LR: 1e-3, Present: runlog.FieldLoss | runlog.FieldLR})
	}
	_, _, err := RunFromRecords(recs, RecordOptions{Name: "long.csv"})
	if err == nil || !strings.Contains(err.Error(), "long.csv: record 7: step 2000000000 is past the limit of 10000000 steps (raise it with --max-steps)") {
		t.Fatalf("error %v", err)
	}
	_, _, err = RunFromRecords(recs[:6], RecordOptions{Name: "short.csv", MaxSteps: 40})
	if err == nil || !strings.Contains(err.Error(), "step 40 is past the limit of 40 steps") {
		t.Fatalf("a raised-then-lowered limit: %v", err)
	}
}
