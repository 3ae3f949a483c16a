package losscurve

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// ForwardHoldout is the share of each fit run's span, at its end, that the
// per-fit choice of the prior's weight holds out (FitOptions.PriorCandidates).
const ForwardHoldout = 1.0 / 3

// PriorChoice is how a fit chose the weight of the multi-power law's prior
// (FitOptions.PriorCandidates): each candidate was fitted to the fit runs
// without the last ForwardHoldout of their span and scored on those held-out
// points (mean over runs of the mean relative error); the lowest won.
type PriorChoice struct {
	Weight float64 `json:"weight"`
	// Scores maps each candidate weight (as written by strconv) to its
	// held-out PredE; NaN for a candidate whose fit failed.
	Scores map[string]float64 `json:"scores"`
	// Held is the number of held-out points.
	Held int `json:"held"`
	// Fallback, if set, says why no choice was made and DefaultPrior used.
	Fallback string `json:"fallback,omitempty"`
}

// selectPrior chooses the prior weight among opts.PriorCandidates by
// forward validation on runs (see PriorChoice).
func selectPrior(ctx context.Context, kind string, runs []Run, opts FitOptions) (*PriorChoice, error) {
	choice := &PriorChoice{Weight: DefaultPrior, Scores: map[string]float64{}}
	var cut []Run
	var held []Run // per run, its held-out points (none if the run is kept whole)
	for _, r := range runs {
		pts := fitPoints(r)
		if len(pts) == 0 {
			continue
		}
		at := pts[0].Step + int((1-ForwardHoldout)*float64(pts[len(pts)-1].Step-pts[0].Step))
		c := keepPoints(r, func(p Point) bool { return p.Step <= at })
		h := keepPoints(r, func(p Point) bool { return p.Step > at })
		if len(fitPoints(c)) < MinPoints {
			c, h = r, Run{Name: r.Name}
		}
		cut, held = append(cut, c), append(held, h)
		choice.Held += len(h.Points)
	}
	if choice.Held == 0 {
		choice.Fallback = "no run has enough points to hold out its end"
		return choice, nil
	}
	best := math.Inf(1)
	for _, w := range opts.PriorCandidates {
		o := opts
		o.Prior = w
		score := math.NaN()
		prob, err := newProblem(kind, cut, o)
		if err != nil {
			return nil, err
		}
		sol, _, _, _, err := prob.minimise(ctx, nil, nil)
		if err == nil {
			score = heldOutPredE(prob.build(sol), held)
		} else if ctx.Err() != nil {
			return nil, err
		}
		choice.Scores[formatWeight(w)] = score
		if score < best {
			best, choice.Weight = score, w
		}
	}
	if math.IsInf(best, 1) {
		choice.Weight = DefaultPrior
		choice.Fallback = "no candidate could be fitted without the held-out points"
	}
	return choice, nil
}

// formatWeight is a candidate weight as a key of PriorChoice.Scores.
func formatWeight(w float64) string { return strconv.FormatFloat(w, 'g', -1, 64) }

// heldOutPredE is the mean over the runs with points of the mean relative
// error of law's prediction at those points (+Inf if a prediction is not
// a finite positive number).
func heldOutPredE(law Law, held []Run) float64 {
	total, n := 0.0, 0
	for _, h := range held {
		if len(h.Points) == 0 {
			continue
		}
		pred := law.Predict(h.LRs)
		s := 0.0
		for _, p := range h.Points {
			v := pred[p.Step]
			if !(v > 0) || math.IsInf(v, 0) {
				return math.Inf(1)
			}
			s += math.Abs(v-p.Loss) / p.Loss
		}
		total += s / float64(len(h.Points))
		n++
	}
	return total / float64(n)
}

// checkPriorCandidates validates FitOptions.PriorCandidates.
func checkPriorCandidates(kind string, ws []float64) error {
	if len(ws) == 0 {
		return nil
	}
	if kind != KindMPL {
		return fmt.Errorf("prior candidates apply to the %s law only, not %q", KindMPL, kind)
	}
	for i, w := range ws {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("prior candidate %d is %g, want a finite weight >= 0", i, w)
		}
	}
	return nil
}
