package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
)

// sessionConfig is a small run; stop, when > 0, cancels it after that many
// records of this invocation, and crash fails it after that many.
func sessionConfig(stop, crash int) (Config, context.Context) {
	data := newSynthetic(11, 512, 32, 5, 64)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	cfg := Config{Model: testModel(3, 32, 64, 5), Data: data, Optimizer: setups["sgd-clip"].opt(),
		Controller: control.NewFixed(linearDecay{0.05, 300}), Steps: 300, ValEvery: 40,
		Validate: validator(data, 128), ClipNorm: 0.5, Seed: 5,
		OnRecord: func(runlog.Record) error {
			n++
			if stop > 0 && n >= stop {
				cancel()
			}
			if crash > 0 && n >= crash {
				return errSimulatedCrash
			}
			return nil
		}}
	return cfg, ctx
}

var errSimulatedCrash = errors.New("simulated crash")

func readLog(t *testing.T, path string) []runlog.Record {
	t.Helper()
	recs, err := runlog.ReadFile(path, runlog.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSessionInterruptedAndResumedEqualsUninterrupted(t *testing.T) {
	dir := t.TempDir()
	cfg, ctx := sessionConfig(0, 0)
	full := filepath.Join(dir, "full.csv")
	res, err := RunSession(ctx, cfg, SessionOptions{Log: full})
	if err != nil {
		t.Fatal(err)
	}
	want := readLog(t, full)
	if len(want) != 300 || res.Steps != 300 || res.Start != 0 || res.Last.Step != 299 || res.LastVal.Step != 299 || res.Interrupted {
		t.Fatalf("uninterrupted: %d records, result %+v", len(want), res)
	}

	t.Run("interrupt", func(t *testing.T) {
		o := SessionOptions{Log: filepath.Join(dir, "a.jsonl"), Checkpoint: filepath.Join(dir, "a.ckpt")}
		cfg, ctx := sessionConfig(123, 0)
		res, err := RunSession(ctx, cfg, o)
		if !errors.Is(err, context.Canceled) || !res.Interrupted || res.Steps != 123 {
			t.Fatalf("err = %v, result %+v; want an interruption at 123", err, res)
		}
		if n := len(readLog(t, o.Log)); n != 123 {
			t.Fatalf("interrupted log holds %d records, want 123", n)
		}
		o.Resume = true
		cfg, ctx = sessionConfig(0, 0)
		res, err = RunSession(ctx, cfg, o)
		if err != nil || res.Start != 123 || res.Steps != 300 || res.WallBefore <= 0 {
			t.Fatalf("resume: %v, %+v", err, res)
		}
		sameRecords(t, readLog(t, o.Log), want)
	})

	t.Run("crash after a periodic checkpoint", func(t *testing.T) {
		o := SessionOptions{Log: filepath.Join(dir, "b.csv"), Checkpoint: filepath.Join(dir, "b.ckpt"), CheckpointEvery: 50}
		cfg, ctx := sessionConfig(0, 130) // the checkpoint is at 100; records 100..129 are redone
		if _, err := RunSession(ctx, cfg, o); !errors.Is(err, errSimulatedCrash) {
			t.Fatalf("err = %v, want the simulated crash", err)
		}
		o.Resume = true
		cfg, ctx = sessionConfig(0, 0)
		if res, err := RunSession(ctx, cfg, o); err != nil || res.Start != 100 {
			t.Fatalf("resume: %v, %+v", err, res)
		}
		sameRecords(t, readLog(t, o.Log), want)
	})
}

func TestSessionErrors(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.csv")
	if err := os.WriteFile(other, []byte("step,loss\n0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "c.ckpt")
	cfg, ctx := sessionConfig(10, 0)
	if _, err := RunSession(ctx, cfg, SessionOptions{Log: filepath.Join(dir, "c.csv"), Checkpoint: ckpt}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	tests := []struct {
		o    SessionOptions
		want string
	}{
		{SessionOptions{}, "train: session needs a run log"},
		{SessionOptions{Log: "x.csv", Resume: true}, "train: resume needs a checkpoint"},
		{SessionOptions{Log: "x.txt"}, "train: x.txt"},
		{SessionOptions{Log: "x.csv", CheckpointEvery: -1}, "train: CheckpointEvery is -1, want >= 0"},
		{SessionOptions{Log: other, Checkpoint: ckpt, Resume: true}, "resume: the log " + other + " holds 1 records before step 10, want 10 (is it this run's log?)"},
		{SessionOptions{Log: "x.csv", Checkpoint: filepath.Join(dir, "missing.ckpt"), Resume: true}, "checkpoint: open " + filepath.Join(dir, "missing.ckpt") + ": no such file or directory"},
		{SessionOptions{Log: "x.csv", Checkpoint: "/dev/zero", Resume: true}, "checkpoint: /dev/zero: not a regular file (a character device)"},
	}
	for _, tt := range tests {
		cfg, ctx := sessionConfig(0, 0)
		_, err := RunSession(ctx, cfg, tt.o)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%+v:\n got  %v\n want %s...", tt.o, err, tt.want)
		}
	}
}
