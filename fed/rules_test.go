package fed

import (
	"math"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
)

func TestStalenessWeight(t *testing.T) {
	poly := Staleness{Fn: "polynomial", A: 0.5}
	hinge := Staleness{Fn: "hinge", A: 10, B: 4}
	for _, c := range []struct {
		s    Staleness
		tau  int64
		want float64
	}{
		{Staleness{Fn: "constant"}, 7, 1},
		{poly, 0, 1},
		{poly, 3, 0.5},     // 4^(−1/2)
		{poly, 8, 1.0 / 3}, // 9^(−1/2)
		{poly, -2, 1},      // negative counts as 0
		{Staleness{Fn: "polynomial", A: 1}, 4, 0.2},
		{hinge, 4, 1},
		{hinge, 5, 1.0 / 11}, // 1/(10·1 + 1)
		{hinge, 6, 1.0 / 21},
	} {
		if got := c.s.Weight(c.tau); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s.Weight(%d) = %v, want %v", c.s, c.tau, got, c.want)
		}
	}
}

func TestStalenessValidate(t *testing.T) {
	for _, c := range []struct {
		s    Staleness
		want string
	}{
		{Staleness{Fn: "constant"}, ""},
		{Staleness{Fn: "polynomial", A: 0.5}, ""},
		{Staleness{Fn: "polynomial"}, "staleness polynomial: a 0, want a finite number > 0"},
		{Staleness{Fn: "hinge", A: 1, B: -1}, "staleness hinge: b -1, want a finite number ≥ 0"},
		{Staleness{Fn: "poly"}, `unknown staleness function "poly" (have constant, polynomial, hinge)`},
	} {
		err := c.s.Validate()
		if (err == nil) != (c.want == "") || (err != nil && err.Error() != c.want) {
			t.Errorf("%+v: got %v, want %q", c.s, err, c.want)
		}
	}
}

// TestLocalHyperRule checks FedHyper-CL's multiplier on hand-computed
// steps: γ = min(1.1, 1 + 0.1·g/P + p), β ← clip(γβ, 0.1, 10).
func TestLocalHyperRule(t *testing.T) {
	c := NewLocalHyper(0.01, 2)
	steps := []struct {
		g, p, beta float64
	}{
		{2, 0.05, 1.1},       // γ = min(1.1, 1 + 0.1 + 0.05) = 1.1
		{-4, -0.3, 0.55},     // γ = 1 − 0.2 − 0.3 = 0.5
		{0, 0.02, 0.561},     // γ = 1.02
		{0, -2, 0.1},         // γ = −1: clipped to 0.1
		{math.NaN(), 0, 0.1}, // ignored
		{0, 0, 0.1},          // γ = 1
	}
	for i, s := range steps {
		c.Update(s.g, s.p)
		if math.Abs(c.Beta()-s.beta) > 1e-12 {
			t.Fatalf("step %d: β = %v, want %v", i, c.Beta(), s.beta)
		}
		if got, want := c.LR(int64(i)), 0.01*s.beta; math.Abs(got-want) > 1e-15 {
			t.Fatalf("step %d: LR = %v, want %v", i, got, want)
		}
	}
	for range 49 { // 0.1·1.1^49 ≈ 10.7
		c.Update(0, 1) // γ capped at 1.1 every step
	}
	if c.Beta() != 10 {
		t.Fatalf("after 49 growing steps β = %v, want the cap 10", c.Beta())
	}
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	d := NewLocalHyper(0.01, 2)
	if err := d.Restore(st); err != nil || d.Beta() != 10 {
		t.Fatalf("restore: β = %v, err %v", d.Beta(), err)
	}
	if err := d.Restore([]byte(`{"beta":20}`)); err == nil || !strings.Contains(err.Error(), "beta 20 outside [0.1, 10]") {
		t.Fatalf("restore out of range: %v", err)
	}
}

