package losscurve

import (
	"fmt"
	"math"
)

// Metrics are the accuracy measures of the multi-power law paper and its
// released evaluation code (thu-yao-01-luo/MultiPowerLaw src/evaluation.py),
// computed over the observed points of one curve:
//
//	R2     = 1 − Σ(p−o)² / Σ(o−ō)²
//	MAE    = mean |p−o|
//	RMSE   = sqrt(mean (p−o)²)
//	PredE  = mean |p−o|/o   (mean relative error)
//	WorstE = max  |p−o|/o   (worst relative error)
//
// and one of lrkit's own, the sign the others hide:
//
//	Bias   = mean (p−o)/o   (mean signed relative error: below 0, the law
//	                         predicts too low a loss)
type Metrics struct {
	R2     float64 `json:"r2"`
	MAE    float64 `json:"mae"`
	RMSE   float64 `json:"rmse"`
	PredE  float64 `json:"prede"`
	WorstE float64 `json:"worste"`
	Bias   float64 `json:"bias"`
}

// Score returns the metrics of predicted against observed values. The
// slices must have equal, non-zero length, finite values and positive
// observations.
func Score(pred, obs []float64) (Metrics, error) {
	if len(pred) != len(obs) {
		return Metrics{}, fmt.Errorf("losscurve: score: %d predictions for %d observations", len(pred), len(obs))
	}
	if len(obs) == 0 {
		return Metrics{}, fmt.Errorf("losscurve: score: no observations")
	}
	mean := 0.0
	for i, o := range obs {
		if !(o > 0) || math.IsInf(o, 0) {
			return Metrics{}, fmt.Errorf("losscurve: score: observation %d is %v, want a positive finite loss", i, o)
		}
		if math.IsNaN(pred[i]) || math.IsInf(pred[i], 0) {
			return Metrics{}, fmt.Errorf("losscurve: score: prediction %d is %v", i, pred[i])
		}
		mean += o
	}
	n := float64(len(obs))
	mean /= n
	var m Metrics
	ssRes, ssTot := 0.0, 0.0
	for i, o := range obs {
		d := pred[i] - o
		ssRes += d * d
		ssTot += (o - mean) * (o - mean)
		m.MAE += math.Abs(d)
		m.Bias += d / o
		rel := math.Abs(d) / o
		m.PredE += rel
		m.WorstE = max(m.WorstE, rel)
	}
	m.MAE /= n
	m.PredE /= n
	m.Bias /= n
	m.RMSE = math.Sqrt(ssRes / n)
	if ssTot > 0 {
		m.R2 = 1 - ssRes/ssTot
	} else {
		m.R2 = math.NaN()
	}
	return m, nil
}

// MeanMetrics returns the arithmetic mean of each metric over ms (the
// averaging the paper's tables use).
func MeanMetrics(ms []Metrics) Metrics {
	var s Metrics
	if len(ms) == 0 {
		return Metrics{R2: math.NaN(), MAE: math.NaN(), RMSE: math.NaN(), PredE: math.NaN(), WorstE: math.NaN(), Bias: math.NaN()}
	}
	for _, m := range ms {
		s.R2 += m.R2
		s.MAE += m.MAE
		s.RMSE += m.RMSE
		s.PredE += m.PredE
		s.WorstE += m.WorstE
		s.Bias += m.Bias
	}
	n := float64(len(ms))
	return Metrics{R2: s.R2 / n, MAE: s.MAE / n, RMSE: s.RMSE / n, PredE: s.PredE / n, WorstE: s.WorstE / n, Bias: s.Bias / n}
}

// Evaluate predicts run with law and scores it on the run's points at or
// after the warm-up (the points a fit uses).
func Evaluate(law Law, run Run) (Metrics, error) {
	if err := run.Validate(); err != nil {
		return Metrics{}, err
	}
	pred := law.Predict(run.LRs)
	w := DetectWarmup(run.LRs)
	var p, o []float64
	for _, pt := range run.Points {
		if pt.Step < w {
			continue
		}
		p = append(p, pred[pt.Step])
		o = append(o, pt.Loss)
	}
	m, err := Score(p, o)
	if err != nil {
		return Metrics{}, fmt.Errorf("losscurve: run %s: %w", run.Name, err)
	}
	return m, nil
}
