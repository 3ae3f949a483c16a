package main

import (
	"bytes"
	"encoding/csv"
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

// TestTorchCommandStudy runs the PyTorch example as a command workload of
// the benchmark, end to end with the lrkit binary: the study file next to
// the script (two schedules tuned on a grid, two evaluation seeds), every
// trial a run of train_torch.py with Debian's python3 and torch, and a
// report that scores it.
func TestTorchCommandStudy(t *testing.T) {
	needPython(t)
	lib := filepath.Join(buildLibrary(t), "liblrkit_schedule.so")
	dir := t.TempDir()
	bin := filepath.Join(dir, "lrkit")
	if out, err := exec.Command("go", "build", "-o", bin, "../lrkit").CombinedOutput(); err != nil {
		t.Fatalf("go build ../lrkit: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "report")
	cmd := exec.Command(bin, "bench", "../../clients/python/examples/torch-study.yaml", "-o", out, "--workers", "2")
	// The study runs `python3`: Debian's, which has torch.
	cmd.Env = append(os.Environ(), "PATH=/usr/bin:"+os.Getenv("PATH"), "LRKIT_LIBRARY="+lib, "PYTHONDONTWRITEBYTECODE=1")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lrkit bench torch-study.yaml: %v\n%s", err, got)
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, got)
	}
	for _, want := range []string{"torch-mlp", "cosine", "linear"} {
		if !bytes.Contains(report, []byte(want)) {
			t.Errorf("report.md does not mention %s:\n%s", want, report)
		}
	}
	f, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("results.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	done := map[string]int{}
	for _, r := range rows[1:] {
		if r[col["workload"]] == "torch-mlp" && r[col["status"]] == "done" {
			done[r[col["role"]]]++
		}
	}
	// 2 schedules × (5 grid peaks + at most 2 extensions), then 2 × 2
	// evaluation runs, every one finished.
	if done["tune"] < 10 || done["eval"] != 4 {
		t.Errorf("finished torch-mlp trials by role %v, want at least 10 tune and 4 eval", done)
	}
	t.Logf("%s", got)
}
