package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeTextFile writes text to name in dir and returns its path.
func writeTextFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// quickLaw fits one mpl law (no bootstrap refits, for speed) for the
// predict and plan cases, once per test process.
var (
	quickLawOnce sync.Once
	quickLawPath string
	quickLawErr  string
)

func quickLaw(t *testing.T) string {
	t.Helper()
	quickLawOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lrkit-quick-law-")
		if err != nil {
			quickLawErr = err.Error()
			return
		}
		quickLawPath = filepath.Join(dir, "law.json")
		r := runLrkit("fit", "--law", "mpl", "--bootstrap", "-1", "../../examples/curves/constant-60m.csv", "../../examples/curves/cosine-60m.csv", "-o", quickLawPath)
		if r.code != 0 {
			quickLawErr = r.stderr
		}
	})
	if quickLawErr != "" {
		t.Fatalf("fit: %s", quickLawErr)
	}
	return quickLawPath
}

// TestBadInputExitsTwo checks bad input that lrkit used to accept, turn
// into a failure with status 1, or answer with something meaningless:
// each must now exit 2 with one line on stderr naming what was wrong.
func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	grads := writeGradLog(t, 50, func(int) float64 { return 1 })
	nanGrads := writeGradLog(t, 50, func(i int) float64 {
		if i == 20 {
			return math.NaN()
		}
		return 1
	})
	hdr := writeTextFile(t, dir, "hdr.csv", "step,lr,loss\n")
	good := writeTextFile(t, dir, "good.csv", "step,lr,loss\n0,0.1,3\n1,0.1,2.5\n2,0.1,2\n")
	allNaN := writeTextFile(t, dir, "allnan.csv", "step,lr,loss\n0,0.1,NaN\n1,0.1,NaN\n")
	wall := writeTextFile(t, dir, "wall.csv", "step,wall_seconds\n0,1\n1,2\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		// Argument counts and unknown commands were exit status 1.
		{"no log for refine", []string{"refine"}, "accepts 1 arg(s), received 0"},
		{"no log for fit", []string{"fit", "--law", "mpl"}, "requires at least 1 arg(s)"},
		{"unknown command", []string{"nosuch"}, `unknown command "nosuch" for "lrkit"`},
		{"misspelt command", []string{"valeus", "cosine(steps=10)"}, `unknown command "valeus" for "lrkit" (did you mean "values"?)`},
		{"argument to schedules", []string{"schedules", "extra"}, `unknown command "extra" for "lrkit schedules"`},
		{"unknown fed command", []string{"fed", "rnu", "study.yaml"}, `unknown command "rnu" for "lrkit fed"`},
		{"fed study missing", []string{"fed", "run", filepath.Join(dir, "none.yaml")}, "none.yaml: no such file or directory"},
		{"fed study a directory", []string{"fed", "run", dir}, "not a regular file"},
		// refine wrote +Inf rates; --max-steps 0 meant the default.
		{"refine infinite peak", []string{"refine", grads, "--peak", "Inf"}, "--peak must be a finite number > 0, got +Inf"},
		{"refine max-steps 0", []string{"refine", grads, "--max-steps", "0"}, "--max-steps must be a positive number of steps, got 0"},
		// A NaN norm was reported at the step before it, without its line.
		{"refine NaN norm", []string{"refine", nanGrads}, nanGrads + ":22: grad_norm at step 20 is NaN"},
		// bench ran every trial to a failure and reported a verdict.
		{"bench negative limit", []string{"bench", "--quick", "--limit", "-3"}, "--limit must not be negative, got -3"},
		{"bench workers", []string{"bench", "--quick", "--workers", "-5"}, "--workers must be -1 (the default), 0 or more, got -5"},
		{"worker negative limit", []string{"worker", "--nats", "nats://127.0.0.1:1", "--limit", "-1"}, "--limit must not be negative, got -1"},
		// plot left a header-only log out without a word.
		{"plot header-only log", []string{"plot", good, hdr}, "hdr.csv: the log holds no records"},
		{"plot log without finite values", []string{"plot", good, allNaN, "--fields", "loss"}, "allnan.csv: no finite values of loss to draw"},
		{"plot log without the fields", []string{"plot", good, wall}, "wall.csv: no finite values of loss, lr to draw"},
		// fit read 0 and negative flags as defaults.
		{"fit bootstrap", []string{"fit", "--law", "mpl", good, "--bootstrap", "-2"}, "--bootstrap must be -1 (none), 0 (the recipe's default) or a number of refits, got -2"},
		{"fit max-steps", []string{"fit", "--law", "mpl", good, "--max-steps", "0"}, "--max-steps must be a positive number of steps, got 0"},
		{"fit unknown law before reading", []string{"fit", "--law", "xyz", "../../examples/curves/constant-60m.csv"}, `--law: unknown law "xyz" (want one of mpl, annealing, power)`},
		{"scaling holdout", []string{"scaling", "--points", writeScalingPoints(t), "--holdout", "-2"}, "--holdout -2: want a number of sizes, or -1 for none"},
		{"fit JSON schedule checked", []string{"fit", "--law", "mpl", good, "--schedule", `{"kind":"cosine","stesp":3}`}, `--schedule 1 (for ` + good + `): $.stesp: unknown parameter "stesp" for cosine`},
		// report created an empty database for a mistyped --db.
		{"report missing db", []string{"report", "quick", "--db", filepath.Join(dir, "typo.db")}, "--db: stat " + filepath.Join(dir, "typo.db") + ": no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, runLrkit(tc.args...), tc.want)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); !os.IsNotExist(err) {
		t.Errorf("report created the database it was given: %v", err)
	}
}

