package main

import (
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/epfl"
)

func TestCopyLaw(t *testing.T) {
	c := copyLaw{losscurve.Run{Points: []losscurve.Point{{Step: 10, Loss: 4}, {Step: 20, Loss: 3}, {Step: 40, Loss: 2}}}}
	got := c.Predict(make([]float64, 50))
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 4}, {10, 4}, {15, 3.5}, {30, 2.5}, {40, 2}, {49, 2}} {
		if math.Abs(got[tc.step]-tc.want) > 1e-12 {
			t.Errorf("step %d: %g, want %g", tc.step, got[tc.step], tc.want)
		}
	}
}

func TestFamily(t *testing.T) {
	for _, tc := range []struct {
		c    epfl.Curve
		want string
	}{
		{epfl.Curve{ID: "g__m__cos10_lr0.001_T25000", Family: "cosine"}, "cosine to 10%"},
		{epfl.Curve{ID: "g__m__cos0_lr0.001_T25000", Family: "cosine"}, "cosine to 0"},
		{epfl.Curve{ID: "g__m__wsd0.2sqrt_lr0.001_T25000", Family: "wsd", Shape: "sqrt", T: 25000, DecayStart: 20000}, "WSD 1−√"},
		{epfl.Curve{ID: "g__m__wsd0.2linear_lr0.001_T25000", Family: "wsd", Shape: "linear", T: 25000, DecayStart: 20000}, "WSD linear, cooldown ≤ 20%"},
		{epfl.Curve{ID: "g__m__wsd0.4linear_lr0.001_T25000", Family: "wsd", Shape: "linear", T: 25000, DecayStart: 15000}, "WSD linear, cooldown 40–90%"},
		{epfl.Curve{ID: "g__m__lin0.994_lr0.001_T50000", Family: "linear_decay", Shape: "linear", T: 50000, DecayStart: 300}, "linear decay"},
	} {
		if got := family(tc.c); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.c.ID, got, tc.want)
		}
	}
}

func TestDiffCI(t *testing.T) {
	mk := func(key string, pe ...float64) fitResult {
		r := fitResult{m: method{key: key}}
		for i, v := range pe {
			r.curves = append(r.curves, curveResult{held: heldRun{run: losscurve.Run{Name: string(rune('a' + i))}}, sc: losscurve.Scored{Metrics: losscurve.Metrics{PredE: v}}})
		}
		return r
	}
	splits := []split{{role: roleTest}}
	res := []fitResult{mk("x", 0.002, 0.003, 0.004), mk("y", 0.001, 0.002, 0.003)}
	mean, lo, hi, n := diffCI(splits, res, "x", "y", roleTest)
	if n != 3 || math.Abs(mean-0.001) > 1e-15 || math.Abs(lo-0.001) > 1e-15 || math.Abs(hi-0.001) > 1e-15 {
		t.Errorf("mean %g [%g, %g] over %d, want a constant difference 0.001", mean, lo, hi, n)
	}
}

// TestSplits checks the protocol on the shared data: the fit runs, and
// that a WSD run is scored only from its cooldown.
func TestSplits(t *testing.T) {
	dir, err := epfl.Dir()
	if err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("reads every curve")
	}
	splits, err := buildSplits(dir)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, s := range splits {
		roles[s.role]++
		if s.name == "124M, peak 0.001" {
			if s.role != roleTest || !strings.Contains(s.fitIDs[0]+s.fitIDs[1], "const_lr0.001_T50000") || !strings.Contains(s.fitIDs[0]+s.fitIDs[1], "cos10_lr0.001_T25000") {
				t.Errorf("split %s: role %s, fit %v", s.name, s.role, s.fitIDs)
			}
			for _, h := range s.held {
				if strings.HasSuffix(h.run.Name, "wsd0.2linear_lr0.001_T50000") && h.from != 40001 {
					t.Errorf("%s scored from %d, want 40001 (its cooldown starts at 40000)", h.run.Name, h.from)
				}
			}
			if len(s.held) != 31 {
				t.Errorf("%d held-out runs, want 31", len(s.held))
			}
		}
	}
	if roles[roleValidation] != 3 || roles[roleTest] != 2 || roles[roleSecondary] < 10 {
		t.Errorf("splits per role %v", roles)
	}
}
