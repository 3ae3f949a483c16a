package nn

import "math"

// Reductions over float32 slices, accumulated in float64 with four
// independent partial sums (so the additions pipeline) combined in a fixed
// order: the result is deterministic.

// SumSquares returns Σ x².
func SumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i]) * float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// SumAbsSquares returns Σ |x| and Σ x² in one pass.
func SumAbsSquares(x []float32) (l1, l2sq float64) {
	var a0, a1, q0, q1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i]), float64(x[i+1])
		q0 += a * a
		q1 += b * b
		a0 += math.Abs(a) // a bit mask, no branch to mispredict
		a1 += math.Abs(b)
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		q0 += a * a
		a0 += math.Abs(a)
	}
	return a0 + a1, q0 + q1
}

// SumSquaresDiff returns Σ x² and Σ (x − y)² for equal-length x and y.
func SumSquaresDiff(x, y []float32) (sq, diffSq float64) {
	y = y[:len(x)]
	var s0, s1, d0, d1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		a, b := float64(x[i]), float64(x[i+1])
		s0 += a * a
		s1 += b * b
		da, db := a-float64(y[i]), b-float64(y[i+1])
		d0 += da * da
		d1 += db * db
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
		da := a - float64(y[i])
		d0 += da * da
	}
	return s0 + s1, d0 + d1
}