func vecEq(t *testing.T, what string, got []float32, want ...float64) {
	t.Helper()
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > 1e-6 {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

// TestServerStepG checks FedHyper-G's global rate on hand-computed
// rounds: a ← clip(a + ⟨Δ_{r−1}, Δ_r⟩, −0.8, 4), x ← x + (1 + a)·Δ_r.
func TestServerStepG(t *testing.T) {
	h := control.NewFedHyper("g", 0.01)
	x := []float32{0, 0}
	var prev []float32
	for i, r := range []struct {
		delta []float32
		a     float64
		x     []float64
	}{
		{[]float32{1, 0}, 0, []float64{1, 0}},             // no Δ_{−1}: a stays 0
		{[]float32{0.5, 0.5}, 0.5, []float64{1.75, 0.75}}, // ⟨(1,0),(.5,.5)⟩ = .5; x += 1.5Δ
		{[]float32{-2, 0}, -0.5, []float64{0.75, 0.75}},   // ⟨(.5,.5),(−2,0)⟩ = −1; x += .5Δ
		{[]float32{-1, 0}, 1.5, []float64{-1.75, 0.75}},   // +2; x += 2.5Δ
		{[]float32{-3, 0}, 4, []float64{-16.75, 0.75}},    // 1.5 + 3 = 4.5, clipped to 4; x += 5Δ
		{[]float32{1, 0}, 1, []float64{-14.75, 0.75}},     // 4 − 3 = 1; x += 2Δ
		{[]float32{-3, 0}, -0.8, []float64{-15.35, 0.75}}, // 1 − 3 = −2, clipped to −0.8; x += .2Δ
	} {
		_, lr := serverStep(RuleG, h, int64(i), x, r.delta, prev, nil)
		if lr != 0 {
			t.Fatalf("round %d: G returned a client rate %v", i, lr)
		}
		if math.Abs(h.A()-r.a) > 1e-12 {
			t.Fatalf("round %d: a = %v, want %v", i, h.A(), r.a)
		}
		vecEq(t, "x", x, r.x...)
		prev = r.delta
	}
}

// TestServerStepGM checks FedHyper-GM: a ← clip(a + ⟨M, Δ⟩, −0.2, 4),
// M ← Δ + 0.9·M, x ← x + Δ + a·M (the released code's avg + a·Δ +
// 0.9·a·M_prev).
func TestServerStepGM(t *testing.T) {
	h := control.NewFedHyper("gm", 0.01)
	x := []float32{0, 0}
	var mom []float32
	mom, _ = serverStep(RuleGM, h, 0, x, []float32{1, 0}, nil, mom)
	vecEq(t, "M after round 0", mom, 1, 0)
	vecEq(t, "x after round 0", x, 1, 0)
	mom, _ = serverStep(RuleGM, h, 1, x, []float32{0.5, 0.5}, nil, mom)
	// a = 0 + ⟨(1,0),(.5,.5)⟩ = .5; M = (.5+.9, .5) = (1.4, .5);
	// x += (.5,.5) + .5·(1.4,.5) = (1.2, .75).
	if h.A() != 0.5 {
		t.Fatalf("a = %v, want 0.5", h.A())
	}
	vecEq(t, "M after round 1", mom, 1.4, 0.5)
	vecEq(t, "x after round 1", x, 2.2, 0.75)
	mom, _ = serverStep(RuleFull, h, 2, x, []float32{-1, 0}, nil, mom)
	// a = .5 − 1.4 = −.9, clipped to −.2; M = (−1 + 1.26, .45);
	// x += (−1, 0) − .2·(.26, .45) = (−1.052, −.09).
	if math.Abs(h.A()+0.2) > 1e-12 {
		t.Fatalf("a = %v, want −0.2 (the clip)", h.A())
	}
	vecEq(t, "M after round 2", mom, 0.26, 0.45)
	vecEq(t, "x after round 2", x, 1.148, 0.66)
}

// TestServerStepSL checks FedHyper-SL: the model takes the plain average
// and the clients' next rate is clip(η0·(1 + a), 0.001, 0.1).
func TestServerStepSL(t *testing.T) {
	h := control.NewFedHyper("sl", 0.01)
	x := []float32{0}
	var prev []float32
	for i, r := range []struct {
		delta float32
		lr, x float64
	}{
		{1, 0.01, 1},     // a = 0
		{3, 0.04, 4},     // a = 3
		{3, 0.05, 7},     // a = 3 + 9, clipped to 4
		{-10, 0.002, -3}, // a = 4 − 30, clipped to −0.8
	} {
		d := []float32{r.delta}
		_, lr := serverStep(RuleSL, h, int64(i), x, d, prev, nil)
		if math.Abs(lr-r.lr) > 1e-15 || math.Abs(float64(x[0])-r.x) > 1e-6 {
			t.Fatalf("round %d: rate %v and x %v, want %v and %v", i, lr, x[0], r.lr, r.x)
		}
		prev = d
	}
	h = control.NewFedHyper("sl", 0.05)
	serverStep(RuleSL, h, 0, x, []float32{1}, nil, nil)
	if _, lr := serverStep(RuleSL, h, 1, x, []float32{5}, []float32{1}, nil); lr != 0.1 {
		t.Fatalf("SL rate %v, want the cap 0.1", lr)
	}
}
