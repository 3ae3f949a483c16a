package mplpaper

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLRs(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		at   map[int]float64
	}{
		// Warm-up: numpy linspace(0, 3e-4, 2160), both ends included.
		{"constant_24000", 24000, map[int]float64{0: 0, 1: 3e-4 / 2159, 2159: 3e-4, 2160: 3e-4, 23999: 3e-4}},
		{"cosine_72000", 72000, map[int]float64{2160: 3e-4, 37080: 1.65e-4, 71999: 3e-5 + 0.5*2.7e-4*(1+math.Cos(math.Pi*69839/69840))}},
		{"wsd_20000_24000", 24000, map[int]float64{19999: 3e-4, 20000: 3e-4, 22000: math.Sqrt(3e-4 * 3e-5), 23999: 3e-4 * math.Pow(0.1, 3999.0/4000)}},
		{"wsdld_20000_24000", 24000, map[int]float64{20000: 3e-4, 22000: 1.65e-4}},
		{"wsdcon_9", 16000, map[int]float64{7999: 3e-4, 8000: 9e-5, 15999: 9e-5}},
	} {
		lrs, err := LRs(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(lrs) != tc.n {
			t.Errorf("%s: %d steps, want %d", tc.name, len(lrs), tc.n)
		}
		for s, want := range tc.at {
			if math.Abs(lrs[s]-want) > 1e-15 {
				t.Errorf("%s step %d: %.17g, want %.17g", tc.name, s, lrs[s], want)
			}
		}
	}
	for _, bad := range []string{"linear_100", "cosine_x", "cosine_100", "wsdcon_0"} {
		if _, err := LRs(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %v", bad, err)
		}
	}
}

func TestReadLosses(t *testing.T) {
	steps, losses, err := ReadLosses(strings.NewReader("step,lr,loss\n2176,0.0003,3.5581\n2304,0.0003,3.5306\n"), "a.csv")
	if err != nil || len(steps) != 2 || steps[1] != 2304 || losses[0] != 3.5581 {
		t.Fatalf("%v %v %v", steps, losses, err)
	}
	for _, tc := range []struct{ text, want string }{
		{"", "a.csv: empty file"},
		{"step,lr\n1,2\n", `a.csv:1: header "step,lr" lacks a step or loss column`},
		{"step,loss\n", "a.csv: no rows"},
		{"step,loss\n1,3\n1,2\n", "a.csv:3: step 1 does not increase (previous 1)"},
		{"step,loss\n-1,3\n", `a.csv:2: step "-1" is not a non-negative integer`},
		{"step,loss\n1,NaN\n", `a.csv:2: loss "NaN" is not a positive finite number`},
		{"step,loss\n1,3,4\n", "a.csv:2: 3 fields, the header has 2"},
	} {
		if _, _, err := ReadLosses(strings.NewReader(tc.text), "a.csv"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	text := "step,loss\n2176,3.5\n2304,3.4\n2432,3.3\n2560,3.2\n2688,3.1\n24000,2.7\n"
	if err := os.WriteFile(filepath.Join(dir, "constant_24000.csv"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run(dir, "constant_24000")
	if err != nil {
		t.Fatal(err)
	}
	// The step-24000 point is dropped, as the released loader does.
	if len(r.Points) != 5 || r.Points[4].Step != 2688 || len(r.LRs) != 24000 {
		t.Errorf("%d points, last at %d", len(r.Points), r.Points[len(r.Points)-1].Step)
	}
	if _, err := Run(dir, "cosine_24000"); err == nil || !strings.Contains(err.Error(), "cosine_24000.csv") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzReadLosses: any input gives rows or an error naming the file,
// never a panic; rows are increasing steps with positive finite losses.
func FuzzReadLosses(f *testing.F) {
	for _, s := range []string{"step,lr,loss\n2176,0.0003,3.5581\n", "loss,step\n3,1\n2,5\n", "step,loss\n1,\n", "\"step\",loss\n1,2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, losses, err := ReadLosses(strings.NewReader(string(data)), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mplpaper: f.csv") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for i := range steps {
			if (i > 0 && steps[i] <= steps[i-1]) || !(losses[i] > 0) || math.IsInf(losses[i], 0) {
				t.Fatalf("row %d: step %d loss %v", i, steps[i], losses[i])
			}
		}
	})
}
