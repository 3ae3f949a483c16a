package control

import (
	"math"
	"testing"
)

// sgdHDQuadratic runs plain SGD-HD on f = ½x² as a training loop following
// GradientObserver's contract would, returning α and x after each step.
func sgdHDQuadratic(h *HD, x0 float64, steps int) (alphas, xs []float64) {
	x, u := x0, 0.0
	for t := range steps {
		g := x
		var hg Hypergradient
		hg.Accumulate([]float32{float32(g)}, []float32{float32(u)})
		if t > 0 {
			hg = Hypergradient{Dot: g * u, GradSq: g * g, DirSq: u * u} // float64 exact
		}
		h.ObserveGradient(int64(t), hg)
		a := h.LR(int64(t))
		x -= a * g
		u = g
		alphas, xs = append(alphas, a), append(xs, x)
	}
	return alphas, xs
}

// adaptive.md §3a worked example: f = ½x², x0 = 1, α0 = 0.1, β = 0.01.
func TestSGDHDSpecTrace(t *testing.T) {
	h := NewHD(0.1, 0.01)
	alphas, xs := sgdHDQuadratic(h, 1, 4)
	wantA := []float64{0.1, 0.109, 0.116217, 0.121900}
	wantX := []float64{0.9, 0.8019, 0.708706, 0.622314}
	for i := range wantA {
		if math.Abs(alphas[i]-wantA[i]) > 5e-7 || math.Abs(xs[i]-wantX[i]) > 5e-7 {
			t.Errorf("step %d: α %.7g x %.7g, want α %.7g x %.7g", i+1, alphas[i], xs[i], wantA[i], wantX[i])
		}
	}
	// Exact first values: α2 = 0.1 + 0.01·0.9·1.
	if !closeTo(alphas[1], 0.109, 1e-15) {
		t.Errorf("α2 = %.17g", alphas[1])
	}
}

func TestHDFloorCeilingAndMult(t *testing.T) {
	tests := []struct {
		name string
		h    *HD
		in   []Hypergradient
		want float64
	}{
		{"floor 0", &HD{Init: 0.1, Beta: 1}, []Hypergradient{{Dot: -5}}, 0},
		{"floor min", &HD{Init: 0.1, Beta: 1, Min: 0.05}, []Hypergradient{{Dot: -5}}, 0.05},
		{"ceiling", &HD{Init: 0.1, Beta: 1, Max: 0.3}, []Hypergradient{{Dot: 5}}, 0.3},
		{"additive sum", &HD{Init: 0.1, Beta: 0.1}, []Hypergradient{{Dot: 1}, {Dot: -0.5}}, 0.15},
		// α·(1+β·cos): cos = 3/(√4·√9) = 0.5 → 0.1·1.05
		{"mult", &HD{Init: 0.1, Beta: 0.1, Mult: true}, []Hypergradient{{Dot: 3, GradSq: 4, DirSq: 9}}, 0.105},
		{"mult zero dir", &HD{Init: 0.1, Beta: 0.1, Mult: true}, []Hypergradient{{}}, 0.1},
		{"nan ignored", &HD{Init: 0.1, Beta: 0.1}, []Hypergradient{{Dot: math.NaN()}}, 0.1},
	}
	for _, tc := range tests {
		tc.h.Reset()
		for i, hg := range tc.in {
			tc.h.ObserveGradient(int64(i), hg)
		}
		if got := tc.h.LR(0); !closeTo(got, tc.want, 1e-15) {
			t.Errorf("%s: α %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHypergradientAccumulate(t *testing.T) {
	var h Hypergradient
	h.Accumulate([]float32{1, 2}, []float32{3, 4})
	h.Accumulate([]float32{-1}, []float32{2})
	if h.Dot != 9 || h.GradSq != 6 || h.DirSq != 29 {
		t.Fatalf("%+v", h)
	}
}

// Adam-HD on a 1-D quadratic: the rate rises while consecutive Adam
// directions agree, as the method promises.
func TestAdamHDRaisesRateWhenAligned(t *testing.T) {
	h := NewAdamHD(1e-3, 1e-3)
	const b1, b2, eps = 0.9, 0.999, 1e-8
	x, m, v, u := 5.0, 0.0, 0.0, 0.0
	for t := 1; t <= 50; t++ {
		g := x
		h.ObserveGradient(int64(t-1), Hypergradient{Dot: g * u, GradSq: g * g, DirSq: u * u})
		m = b1*m + (1-b1)*g
		v = b2*v + (1-b2)*g*g
		u = math.Sqrt(1-math.Pow(b2, float64(t))) / (1 - math.Pow(b1, float64(t))) * m / (math.Sqrt(v) + eps)
		x -= h.LR(int64(t-1)) * u
	}
	if h.LR(0) <= 1e-3 {
		t.Fatalf("α %v did not rise", h.LR(0))
	}
}

func TestFedHyper(t *testing.T) {
	tests := []struct {
		mode   string
		dots   []float64
		wantA  float64
		wantLR float64
	}{
		{"g", []float64{0, 0.5, 0.25}, 0.75, 1.75},
		{"g", []float64{-3}, -0.8, 0.2},   // clip low
		{"g", []float64{10}, 4, 5},        // clip high
		{"gm", []float64{-3}, -0.2, -0.2}, // GM clips at −0.2
		{"gm", []float64{1, 1}, 2, 2},
		{"sl", []float64{1}, 1, 0.02},    // 0.01·(1+1)
		{"sl", []float64{4, 4}, 4, 0.05}, // 0.01·5
		{"sl", []float64{-0.8, -1}, -0.8, 0.002},
	}
	for _, tc := range tests {
		f := NewFedHyper(tc.mode, 0.01)
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		for r, d := range tc.dots {
			f.ObserveRound(int64(r), d)
		}
		if !closeTo(f.A(), tc.wantA, 1e-15) || !closeTo(f.LR(0), tc.wantLR, 1e-15) {
			t.Errorf("%s %v: a %v lr %v, want a %v lr %v", tc.mode, tc.dots, f.A(), f.LR(0), tc.wantA, tc.wantLR)
		}
	}
	// sl clamps the clients' rate to [0.001, 0.1].
	f := NewFedHyper("sl", 0.05)
	f.ObserveRound(0, 4)
	if f.LR(0) != 0.1 {
		t.Errorf("sl rate %v, want 0.1", f.LR(0))
	}
	if err := NewFedHyper("x", 0.01).Validate(); err == nil {
		t.Error("mode x accepted")
	}
}
