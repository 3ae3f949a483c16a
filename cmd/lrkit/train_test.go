package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// quickTrain is a fast run on a synthetic workload (no data files needed).
func quickTrain(dir string) trainOptions {
	return trainOptions{workload: "logreg-illcond-100", spec: "warmup(cosine(steps=300), steps=20)", steps: 300,
		optimizer: "adam", peak: 0.05, batch: 32, seed: 7, evalEvery: 40, clip: -1,
		logPath: filepath.Join(dir, "run.csv"), quiet: true}
}

func readRecords(t *testing.T, path string) []runlog.Record {
	t.Helper()
	recs, err := runlog.ReadFile(path, runlog.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// sameRecords compares two logs field by field, wall time aside.
func sameRecords(t *testing.T, got, want []runlog.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		g.WallSeconds, w.WallSeconds = 0, 0
		if g != w {
			t.Fatalf("record %d differs:\n got  %+v\n want %+v", i, g, w)
		}
	}
}

func TestTrainInterruptedAndResumedEqualsUninterrupted(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	full := quickTrain(dir)
	full.logPath = filepath.Join(dir, "full.csv")
	sum, err := runTrain(context.Background(), full, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	want := readRecords(t, full.logPath)
	if len(want) != 300 || sum.Steps != 300 || math.IsNaN(sum.LastVal.ValMetric) {
		t.Fatalf("uninterrupted: %d records, summary %+v", len(want), sum)
	}
	if !strings.Contains(out.String(), "logreg-illcond-100: 300 steps") || !strings.Contains(out.String(), "steps/s") {
		t.Errorf("summary %q", out.String())
	}

	// SIGINT mid-run saves the checkpoint and says how to go on; --resume
	// then finishes the run, and the log equals the uninterrupted one.
	bin := buildLrkit(t)
	o := quickTrain(dir)
	ckpt, logPath := filepath.Join(dir, "a.ckpt"), filepath.Join(dir, "a.csv")
	args := []string{"train", "--workload", o.workload, "--schedule", o.spec, "--steps", "300", "--optimizer", o.optimizer,
		"--peak", "0.05", "--batch", "32", "--seed", "7", "--eval-every", "40", "--log", logPath, "--checkpoint", ckpt,
		"--checkpoint-every", "1", "--quiet"}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first periodic checkpoint, then interrupt.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint after 30 s")
		}
	}
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "; checkpoint saved to "+ckpt+" (continue with --resume)") {
		// The run may have finished before the signal arrived on a fast
		// machine: then it exits 0 and the resume below has nothing to do.
		if err != nil {
			t.Fatalf("interrupted run: %v, stderr %q", err, stderr.String())
		}
	}
	if out, err := exec.Command(bin, append(args, "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v: %s", err, out)
	}
	sameRecords(t, readRecords(t, logPath), want)
}

func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		edit    func(*trainOptions)
		wantErr string
	}{
		{"no workload", func(o *trainOptions) { o.workload = "" }, "--workload is required"},
		{"unknown workload", func(o *trainOptions) { o.workload = "cifar" }, `unknown workload "cifar"`},
		{"no schedule", func(o *trainOptions) { o.spec = "" }, "--schedule is required"},
		{"bad schedule", func(o *trainOptions) { o.spec = "cosine(stesp=10)" }, `--schedule: spec:1:8: unknown parameter "stesp"`},
		{"no steps", func(o *trainOptions) { o.steps = 0 }, "--steps must be a positive number of steps, got 0"},
		{"no log", func(o *trainOptions) { o.logPath = "" }, "--log is required"},
		{"log format", func(o *trainOptions) { o.logPath = filepath.Join(dir, "run.txt") }, "--log:"},
		{"resume without checkpoint", func(o *trainOptions) { o.resume = true }, "--resume needs --checkpoint"},
		{"optimizer", func(o *trainOptions) { o.optimizer = "lion" }, `--optimizer: unknown optimizer "lion"`},
		{"peak twice", func(o *trainOptions) { o.spec = "linear(peak=0.1, steps=300)" }, "already peaks at 0.1"},
		{"peak on controller", func(o *trainOptions) { o.spec = "hd(lr=0.01, beta=1e-4)" }, "--peak: a peak scales schedules"},
		{"missing checkpoint", func(o *trainOptions) { o.checkpoint = filepath.Join(dir, "none"); o.resume = true }, "--resume:"},
		// --clip below -1 or NaN was the workload's default; a checkpoint
		// in a missing directory failed only when saved, after the whole
		// run (or on the interrupt it was meant to survive); resuming from
		// a file that is not a checkpoint failed with status 1.
		{"negative clip", func(o *trainOptions) { o.clip = -5 }, "--clip must be a norm >= 0 (0: no clipping) or -1 (the workload's), got -5"},
		{"NaN clip", func(o *trainOptions) { o.clip = math.NaN() }, "got NaN"},
		{"checkpoint directory", func(o *trainOptions) { o.checkpoint = filepath.Join(dir, "none", "c.ckpt") },
			"--checkpoint " + filepath.Join(dir, "none", "c.ckpt") + ": its directory " + filepath.Join(dir, "none") + " does not exist"},
		{"bad JSON spec", func(o *trainOptions) { o.spec = `{"kind":"cosine","stesp":300}` }, `--schedule: $.stesp: unknown parameter "stesp" for cosine`},
		{"resume from a CSV", func(o *trainOptions) {
			o.checkpoint, o.resume = writeTextFile(t, dir, "notackpt.csv", "step,lr,loss\n0,0.1,3\n"), true
		}, "notackpt.csv: not an lrkit checkpoint (bad magic)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := quickTrain(dir)
			tc.edit(&o)
			_, err := runTrain(context.Background(), o, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%v is not a usage error (exit status 2)", err)
			}
		})
	}
}

func TestTrainCommandLine(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "run.jsonl")
	if code := run([]string{"train", "--workload", "logreg-illcond-10", "--schedule", "linear(steps=50)", "--steps", "50",
		"--quiet", "--log", log}); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if recs := readRecords(t, log); len(recs) != 50 || !recs[49].Has(runlog.FieldValMetric) {
		t.Fatalf("%d records; the last validated: %v", len(recs), len(recs) > 0 && recs[len(recs)-1].Has(runlog.FieldValMetric))
	}
	if code := run([]string{"train", "--workload", "nope", "--schedule", "linear(steps=5)", "--steps", "5", "--log", log}); code != 2 {
		t.Errorf("unknown workload: exit status %d, want 2", code)
	}
	if _, err := os.Stat(log); err != nil {
		t.Fatal(err)
	}
}

// TestTrainWarnsPastHorizon: --steps beyond the schedule's horizon trains
// on, with a warning naming both numbers (quiet or not).
func TestTrainWarnsPastHorizon(t *testing.T) {
	o := quickTrain(t.TempDir())
	o.spec, o.steps, o.evalEvery = "cosine(steps=100)", 120, 60
	var out, errOut bytes.Buffer
	if _, err := runTrain(context.Background(), o, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want := "lrkit: warning: the run has 120 steps but the schedule scale(cosine(steps=100), by=0.05) ends at step 100: the last 20 steps run at its final rate 0\n"
	if errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}
