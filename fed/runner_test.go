package fed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const tinyStudy = `name: tiny
datasets: [mnist]
limit: 3000
model: mlp:8
batch: 16
clients: 4
dirichlet: 0.5
min_shard: 16
local_steps: 5
speeds: {dist: lognormal, mean: 1, sigma: 0.8, jitter: 0.1}
budget: 40
eval: {every: 10, rounds: 1, examples: 300}
targets: {mnist: 0.5}
seeds: {select: [9], eval: [1, 2]}
lrs: [0.1, 0.3]
methods:
  - {name: avg, algorithm: fedavg}
  - {name: compass, algorithm: fedcompass, q_min: 1}
fedhyper: {baseline: avg, rules: [fedhyper-g]}
`

// cancelAfter cancels a context once n runs are done.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	total  int
	starts []int
}

func (c *cancelAfter) Start(total, done int) {
	c.mu.Lock()
	c.total = total
	c.starts = append(c.starts, done)
	c.mu.Unlock()
}
func (c *cancelAfter) Update(done int, _ string) {
	if done >= c.n && c.cancel != nil {
		c.cancel()
	}
}
func (c *cancelAfter) Finish() {}

// TestRunStudyResumes interrupts a study, resumes it, and checks that no
// finished run is lost or run again and that the report holds the claims.
func TestRunStudyResumes(t *testing.T) {
	envs := NewEnvs()
	mnistOrSkip(t, envs)
	s, err := ParseStudy("tiny.yaml", []byte(tinyStudy))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	p := &cancelAfter{n: 3, cancel: cancel}
	_, err = RunStudy(ctx, s, StudyOptions{Out: out, Envs: envs, Progress: p, Workers: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted study: %v, want context.Canceled", err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "runs", "*.json"))
	if len(files) < 3 {
		t.Fatalf("%d run records after the interruption, want ≥ 3", len(files))
	}
	p2 := &cancelAfter{n: 1 << 30}
	oc, err := RunStudy(context.Background(), s, StudyOptions{Out: out, Envs: envs, Progress: p2})
	if err != nil {
		t.Fatal(err)
	}
	// 4 selection runs; per evaluation seed 2 methods, avg at the poor
	// rate and fedhyper-g at both: 5 × 2.
	if p2.total != 14 || p2.starts[0] != len(files) || len(oc.Records) != 14 || oc.Ran != 14-len(files) {
		t.Fatalf("resume: total %d, started at %d done, %d records, ran %d; want 14, %d, 14, %d", p2.total, p2.starts[0], len(oc.Records), oc.Ran, len(files), 14-len(files))
	}
	again, err := RunStudy(context.Background(), s, StudyOptions{Out: out, Envs: envs})
	if err != nil || again.Ran != 0 {
		t.Fatalf("third call ran %d runs (%v), want 0", again.Ran, err)
	}
	rep, err := BuildReport(oc, "lrkit fed run tiny.yaml", time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	md := string(rep.Files["report.md"])
	for _, want := range []string{"# Federated study: tiny", "Produced by `lrkit fed run tiny.yaml` on 2026-05-01 00:00 UTC: 14 runs (4 selection, 10 evaluation)",
		"## Claims", claimHyperFast, claimHyperPoor, claimCompass, "not tested: the study has no fedasync method", "![", "mnist-time.svg", "mnist-fedhyper-poor.svg"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, f := range []string{"mnist-time.svg", "mnist-rounds.svg", "mnist-fedhyper-good.svg", "mnist-fedhyper-poor.svg", "mnist-fedhyper-poor-time.svg", "claims.csv"} {
		if len(rep.Files[f]) == 0 {
			t.Errorf("report has no %s", f)
		}
	}
	if err := rep.Write(filepath.Join(out, "report")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "report", "report.md")); err != nil {
		t.Fatal(err)
	}
	// The choices: every rate scored on the one selection seed.
	ch := oc.Choices["mnist"]["avg"]
	if len(ch.Scores) != 2 || ch.Scores[0].Seeds != 1 || (ch.LR != 0.1 && ch.LR != 0.3) || !ch.Edge {
		t.Fatalf("choice %+v", ch)
	}
}
