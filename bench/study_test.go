package bench

import (
	"math"
	"sort"
	"strings"
	"testing"
)

const goodStudy = `name: tiny
workloads: [logreg-iris, mnist-mlp]
budgets: [0.5, 1.0]
seeds: [0, 1]
tuning:
  mode: external
  trials: 3
  space:
    peak: {min: 1e-3, max: 1e-1, scale: log}
    warmup: {min: 0, max: 0.1}
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${decay_steps}), steps=${warmup})
  - name: linear
    spec: warmup(linear(peak=${peak}, steps=${decay_steps}), steps=${warmup})
`

func TestParseStudy(t *testing.T) {
	s, err := ParseStudy("tiny.yaml", []byte(goodStudy))
	if err != nil {
		t.Fatal(err)
	}
	if s.Baseline != "cosine" || s.Eval.Count != 20 || s.Tuning.Trials != 3 || len(s.Schedules) != 2 {
		t.Errorf("parsed %+v", s)
	}
	info := map[string]WorkloadInfo{
		"logreg-iris": {StepHint: 200, DefaultPeak: 0.1, Target: 0.9, HigherIsBetter: true},
		"mnist-mlp":   {StepHint: 2000, DefaultPeak: 1e-3, Target: 0.97, HigherIsBetter: true},
	}
	trials, err := s.Trials(info)
	if err != nil {
		t.Fatal(err)
	}
	// 2 workloads × 2 budgets × 2 schedules × 2 seeds × 3 points.
	if len(trials) != 48 {
		t.Fatalf("%d trials, want 48", len(trials))
	}
	keys := map[string]bool{}
	for _, tr := range trials {
		if keys[tr.Key] {
			t.Errorf("duplicate key %s", tr.Key)
		}
		keys[tr.Key] = true
		if strings.Contains(tr.Spec, "${") {
			t.Errorf("%s: unexpanded spec %s", tr.Key, tr.Spec)
		}
		if p := tr.Params["peak"]; p < 1e-3 || p > 1e-1 {
			t.Errorf("%s: peak %v outside the space", tr.Key, p)
		}
	}
	// Schedules share search points: same params for the same workload,
	// budget, seed and point.
	a, b := trials[0], trials[6]
	if a.Entry == b.Entry || a.Workload != b.Workload || a.Budget != b.Budget || a.Seed != b.Seed || a.Point != b.Point {
		t.Fatalf("trial order changed: %s vs %s", a.Key, b.Key)
	}
	if a.Params["peak"] != b.Params["peak"] || a.Params["warmup"] != b.Params["warmup"] {
		t.Errorf("schedules got different search points: %v vs %v", a.Params, b.Params)
	}
	if tr := trials[0]; tr.Steps != 100 || tr.EvalEvery != 5 {
		t.Errorf("budget 0.5 of 200 steps: steps %d eval every %d", tr.Steps, tr.EvalEvery)
	}
}

func TestParseStudyErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "name: x\nworkload: [a]\n", "s.yaml:2: field workload not found in Study"},
		{"no workloads", "name: x\nschedules: [{name: c, spec: 'cosine(steps=1)'}]\n", "s.yaml:1: workloads: list at least one workload"},
		{"negative budget", "workloads: [a]\nbudgets: [0.5, -1]\nschedules: [{name: c, spec: 'cosine(steps=1)'}]\n", "s.yaml:2: budgets.1: budget -1 must be a positive fraction of the step hint"},
		{"bad type", "workloads: [a]\nbudgets: lots\n", "s.yaml:2: cannot unmarshal !!str `lots` into []float64"},
		{"unknown variable", "workloads: [a]\nschedules:\n  - name: c\n    spec: cosine(peak=${peek})\n", "s.yaml:4: schedules.0.spec: unknown variable ${peek} (known: decay_steps, peak, steps, warmup)"},
		{"log scale at zero", "workloads: [a]\nschedules: [{name: c, spec: x}]\ntuning:\n  space:\n    peak: {min: 0, max: 1, scale: log}\n", "s.yaml:5: tuning.space.peak.min: a log scale needs min > 0"},
		{"bad baseline", "workloads: [a]\nbaseline: cosin\nschedules: [{name: cosine, spec: x}]\n", `s.yaml:2: baseline: baseline "cosin" is not one of the schedules`},
		{"bad mode", "workloads: [a]\nschedules: [{name: c, spec: x}]\ntuning: {mode: grdi}\n", `s.yaml:3: tuning.mode: mode "grdi": want grid, external or self`},
		{"syntax", "workloads: [a\n", "s.yaml:1: did not find expected ',' or ']'"},
		{"empty", "", "s.yaml: empty study file"},
	}
	for _, tc := range tests {
		_, err := ParseStudy("s.yaml", []byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got  %v\n want %s", tc.name, err, tc.want)
		}
	}
}