// TestPredictPlanBadInput: flags that predict and plan ignored or read as
// defaults, and a curve that ended before the law's first step.
func TestPredictPlanBadInput(t *testing.T) {
	law := quickLaw(t)
	wsd := "../../examples/curves/wsd-60m.csv"
	cos := "cosine(peak=1e-3, steps=1000)"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"json curve", []string{"predict", "--law", law, "--schedule", cos, "--steps", "1000", "--format", "json"}, "--format json is for scoring run logs; a predicted curve prints as step,loss,lo,hi CSV"},
		{"every with logs", []string{"predict", "--law", law, wsd, "--every", "5"}, "--every goes with --schedule and no logs"},
		{"curve before the law", []string{"predict", "--law", law, "--schedule", cos, "--steps", "100"}, "--steps 100 ends before step 400, where the law's prediction starts"},
		{"predict max-steps", []string{"predict", "--law", law, wsd, "--max-steps", "0"}, "--max-steps must be a positive number of steps, got 0"},
		{"plan without steps", []string{"plan", "--law", law}, "--steps N is required: the step budget to plan for"},
		{"plan knots", []string{"plan", "--law", law, "--steps", "20000", "--knots", "0"}, "--knots must be at least 2, got 0"},
		{"plan max-steps", []string{"plan", "--law", law, "--steps", "20000", "--max-steps", "-1"}, "--max-steps must be a positive number of steps, got -1"},
		// The long-horizon note came before the error: two lines.
		{"plan past the limit", []string{"plan", "--law", law, "--steps", "200000000"}, "steps = 200000000 is past the limit of 10000000 steps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, runLrkit(tc.args...), tc.want)
		})
	}
	// The JSON form of a schedule is a SPEC here too.
	r := runLrkit("predict", "--law", law, "--schedule", `{"kind":"cosine","peak":0.001,"steps":1000}`, "--steps", "1000", "--every", "300")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "step,loss,lo,hi\n400,") {
		t.Errorf("predict with a JSON spec: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestScalingHoldoutZero: --holdout 0 held out one size (the package's
// default for 0); it holds out none, as -1 does.
func TestScalingHoldoutZero(t *testing.T) {
	o := scalingOptions{points: writeScalingPoints(t), form: "chinchilla", boot: 1, extrapolate: 1}
	for _, c := range []struct{ flag, want int }{{0, -1}, {-1, -1}, {2, 2}} {
		o.holdout = c.flag
		_, so, err := o.load()
		if err != nil || so.HoldOut != c.want {
			t.Errorf("--holdout %d: HoldOut %d, err %v; want %d", c.flag, so.HoldOut, err, c.want)
		}
	}
}

// TestPlotDrawsAroundNaN: a diverged run's NaN and infinite values are
// left out of the chart with a warning naming the file and line; the
// plot package's error named neither and came after a panel title.
func TestPlotDrawsAroundNaN(t *testing.T) {
	dir := t.TempDir()
	nan := writeTextFile(t, dir, "nan.csv", "step,lr,loss\n0,0.1,3\n1,0.1,NaN\n2,0.1,2\n")
	for _, args := range [][]string{
		{"plot", nan, "--width", "30", "--height", "6"},
		{"plot", nan, "--smooth", "0.5", "-o", filepath.Join(dir, "nan.svg")},
	} {
		r := runLrkit(args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, want := range []string{"lrkit: warning: " + nan + ":3: loss is NaN at step 1\n", "lrkit: warning: " + nan + ": 1 NaN or infinite values not drawn\n"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr %q lacks %q", args, r.stderr, want)
			}
		}
	}
}

// TestParseControllerJSON: the JSON form of a controller spec is read as
// the text form is.
func TestParseControllerJSON(t *testing.T) {
	c, err := parseController(`{"kind":"plateau","base":{"kind":"constant","peak":0.5}}`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := parseController("plateau(base=constant(peak=0.5))")
	if c.String() != want.String() {
		t.Errorf("JSON controller %s, want %s", c, want)
	}
}

// TestLawFileCompletion: predict and plan read --law from a JSON file;
// completing it with the law kinds (and no files) was fit's completion.
func TestLawFileCompletion(t *testing.T) {
	for _, cmd := range []string{"predict", "plan"} {
		r := runLrkit("__complete", cmd, "--law", "")
		if r.code != 0 || r.stdout != "json\n:8\n" {
			t.Errorf("%s --law: exit %d, %q, want json files (directive 8)", cmd, r.code, r.stdout)
		}
	}
	if r := runLrkit("__complete", "fit", "--law", ""); !strings.HasPrefix(r.stdout, "mpl\n") {
		t.Errorf("fit --law: %q, want the law kinds", r.stdout)
	}
}
