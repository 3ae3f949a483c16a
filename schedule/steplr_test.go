package schedule

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadStepLR(t *testing.T) {
	steps, lrs, err := ReadStepLR(strings.NewReader("step,lr\n# comment\n0,0.5\n10, 1\n1e3,0\n"), "x.csv")
	if err != nil || len(steps) != 3 || steps[1] != 10 || lrs[1] != 1 || steps[2] != 1000 {
		t.Fatalf("%v %v %v", steps, lrs, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "x.csv: empty file: want a step,lr header and rows"},
		{"step,lr\n", "x.csv: no points after the header"},
		{"s,lr\n0,1\n", `x.csv:1: header must be "step,lr", got "s,lr"`},
		{"step,lr\n5,1\n4,2\n", "x.csv:3: step must not decrease (4 after 5)"},
		{"step,lr\n0,1\n0,2\n0,3\n", "x.csv:4: step 0 appears more than twice"},
		{"step,lr\n0,-1\n", "x.csv:2: lr must be a finite number in [0, 1e+30], got -1"},
		{"step,lr\n0,nan\n", "x.csv:2: lr must be a finite number in [0, 1e+30], got NaN"},
		{"step,lr\nx,1\n", `x.csv:2: step "x" is not an integer`},
		{"step,lr\n-3,1\n", "x.csv:2: step must not be negative, got -3"},
		{"step,lr\n0,1,2\n", "x.csv:2: wrong number of fields (want two columns: step,lr)"},
		{"step,lr\n0," + strings.Repeat("9z", 1000) + "\n", `x.csv:2: lr "` + strings.Repeat("9z", 20) + `"... (2000 bytes) is not a number`},
	} {
		_, _, err := ReadStepLR(strings.NewReader(tc.in), "x.csv")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%.40q:\n got  %v\n want %s", tc.in, err, tc.want)
		}
	}
}

func TestWriteStepLRRoundTrip(t *testing.T) {
	steps := []int64{0, 1, 1, 7}
	lrs := []float64{0.1, 1.0 / 3, 0, 2e-300}
	var b strings.Builder
	if err := WriteStepLR(&b, steps, lrs); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "step,lr\n0,0.1\n1,0.3333333333333333\n1,0\n7,2e-300\n" {
		t.Errorf("wrote %q", got)
	}
	s2, l2, err := ReadStepLR(strings.NewReader(b.String()), "w")
	if err != nil {
		t.Fatal(err)
	}
	for i := range steps {
		if s2[i] != steps[i] || l2[i] != lrs[i] {
			t.Errorf("row %d: %d,%v; want %d,%v", i, s2[i], l2[i], steps[i], lrs[i])
		}
	}
	if err := WriteStepLR(&b, steps, lrs[:2]); err == nil || err.Error() != "schedule: WriteStepLR: 4 steps but 2 rates" {
		t.Errorf("mismatched lengths: %v", err)
	}
}

func TestTablePeakAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "refined.csv")
	if err := os.WriteFile(file, []byte("step,lr\n0,0.5\n10,2\n20,1\n30,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Parse(`table(file="` + file + `", peak=3e-3)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		t    int64
		want float64
	}{{0, 0.5 / 2 * 3e-3}, {10, 3e-3}, {15, 0.75 * 3e-3}, {30, 0}, {99, 0}} {
		if got := s.LR(c.t); math.Abs(got-c.want) > 1e-18 {
			t.Errorf("LR(%d) = %v, want %v", c.t, got, c.want)
		}
	}
	// A struct literal gets the same rates through New, and without it.
	lit := Table{At: []int64{0, 10}, Rates: []float64{1, 4}, Peak: 2, Scale: 1}
	n, err := New(lit)
	if err != nil {
		t.Fatal(err)
	}
	if n.LR(0) != 0.5 || lit.LR(0) != 0.5 || n.LR(10) != 2 {
		t.Errorf("peak rescale: New %v/%v, literal %v", n.LR(0), n.LR(10), lit.LR(0))
	}
	errs := []struct{ spec, want string }{
		{`table(at=[0, 1], lr=[0, 0], peak=1)`, "spec:1:34: peak: cannot rescale: every rate is 0"},
		{`table(file="/dev/zero")`, "spec:1:12: file: /dev/zero: not a regular file (a character device)"},
		{`table(file="` + dir + `")`, "spec:1:12: file: " + dir + ": not a regular file (a directory)"},
	}
	for _, e := range errs {
		if _, err := Parse(e.spec); err == nil || err.Error() != e.want {
			t.Errorf("%s:\n got  %v\n want %s", e.spec, err, e.want)
		}
	}
}

func FuzzReadStepLR(f *testing.F) {
	f.Add("step,lr\n0,0.5\n10,1\n")
	f.Add("step,lr\n0,1,2\n")
	f.Add("step,lr\n0,1\n0,2\n")
	f.Fuzz(func(t *testing.T, in string) {
		steps, lrs, err := ReadStepLR(strings.NewReader(in), "f")
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") || len(err.Error()) > 300 {
				t.Fatalf("error %q: not one short line", err)
			}
			return
		}
		for i := range steps {
			if steps[i] < 0 || (i > 0 && steps[i] < steps[i-1]) || !(lrs[i] >= 0) || math.IsInf(lrs[i], 0) {
				t.Fatalf("accepted bad row %d: %v %v", i, steps[i], lrs[i])
			}
		}
		var b strings.Builder
		if err := WriteStepLR(&b, steps, lrs); err != nil {
			t.Fatal(err)
		}
		s2, l2, err := ReadStepLR(strings.NewReader(b.String()), "f")
		if err != nil || len(s2) != len(steps) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range s2 {
			if s2[i] != steps[i] || l2[i] != lrs[i] {
				t.Fatalf("round trip row %d", i)
			}
		}
	})
}
