package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/runlog"
)

const python = "/usr/bin/python3" // Debian's, with python3-torch

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not installed (Debian package python3): the Python package's tests need it", python)
	}
}

// TestPythonPackage runs the Python package's unittest suite
// (clients/python/tests: offline schedules against the CLI, the missing
// library messages, the torch scheduler with Debian's python3-torch, remote
// mode against a real lrkit serve, the run-log writer, the example
// training script, the install into a fresh virtual environment) with the
// library and the lrkit binary built here. The torch tests fail rather
// than skip when torch is missing.
func TestPythonPackage(t *testing.T) {
	needPython(t)
	lib := filepath.Join(buildLibrary(t), "liblrkit_schedule.so")
	bin := filepath.Join(t.TempDir(), "lrkit")
	if out, err := exec.Command("go", "build", "-o", bin, "../lrkit").CombinedOutput(); err != nil {
		t.Fatalf("go build ../lrkit: %v\n%s", err, out)
	}
	cmd := exec.Command(python, "-m", "unittest", "discover", "-v", "-s", "tests")
	cmd.Dir = "../../clients/python"
	cmd.Env = append(os.Environ(), "LRKIT_BIN="+bin, "LRKIT_LIBRARY="+lib, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests: %v\n%s", err, out)
	}
	// Every module ran, and nothing was skipped.
	for _, name := range []string{"test_schedule", "test_library", "test_torch", "test_runlog", "test_example", "test_install"} {
		if !bytes.Contains(out, []byte("("+name+".")) {
			t.Errorf("no test of %s ran:\n%s", name, out)
		}
	}
	if m := regexp.MustCompile(`(?m)^OK \(skipped=\d+\)`).Find(out); m != nil {
		t.Errorf("python tests skipped some: %s\n%s", m, out)
	}
	t.Logf("%s", out)
}

// TestPythonRunLog writes run logs with lrkit.RunLog and checks them byte
// for byte against Go's own writers for the same records, and that package
// runlog reads them back to the same records.
func TestPythonRunLog(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	nan, inf := "float('nan')", "float('inf')"
	// step, then Python keyword arguments, per record.
	rows := []struct {
		step int64
		py   string
		rec  runlog.Record
	}{
		{0, "lr=0.0, loss=2.5, grad_norm=1e-05", rec(0, runlog.FieldLR, 0, runlog.FieldLoss, 2.5, runlog.FieldGradNorm, 1e-05)},
		{1, "lr=3e-4, loss=" + nan + ", examples_seen=64", rec(1, runlog.FieldLR, 3e-4, runlog.FieldLoss, nanV(), runlog.FieldExamplesSeen, 64)},
		{7, "lr=1234567.0, val_loss=-" + inf + ", val_metric=0.75, wall_seconds=12.5",
			rec(7, runlog.FieldLR, 1234567, runlog.FieldValLoss, -infV(), runlog.FieldValMetric, 0.75, runlog.FieldWallSeconds, 12.5)},
		{8, "grad_norm_l1=" + inf + ", param_norm=5e-324, update_norm=1.7976931348623157e308, effective_lr=0.1",
			rec(8, runlog.FieldGradNormL1, infV(), runlog.FieldParamNorm, 5e-324, runlog.FieldUpdateNorm, 1.7976931348623157e308, runlog.FieldEffectiveLR, 0.1)},
		{100000, "", runlog.Record{Step: 100000}},
		{100001, "lr=0.020000000000000004, loss=-0.0, grad_norm=123456.0, examples_seen=1 << 40",
			rec(100001, runlog.FieldLR, 0.020000000000000004, runlog.FieldLoss, negZero(), runlog.FieldGradNorm, 123456, runlog.FieldExamplesSeen, 1<<40)},
	}
	var script strings.Builder
	fmt.Fprintf(&script, "import sys\nsys.path.insert(0, %q)\nfrom lrkit.runlog import RunLog\n", "../../clients/python/src")
	for _, name := range []string{"py.csv", "py.jsonl"} {
		fmt.Fprintf(&script, "with RunLog(%q) as log:\n", filepath.Join(dir, name))
		for _, r := range rows {
			fmt.Fprintf(&script, "    log.write(%d, %s)\n", r.step, r.py)
		}
	}
	cmd := exec.Command(python, "-c", script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s\n%s", err, out, script.String())
	}
	for _, name := range []string{"go.csv", "go.jsonl"} {
		w, err := runlog.Create(filepath.Join(dir, name), runlog.AllFields)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r.rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, ext := range []string{"csv", "jsonl"} {
		py, _ := os.ReadFile(filepath.Join(dir, "py."+ext))
		goOut, _ := os.ReadFile(filepath.Join(dir, "go."+ext))
		if !bytes.Equal(py, goOut) {
			t.Errorf("%s: Python wrote\n%s\nGo writes\n%s", ext, py, goOut)
		}
		recs, err := runlog.ReadFile(filepath.Join(dir, "py."+ext), runlog.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if len(recs) != len(rows) {
			t.Fatalf("%s: %d records, want %d", ext, len(recs), len(rows))
		}
		for i, r := range recs {
			if !sameRecord(r, rows[i].rec) {
				t.Errorf("%s: record %d = %+v, want %+v", ext, i, r, rows[i].rec)
			}
		}
	}
}

// rec builds a record from step and (field, value) pairs.
func rec(step int64, kv ...any) runlog.Record {
	r := runlog.Record{Step: step}
	for i := 0; i < len(kv); i += 2 {
		f := kv[i].(runlog.Field)
		switch v := kv[i+1].(type) {
		case int:
			r.Set(f, float64(v))
		case float64:
			r.Set(f, v)
		}
	}
	return r
}

func nanV() float64    { return zero / zero }
func infV() float64    { return 1 / zero }
func negZero() float64 { return -zero }

var zero = 0.0

// sameRecord compares records field by field, NaN equal to NaN and the
// sign of zero significant.
func sameRecord(a, b runlog.Record) bool {
	if a.Step != b.Step || a.Present != b.Present {
		return false
	}
	for _, f := range runlog.AllFields.Fields() {
		x, _ := a.Value(f)
		y, _ := b.Value(f)
		if fmt.Sprint(x) != fmt.Sprint(y) || (x == 0 && y == 0 && (1/x > 0) != (1/y > 0)) {
			return false
		}
	}
	return true
}
