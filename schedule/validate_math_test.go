package schedule

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad parameters are rejected with a *ParamError naming the parameter and
// saying what is wrong.
func TestValidateRejects(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	wsd := WSD{Peak: 1, Steps: 1000, Decay: Fraction(0.1)}
	with := func(f func(*WSD)) WSD { w := wsd; f(&w); return w }
	cases := []struct {
		name  string
		s     Schedule
		param string
		msg   string
	}{
		{"constant NaN", Constant{Peak: nan}, "peak", "finite"},
		{"constant negative", Constant{Peak: -1}, "peak", "negative"},
		{"linear zero steps", Linear{Peak: 1}, "steps", "positive"},
		{"linear negative steps", Linear{Peak: 1, Steps: -5}, "steps", "got -5"},
		{"linear floor above peak", Linear{Peak: 1, Floor: 2, Steps: 10}, "floor", "must not exceed peak (floor 2 > peak 1)"},
		{"linear inf peak", Linear{Peak: inf, Steps: 10}, "peak", "finite"},
		{"polynomial power 0", Polynomial{Peak: 1, Steps: 10}, "power", "greater than 0"},
		{"exponential no gamma", Exponential{Peak: 1}, "gamma", "greater than 0"},
		{"exponential growing", Exponential{Peak: 1, Gamma: 1.01}, "gamma", "use exp_decay(rate=1.01, every=1, end=MAX)"},
		{"exp_decay growing without end", ExpDecay{Peak: 1, Rate: 2, Every: 10}, "end", "upper clip"},
		{"step growing", Step{Peak: 1, Every: 10, Gamma: 2}, "gamma", "must not exceed 1"},
		{"multistep growing", MultiStep{Peak: 1, Milestones: []int64{5}, Gamma: 2}, "gamma", "must not exceed 1"},
		{"absurd peak", Cosine{Peak: 1e31, Steps: 10}, "peak", "at most 1e+30"},
		{"scale absurd", Scale{Base: Constant{Peak: 1}, By: 1e40}, "by", "at most 1e+30"},
		{"geometric floor 0", Geometric{Peak: 1, Steps: 10}, "floor", "greater than 0"},
		{"exp_decay every 0", ExpDecay{Peak: 1, Rate: 0.5}, "every", "positive"},
		{"step every 0", Step{Peak: 1, Gamma: 0.1}, "every", "positive"},
		{"multistep empty", MultiStep{Peak: 1, Gamma: 0.1}, "milestones", "at least one"},
		{"multistep unsorted", MultiStep{Peak: 1, Milestones: []int64{60, 30}, Gamma: 0.1}, "milestones", "increasing order"},
		{"invsqrt negative warmup", InvSqrt{Peak: 1, Warmup: -1}, "warmup", "negative"},
		{"cosine bad parity", Cosine{Peak: 1, Steps: 10, Parity: "keras"}, "parity", "one of none, pytorch, hf, optax"},
		{"sgdr mult 0", SGDR{Peak: 1, Period: 10, Decay: 1}, "mult", ">= 1"},
		{"sgdr no period", SGDR{Peak: 1, Mult: 1, Decay: 1}, "period", "positive"},
		{"sgdr decay above 1", SGDR{Peak: 1, Period: 10, Mult: 1, Decay: 2}, "decay", "exceed 1"},
		{"cyclic high below low", Cyclic{Low: 1, High: 0.1, Up: 10, Gamma: 1}, "high", "swap"},
		{"cyclic bad mode", Cyclic{Low: 0.1, High: 1, Up: 10, Mode: "square", Gamma: 1}, "mode", "triangular"},
		{"onecycle pct 1", OneCycle{Peak: 1, Steps: 100, Pct: 1, Div: 25, FinalDiv: 1e4, Phases: 2}, "pct", "between 0 and 1"},
		{"onecycle phases 4", OneCycle{Peak: 1, Steps: 100, Pct: 0.3, Div: 25, FinalDiv: 1e4, Phases: 4}, "phases", "2 or 3"},
		{"onecycle too short", OneCycle{Peak: 1, Steps: 3, Pct: 0.3, Div: 25, FinalDiv: 1e4, Phases: 2}, "steps", "too small"},
		{"onecycle optax linear 2 phases", OneCycle{Peak: 1, Steps: 100, Pct: 0.3, Shape: "linear", Div: 25, FinalDiv: 1e4, Phases: 2, Parity: ParityOptax}, "phases", "phases=3"},
		{"rex a 1", Rex{Peak: 1, Steps: 10, A: 1, Every: 1}, "a", "[0, 1)"},
		{"rex every 0", Rex{Peak: 1, Steps: 10, A: 0.5}, "every", "at least 1"},
		{"uba phi 0", UBA{Peak: 1, Steps: 10}, "phi", "greater than 0"},
		{"uba phi negative", UBA{Peak: 1, Steps: 10, Phi: -1}, "phi", "greater than 0"},
		{"uba phi NaN", UBA{Peak: 1, Steps: 10, Phi: nan}, "phi", "finite"},
		{"wsd too long", with(func(w *WSD) { w.Warmup = Steps(500); w.Decay = Steps(600) }), "decay", "warmup 500 + decay 600 is longer than steps 1000"},
		{"wsd bad fraction", with(func(w *WSD) { w.Decay = Fraction(1.5) }), "decay", "fraction in [0, 1]"},
		{"wsd negative warmup", with(func(w *WSD) { w.Warmup = Steps(-3) }), "warmup", "negative"},
		{"wsd exp without halflife", with(func(w *WSD) { w.Shape = "exp" }), "halflife", "is needed"},
		{"wsd halflife with linear", with(func(w *WSD) { w.Halflife = Steps(5) }), "halflife", "only to shape=exp"},
		{"wsd geometric floor 0", with(func(w *WSD) { w.Shape = "geometric" }), "floor", "greater than 0"},
		{"wsd hf with warmup_start", with(func(w *WSD) { w.Parity = ParityHF; w.WarmupStart = 0.01 }), "warmup_start", "parity=hf"},
		{"wsds unsorted", WSDS{Peak: 1, Budgets: []int64{100, 50}, Decay: Fraction(0.1)}, "budgets[1]", "increasing"},
		{"wsds overlapping decay", WSDS{Peak: 1, Budgets: []int64{100, 110}, Decay: Steps(20)}, "decay", "overlaps"},
		{"wsdc level above peak", WSDC{Peak: 1, Level: 2, Stable: Steps(1), Decay: Steps(1)}, "level", "exceed peak"},
		{"wsdc fraction without steps", WSDC{Peak: 1, Level: 0.1, Stable: Fraction(0.5), Decay: Steps(1)}, "stable", "steps is not set"},
		{"cosine_power p below 1", CosinePower{Peak: 1, Steps: 10, P: 0.5}, "p", ">= 1"},
		{"damped_cosine cycles 0", DampedCosine{Peak: 1, Steps: 10, Damping: 3}, "cycles", "at least 1"},
		{"infinite no cooldown", Infinite{Peak: 1, Level: 0.1, Alpha: 10}, "cooldown", "at least one step"},
		{"infinite anneal without steps", Infinite{Peak: 1, Level: 0.1, Cooldown: Steps(10), Anneal: Steps(10), Alpha: 10}, "anneal", "needs steps"},
		{"infinite anneal to 0", Infinite{Peak: 1, Level: 0.1, Steps: 100, Cooldown: Steps(10), Anneal: Steps(10), Alpha: 10}, "floor", "greater than 0"},
		{"infinite overlap", Infinite{Peak: 1, Level: 0.1, Floor: 0.01, Steps: 100, Warmup: Steps(50), Cooldown: Steps(40), Anneal: Steps(20), Alpha: 10}, "anneal", "overlaps"},
		{"power b positive", Power{Peak: 0.02, A: 4.6, B: 0.5, Batch: 1, TokensPerStep: 1}, "b", "negative"},
		{"power no batch", Power{Peak: 0.02, A: 4.6, B: -0.51, TokensPerStep: 1}, "batch", "greater than 0"},
		{"warmup nil base", Warmup{Steps: 10}, "base", "missing"},
		{"exp warmup no steps", Warmup{Base: Constant{Peak: 1}, Shape: "exp"}, "steps", "positive"},
		{"warmup untuned with steps", Warmup{Base: Constant{Peak: 1}, Steps: 5, Shape: "untuned_exp", Beta2: 0.999}, "steps", "remove steps"},
		{"warmup radam beta2", Warmup{Base: Constant{Peak: 1}, Shape: "radam", Beta2: 0.5}, "beta2", "(0.6, 1)"},
		{"warmup bad base", Warmup{Base: Linear{Peak: 1}, Steps: 10}, "steps", "positive"},
		{"slow_start ramp too long", SlowStartFastDecay{Peak: 1, Steps: 10, Ramp: Steps(10)}, "ramp", "end before steps"},
		{"defazio no steps", Defazio{Peak: 1}, "steps", "positive"},
		{"table mismatched", Table{At: []int64{0, 1}, Rates: []float64{1}, Scale: 1}, "lr", "one rate per step"},
		{"table decreasing", Table{At: []int64{0, 10, 5}, Rates: []float64{1, 1, 1}, Scale: 1}, "at[2]", "must not decrease (5 after 10)"},
		{"table negative rate", Table{At: []int64{0, 10}, Rates: []float64{1, -1}, Scale: 1}, "lr[1]", "finite number in [0, 1e+30]"},
		{"table both", Table{At: []int64{0}, Rates: []float64{1}, File: "x.csv", Scale: 1}, "file", "cannot be combined"},
		{"join at count", Join{Parts: []Schedule{Constant{Peak: 1}, Constant{Peak: 2}}}, "at", "must give 1 switch steps for 2 parts"},
		{"join bad part", Join{Parts: []Schedule{Constant{Peak: 1}, Linear{Peak: 1}}, At: []int64{5}}, "steps", "positive"},
		{"cycle period 0", Cycle{Base: Constant{Peak: 1}}, "period", "positive"},
		{"restarts mult 0", Restarts{Base: Constant{Peak: 1}, Period: 10, Decay: 1}, "mult", ">= 1"},
		{"clamp min above max", Clamp{Base: Constant{Peak: 1}, Min: 2, Max: 1}, "min", "exceed max"},
		{"scale negative", Scale{Base: Constant{Peak: 1}, By: -1}, "by", "negative"},
		{"floor NaN", Floor{Base: Constant{Peak: 1}, Min: nan}, "min", "finite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.s)
			if err == nil {
				t.Fatalf("New accepted %#v", c.s)
			}
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %q is not a *ParamError", err)
			}
			if pe.Param != c.param || !strings.Contains(pe.Msg, c.msg) {
				t.Errorf("got %s: %s; want %s: ...%s...", pe.Param, pe.Msg, c.param, c.msg)
			}
		})
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTableFile(t *testing.T) {
	p := writeFile(t, "lr.csv", "step,lr\n0,0\n# ramp ends\n100,1\n1000, 0.1\n")
	s := mustNew(t, Table{File: p, Scale: 3e-4})
	for _, c := range []struct {
		step int64
		want float64
	}{{-5, 0}, {0, 0}, {50, 1.5e-4}, {100, 3e-4}, {550, 1.65e-4}, {1000, 3e-5}, {99999, 3e-5}} {
		if got := s.LR(c.step); !closeTo(got, c.want, 1e-12) {
			t.Errorf("LR(%d) = %g, want %g", c.step, got, c.want)
		}
	}
	// The same points inline give the same schedule.
	in := mustNew(t, Table{At: []int64{0, 100, 1000}, Rates: []float64{0, 1, 0.1}, Scale: 3e-4})
	for st := int64(0); st < 1200; st++ {
		if in.LR(st) != s.LR(st) {
			t.Fatalf("inline and file tables differ at %d: %g vs %g", st, in.LR(st), s.LR(st))
		}
	}
	// An unprepared file table has no points yet.
	if got := (Table{File: p, Scale: 1}).LR(100); got != 0 {
		t.Errorf("unprepared file table LR = %g, want 0", got)
	}
}

func TestTableFileErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"no header", "0,1\n1,2\n", `bad.csv:1: header must be "step,lr"`},
		{"bad step", "step,lr\n0,1\nten,2\n", `bad.csv:3: step "ten" is not an integer`},
		{"fractional step", "step,lr\n0,1\n1.5,2\n", `bad.csv:3: step "1.5" is not an integer`},
		{"bad lr", "step,lr\n0,1\n5,abc\n", `bad.csv:3: lr "abc" is not a number`},
		{"NaN lr", "step,lr\n0,1\n5,NaN\n", `bad.csv:3: lr must be a finite number in [0, 1e+30]`},
		{"three columns", "step,lr\n0,1,2\n", `bad.csv:2:`},
		{"decreasing", "step,lr\n0,1\n10,1\n5,1\n", `bad.csv:4: step must not decrease (5 after 10)`},
		{"empty", "step,lr\n", `no points after the header`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "bad.csv", c.text)
			_, err := New(Table{File: p, Scale: 1})
			if err == nil {
				t.Fatal("accepted")
			}
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param != "file" {
				t.Fatalf("error %v is not a ParamError on file", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
	_, err := New(Table{File: filepath.Join(t.TempDir(), "missing.csv"), Scale: 1})
	if err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: %v", err)
	}
}

// Composites prepare their children: a file table inside a join works
// after New.
func TestNewPreparesChildren(t *testing.T) {
	p := writeFile(t, "lr.csv", "step,lr\n0,1\n10,0\n")
	s := mustNew(t, Join{Parts: []Schedule{Warmup{Base: Table{File: p, Scale: 1}, Steps: 10, Prefix: true}}, At: []int64{}})
	if got := s.LR(15); !closeTo(got, 0.5, 1e-12) {
		t.Errorf("LR(15) = %g, want 0.5", got)
	}
}

// A linear warmup of zero steps is the identity: the base from step 0.
func TestZeroLinearWarmupIsIdentity(t *testing.T) {
	base := Cosine{Peak: 0.1, Steps: 100}
	s, err := New(Warmup{Base: base})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []int64{0, 1, 50, 99, 100, 150} {
		if s.LR(step) != base.LR(step) {
			t.Errorf("LR(%d) = %v, want the base's %v", step, s.LR(step), base.LR(step))
		}
	}
}
