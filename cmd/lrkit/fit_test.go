package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
)

// lcTruth is the law the synthetic logs follow (the MPL paper's 400M
// parameters, paper convention).
var lcTruth = &losscurve.MultiPower{L0: 2.37, A: 0.654, Alpha: 0.43, B: 523, C: 2.02, Beta: 0.59, Gamma: 0.63, Convention: losscurve.ConventionPaper, Warmup: -1}

// lcSchedule returns a warm-up (100 steps) + constant rate or WSD (linear
// decay over the last `decay` steps) of T steps.
func lcSchedule(T, decay int) []float64 {
	lrs := make([]float64, T)
	for i := range lrs {
		switch {
		case i < 100:
			lrs[i] = 3e-4 * float64(i+1) / 100
		case i < T-decay:
			lrs[i] = 3e-4
		default:
			lrs[i] = 3e-4 * (1 - 0.9*float64(i-(T-decay))/float64(decay))
		}
	}
	return lrs
}

// lcWriteLog writes step,lr,loss CSV with lr at every step and the law's
// loss every `every` steps (other rows have lr only).
func lcWriteLog(t *testing.T, name string, lrs []float64, every int) string {
	t.Helper()
	pred := lcTruth.Predict(lrs)
	var b strings.Builder
	b.WriteString("step,lr,loss\n")
	for i, v := range lrs {
		if i%every == every-1 {
			fmt.Fprintf(&b, "%d,%g,%.9g\n", i, v, pred[i])
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFitPredictPlanCLI(t *testing.T) {
	constant := lcWriteLog(t, "constant.csv", lcSchedule(3000, 0), 20)
	wsd := lcWriteLog(t, "wsd.csv", lcSchedule(3000, 600), 20)
	held := lcWriteLog(t, "held.csv", lcSchedule(4000, 1200), 20)
	dir := t.TempDir()
	law := filepath.Join(dir, "law.json")
	r := runLrkit("fit", "--law", "mpl", constant, wsd, "-o", law)
	if r.code != 0 {
		t.Fatalf("fit: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"fitted mpl law (recipe lrkit) to", "8 bootstrap refits", "parameters: L0=", "fitted on steps 99..2999 at peak 0.0003", "WorstE   bias", "wrote " + law} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fit output lacks %q:\n%s", want, r.stdout)
		}
	}
	checkAligned(t, r.stdout, "run ")
	// The logs have lr only where they have loss: interpolation is flagged.
	if !strings.Contains(r.stderr, "interpolated linearly") {
		t.Errorf("no interpolation warning: %s", r.stderr)
	}

	r = runLrkit("predict", "--law", law, held, "--format", "json", "--plot", filepath.Join(dir, "p.svg"))
	if r.code != 0 {
		t.Fatalf("predict: exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Curves   []map[string]any   `json:"runs"`
		Mean     map[string]float64 `json:"mean"`
		Coverage *float64           `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("predict json: %v\n%s", err, r.stdout)
	}
	if len(out.Curves) != 1 || out.Curves[0]["run"] != held {
		t.Fatalf("curves = %v", out.Curves)
	}
	for _, k := range []string{"r2", "mae", "rmse", "prede", "worste", "bias"} {
		if _, ok := out.Mean[k]; !ok {
			t.Errorf("mean lacks %q", k)
		}
	}
	if out.Mean["prede"] > 1e-3 || out.Mean["r2"] < 0.999 {
		t.Errorf("held-out accuracy %v", out.Mean)
	}
	if b := out.Mean["bias"]; math.Abs(b) > out.Mean["prede"] {
		t.Errorf("mean bias %v, want one no larger than PredE %v", b, out.Mean["prede"])
	}
	if out.Coverage == nil || *out.Coverage < 0 || *out.Coverage > 1 {
		t.Errorf("coverage %v, want a share of the points", out.Coverage)
	}
	if st, err := os.Stat(filepath.Join(dir, "p.svg")); err != nil || st.Size() == 0 {
		t.Errorf("plot not written: %v", err)
	}

	r = runLrkit("predict", "--law", law, held)
	if r.code != 0 || !strings.Contains(r.stdout, "PredE") || !strings.Contains(r.stdout, "bias") || !strings.Contains(r.stdout, "in 90% interval") || !strings.Contains(r.stdout, "\nmean ") {
		t.Errorf("predict table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkAligned(t, r.stdout, "file")

	// A predicted curve for a schedule spec.
	r = runLrkit("predict", "--law", law, "--schedule", "wsd(peak=3e-4, steps=2000, warmup=100, decay=0.2)", "--steps", "2000", "--every", "500")
	if r.code != 0 {
		t.Fatalf("predict curve: exit %d: %s", r.code, r.stderr)
	}
	// The curve starts where the law is defined (the warm-up's end, not
	// step 0, where S1^−α diverges) and carries the interval.
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if lines[0] != "step,loss,lo,hi" || len(lines) != 1+5 || !strings.HasPrefix(lines[1], "100,") || !strings.HasPrefix(lines[5], "1999,") {
		t.Fatalf("curve output:\n%s", r.stdout)
	}
	if strings.Contains(r.stderr, "note:") {
		t.Errorf("a curve within the fitted steps gets a note: %s", r.stderr)
	}
	// Twice as long as the fit runs: a long extrapolation, said on stderr
	// by predict and plan alike, not by predict within 1.5x (held.csv).
	r = runLrkit("predict", "--law", law, "--schedule", "wsd(peak=3e-4, steps=6000, warmup=100, decay=0.2)", "--steps", "6000", "--every", "1000")
	want := "note: --schedule: the prediction reaches step 5999, 2.0x the steps the law was fitted on (to step 2999): a long extrapolation in time; on runs 2-3.3x longer"
	if r.code != 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "note") {
		t.Errorf("long curve: exit %d, stderr %q, want it to contain %q", r.code, r.stderr, want)
	}
	// --horizon-bias: the same curve, equal up to the fitted steps and
	// multiplied by 1 + k·ln((t+1)/(To+1)) after them; the note says so.
	rb := runLrkit("predict", "--law", law, "--schedule", "wsd(peak=3e-4, steps=6000, warmup=100, decay=0.2)", "--steps", "6000", "--every", "1000", "--horizon-bias")
	if rb.code != 0 || !strings.Contains(rb.stderr, "corrected past step 2999 for the bias measured on held-out runs") || strings.Contains(rb.stderr, "measured on the default recipe's multi-power law fits;") {
		t.Errorf("--horizon-bias: exit %d, stderr %q", rb.code, rb.stderr)
	}
	plain, corr := strings.Split(strings.TrimSpace(r.stdout), "\n"), strings.Split(strings.TrimSpace(rb.stdout), "\n")
	if len(plain) != len(corr) || len(plain) < 3 {
		t.Fatalf("--horizon-bias: %d rows against %d", len(corr), len(plain))
	}
	for i := 1; i < len(plain); i++ {
		var step int
		var a, b [3]float64
		fmt.Sscanf(strings.ReplaceAll(plain[i], ",", " "), "%d %g %g %g", &step, &a[0], &a[1], &a[2])
		fmt.Sscanf(strings.ReplaceAll(corr[i], ",", " "), "%d %g %g %g", &step, &b[0], &b[1], &b[2])
		want := 1.0
		if step > 2999 {
			want = 1 + losscurve.MeasuredHorizonBias*math.Log(float64(step+1)/3000)
		}
		for j := range a {
			if math.Abs(b[j]/a[j]-want) > 1e-5 {
				t.Errorf("--horizon-bias step %d: column %d %g against %g, want a factor %g", step, j, b[j], a[j], want)
			}
		}
	}
	if r := runLrkit("predict", "--law", law, held, "--horizon-bias"); r.code != 0 {
		t.Errorf("--horizon-bias with a log: exit %d: %s", r.code, r.stderr)
	}
	bare := filepath.Join(dir, "bare.json")
	if err := os.WriteFile(bare, []byte(`{"law":"power","params":{"L0":2,"A":1,"alpha":0.5}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	checkBadInput(t, runLrkit("predict", "--law", bare, "--schedule", "constant(peak=1e-3)", "--steps", "100", "--horizon-bias"), "--horizon-bias: "+bare+" does not record the steps it was fitted on")
	if r = runLrkit("plan", "--law", law, "--steps", "9000"); r.code != 0 || !strings.Contains(r.stderr, "note: --steps: the prediction reaches step 8999, 3.0x") {
		t.Errorf("long plan: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = runLrkit("predict", "--law", law, held); strings.Contains(r.stderr, "note:") {
		t.Errorf("held.csv, 1.33x the fitted steps, gets a note: %s", r.stderr)
	}
	for _, l := range lines[1:] {
		var step int
		var loss, lo, hi float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(l, ",", " "), "%d %g %g %g", &step, &loss, &lo, &hi); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		if !(lo < loss && loss < hi) || loss > 10 || loss < 2 {
			t.Errorf("row %q: want lo < loss < hi and a loss near the logged ones", l)
		}
	}

	// The peak defaults to the one the law was fitted at (3e-4), not a
	// constant; the table's columns line up.
	r = runLrkit("plan", "--law", law, "--steps", "4000", "--plot", filepath.Join(dir, "plan.svg"))
	if r.code != 0 {
		t.Fatalf("plan: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"peak 0.0003, floor 3e-05, warmup 99, 4000 steps", "optimum: table(at=[0, 99, ", "nearest named schedule: wsd(", "cosine", "rex", "wsd 0.2 linear"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.stdout)
		}
	}
	checkAligned(t, r.stdout, "schedule")
	r = runLrkit("plan", "--law", law, "--steps", "4000", "--warmup", "100", "--peak", "2e-4", "--floor", "1e-5")
	if r.code != 0 || !strings.Contains(r.stdout, "peak 0.0002, floor 1e-05, warmup 100") {
		t.Errorf("plan with explicit peak: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// checkAligned checks that the table starting at the line beginning with
// header has its columns at the same offsets in every row: each column's
// first character sits after at least two spaces, at the header's offset.
func checkAligned(t *testing.T, out, header string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, header) {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("no table with header %q in\n%s", header, out)
	}
	cols := func(l string) []int {
		var at []int
		for i := 1; i < len(l); i++ {
			if l[i] != ' ' && i >= 2 && l[i-1] == ' ' && l[i-2] == ' ' {
				at = append(at, i)
			}
		}
		return at
	}
	want := cols(lines[start])
	for _, l := range lines[start+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		got := cols(l)
		for j := 0; j < len(want) && j < len(got); j++ {
			if got[j] != want[j] {
				t.Errorf("column %d of %q starts at %d, header's at %d", j, l, got[j], want[j])
				break
			}
		}
	}
}

func TestFitBadLogs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good strings.Builder
	good.WriteString("step,lr,loss\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&good, "%d,0.001,%g\n", i*10, 5-0.1*float64(i))
	}
	for _, tc := range []struct {
		name, text, want string
		args             []string
	}{
		{"noloss.csv", "step,lr\n1,0.1\n2,0.1\n", "noloss.csv: no loss values", nil},
		{"nolr.csv", "step,loss\n1,3\n2,2.9\n3,2.8\n4,2.7\n5,2.6\n6,2.5\n", "nolr.csv: no lr values", nil},
		{"nan.csv", strings.Replace(good.String(), "40,0.001,4.6", "40,0.001,NaN", 1), "nan.csv:5: loss is NaN at step 40", nil},
		{"neg.csv", strings.Replace(good.String(), "40,0.001,4.6", "40,0.001,-4.6", 1), "neg.csv:5: loss is -4.6 at step 40", nil},
		{"order.csv", strings.Replace(good.String(), "40,", "20,", 1), "order.csv:5", nil},
		{"few.csv", "step,lr,loss\n1,0.1,3\n2,0.1,2.9\n", "few.csv: 2 loss values", nil},
		{"good.csv", good.String(), "unknown law \"nope\"", []string{"--law", "nope"}},
		{"good2.csv", good.String(), "--schedule", []string{"--law", "power", "--schedule", "nonsense("}},
		{"good3.csv", good.String(), "--tags", []string{"--law", "power", "--tags", "bogus"}},
		{"good4.csv", good.String(), `unknown recipe "nope"`, []string{"--law", "power", "--recipe", "nope"}},
		{"good5.csv", good.String(), `the released recipe fits only the mpl law, not "power"`, []string{"--law", "power", "--recipe", "released"}},
		// The hostile-input review's 7-row log ending at step 2e9 (it took
		// all 24 GB before the limit), and the limit lowered by the flag.
		{"long.csv", "step,lr,loss\n0,0.1,5\n10,0.1,4.9\n20,0.1,4.8\n30,0.1,4.7\n40,0.1,4.6\n50,0.1,4.5\n2000000000,0.1,4\n", "long.csv:8: step 2000000000 is past the limit of 10000000 steps (raise it with --max-steps)", nil},
		{"good6.csv", good.String(), "good6.csv:6: step 50 is past the limit of 50 steps", []string{"--law", "power", "--max-steps", "50"}},
	} {
		p := write(tc.name, tc.text)
		args := tc.args
		if args == nil {
			args = []string{"--law", "power"}
		}
		r := runLrkit(append([]string{"fit", p}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want exit 2 and %q", tc.name, r.code, r.stderr, tc.want)
		}
	}
	r := runLrkit("fit", write("ok.csv", good.String()))
	if r.code != 2 || !strings.Contains(r.stderr, "--law is required") {
		t.Errorf("missing --law: exit %d %q", r.code, r.stderr)
	}
	r = runLrkit("predict", "--law", filepath.Join(dir, "missing.json"), write("ok2.csv", good.String()))
	if r.code != 2 || !strings.Contains(r.stderr, "missing.json") {
		t.Errorf("missing law file: exit %d %q", r.code, r.stderr)
	}
	r = runLrkit("plan", "--law", write("bad.json", `{"law":"power","params":{"L0":1,"A":1,"alpha":1}}`), "--steps", "100", "--peak", "1")
	if r.code != 2 || !strings.Contains(r.stderr, "ignores the schedule") {
		t.Errorf("plan with power law: exit %d %q", r.code, r.stderr)
	}
	// A law without a recorded peak needs --peak: no silent default.
	r = runLrkit("plan", "--law", write("bare.json", `{"law":"mpl","params":{"L0":2.37,"A":0.65,"alpha":0.43,"B":523,"C":2,"beta":0.59,"gamma":0.63}}`), "--steps", "1000")
	if r.code != 2 || !strings.Contains(r.stderr, "--peak is required: ") || !strings.Contains(r.stderr, "bare.json does not record the peak") {
		t.Errorf("plan without a peak: exit %d %q", r.code, r.stderr)
	}
	r = runLrkit("plan", "--law", write("bare2.json", `{"law":"mpl","params":{"L0":2.37,"A":0.65,"alpha":0.43,"B":523,"C":2,"beta":0.59,"gamma":0.63}}`), "--steps", "2000000000", "--peak", "1")
	if r.code != 2 || !strings.Contains(r.stderr, "steps = 2000000000 is past the limit of 10000000 steps") {
		t.Errorf("plan past the step limit: exit %d %q", r.code, r.stderr)
	}
	r = runLrkit("predict", "--law", filepath.Join(dir, "bare2.json"), "--schedule", "constant(peak=1)", "--steps", "2000000000")
	if r.code != 2 || !strings.Contains(r.stderr, "--steps 2000000000 is past the limit of 10000000 steps") {
		t.Errorf("predict past the step limit: exit %d %q", r.code, r.stderr)
	}
	// One --schedule per log.
	r = runLrkit("fit", "--law", "power", write("a.csv", good.String()), write("b.csv", good.String()), "--schedule", "constant(peak=0.001)")
	if r.code != 2 || !strings.Contains(r.stderr, "1 --schedule specs for 2 logs: give one spec per log") {
		t.Errorf("one schedule for two logs: exit %d %q", r.code, r.stderr)
	}
}

// TestFitPriorCandidates: --prior-candidates reports the weight chosen on
// the held-out last third of the fit runs with every candidate's score,
// and a bad candidate is refused with its position.
func TestFitPriorCandidates(t *testing.T) {
	constant := lcWriteLog(t, "constant.csv", lcSchedule(3000, 0), 20)
	wsd := lcWriteLog(t, "wsd.csv", lcSchedule(3000, 600), 20)
	r := runLrkit("fit", "--law", "mpl", "--bootstrap", "-1", "--prior-candidates", "0,1e-6", constant, wsd)
	if r.code != 0 {
		t.Fatalf("fit: exit %d: %s", r.code, r.stderr)
	}
	line := ""
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "prior weight ") {
			line = l
		}
	}
	if !strings.Contains(line, "chosen on the last third of each fit run") || !strings.Contains(line, "0: ") || !strings.Contains(line, "1e-06: ") {
		t.Errorf("no choice line with both candidates' scores:\n%s", r.stderr)
	}
	r = runLrkit("fit", "--law", "mpl", "--prior-candidates", "0,-1", constant, wsd)
	if r.code == 0 || !strings.Contains(r.stderr, "prior candidate 1 is -1, want a finite weight >= 0") {
		t.Errorf("negative candidate: exit %d: %s", r.code, r.stderr)
	}
	r = runLrkit("fit", "--law", "power", "--prior-candidates", "0", constant)
	if r.code == 0 || !strings.Contains(r.stderr, `prior candidates apply to the mpl law only, not "power"`) {
		t.Errorf("power law: exit %d: %s", r.code, r.stderr)
	}
}

// TestFitPriorCentre: --prior-centre reaches the fit (another centre gives
// another law) and bad centres, laws and recipes are refused by name.
func TestFitPriorCentre(t *testing.T) {
	constant := lcWriteLog(t, "constant.csv", lcSchedule(3000, 0), 20)
	wsd := lcWriteLog(t, "wsd.csv", lcSchedule(3000, 600), 20)
	def := runLrkit("fit", "--law", "mpl", "--bootstrap", "-1", constant, wsd)
	moved := runLrkit("fit", "--law", "mpl", "--bootstrap", "-1", "--prior-centre", "4,0.35,0.9", constant, wsd)
	if def.code != 0 || moved.code != 0 {
		t.Fatalf("fit: exit %d, %d: %s%s", def.code, moved.code, def.stderr, moved.stderr)
	}
	if def.stdout == moved.stdout {
		t.Errorf("the same law with the prior centred on 4,0.35,0.9 as on the default:\n%s", def.stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--law", "mpl", "--prior-centre", "1,0.5"}, "prior centre: 2 values, want 3 (C, beta, gamma)"},
		{[]string{"--law", "mpl", "--prior-centre", "0,0.5,0.5"}, "C = 0, want a positive finite value"},
		{[]string{"--law", "power", "--prior-centre", "1,0.5,0.5"}, `a prior centre applies to the mpl law only, not "power"`},
		{[]string{"--law", "mpl", "--recipe", "converged", "--prior-centre", "1,0.5,0.5"}, "--prior-centre needs the lrkit recipe's prior; --recipe converged fits without one"},
	} {
		r := runLrkit(append(append([]string{"fit", "--bootstrap", "-1"}, tc.args...), constant, wsd)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
