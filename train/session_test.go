package train

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
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

// TestCheckpointFileErrors: saving names the user's path, never the
// temporary file (it said "checkpoint: open /dir/.ckpt-13539545: ..."),
// and loading a file that is not a checkpoint, or a bad one, wraps
// ErrNotCheckpoint / ErrBadCheckpoint with the path, so that a caller can
// tell bad input from an I/O failure; a missing file is neither.
func TestCheckpointFileErrors(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := sessionConfig(0, 0)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.ckpt")
	if err := SaveCheckpoint(tr, good); err != nil {
		t.Fatal(err)
	}
	ckpt, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(dir, "none", "x.ckpt")
	isDir := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(isDir, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	saves := []struct {
		path, want string
		is         error
	}{
		{missingDir, "checkpoint " + missingDir + ": cannot write in " + filepath.Join(dir, "none") + ": no such file or directory", fs.ErrNotExist},
		{isDir, "checkpoint " + isDir + ": cannot replace it: file exists", nil},
	}
	for _, tc := range saves {
		err := SaveCheckpoint(tr, tc.path)
		if err == nil || err.Error() != tc.want || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("save %s: %v,\nwant %s", tc.path, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), ".ckpt-") {
			t.Errorf("save %s names the temporary file: %v", tc.path, err)
		}
		if errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("save %s: an I/O failure reads as a bad checkpoint", tc.path)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(isDir, ".ckpt-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csv := write("notackpt.csv", []byte("step,loss\n0,1\n1,0.5\n2,0.25\n"))
	short := write("short.ckpt", []byte("LRKIT"))
	corrupt := bytes.Clone(ckpt)
	corrupt[40] ^= 1
	bad := write("corrupt.ckpt", corrupt)
	loads := []struct {
		path, want string
		notCkpt    bool // errors.Is ErrNotCheckpoint
		badInput   bool // errors.Is ErrBadCheckpoint
	}{
		{csv, "checkpoint " + csv + ": not an lrkit checkpoint (bad magic)", true, true},
		{short, "checkpoint " + short + ": not an lrkit checkpoint (5 bytes, shorter than the 20-byte header)", true, true},
		{bad, "checkpoint " + bad + ": checksum mismatch (file corrupt)", false, true},
		{filepath.Join(dir, "missing.ckpt"), "checkpoint: open " + filepath.Join(dir, "missing.ckpt") + ": no such file or directory", false, false},
	}
	for _, tc := range loads {
		cfg, _ := sessionConfig(0, 0)
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = LoadCheckpoint(tr, tc.path)
		if err == nil || err.Error() != tc.want || errors.Is(err, ErrNotCheckpoint) != tc.notCkpt || errors.Is(err, ErrBadCheckpoint) != tc.badInput {
			t.Errorf("load %s: %v (not a checkpoint: %v, bad: %v),\nwant %s (%v, %v)", tc.path, err,
				errors.Is(err, ErrNotCheckpoint), errors.Is(err, ErrBadCheckpoint), tc.want, tc.notCkpt, tc.badInput)
		}
	}
	// Through a session, as lrkit train --resume sees it.
	cfg, ctx := sessionConfig(0, 0)
	_, err = RunSession(ctx, cfg, SessionOptions{Log: filepath.Join(dir, "r.csv"), Checkpoint: csv, Resume: true})
	if !errors.Is(err, ErrNotCheckpoint) || !strings.HasPrefix(err.Error(), "checkpoint "+csv+": ") {
		t.Errorf("resume from a CSV file: %v", err)
	}
}
