package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
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

func TestTrainKilledAndResumedEqualsUninterrupted(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	full := quickTrain(dir)
	full.logPath = filepath.Join(dir, "full.csv")
	sum, err := runTrain(context.Background(), full, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	want := readRecords(t, full.logPath)
	if len(want) != 300 || sum.Steps != 300 || math.IsNaN(sum.ValMetric) {
		t.Fatalf("uninterrupted: %d records, summary %+v", len(want), sum)
	}
	if !strings.Contains(out.String(), "logreg-illcond-100: 300 steps") || !strings.Contains(out.String(), "steps/s") {
		t.Errorf("summary %q", out.String())
	}

	t.Run("interrupt", func(t *testing.T) {
		o := quickTrain(dir)
		o.checkpoint = filepath.Join(dir, "a.ckpt")
		o.logPath = filepath.Join(dir, "a.csv")
		o.stopAfter = 123
		_, err := runTrain(context.Background(), o, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "interrupted after step 123 of 300; checkpoint saved to") {
			t.Fatalf("err = %v, want an interruption", err)
		}
		if n := len(readRecords(t, o.logPath)); n != 123 {
			t.Fatalf("interrupted log holds %d records, want 123", n)
		}
		o.stopAfter = 0
		o.resume = true
		if _, err := runTrain(context.Background(), o, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, readRecords(t, o.logPath), want)
	})

	t.Run("crash after a periodic checkpoint", func(t *testing.T) {
		o := quickTrain(dir)
		o.checkpoint = filepath.Join(dir, "b.ckpt")
		o.logPath = filepath.Join(dir, "b.csv")
		o.ckptEvery = 50
		o.crashAfter = 130 // the checkpoint is at 100; records 100..129 are redone
		if _, err := runTrain(context.Background(), o, &out, &errOut); !errors.Is(err, errCrash) {
			t.Fatalf("err = %v, want the simulated crash", err)
		}
		o.crashAfter = 0
		o.resume = true
		if _, err := runTrain(context.Background(), o, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, readRecords(t, o.logPath), want)
	})
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
		{"peak on controller", func(o *trainOptions) { o.spec = "hd(lr=0.01, beta=1e-4)" }, "--peak scales schedules"},
		{"missing checkpoint", func(o *trainOptions) { o.checkpoint = filepath.Join(dir, "none"); o.resume = true }, "--resume:"},
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

func TestTrainControllerPeakRule(t *testing.T) {
	tests := []struct {
		spec       string
		peak, def  float64
		at         int64
		want       float64
		wantString string
	}{
		{"linear(steps=100)", 0, 0.01, 0, 0.01, "scale(linear(steps=100), by=0.01)"},
		{"linear(steps=100)", 0.5, 0.01, 50, 0.25, "scale(linear(steps=100), by=0.5)"},
		{"linear(peak=0.2, steps=100)", 0, 0.01, 50, 0.1, "linear(peak=0.2, steps=100)"},
		{"warmup(cosine(steps=100), steps=10)", 0, 3e-3, 10, 3e-3, ""},
	}
	for _, tc := range tests {
		c, err := trainController(tc.spec, tc.peak, tc.def, 100)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if got := c.LR(tc.at); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s --peak %g: LR(%d) = %v, want %v", tc.spec, tc.peak, tc.at, got, tc.want)
		}
		if tc.wantString != "" && c.String() != tc.wantString {
			t.Errorf("%s: controller %q, want %q", tc.spec, c.String(), tc.wantString)
		}
		if _, ok := c.(*control.Fixed); !ok {
			t.Errorf("%s: %T, want a fixed schedule", tc.spec, c)
		}
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
