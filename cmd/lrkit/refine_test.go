package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
)

// writeGradLog writes a CSV run log with grad_norm and grad_norm_l1 for
// steps 0..n-1 from g(t).
func writeGradLog(t *testing.T, n int, g func(int) float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("step,loss,grad_norm,grad_norm_l1\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,%g,%g,%g\n", i, 1.0, g(i), 10*g(i))
	}
	p := filepath.Join(t.TempDir(), "run.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRefineConstantNormsGiveLinearDecay(t *testing.T) {
	log := writeGradLog(t, 101, func(int) float64 { return 2 })
	r := runLrkit("refine", log, "--peak", "0.5")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	steps, lrs := readTable(t, r.stdout)
	if len(steps) != 101 {
		t.Fatalf("%d rows, want 101", len(steps))
	}
	for i, v := range lrs {
		want := 0.5 * float64(100-i) / 100
		if math.Abs(v-want) > 1e-15 {
			t.Fatalf("step %d: %v, want %v", i, v, want)
		}
	}
	if !strings.Contains(r.stderr, "peak at step 0") {
		t.Errorf("summary: %s", r.stderr)
	}
}

func TestRefineWarmupEmergesAndFiles(t *testing.T) {
	log := writeGradLog(t, 3000, func(i int) float64 { return 1 + 9*math.Exp(-float64(i)/150) })
	dir := t.TempDir()
	out, svg := filepath.Join(dir, "refined.csv"), filepath.Join(dir, "refined.svg")
	r := runLrkit("refine", log, "--rule", "l1", "--peak", "3e-3", "-o", out, "--plot", svg)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"grad_norm_l1, rule l1", "spec: table(file=", "peak=0.003)", "warmup emerged", "at or above half the peak"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, lrs := readTable(t, string(data))
	mx := 0.0
	for _, v := range lrs {
		mx = math.Max(mx, v)
	}
	if len(lrs) != 3000 || mx != 3e-3 || lrs[0] >= mx/2 || lrs[2999] != 0 {
		t.Errorf("rows %d, max %v, first %v, last %v", len(lrs), mx, lrs[0], lrs[2999])
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("plot not written: %v", err)
	}
	// The spec it printed is usable by lrkit train: it parses.
	spec := strings.TrimPrefix(strings.SplitN(r.stdout[strings.Index(r.stdout, "spec: "):], "\n", 2)[0], "spec: ")
	c, err := control.Parse(spec)
	if err != nil {
		t.Fatalf("printed spec %q: %v", spec, err)
	}
	for i := range lrs {
		if got := c.LR(int64(i)); math.Abs(got-lrs[i]) > 1e-15 {
			t.Fatalf("spec %q at step %d: %v, file %v", spec, i, got, lrs[i])
		}
	}
}

func TestRefineErrors(t *testing.T) {
	dir := t.TempDir()
	noL1 := filepath.Join(dir, "nol1.csv")
	if err := os.WriteFile(noL1, []byte("step,loss,grad_norm\n0,1,2\n1,1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"refine", noL1, "--rule", "l3"}, "rule must be l2"},
		{[]string{"refine", noL1, "--rule", "l1"}, "grad_norm_l1"},
		{[]string{"refine", noL1, "--peak", "0"}, "--peak must be"},
		{[]string{"refine", filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"refine", noL1}, "at least 6 finite"},
		{[]string{"refine", noL1, "--plot", "x.gif"}, ".svg or .png"},
	}
	for _, tc := range tests {
		r := runLrkit(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// Unsmoothed works on a tiny log.
	r := runLrkit("refine", noL1, "--no-smooth")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "step,lr\n0,1\n1,0\n") {
		t.Errorf("no-smooth: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