func TestQuasirandom(t *testing.T) {
	pts := Quasirandom(64, 3, 7)
	again := Quasirandom(64, 3, 7)
	for i := range pts {
		for d := range pts[i] {
			if pts[i][d] != again[i][d] {
				t.Fatal("not deterministic")
			}
			if pts[i][d] < 0 || pts[i][d] >= 1 {
				t.Fatalf("point %v outside [0,1)", pts[i])
			}
		}
	}
	// Base 2 with 0 fixed is the van der Corput sequence.
	want := []float64{0.5, 0.25, 0.75, 0.125}
	for i, w := range want {
		if pts[i][0] != w {
			t.Errorf("dim 0 point %d = %v, want %v", i, pts[i][0], w)
		}
	}
	// Each dimension is evenly spread: every eighth of [0,1) holds 8 ± 2
	// of the 64 points (a random sample would often miss that).
	for d := 0; d < 3; d++ {
		var xs []float64
		for _, p := range pts {
			xs = append(xs, p[d])
		}
		sort.Float64s(xs)
		for k := 0; k < 8; k++ {
			c := 0
			for _, x := range xs {
				if int(math.Floor(x*8)) == k {
					c++
				}
			}
			if c < 6 || c > 10 {
				t.Errorf("dim %d bin %d holds %d points", d, k, c)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	got := Expand("cosine(peak=${peak}, steps=${steps}) ${other}", map[string]string{"peak": "0.1", "steps": "100"})
	if got != "cosine(peak=0.1, steps=100) ${other}" {
		t.Errorf("got %q", got)
	}
}

// The built-in studies parse, run in grid mode, and wrap their schedules
// in a warm-up inside the budget (warmup(s(steps=${steps}), ...)).
func TestBuiltinStudies(t *testing.T) {
	for _, name := range []string{"quick", "default"} {
		text, err := BuiltinStudy(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseStudy(name+".yaml", text)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != name || s.Tuning.Mode != "grid" || s.Baseline != "cosine" || len(s.Tuning.Seeds) == 0 {
			t.Errorf("%s: name %q, mode %q, baseline %q, selection seeds %v", name, s.Name, s.Tuning.Mode, s.Baseline, s.Tuning.Seeds)
		}
		for _, e := range s.Schedules {
			if e.Spec != "" && (strings.Contains(e.Spec, "decay_steps") || !strings.Contains(e.Spec, "steps=${steps}") && e.Name != "constant") {
				t.Errorf("%s: %s: spec %s, want the base over ${steps} with the warm-up inside", name, e.Name, e.Spec)
			}
		}
	}
}

func TestStudyNames(t *testing.T) {
	for _, name := range []string{"../../..", "a/b", "..", ".hidden", "x y", `a\b`} {
		_, err := ParseStudy("s.yaml", []byte("name: '"+name+"'\nworkloads: [a]\nschedules: [{name: c, spec: x}]\n"))
		if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:1: name: study name") {
			t.Errorf("name %q: err %v, want a study-name error on line 1", name, err)
		}
	}
	for _, name := range []string{"quick", "kjv-gpt_small.v2"} {
		if err := CheckName(name); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// The default study names only registered workloads and plans its first
// round (every grid) without error.
func TestDefaultStudyPlans(t *testing.T) {
	text, err := BuiltinStudy("default")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseStudy("default.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.WorkloadInfos()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(infos, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// (5 convex workloads × 3 budgets + 3 neural workloads × 1 budget) ×
	// 7 entries × 5 peaks × 1 selection seed.
	if len(p.Trials) != (5*3+3)*7*5 {
		t.Errorf("first round: %d trials", len(p.Trials))
	}
}
