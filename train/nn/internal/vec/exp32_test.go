package vec

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 88; x += 0.001237 {
		got := float64(Exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("worst relative error %.3g, want ≤ 3e-7", worst)
	}
	for _, c := range []struct{ x, want float32 }{{0, 1}, {-100, 0}, {100, float32(math.Inf(1))}} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("Exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := Exp32(float32(math.NaN())); nan == nan {
		t.Error("Exp32(NaN) is not NaN")
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = float32(i)/100 - 5
	}
	b.Run("Exp32", func(b *testing.B) {
		var s float32
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += Exp32(x)
			}
		}
		_ = s
	})
	b.Run("math.Exp", func(b *testing.B) {
		var s float32
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += float32(math.Exp(float64(x)))
			}
		}
		_ = s
	})
}
