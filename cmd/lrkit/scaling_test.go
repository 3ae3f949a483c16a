package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeScalingPoints writes points of two groups drawn from
// L = 1.7 + 400/N^0.34 + 400/D^0.28, the second 2% worse.
func writeScalingPoints(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("group,n,d,loss\n")
	for _, n := range []float64{1e7, 3e7, 1e8, 3e8} {
		for _, tpp := range []float64{5, 20, 80} {
			d := n * tpp
			l := 1.7 + 400/math.Pow(n, 0.34) + 400/math.Pow(d, 0.28)
			fmt.Fprintf(&b, "cosine,%g,%g,%g\nwsd,%g,%g,%g\n", n, d, l, n, d, 1.02*l)
		}
	}
	p := filepath.Join(t.TempDir(), "points.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScalingCommand(t *testing.T) {
	pts := writeScalingPoints(t)
	dir := t.TempDir()
	r := runLrkit("scaling", "--points", pts, "--reference", "cosine", "--cooldown", "wsd=0.2", "--boot", "5", "--svg", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"| cosine | 12 | 4 | L = 1.7", "**wsd against cosine.**", "predicts +2.00%"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, f := range []string{"scaling-laws.svg", "scaling-diff.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestScalingFlagErrors(t *testing.T) {
	pts := writeScalingPoints(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"scaling"}, "give exactly one of --points and --epfl"},
		{[]string{"scaling", "--points", pts, "--form", "kaplan"}, `unknown form "kaplan"`},
		{[]string{"scaling", "--points", pts, "--cooldown", "wsd"}, `--cooldown "wsd": want GROUP=FRACTION`},
		{[]string{"scaling", "--points", pts, "--boot", "0"}, "--boot 0"},
		{[]string{"scaling", "--points", pts, "--reference", "x", "--boot", "2"}, `reference group "x" has no points`},
	}
	for _, c := range cases {
		r := runLrkit(c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
