package fed

import (
	"fmt"
	"math"
)

const (
	metricSpeedup = "speed-up"
	metricAcc     = "Δ accuracy (pp)"
)

const (
	claimHyperFast = "FedHyper converges 1.1–3× faster than FedAvg (Wang et al. 2024, arXiv 2310.03156)"
	claimHyperPoor = "FedHyper gains up to 15% accuracy over FedAvg when the initial rate is poorly chosen (Wang et al. 2024)"
	claimCompass   = "FedCompass reaches a target accuracy faster than synchronous and asynchronous baselines (Li et al. 2024, arXiv 2309.14675)"
	claimCompAcc   = "FedCompass reaches higher accuracy than asynchronous algorithms (Li et al. 2024)"
)

// claims tests the papers' claims on every data set.
func (rp *reporter) claims() []ClaimResult {
	var out []ClaimResult
	s := rp.s
	for _, d := range s.Datasets {
		target := s.Targets[d]
		if h := s.FedHyper; h != nil {
			base := rp.methodNamed(h.Baseline)
			good, poor := s.hyperRates(rp.oc.Choices[d])
			fa := rp.evalRuns(d, base, RuleNone, good)
			fp := rp.evalRuns(d, base, RuleNone, poor)
			for _, r := range h.Rules {
				c := speedup(fa, rp.evalRuns(d, base, r, good), target, true)
				c.Claim, c.Dataset = claimHyperFast, d
				c.Test = fmt.Sprintf("%s vs %s at its tuned rate %g: rounds to %g", r, base.Name, good, target)
				out = append(out, c)
			}
			for _, r := range h.Rules {
				c := accGain(fp, rp.evalRuns(d, base, r, poor))
				c.Claim, c.Dataset = claimHyperPoor, d
				c.Test = fmt.Sprintf("%s vs %s at the poor rate %g: final accuracy", r, base.Name, poor)
				out = append(out, c)
			}
		}
		comp, ok := rp.method(FedCompass)
		for _, alg := range []string{FedAvg, FedAsync, FedBuff} {
			c := ClaimResult{Claim: claimCompass, Dataset: d, Metric: metricSpeedup}
			other, ok2 := rp.method(alg)
			switch {
			case !ok:
				c.Verdict = "not tested: the study has no fedcompass method"
			case !ok2:
				c.Verdict = fmt.Sprintf("not tested: the study has no %s method", alg)
			default:
				c = speedup(rp.evalRuns(d, other, RuleNone, rp.oc.Choices[d][other.Name].LR),
					rp.evalRuns(d, comp, RuleNone, rp.oc.Choices[d][comp.Name].LR), target, false)
				c.Claim, c.Dataset = claimCompass, d
				c.Test = fmt.Sprintf("%s vs %s, each at its tuned rate: virtual time to %g", comp.Name, other.Name, target)
			}
			out = append(out, c)
		}
		for _, alg := range []string{FedAsync, FedBuff} {
			c := ClaimResult{Claim: claimCompAcc, Dataset: d, Metric: metricAcc}
			other, ok2 := rp.method(alg)
			switch {
			case !ok:
				c.Verdict = "not tested: the study has no fedcompass method"
			case !ok2:
				c.Verdict = fmt.Sprintf("not tested: the study has no %s method", alg)
			default:
				c = accGain(rp.evalRuns(d, other, RuleNone, rp.oc.Choices[d][other.Name].LR),
					rp.evalRuns(d, comp, RuleNone, rp.oc.Choices[d][comp.Name].LR))
				c.Claim, c.Dataset = claimCompAcc, d
				c.Test = fmt.Sprintf("%s vs %s, each at its tuned rate: final accuracy at the budget", comp.Name, other.Name)
			}
			out = append(out, c)
		}
	}
	return out
}

// speedup compares the time (virtual seconds, or rounds when rounds is
// set) to the target of a baseline and a favoured method, paired by seed:
// the effect is the geometric mean of baseline ÷ favoured with a 95%
// t-interval on the log scale. A run that never reached the target counts
// with its whole budget (its last evaluation's time or rounds): for the
// baseline that makes the ratio a lower bound, for the favoured method an
// upper bound, and a verdict that rests on a bound in the wrong direction
// is inconclusive. Pairs where neither reached the target are left out.
// An interval at or below no effect (all pairs equal, say) does not hold.
func speedup(base, fav []*History, target float64, rounds bool) ClaimResult {
	c := ClaimResult{Metric: metricSpeedup}
	at := func(h *History) (float64, bool) {
		if rounds {
			if v, ok := roundsToTarget(h, target); ok {
				return v, true
			}
			return float64(h.Final().Aggregations), false
		}
		if v, ok := timeToTarget(h, target); ok {
			return v, true
		}
		return h.Final().Time, false
	}
	var logs []float64
	lower, upper, neither := 0, 0, 0
	for i := range base {
		if base[i] == nil || fav[i] == nil {
			continue
		}
		tb, okb := at(base[i])
		tf, okf := at(fav[i])
		switch {
		case !okb && !okf:
			neither++
			continue
		case !okb:
			lower++
		case !okf:
			upper++
		}
		if tb <= 0 || tf <= 0 {
			// Reached at the very first evaluation: no time to compare.
			tb, tf = math.Max(tb, 1e-9), math.Max(tf, 1e-9)
		}
		logs = append(logs, math.Log(tb/tf))
	}
	c.Pairs = len(logs)
	m, lo, hi := tInterval(logs)
	c.Effect, c.Lo, c.Hi = math.Exp(m), math.Exp(lo), math.Exp(hi)
	var notes []string
	if lower > 0 {
		notes = append(notes, fmt.Sprintf("baseline missed the target in %d pair(s)", lower))
	}
	if upper > 0 {
		notes = append(notes, fmt.Sprintf("favoured method missed the target in %d pair(s)", upper))
	}
	if neither > 0 {
		notes = append(notes, fmt.Sprintf("%d pair(s) where neither reached it left out", neither))
	}
	c.Note = joinNotes(notes)
	switch {
	case c.Pairs < 2:
		c.Verdict = "inconclusive (fewer than two pairs reached the target)"
	case lo > 0 && upper == 0:
		c.Verdict = "holds"
	case hi <= 0 && lower == 0:
		c.Verdict = "does not hold"
	default:
		c.Verdict = "inconclusive"
	}
	if allZero(logs) {
		c.Note = joinNotes(append(notes, "the same time in every pair"))
	}
	return c
}

func allZero(xs []float64) bool {
	for _, x := range xs {
		if x != 0 {
			return false
		}
	}
	return len(xs) > 0
}

// accGain is the favoured method's final accuracy minus the baseline's,
// in percentage points, paired by seed, with a 95% t-interval.
func accGain(base, fav []*History) ClaimResult {
	c := ClaimResult{Metric: metricAcc}
	var d []float64
	for i := range base {
		if base[i] == nil || fav[i] == nil {
			continue
		}
		d = append(d, 100*(fav[i].Final().Accuracy-base[i].Final().Accuracy))
	}
	c.Pairs = len(d)
	c.Effect, c.Lo, c.Hi = tInterval(d)
	switch {
	case c.Pairs < 2:
		c.Verdict = "inconclusive (fewer than two pairs)"
	case c.Lo > 0:
		c.Verdict = "holds"
	case c.Hi <= 0:
		c.Verdict = "does not hold"
	default:
		c.Verdict = "inconclusive"
	}
	if allZero(d) {
		c.Note = "the same final accuracy in every pair"
	}
	return c
}

func joinNotes(n []string) string {
	out := ""
	for i, s := range n {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
