package fed

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// tInterval returns the mean of xs and its two-sided 95% confidence
// interval by Student's t with n−1 degrees of freedom (the interval is
// NaN for fewer than two values; a zero spread gives a zero-width one).
func tInterval(xs []float64) (mean, lo, hi float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	if n < 2 {
		return mean, math.NaN(), math.NaN()
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	se := math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return mean, mean - t*se, mean + t*se
}
