package losscurve

import (
	"math"
	"testing"
)

// TestPowerSOEAccuracy checks the relative error of the sum-of-exponentials
// expansion of y^−β against math.Pow on a dense logarithmic grid.
func TestPowerSOEAccuracy(t *testing.T) {
	for _, eps := range []float64{1e-6, 1e-9, 1e-12} {
		for _, beta := range []float64{0.05, 0.3, 0.593505, 1, 1.7, 3} {
			for _, r := range [][2]float64{{1e-3, 1e2}, {1e-8, 1e8}, {0.5, 0.6}} {
				p := newPowerSOE(beta, r[0], r[1], eps)
				worst := 0.0
				for i := 0; i <= 2000; i++ {
					y := r[0] * math.Pow(r[1]/r[0], float64(i)/2000)
					want := math.Pow(y, -beta)
					worst = max(worst, math.Abs(p.eval(y)-want)/want)
				}
				if testing.Verbose() {
					t.Logf("eps=%g beta=%g range=%v: worst %.3g nodes %d", eps, beta, r, worst, len(p.q))
				}
				if worst > eps {
					t.Errorf("eps=%g beta=%g range=%v: worst relative error %.3g (%d nodes)", eps, beta, r, worst, len(p.q))
				}
			}
		}
	}
}
