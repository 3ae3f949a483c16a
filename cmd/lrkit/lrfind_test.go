package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLRFindWorkload(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "lrfind.svg")
	r := runLrkit("lrfind", "--workload", "logreg-illcond-100", "--steps", "40", "--min", "1e-4", "--max", "1e3", "--plot", svg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "step,lr,loss,smoothed" || len(rows) < 6 {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	ratio := math.Pow(1e3/1e-4, 1.0/39)
	prev := 0.0
	for i, row := range rows[1:] {
		lr, _ := strconv.ParseFloat(row[1], 64)
		if i > 0 && math.Abs(lr/prev/ratio-1) > 1e-12 {
			t.Fatalf("row %d: rate %v after %v, want ratio %v", i, lr, prev, ratio)
		}
		prev = lr
	}
	if !strings.Contains(r.stderr, "suggested peak: ") || !strings.Contains(r.stderr, "rule: ") {
		t.Errorf("no suggestion: %s", r.stderr)
	}
	// a rate up to 1000 on a logistic regression with SGD must blow up.
	if !strings.Contains(r.stderr, "stopped: ") {
		t.Errorf("no divergence stop: %s", r.stderr)
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("plot: %v", err)
	}
}

func TestLRFindErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"lrfind"}, "--workload is required"},
		{[]string{"lrfind", "--workload", "nope"}, "nope"},
		{[]string{"lrfind", "--workload", "logreg-iris", "--min", "1", "--max", "0.1"}, "0 < min < max"},
		{[]string{"lrfind", "--workload", "logreg-iris", "--steps", "2"}, "at least 5"},
		{[]string{"lrfind", "--workload", "logreg-iris", "--optimizer", "adamx"}, "--optimizer"},
		{[]string{"lrfind", "--workload", "logreg-iris", "--plot", "a.jpg"}, ".svg or .png"},
	}
	for _, tc := range tests {
		r := runLrkit(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
