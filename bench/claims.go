package bench

import (
	"fmt"
	"math"
)

// Claim is one finding from the papers that a study can test, with what
// the study measured.
type Claim struct {
	Text   string // the claim, with its source
	Test   string // what was compared
	Pairs  int    // paired comparisons (problem × seed)
	Effect float64
	// Effect is the mean relative difference in the final validation
	// metric, positive when the claim's favoured schedule is better
	// (0.01 = 1% better); Spread is its standard deviation over the pairs
	// and Wins the fraction of pairs the favoured schedule won.
	Spread  float64
	Wins    float64
	Losses  float64 // fraction of pairs the favoured schedule lost (the rest tied)
	Holds   bool
	Verdict string // "holds", "does not hold" or why it was not tested
}

type claimSpec struct {
	text     string
	favoured string
	against  []string
	lowOnly  bool // only the lowest budget
	matches  bool // "matches or beats" rather than "beats"
	note     string
}

var paperClaims = []claimSpec{
	{text: "Linear decay matches or beats cosine (Defazio et al. 2023, arXiv 2310.07831)", favoured: "linear", against: []string{"cosine"}, matches: true},
	{text: "Refinement from gradient norms improves on linear decay (Defazio et al. 2023)", favoured: "refined", against: []string{"linear"}},
	{text: "REX beats linear decay at low budgets (Chen et al. 2022, arXiv 2107.04197)", favoured: "rex", against: []string{"linear"}, lowOnly: true},
	{text: "WSD matches cosine at a fixed budget (Hägele et al. 2024, arXiv 2405.18392)", favoured: "wsd", against: []string{"cosine"}, matches: true,
		note: "that WSD serves every budget from one run is structural (the stable phase is shared) and not measured here"},
	{text: "UBA beats the common schedules (Tang et al. 2025, arXiv 2505.24452)", favoured: "uba", against: []string{"cosine", "linear"}},
}

// evaluateClaims compares, for each claim whose schedules the study has,
// the best final metric per study of the favoured schedule against each
// other schedule on the same problem and seed.
func evaluateClaims(s *Summary) []Claim {
	var out []Claim
	lowest := math.Inf(1)
	for _, p := range s.Problems {
		lowest = math.Min(lowest, p.Budget)
	}
	for _, cs := range paperClaims {
		c := Claim{Text: cs.text}
		names := append([]string{cs.favoured}, cs.against...)
		missing := ""
		for _, n := range names {
			if indexOf(s.Entries, n) < 0 {
				missing = n
				break
			}
		}
		c.Test = fmt.Sprintf("%s vs %v", cs.favoured, cs.against)
		if cs.lowOnly {
			c.Test += fmt.Sprintf(" at budget %g", lowest)
		}
		if missing != "" {
			c.Verdict = fmt.Sprintf("not tested: the study has no schedule named %q", missing)
			out = append(out, c)
			continue
		}
		if cs.lowOnly && len(s.Study.Budgets) < 2 {
			c.Verdict = "not tested: the study has a single budget"
			out = append(out, c)
			continue
		}
		holds := true
		var all []float64
		for _, against := range cs.against {
			var effects []float64
			for _, p := range s.Problems {
				if cs.lowOnly && p.Budget != lowest {
					continue
				}
				a, b := s.Cells[cs.favoured][p], s.Cells[against][p]
				if a == nil || b == nil {
					continue
				}
				higher := s.Higher[p.Workload]
				for i := range a.PerSeed {
					if i >= len(b.PerSeed) {
						break
					}
					effects = append(effects, relativeGain(a.PerSeed[i], b.PerSeed[i], higher))
				}
			}
			mean, sd, wins, losses := meanSD(effects)
			if len(effects) == 0 {
				holds = false
				continue
			}
			se := sd / math.Sqrt(float64(len(effects)))
			if cs.matches {
				holds = holds && mean >= -se
			} else {
				holds = holds && mean > 0 && wins > losses
			}
			all = append(all, effects...)
		}
		c.Pairs = len(all)
		c.Effect, c.Spread, c.Wins, c.Losses = meanSD(all)
		c.Holds = holds && c.Pairs > 0
		switch {
		case c.Pairs == 0:
			c.Verdict = "not tested: no results"
		case c.Holds:
			c.Verdict = "holds"
		default:
			c.Verdict = "does not hold"
		}
		if cs.note != "" {
			c.Verdict += " (" + cs.note + ")"
		}
		out = append(out, c)
	}
	return out
}

// relativeGain is how much better a is than b, relative to |b|; a diverged
// run (NaN) loses to any finite one, and two diverged runs tie.
func relativeGain(a, b float64, higher bool) float64 {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return -1
	case math.IsNaN(b):
		return 1
	}
	d := a - b
	if !higher {
		d = -d
	}
	if b == 0 {
		return d
	}
	return d / math.Abs(b)
}

// meanSD returns the mean, the sample standard deviation and the
// fractions of positive and negative values.
func meanSD(xs []float64) (mean, sd, pos, neg float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
		switch {
		case x > 0:
			pos++
		case x < 0:
			neg++
		}
	}
	mean /= float64(len(xs))
	pos /= float64(len(xs))
	neg /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			sd += (x - mean) * (x - mean)
		}
		sd = math.Sqrt(sd / float64(len(xs)-1))
	}
	return mean, sd, pos, neg
}
