// Package bench is lrkit's schedule benchmark: study specs, tuning
// (grid mode, and AlgoPerf's external and self-tuning rulesets), a
// planner that runs a study in rounds through a work queue, scoring by
// steps to target, verdicts with bootstrap intervals, and reports.
//
// The protocol of the built-in studies (grid mode; see Study): each
// schedule's peak is tuned per workload and budget on a log-spaced grid
// with selection seeds, extended past an edge while the best peak sits
// there; the chosen peak is trained afresh on evaluation seeds. Each
// problem's target is the tuned baseline's quality (its selection runs
// at its chosen peak), so the benchmark asks how fast each schedule
// reaches what a tuned cosine schedule reaches in the budget. Problems
// that cannot tell schedules apart are left out and counted. Each
// schedule is compared with the baseline by the geometric-mean speedup in
// steps to target, paired by seed, with a two-stage bootstrap interval
// over problems and seeds (Comparison), and a schedule is recommended only
// when its interval lies above 1.
//
// Scoring also follows AlgoPerf (Dahl et al. 2023, arXiv 2306.07179; the
// mlcommons/algorithmic-efficiency scoring code, v0.6) for its
// performance profiles: a trial's time to target is the training time at
// its first evaluation whose validation metric reaches the target (+Inf if
// none does); per problem an entry's time is the median over studies
// (seeds) of the fastest trial of each study; performance ratios divide by
// the best entry's time and are +Inf beyond RatioMax; the performance
// profile ρ(τ) is the fraction of problems with ratio ≤ τ, and the
// benchmark score is the area under ρ on [1, RatioMax] divided by
// RatioMax−1.
package bench

import (
	"fmt"
	"math"
	"sort"
)

// RatioMax is AlgoPerf's largest performance ratio that still scores: a
// submission more than four times slower than the best one on a workload
// counts as not reaching it.
const RatioMax = 4.0

// Eval is one evaluation of a trial: the training time (in steps or in
// seconds, evaluation excluded) at which it happened and the validation
// metric it measured.
type Eval struct {
	Time   float64
	Metric float64
}

// TimeToTarget returns the time of the first evaluation whose metric
// reaches target (≤ target when lower is better, ≥ when higher is better),
// or +Inf when none does. A NaN metric never reaches the target.
func TimeToTarget(evals []Eval, target float64, higherIsBetter bool) float64 {
	for _, e := range evals {
		if math.IsNaN(e.Metric) {
			continue
		}
		if (higherIsBetter && e.Metric >= target) || (!higherIsBetter && e.Metric <= target) {
			return e.Time
		}
	}
	return math.Inf(1)
}

// WorkloadTime returns a submission's time on one workload from its trial
// times grouped by study: the median over studies of the fastest trial in
// each study. +Inf (a trial or a whole study that never reached the target)
// takes part in the median. It returns an error for no studies or an empty
// study.
func WorkloadTime(studies [][]float64) (float64, error) {
	if len(studies) == 0 {
		return 0, fmt.Errorf("bench: workload time of no studies")
	}
	best := make([]float64, len(studies))
	for i, trials := range studies {
		if len(trials) == 0 {
			return 0, fmt.Errorf("bench: study %d has no trials", i)
		}
		b := math.Inf(1)
		for _, t := range trials {
			if t < b {
				b = t
			}
		}
		best[i] = b
	}
	return median(best), nil
}

// median returns the median of xs (the mean of the two middle values for
// an even count; +Inf when either middle value is +Inf). xs is reordered.
func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	a, b := xs[n/2-1], xs[n/2]
	if math.IsInf(a, 1) || math.IsInf(b, 1) {
		return math.Inf(1)
	}
	return (a + b) / 2
}

// Ratios returns the performance ratios of every submission on every
// workload: times[s][w] divided by the best time on workload w over all
// submissions, +Inf when a submission did not reach the target or is more
// than RatioMax times slower than the best. A workload nobody reached gives
// +Inf for everyone. times must be rectangular.
func Ratios(times [][]float64) ([][]float64, error) {
	if len(times) == 0 {
		return nil, nil
	}
	nw := len(times[0])
	for s, row := range times {
		if len(row) != nw {
			return nil, fmt.Errorf("bench: submission %d has %d workload times, want %d", s, len(row), nw)
		}
	}
	out := make([][]float64, len(times))
	for s := range times {
		out[s] = make([]float64, nw)
	}
	for w := 0; w < nw; w++ {
		best := math.Inf(1)
		for s := range times {
			if t := times[s][w]; t < best {
				best = t
			}
		}
		for s := range times {
			r := times[s][w] / best
			if math.IsInf(best, 1) || math.IsNaN(r) || r > RatioMax {
				r = math.Inf(1)
			}
			out[s][w] = r
		}
	}
	return out, nil
}

// Profile returns ρ(τ): the fraction of the n workloads whose ratio is at
// most tau. n is the number of workloads the benchmark counts (AlgoPerf
// fixes it), at least len(ratios).
func Profile(ratios []float64, n int, tau float64) float64 {
	if n <= 0 {
		return 0
	}
	c := 0
	for _, r := range ratios {
		if r <= tau {
			c++
		}
	}
	return float64(c) / float64(n)
}

// Score returns the benchmark score: the exact area under the step
// function ρ on [1, RatioMax], divided by RatioMax−1, which is
// Σ_w max(0, RatioMax−r_w) / ((RatioMax−1)·n).
func Score(ratios []float64, n int) float64 {
	if n <= 0 {
		return 0
	}
	s := 0.0
	for _, r := range ratios {
		if r < RatioMax {
			s += RatioMax - math.Max(r, 1)
		}
	}
	return s / ((RatioMax - 1) * float64(n))
}

// ScoreTrapezoid returns the score as AlgoPerf's scoring code computes it:
// ρ sampled at points linearly spaced τ in [1, RatioMax] and integrated by
// the trapezoidal rule. With 100 points it differs from Score by the
// discretisation, about 0.002 for the reference example.
func ScoreTrapezoid(ratios []float64, n, points int) float64 {
	if points < 2 || n <= 0 {
		return 0
	}
	h := (RatioMax - 1) / float64(points-1)
	area := 0.0
	prev := Profile(ratios, n, 1)
	for i := 1; i < points; i++ {
		cur := Profile(ratios, n, 1+float64(i)*h)
		area += (prev + cur) / 2 * h
		prev = cur
	}
	return area / (RatioMax - 1)
}

// GeoMeanSpeedup returns the geometric mean over workloads of
// baseline[w]/times[w], counting only workloads both reached (finite
// times), and how many workloads that was. A result above 1 means faster
// than the baseline.
func GeoMeanSpeedup(times, baseline []float64) (speedup float64, counted int) {
	sum := 0.0
	for w := range times {
		if w >= len(baseline) {
			break
		}
		t, b := times[w], baseline[w]
		if math.IsInf(t, 0) || math.IsInf(b, 0) || !(t > 0) || !(b > 0) {
			continue
		}
		sum += math.Log(b / t)
		counted++
	}
	if counted == 0 {
		return math.NaN(), 0
	}
	return math.Exp(sum / float64(counted)), counted
}
