package bench

import (
	"strconv"
	"strings"
	"testing"
)

// validStudy is a grid study that passes validation; each case of
// TestStudyValidation changes one line of it.
const validStudy = `name: v
workloads: [logreg-iris]
budgets: [0.5, 1.0]
seeds: [0, 1, 2]
tuning:
  mode: grid
  seeds: [100]
  warmup: 0.05
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
  - name: linear
    spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})
    optimizer: sgd
targets:
  logreg-iris: 0.9
`

// TestStudyValidation: the study-file reproductions of the hostile-input
// review are refused before anything runs, each with its file, line and
// field.
func TestStudyValidation(t *testing.T) {
	if _, err := ParseStudy("v.yaml", []byte(validStudy)); err != nil {
		t.Fatalf("the valid study: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"bad spec", "spec: warmup(linear(", "spec: warmup(linearr(", `v.yaml:13: schedules.1.spec: spec:1:8: unknown schedule "linearr"`},
		{"file spec", "spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})", `spec: table(file="/etc/passwd", peak=${peak})`, "v.yaml:13: schedules.1.spec: spec:1:12: file: naming a file is not allowed"},
		{"optimizer", "optimizer: sgd", "optimizer: zzz", `v.yaml:14: schedules.1.optimizer: unknown optimizer "zzz"`},
		{"duplicate seeds", "seeds: [0, 1, 2]", "seeds: [0, 1, 0]", "v.yaml:4: seeds.2: seed 0 listed twice"},
		{"target NaN", "logreg-iris: 0.9", "logreg-iris: .nan", "v.yaml:16: targets.logreg-iris: target NaN: want a finite number"},
		{"external trials", "  mode: grid\n  seeds: [100]\n  warmup: 0.05", "  mode: external\n  trials: 2000000000", "tuning.trials: 2000000000 trials per study; at most 10000"},
		{"too many seeds", "seeds: [0, 1, 2]", "seeds: [" + manySeeds(1001) + "]", "v.yaml:4: seeds: 1001 seeds; at most 1000"},
		{"too many trials", "seeds: [0, 1, 2]\ntuning:\n  mode: grid\n  seeds: [100]\n  warmup: 0.05", "seeds: [" + manySeeds(900) + "]\ntuning:\n  mode: external\n  trials: 10000", "schedules: the study plans up to 3.6e+07 trials"},
		{"grid points", "  warmup: 0.05", "  warmup: 0.05\n  grid: {points: 2000000000}", "tuning.grid.points: 2000000000 peaks; at most 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(validStudy, tc.old, tc.new, 1)
			if text == validStudy {
				t.Fatalf("case does not change the study")
			}
			_, err := ParseStudy("v.yaml", []byte(text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("size", func(t *testing.T) {
		big := validStudy + "# " + strings.Repeat("x", MaxStudyBytes) + "\n"
		_, err := ParseStudy("v.yaml", []byte(big))
		if err == nil || !strings.Contains(err.Error(), "a study file is at most") {
			t.Fatalf("a %d-byte study: %v", len(big), err)
		}
	})
}

// TestStudyWorkloadInfos: unknown workloads and budgets of absurd length
// are refused with their line, before any trial is planned.
func TestStudyWorkloadInfos(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown workload", "workloads: [logreg-iris]", "workloads: [logreg-irsi]", `v.yaml:2: workloads.0: unknown workload "logreg-irsi"`},
		{"budget", "budgets: [0.5, 1.0]", "budgets: [0.5, 1e308]", "v.yaml:3: budgets.1: budget 1e+308 of logreg-iris's step hint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(strings.Replace(validStudy, tc.old, tc.new, 1), "logreg-iris: 0.9", "{}", 1)
			text = strings.Replace(text, "targets:\n  {}", "", 1)
			s, err := ParseStudy("v.yaml", []byte(text))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = s.WorkloadInfos()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	s, err := ParseStudy("v.yaml", []byte(validStudy))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.WorkloadInfos()
	if err != nil || infos["logreg-iris"].StepHint <= 0 {
		t.Fatalf("infos %v, %v", infos, err)
	}
}

func manySeeds(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(1000 + i)
	}
	return strings.Join(parts, ", ")
}

// TestOnlyWorkloads: a run of part of a study plans only those workloads'
// trials, with the keys the whole study gives them.
func TestOnlyWorkloads(t *testing.T) {
	text := strings.Replace(validStudy, "workloads: [logreg-iris]", "workloads: [logreg-iris, logreg-wine]", 1)
	whole, err := ParseStudy("v.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	part, _ := ParseStudy("v.yaml", []byte(text))
	if err := part.OnlyWorkloads([]string{"logreg-wine"}); err != nil {
		t.Fatal(err)
	}
	if err := part.OnlyWorkloads([]string{"mnist-mlp"}); err == nil || !strings.Contains(err.Error(), `has no workload "mnist-mlp"`) {
		t.Errorf("a workload not in the study: %v", err)
	}
	infos, err := whole.WorkloadInfos()
	if err != nil {
		t.Fatal(err)
	}
	pw, err := whole.Plan(infos, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := part.Plan(infos, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, tr := range pw.Trials {
		keys[tr.Key] = true
	}
	if len(pp.Trials) == 0 || len(pp.Trials)*2 != len(pw.Trials) {
		t.Fatalf("part plans %d trials, whole %d, want half", len(pp.Trials), len(pw.Trials))
	}
	for _, tr := range pp.Trials {
		if tr.Workload != "logreg-wine" || !keys[tr.Key] {
			t.Fatalf("part plans %s (%s), not a trial of the whole study's", tr.Key, tr.Workload)
		}
	}
}
