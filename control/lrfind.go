package control

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// LRFindResult is the outcome of an LR range test.
type LRFindResult struct {
	LRs      []float64 // rate of each step taken
	Losses   []float64 // raw training loss of each step
	Smoothed []float64 // bias-corrected exponential moving average of the loss
	// Suggested is the suggested peak rate and Rule names the rule that
	// chose it (RuleSteepest, or RuleMinOver10 when the smoothed loss never
	// fell enough to have a steepest descent).
	Suggested float64
	Rule      string
	// MinLR is the rate at the lowest smoothed loss; MinLR/10 is the other
	// classic suggestion.
	MinLR float64
	// Stopped says why the sweep ended early ("" when it ran every step).
	Stopped string
}

// Names of the suggestion rules of LRFind.
const (
	// RuleSteepest: the rate where the smoothed loss falls fastest against
	// log(rate), before its minimum (fastai's "steep" suggestion).
	RuleSteepest = "steepest descent of the smoothed loss"
	// RuleMinOver10: a tenth of the rate at the smoothed loss's minimum
	// (fastai's older lr_min/10).
	RuleMinOver10 = "minimum of the smoothed loss / 10"
)

// LRFindSmoothing is the EMA factor of the loss in LRFind (fastai, Smith's
// range test write-ups use 0.98), and LRFindDiverge the ratio of smoothed
// to best smoothed loss at which the sweep stops.
const (
	LRFindSmoothing = 0.98
	LRFindDiverge   = 4.0
)

// LRFind runs an LR range test (Smith 2017, "Cyclical Learning Rates for
// Training Neural Networks", arXiv 1506.01186; fastai's lr_find): from the
// engine's current state it trains `steps` steps with the rate rising
// exponentially from minLR to maxLR,
//
//	lr_i = minLR·(maxLR/minLR)^(i/(steps−1)),
//
// smooths the loss with a bias-corrected EMA (β = LRFindSmoothing), stops
// when the smoothed loss exceeds LRFindDiverge times its best or is not
// finite, suggests a peak rate, and restores the engine's state.
func LRFind(ctx context.Context, e Engine, minLR, maxLR float64, steps int) (LRFindResult, error) {
	var res LRFindResult
	switch {
	case !(minLR > 0) || math.IsInf(minLR, 0):
		return res, fmt.Errorf("lrfind: min rate must be a finite number > 0, got %g", minLR)
	case !(maxLR > minLR) || math.IsInf(maxLR, 0):
		return res, fmt.Errorf("lrfind: max rate must be a finite number above min (%g), got %g", minLR, maxLR)
	case steps < 5:
		return res, fmt.Errorf("lrfind: need at least 5 steps, got %d", steps)
	}
	snap, err := e.Snapshot()
	if err != nil {
		return res, fmt.Errorf("lrfind: snapshot: %w", err)
	}
	avg, best := 0.0, math.Inf(1)
	for i := range steps {
		if err := ctx.Err(); err != nil {
			return res, errors.Join(fmt.Errorf("lrfind: %w", err), restoreErr(e, snap))
		}
		lr := minLR * math.Pow(maxLR/minLR, float64(i)/float64(steps-1))
		loss, err := e.Step(lr)
		if err != nil {
			return res, errors.Join(fmt.Errorf("lrfind: step %d (lr %g): %w", i, lr, err), restoreErr(e, snap))
		}
		res.LRs = append(res.LRs, lr)
		res.Losses = append(res.Losses, loss)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			res.Smoothed = append(res.Smoothed, math.Inf(1))
			res.Stopped = fmt.Sprintf("loss %v at step %d (lr %.3g)", loss, i, lr)
			break
		}
		avg = LRFindSmoothing*avg + (1-LRFindSmoothing)*loss
		sm := avg / (1 - math.Pow(LRFindSmoothing, float64(i+1)))
		res.Smoothed = append(res.Smoothed, sm)
		best = math.Min(best, sm)
		if i > 0 && sm > LRFindDiverge*best {
			res.Stopped = fmt.Sprintf("smoothed loss %.4g above %g× its best %.4g at step %d (lr %.3g)", sm, LRFindDiverge, best, i, lr)
			break
		}
	}
	if err := restoreErr(e, snap); err != nil {
		return res, err
	}
	res.suggest()
	return res, nil
}

func restoreErr(e Engine, snap any) error {
	if err := e.Restore(snap); err != nil {
		return fmt.Errorf("lrfind: restore: %w", err)
	}
	return nil
}

// suggest fills MinLR, Suggested and Rule from the smoothed curve.
func (r *LRFindResult) suggest() {
	n := len(r.Smoothed)
	if n == 0 {
		return
	}
	im := 0
	for i, v := range r.Smoothed {
		if v < r.Smoothed[im] {
			im = i
		}
	}
	r.MinLR = r.LRs[im]
	// Steepest descent: the most negative slope of the smoothed loss
	// against log(rate) among points before the minimum, skipping the
	// first tenth where the average is still settling.
	skip := max(1, n/10)
	bestSlope, bi := 0.0, -1
	for i := skip; i <= im && i+1 < n; i++ {
		s := (r.Smoothed[i+1] - r.Smoothed[i-1]) / (math.Log(r.LRs[i+1]) - math.Log(r.LRs[i-1]))
		if s < bestSlope {
			bestSlope, bi = s, i
		}
	}
	if bi >= 0 {
		r.Suggested, r.Rule = r.LRs[bi], RuleSteepest
		return
	}
	r.Suggested, r.Rule = r.MinLR/10, RuleMinOver10
}
