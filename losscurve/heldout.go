package losscurve

import (
	"fmt"
	"math"
	"sort"
)

// Departure returns the first step from which the rates lrs differ from
// those of every fitting run: before it, lrs agrees (to a relative 1e-12)
// with at least one fitting run's rates, so a law predicts there exactly
// what it predicts for that run, and a run resumed from that run's
// checkpoint (as WSD cooldowns are resumed from a constant-rate run) logs
// the very same losses. Scoring held-out runs only from their departure
// keeps the points a fit has seen out of the score. It returns len(lrs)
// when lrs is a prefix of a fitting run.
func Departure(lrs []float64, fits ...[]float64) int {
	dep := 0
	for _, f := range fits {
		i := 0
		for i < len(lrs) && i < len(f) && sameRate(lrs[i], f[i]) {
			i++
		}
		dep = max(dep, i)
	}
	return dep
}

func sameRate(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*max(math.Abs(a), math.Abs(b))
}

// Scored is a held-out run's score from a given step on.
type Scored struct {
	Metrics
	// Points is how many observed points were scored.
	Points int `json:"points"`
	// FinalError is |L̂ − L|/L at the run's last observed point.
	FinalError float64 `json:"final_error"`
	// FinalPred and FinalObs are the predicted and observed loss there.
	FinalPred float64 `json:"final_pred"`
	FinalObs  float64 `json:"final_obs"`
	// Covered counts the scored points inside the prediction interval
	// (only for a *Fitted law; see EvaluateFrom).
	Covered int `json:"covered"`
}

// EvaluateFrom scores law on the observed points of run at or after step
// from and after the run's warm-up (see Departure). For a *Fitted law it
// also counts the points inside its prediction interval of the given
// level. It is an error when no point is left.
func EvaluateFrom(law Law, run Run, from int, level float64) (Scored, error) {
	if err := run.Validate(); err != nil {
		return Scored{}, err
	}
	w := DetectWarmup(run.LRs)
	var pred, lo, hi []float64
	f, fitted := law.(*Fitted)
	if fitted {
		pred, lo, hi = f.Interval(run.LRs, level)
	} else {
		pred = law.Predict(run.LRs)
	}
	var s Scored
	var p, o []float64
	for _, pt := range run.Points {
		if pt.Step < w || pt.Step < from {
			continue
		}
		p = append(p, pred[pt.Step])
		o = append(o, pt.Loss)
		if fitted && pt.Loss >= lo[pt.Step] && pt.Loss <= hi[pt.Step] {
			s.Covered++
		}
	}
	if len(o) == 0 {
		return Scored{}, fmt.Errorf("losscurve: run %s: no observed points at or after step %d", run.Name, max(from, w))
	}
	m, err := Score(p, o)
	if err != nil {
		return Scored{}, fmt.Errorf("losscurve: run %s: %w", run.Name, err)
	}
	s.Metrics, s.Points = m, len(o)
	s.FinalPred, s.FinalObs = p[len(p)-1], o[len(o)-1]
	s.FinalError = math.Abs(s.FinalPred-s.FinalObs) / s.FinalObs
	return s, nil
}

// Spearman returns Spearman's rank correlation of a and b (ties get their
// average rank); NaN when the lengths differ, fewer than two values are
// given or either side is constant.
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) || len(a) < 2 {
		return math.NaN()
	}
	ra, rb := ranks(a), ranks(b)
	ma, mb := 0.0, 0.0
	for i := range ra {
		ma += ra[i]
		mb += rb[i]
	}
	n := float64(len(ra))
	ma /= n
	mb /= n
	sab, saa, sbb := 0.0, 0.0, 0.0
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

// ranks returns the 1-based ranks of x, ties averaged.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// RunScore is one run's score by ScoreRuns.
type RunScore struct {
	Run string `json:"run"`
	Scored
	// Coverage is the share of points inside the prediction interval
	// (a *Fitted law only).
	Coverage *float64 `json:"coverage,omitempty"`
}

// Scores are a law's scores on several runs and their means.
type Scores struct {
	Runs       []RunScore `json:"runs"`
	Mean       Metrics    `json:"mean"`
	Points     int        `json:"points"`
	FinalError float64    `json:"final_error"` // mean over runs
	Level      float64    `json:"level"`
	// Coverage is the share of all scored points inside the prediction
	// intervals (a *Fitted law only).
	Coverage *float64 `json:"coverage,omitempty"`
}

// ScoreRuns scores law on every point of each run after its warm-up
// (EvaluateFrom from step 0), with prediction intervals of the given
// level when law is a *Fitted, and averages the metrics over the runs.
func ScoreRuns(law Law, runs []Run, level float64) (Scores, error) {
	_, fitted := law.(*Fitted)
	out := Scores{Level: level}
	var ms []Metrics
	covered := 0
	for _, r := range runs {
		sc, err := EvaluateFrom(law, r, 0, level)
		if err != nil {
			return Scores{}, err
		}
		rs := RunScore{Run: r.Name, Scored: sc}
		if fitted {
			c := float64(sc.Covered) / float64(sc.Points)
			rs.Coverage = &c
			covered += sc.Covered
		}
		out.Runs = append(out.Runs, rs)
		ms = append(ms, sc.Metrics)
		out.Points += sc.Points
		out.FinalError += sc.FinalError / float64(len(runs))
	}
	out.Mean = MeanMetrics(ms)
	if fitted && out.Points > 0 {
		c := float64(covered) / float64(out.Points)
		out.Coverage = &c
	}
	return out, nil
}
