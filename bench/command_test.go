package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// commandStudy runs testdata/command/fake_train.sh as a command workload:
// two schedules tuned on a grid, two evaluation seeds.
const commandStudy = `name: cmd
commands:
  fake:
    run: [sh, fake_train.sh]
    dir: command
    metric: accuracy
    target: 0.8
    step_hint: 40
    peak: 0.1
    peak_range: [0.01, 1.0]
workloads: [fake]
budgets: [1.0]
seeds: [1, 2]
tuning:
  mode: grid
  seeds: [100]
  warmup: 0.05
  grid: {points: 5, extend: 1}
eval:
  count: 4
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
  - name: linear
    spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})
`

// TestCommandWorkloadStudy: a study whose workload is a program runs end
// to end through the work queue like a built-in one: every trial runs the
// script with its LRKIT_* variables, the results come from the run logs it
// wrote, the grid finds the script's interior optimum (peak 0.1), and the
// summary scores it.
func TestCommandWorkloadStudy(t *testing.T) {
	s, err := ParseStudy(filepath.Join("testdata", "cmd.yaml"), []byte(commandStudy))
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Commands["fake"]; !filepath.IsAbs(c.Dir) || !strings.HasSuffix(c.Dir, filepath.Join("testdata", "command")) {
		t.Fatalf("command directory %q, want the absolute testdata/command", c.Dir)
	}
	infos, err := s.WorkloadInfos()
	if err != nil || infos["fake"].StepHint != 40 || !infos["fake"].HigherIsBetter {
		t.Fatalf("infos %+v, %v", infos, err)
	}
	out, err := Run(context.Background(), s, commandStudy, RunOptions{Store: openStore(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Failed) != 0 || len(out.Results) != len(out.Trials) {
		t.Fatalf("%d results, %d failed of %d trials: %v", len(out.Results), len(out.Failed), len(out.Trials), out.Failed)
	}
	r := roles(out.Trials)
	if r["tune"] != 10 || r["eval"] != 4 {
		t.Errorf("planned %v, want 10 grid trials (an interior optimum: no extension) and 4 evaluation runs", r)
	}
	for _, tr := range out.Trials {
		res := out.Results[tr.Key]
		if res.Steps != 40 || len(res.Evals) != 4 || len(res.LR) == 0 {
			t.Fatalf("trial %s: %d steps, %d evaluations, %d rates, want 40, 4 and some", tr.Key, res.Steps, len(res.Evals), len(res.LR))
		}
		if tr.Role == "eval" && math.Abs(tr.Params["peak"]-0.1) > 1e-9 {
			t.Errorf("trial %s evaluates peak %g, want the grid's optimum 0.1", tr.Key, tr.Params["peak"])
		}
	}
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Problems) != 1 || sum.Problems[0].Workload != "fake" {
		t.Errorf("summary problems %v", sum.Problems)
	}
}

// TestCommandWorkloadErrors: a command that fails, writes no log or is
// set up wrongly gives a trial error that says why, and bad settings are
// refused with the study file's line.
func TestCommandWorkloadErrors(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "command"))
	if err != nil {
		t.Fatal(err)
	}
	c := &CommandWorkload{Run: []string{"sh", "fake_train.sh"}, Dir: dir, Metric: "accuracy", StepHint: 10, Peak: 0.1}
	tr := Trial{Key: "k", Workload: "fake", Spec: "constant(peak=0.1)", Steps: 10, EvalEvery: 5, Params: map[string]float64{"peak": 0.1}, Command: c}
	t.Setenv("FAKE_FAIL", "out of memory")
	if _, err := RunTrial(context.Background(), tr, TrialOptions{}, nil); err == nil || !strings.Contains(err.Error(), "exit status 3; its standard error ends: fake_train: out of memory") {
		t.Errorf("failing command: %v", err)
	}
	os.Unsetenv("FAKE_FAIL")
	c.Run = []string{"true"}
	if _, err := RunTrial(context.Background(), tr, TrialOptions{}, nil); err == nil || !strings.Contains(err.Error(), "wrote no readable run log") {
		t.Errorf("command without a log: %v", err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"metric: accuracy", "metric: bleu", `cmd.yaml:6: commands.fake.metric: "bleu", want accuracy or loss`},
		{"    peak: 0.1\n", "    peak: -1\n", "cmd.yaml:9: commands.fake.peak: -1, want a positive rate"},
		{"run: [sh, fake_train.sh]", "run: []", "commands.fake.run: give the program"},
		{"workloads: [fake]", "workloads: [fake, logreg-iris]\ncommands2: x", "field commands2 not found"},
		{"  fake:\n", "  mnist-mlp:\n", `commands.mnist-mlp: "mnist-mlp" is a built-in workload`},
	} {
		text := strings.Replace(commandStudy, tc.old, tc.new, 1)
		if text == commandStudy {
			t.Fatalf("case %q does not change the study", tc.old)
		}
		if _, err := ParseStudy("cmd.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q -> %q: error %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}
