package nn

import (
	"math"
	"testing"
)

func TestReductions(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 101} {
		x, y := make([]float32, n), make([]float32, n)
		var l1, sq, dsq float64
		for i := range x {
			x[i] = float32(i%7) - 3.25
			y[i] = float32(i%3) * 0.5
			l1 += math.Abs(float64(x[i]))
			sq += float64(x[i]) * float64(x[i])
			d := float64(x[i]) - float64(y[i])
			dsq += d * d
		}
		a, q := SumAbsSquares(x)
		s, d := SumSquaresDiff(x, y)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"SumSquares", SumSquares(x), sq}, {"SumAbsSquares l1", a, l1}, {"SumAbsSquares sq", q, sq},
			{"SumSquaresDiff sq", s, sq}, {"SumSquaresDiff diff", d, dsq}} {
			if math.Abs(c.got-c.want) > 1e-12*math.Max(1, c.want) {
				t.Errorf("n=%d %s = %v, want %v", n, c.name, c.got, c.want)
			}
		}
	}
}

// TestReLUMask: the branch-free mask passes dy only where x > 0 (not at 0
// or −0).
func TestReLUMask(t *testing.T) {
	var r ReLU
	x := NewTensor(5)
	copy(x.Data, []float32{-1, 0, float32(math.Copysign(0, -1)), 2, 1e-30})
	if _, err := r.Forward(x); err != nil {
		t.Fatal(err)
	}
	dy := NewTensor(5)
	copy(dy.Data, []float32{3, 3, 3, -3, 3})
	want := []float32{0, 0, 0, -3, 3}
	for i, v := range r.Backward(dy).Data {
		if v != want[i] {
			t.Errorf("dx[%d] = %v, want %v", i, v, want[i])
		}
	}
}
