package losscurve

import (
	"fmt"
	"math"
	"sort"
)

// How a *Fitted combines its bootstrap refits into one prediction
// (Fitted.Aggregate, FitOptions.Aggregate).
const (
	// AggregatePoint predicts with the point fit alone.
	AggregatePoint = "point"
	// AggregateMean predicts the mean of the bootstrap refits' predictions
	// at every step: bootstrap aggregation ("bagging", Breiman, "Bagging
	// predictors", Machine Learning 24:123–140, 1996), which lowers the
	// variance of an estimator that changes a lot with its data, as a fit
	// of the multi-power law's loss-drop exponents to two runs does.
	AggregateMean = "mean"
	// AggregateMedian predicts the median of the refits' predictions at
	// every step (the mean of the two middle ones for an even count): the
	// same aggregation, robust to a refit that went astray.
	AggregateMedian = "median"
)

// Aggregates lists the aggregations in a stable order.
func Aggregates() []string { return []string{AggregatePoint, AggregateMean, AggregateMedian} }

// DefaultAggregate is the default recipe's aggregation
// (FitOptions.Aggregate). It was chosen on the validation curves of
// docs/accuracy.md, never on its test curves; see cmd/accuracy.
const DefaultAggregate = AggregatePoint

// checkAggregate returns the aggregation a names ("" is AggregatePoint).
func checkAggregate(a string) (string, error) {
	switch a {
	case "", AggregatePoint:
		return AggregatePoint, nil
	case AggregateMean, AggregateMedian:
		return a, nil
	}
	return "", fmt.Errorf("losscurve: aggregate %q: want one of %v", a, Aggregates())
}

// Predict returns the fitted law's prediction at every step of lrs: the
// point fit's, or with Aggregate set and bootstrap refits present, the
// refits' mean or median at each step. A refit's non-positive or
// non-finite prediction at a step is left out of that step's aggregate;
// where no refit gives a usable value, the point fit's is used. Past the
// last fitted step it is corrected by HorizonFactor when HorizonBias is
// set.
func (f *Fitted) Predict(lrs []float64) []float64 {
	if !f.bagged() {
		return f.correct(f.Law.Predict(lrs))
	}
	return f.correct(f.combine(f.Law.Predict(lrs), f.memberPredictions(lrs)))
}

// bagged reports whether Predict aggregates the members.
func (f *Fitted) bagged() bool {
	return len(f.Members) > 0 && f.Aggregate != "" && f.Aggregate != AggregatePoint
}

// memberPredictions returns every member's prediction for lrs.
func (f *Fitted) memberPredictions(lrs []float64) [][]float64 {
	preds := make([][]float64, len(f.Members))
	for j, m := range f.Members {
		preds[j] = m.Predict(lrs)
	}
	return preds
}

// combine aggregates the members' predictions preds step by step (see
// Predict), falling back on the point fit's prediction point.
func (f *Fitted) combine(point []float64, preds [][]float64) []float64 {
	if !f.bagged() {
		return point
	}
	vals := make([]float64, 0, len(preds))
	out := make([]float64, len(point))
	for i := range out {
		vals = vals[:0]
		for _, p := range preds {
			if v := p[i]; v > 0 && !math.IsInf(v, 0) {
				vals = append(vals, v)
			}
		}
		out[i] = aggregate(f.Aggregate, vals, point[i])
	}
	return out
}

// aggregate combines vals by the named aggregation, or returns fallback
// when vals is empty.
func aggregate(how string, vals []float64, fallback float64) float64 {
	n := len(vals)
	if n == 0 {
		return fallback
	}
	if how == AggregateMedian {
		sort.Float64s(vals)
		if n%2 == 1 {
			return vals[n/2]
		}
		return (vals[n/2-1] + vals[n/2]) / 2
	}
	s := 0.0
	for _, v := range vals {
		s += v
	}
	return s / float64(n)
}
