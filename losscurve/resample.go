package losscurve

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// How the bootstrap refits resample the fit points (FitOptions.Resample).
const (
	// ResamplePoints draws moving blocks of each run's observed points
	// (the pairs bootstrap): a refit sees some points several times and
	// others not at all, so a resample that misses a run's cooldown no
	// longer identifies how the loss responds to a decay.
	ResamplePoints = "points"
	// ResampleResiduals keeps every observed step and draws moving blocks
	// of each run's log residuals from the point fit instead, added back
	// to the point fit's prediction (a residual bootstrap for a fixed
	// design, Efron and Tibshirani, "An Introduction to the Bootstrap",
	// 1993, ch. 9; blocks keep the residuals' serial correlation, Künsch,
	// Annals of Statistics 17:1217–1241, 1989). Every refit sees the whole
	// schedule, so it varies only with the loss's noise and misfit.
	ResampleResiduals = "residuals"
)

// Resamplings lists the resampling schemes in a stable order.
func Resamplings() []string { return []string{ResamplePoints, ResampleResiduals} }

// DefaultResample is the bootstrap's resampling scheme
// (FitOptions.Resample), chosen with the aggregation on the validation
// curves of docs/accuracy.md.
const DefaultResample = ResamplePoints

// checkResample returns the scheme r names ("" is DefaultResample).
func checkResample(r string) (string, error) {
	switch r {
	case "":
		return DefaultResample, nil
	case ResamplePoints, ResampleResiduals:
		return r, nil
	}
	return "", fmt.Errorf("losscurve: resample %q: want one of %v", r, Resamplings())
}

// predictions returns the model's prediction at every fitted point for
// the solution sol (nonlinear parameters, then coefficients).
func (p *fitProblem) predictions(sol []float64) []float64 {
	k := len(p.nonneg)
	nl := len(p.lo)
	rows := mat.NewDense(len(p.obs), k, nil)
	p.features(sol[:nl], rows)
	out := make([]float64, len(p.obs))
	for i := range out {
		for j := 0; j < k; j++ {
			out[i] += rows.At(i, j) * sol[nl+j]
		}
	}
	return out
}

// residualResample returns synthetic observations pred_i·exp(r*_i), where
// r* is, run by run (runs of sizes[i] consecutive points), a sequence of
// moving blocks of ⌈√n⌉ consecutive log residuals of that run drawn with
// replacement and cut to the run's length. Points whose prediction is not
// positive keep their observation.
func residualResample(rng *rand.Rand, obs, pred []float64, sizes []int) []float64 {
	out := make([]float64, len(obs))
	off := 0
	for _, n := range sizes {
		L := min(max(1, int(math.Ceil(math.Sqrt(float64(n))))), n)
		for filled := 0; filled < n; {
			s := rng.IntN(n - L + 1)
			for i := s; i < s+L && filled < n; i++ {
				j, d := off+filled, off+i
				out[j] = obs[j]
				if pred[j] > 0 && pred[d] > 0 {
					out[j] = pred[j] * obs[d] / pred[d]
				}
				filled++
			}
		}
		off += n
	}
	return out
}
