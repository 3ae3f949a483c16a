package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train/optim"
)

// fuzzTrainer is a small trainer for checkpoint fuzzing.
func fuzzTrainer(t testing.TB) *Trainer {
	data := newSynthetic(11, 32, 4, 3, 8)
	tr, err := New(Config{Model: testModel(3, 4, 8, 3), Data: data, Optimizer: optim.NewAdamW(0.01),
		Controller: control.NewFixed(linearDecay{0.05, 10}), Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// FuzzLoad: any input either loads or gives an error; never a panic. A
// checkpoint that loads resumes to a trainer that can step.
func FuzzLoad(f *testing.F) {
	tr := fuzzTrainer(f)
	if _, err := tr.Step(context.Background()); err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := tr.Save(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte("LRKITCKP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := fuzzTrainer(t)
		if err := tr.Load(bytes.NewReader(data)); err != nil {
			return
		}
		if _, err := tr.Step(context.Background()); err != nil && tr.StepsDone() < 10 {
			t.Fatalf("loaded checkpoint cannot step: %v", err)
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzLoad/valid when
// LRKIT_WRITE_CORPUS=1 (the checkpoint format changed).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("LRKIT_WRITE_CORPUS") != "1" {
		t.Skip("set LRKIT_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	tr := fuzzTrainer(t)
	var recs []runlog.Record
	tr.cfg.OnRecord = func(r runlog.Record) error { recs = append(recs, r); return nil }
	if _, err := tr.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tr.Save(&b); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n[]byte(" + strconv.Quote(b.String()) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, "valid"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzApply fuzzes the checkpoint payload behind the checksum: decoding,
// the compatibility checks and the optimizer, data and RNG restores.
func FuzzApply(f *testing.F) {
	tr := fuzzTrainer(f)
	if _, err := tr.Step(context.Background()); err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := tr.Save(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes()[20 : b.Len()-32])
	f.Fuzz(func(t *testing.T, payload []byte) {
		tr := fuzzTrainer(t)
		if err := tr.apply(payload, true); err != nil {
			return
		}
		// A payload that applies must leave a trainer that steps or
		// reports an error, without panicking.
		_, _ = tr.Step(context.Background())
	})
}
