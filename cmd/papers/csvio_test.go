package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCSVRoundTrip: the evaluation and telemetry tables read back as
// written, and a damaged table gives its file and line, not a panic.
func TestCSVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ev := []evalRow{{10, 0.5, 0.9, 0.7, 0.8}, {20, 0.4, 0.92, 0.6, 0.85}}
	p := filepath.Join(dir, "sub", "eval.csv")
	if err := writeEval(p, ev); err != nil {
		t.Fatal(err)
	}
	got, err := readEval(p)
	if err != nil || len(got) != 2 || got[1] != ev[1] {
		t.Fatalf("read back %v, %v; want %v", got, err, ev)
	}
	pl := []plastRow{{5, "dense1", 1e-3, 12.5, 0.9}}
	pp := filepath.Join(dir, "plast.csv")
	if err := writePlast(pp, pl); err != nil {
		t.Fatal(err)
	}
	if got, err := readPlast(pp); err != nil || len(got) != 1 || got[0] != pl[0] {
		t.Fatalf("read back %v, %v; want %v", got, err, pl)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("step,layer\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readPlast(bad); err == nil || !strings.Contains(err.Error(), "bad.csv:2: 2 columns, want at least 3") {
		t.Errorf("short row: %v", err)
	}
	if _, err := readEval(bad); err == nil || !strings.Contains(err.Error(), "bad.csv:2") {
		t.Errorf("non-numeric row: %v", err)
	}
}
