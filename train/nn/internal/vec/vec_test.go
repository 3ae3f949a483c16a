package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// inputs returns n values: normal draws at several scales and the
// extremes where Exp32 saturates (|2u| past 87), zeros and infinities.
func inputs(n int, rng *rand.Rand) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 5, -5, 10, -10, 40, -40, 1e4, -1e4,
		float32(math.Inf(1)), float32(math.Inf(-1)), 3.4e38, -3.4e38, 1e-30}
	x := make([]float32, n)
	for i := range x {
		if i < len(special) && i%2 == 0 {
			x[i] = special[i/2]
			continue
		}
		x[i] = float32(rng.NormFloat64() * []float64{0.1, 1, 4, 30}[i%4])
	}
	return x
}

// same reports whether a and b have the same bits, or are both NaN; where
// the Go compiler fuses multiply-adds (goFuses), whether they agree to a
// relative 1e-5.
func same(a, b float32) bool {
	if math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b) {
		return true
	}
	d := math.Abs(float64(a) - float64(b))
	return goFuses && d <= 1e-5*math.Max(math.Abs(float64(a)), math.Abs(float64(b)))+1e-37
}

// TestGELUReference checks GELU against the formula in float64 (through
// math.Tanh) and its derivative against a central difference of that.
func TestGELUReference(t *testing.T) {
	gelu := func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(geluC*(x+0.044715*x*x*x)))
	}
	for _, v := range []float32{-8, -3, -1.5, -0.7, -0.1, 0, 0.05, 0.3, 1, 2.5, 6, 20} {
		x := []float32{v}
		y, d := make([]float32, 1), make([]float32, 1)
		GELU(x, y, d)
		want := gelu(float64(v))
		if math.Abs(float64(y[0])-want) > 1e-6*(1+math.Abs(want)) {
			t.Errorf("GELU(%v) = %v, want %v", v, y[0], want)
		}
		const h = 1e-4
		wantD := (gelu(float64(v)+h) - gelu(float64(v)-h)) / (2 * h)
		if math.Abs(float64(d[0])-wantD) > 1e-5 {
			t.Errorf("GELU'(%v) = %v, want %v", v, d[0], wantD)
		}
	}
	y, d := make([]float32, 2), make([]float32, 2)
	GELU([]float32{float32(math.Inf(1)), float32(math.Inf(-1))}, y, d)
	// At ±Inf the formula has ∞·0 terms (−Inf·(1 + t) with t = −1, and
	// ½·x·(1 − t²) in the derivative): NaN, as the Go loop has always given.
	if !math.IsInf(float64(y[0]), 1) || y[1] == y[1] || d[0] == d[0] || d[1] == d[1] {
		t.Errorf("GELU(±Inf) = %v, derivative %v; want [+Inf NaN], [NaN NaN]", y, d)
	}
}

// TestGELUMatchesGo: the assembly loop (lengths past 8) and the Go tail
// give the Go loop's bits for every input, also when d is x itself (see
// same for GOAMD64=v3).
func TestGELUMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 64, 1000} {
		x := inputs(n, rng)
		wy, wd := make([]float32, n), make([]float32, n)
		geluGo(x, wy, wd)
		y, d := make([]float32, n), make([]float32, n)
		GELU(x, y, d)
		for i := range x {
			if !same(y[i], wy[i]) || !same(d[i], wd[i]) {
				t.Fatalf("n=%d, x[%d] = %v: y, d = %v, %v; Go loop %v, %v", n, i, x[i], y[i], d[i], wy[i], wd[i])
			}
		}
		in := append([]float32(nil), x...)
		GELU(in, y, in) // derivative over the input
		for i := range x {
			if !same(in[i], wd[i]) || !same(y[i], wy[i]) {
				t.Fatalf("n=%d in place, x[%d] = %v: d = %v, want %v", n, i, x[i], in[i], wd[i])
			}
		}
	}
}

// TestExpShiftMatchesExp32: ExpShift gives Exp32(x − shift) bit for bit,
// in place too.
func TestExpShiftMatchesExp32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 3, 8, 13, 128} {
		for _, shift := range []float32{0, 2.5, -90} {
			x := inputs(n, rng)
			got := make([]float32, n)
			ExpShift(got, x, shift)
			for i, v := range x {
				if want := Exp32(v - shift); !same(got[i], want) {
					t.Fatalf("n=%d shift %v: exp(%v − shift) = %v, Exp32 %v", n, shift, v, got[i], want)
				}
			}
			ExpShift(x, x, shift)
			for i := range x {
				if !same(x[i], got[i]) {
					t.Fatalf("n=%d shift %v in place: element %d is %v, want %v", n, shift, i, x[i], got[i])
				}
			}
		}
	}
}

func BenchmarkGELU(b *testing.B) {
	x := inputs(1<<16, rand.New(rand.NewPCG(1, 1)))
	y, d := make([]float32, len(x)), make([]float32, len(x))
	b.Run("vec", func(b *testing.B) {
		for b.Loop() {
			GELU(x, y, d)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			geluGo(x, y, d)
		}
	})
}
