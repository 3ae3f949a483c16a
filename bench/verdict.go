package bench

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Level is the coverage of every interval the benchmark reports.
const Level = 0.95

// Resamples is the number of bootstrap resamples behind each interval.
const Resamples = 4000

// Margin is the speedup below which two schedules count as the same: a
// speedup s with 1/(1+Margin) ≤ s ≤ 1+Margin is "the same within the
// margin". It is one evaluation interval, 1/eval.count of the budget (5%
// with the default 20 evaluations): steps to target are only observed at
// evaluations, so a run's time to target is known to within one interval,
// and a speedup smaller than that is below what the benchmark can resolve.
func (s *Study) Margin() float64 { return 1 / float64(s.Eval.Count) }

// The verdicts of a comparison of an entry with the baseline.
const (
	VerdictFaster       = "faster"
	VerdictSlower       = "slower"
	VerdictSame         = "the same within the margin"
	VerdictInconclusive = "inconclusive"
)

// The answers to a claim.
const (
	Holds        = "holds"
	DoesNotHold  = "does not hold"
	Inconclusive = "inconclusive"
)

// Comparison is one entry against another over a set of problems, paired
// by problem and evaluation seed (the two runs of a pair share the
// initialisation and data order).
//
// Speedup is the geometric mean of the other entry's cost over this
// entry's (Cost: steps to target, a run that never reaches the target
// counted at Censor × its budget, plus any run needed first), averaged
// over seeds within a problem, then over problems, so that every problem
// weighs the same. FinalDiff is the mean relative difference in the final
// validation metric, positive when this entry is better (a diverged run is
// −100% against a finite one).
//
// The intervals come from a two-stage (cluster) bootstrap: resample the
// problems with replacement, then the seeds within each drawn problem,
// and recompute the statistic; the interval is the 2.5th to 97.5th
// percentile of Resamples resamples (Davison and Hinkley 1997, §3.8,
// resampling of hierarchical data; Field and Welsh 2007, JRSS B 69). Pairs
// are not treated as independent: runs on one problem share its data and
// its target. The resampling is seeded from the entries' names, so a
// report is reproducible.
type Comparison struct {
	Entry, Against  string
	Problems, Pairs int
	Speedup         float64
	Low, High       float64 // the speedup's interval
	FinalDiff       float64
	FinalLow        float64
	FinalHigh       float64
	Verdict         string // VerdictFaster, VerdictSlower, VerdictSame or VerdictInconclusive
	Margin          float64
}

// compare compares entry a with entry b over the problems.
func compare(sum *Summary, a, b string, problems []Problem) *Comparison {
	c := &Comparison{Entry: a, Against: b, Margin: sum.Study.Margin()}
	var speed, final [][]float64
	for _, p := range problems {
		ca, cb := sum.Cells[a][p], sum.Cells[b][p]
		if ca == nil || cb == nil {
			continue
		}
		higher := sum.Higher[p.Workload]
		var sp, fd []float64
		for i := range ca.Runs {
			if i >= len(cb.Runs) || !ca.Runs[i].OK || !cb.Runs[i].OK {
				continue
			}
			ra, rb := ca.Runs[i], cb.Runs[i]
			sp = append(sp, math.Log(rb.Cost/ra.Cost))
			fd = append(fd, relativeGain(ra.Final, rb.Final, higher))
		}
		if len(sp) > 0 {
			speed, final = append(speed, sp), append(final, fd)
			c.Pairs += len(sp)
		}
	}
	c.Problems = len(speed)
	seed := seedOf(a, b, problems)
	est, lo, hi := clusterBootstrap(speed, Resamples, seed)
	c.Speedup, c.Low, c.High = math.Exp(est), math.Exp(lo), math.Exp(hi)
	c.FinalDiff, c.FinalLow, c.FinalHigh = clusterBootstrap(final, Resamples, seed+1)
	m := c.Margin
	switch {
	case c.Pairs < 2:
		c.Verdict = VerdictInconclusive
	case c.Low > 1:
		c.Verdict = VerdictFaster
	case c.High < 1:
		c.Verdict = VerdictSlower
	case c.Low >= 1/(1+m) && c.High <= 1+m:
		c.Verdict = VerdictSame
	default:
		c.Verdict = VerdictInconclusive
	}
	return c
}

// seedOf derives a bootstrap seed from what is compared.
func seedOf(a, b string, problems []Problem) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", a, b)
	for _, p := range problems {
		fmt.Fprintf(h, "\x00%s", p)
	}
	return h.Sum64()
}

// clusterBootstrap returns the mean over groups of the mean within each
// group, and the percentile interval of that statistic under two-stage
// resampling (groups, then values within each drawn group). No groups
// give NaNs.
func clusterBootstrap(groups [][]float64, resamples int, seed uint64) (est, lo, hi float64) {
	if len(groups) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	for _, g := range groups {
		s := 0.0
		for _, v := range g {
			s += v
		}
		est += s / float64(len(g))
	}
	est /= float64(len(groups))
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	stats := make([]float64, resamples)
	for b := range stats {
		total := 0.0
		for range groups {
			g := groups[rng.IntN(len(groups))]
			s := 0.0
			for range g {
				s += g[rng.IntN(len(g))]
			}
			total += s / float64(len(g))
		}
		stats[b] = total / float64(len(groups))
	}
	sort.Float64s(stats)
	return est, quantile(stats, (1-Level)/2), quantile(stats, 1-(1-Level)/2)
}

// quantile is the q-quantile of sorted xs, interpolating linearly between
// order statistics (Hyndman and Fan 1996, definition 7).
func quantile(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	i := int(math.Floor(h))
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// relativeGain is how much better a is than b, relative to |b|; a diverged
// run (NaN) loses to any finite one (−1), and two diverged runs tie.
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

// Claim is one finding from the papers that a study can test, with what
// the study measured.
type Claim struct {
	Text string // the claim, with its source
	Test string // what was compared
	// Matches is set for a "matches or beats" claim (non-inferiority);
	// otherwise the claim is that the favoured schedule beats the others
	// (superiority).
	Matches     bool
	Comparisons []*Comparison // the favoured schedule against each other one
	Verdict     string        // Holds, DoesNotHold, Inconclusive, or "not tested: why"
	Note        string
}

type claimSpec struct {
	text     string
	favoured string
	against  []string
	lowOnly  bool // only budgets up to LowBudget
	matches  bool // "matches or beats" rather than "beats"
	note     string
}

var paperClaims = []claimSpec{
	{text: "Linear decay matches or beats cosine (Defazio et al. 2023, arXiv 2310.07831)", favoured: "linear", against: []string{"cosine"}, matches: true},
	{text: "Refinement from gradient norms improves on linear decay (Defazio et al. 2023)", favoured: "refined", against: []string{"linear"},
		note: "the refined schedule's compute includes the first run it is refined from"},
	{text: "REX beats linear decay at low budgets (Chen et al. 2022, arXiv 2107.04197)", favoured: "rex", against: []string{"linear"}, lowOnly: true},
	{text: "WSD matches cosine at a fixed budget (Hägele et al. 2024, arXiv 2405.18392)", favoured: "wsd", against: []string{"cosine"}, matches: true,
		note: "that WSD serves every budget from one run is structural (the stable phase is shared) and not measured here"},
	{text: "UBA beats the common schedules (Tang et al. 2025, arXiv 2505.24452)", favoured: "uba", against: []string{"cosine", "linear"}},
}

// ClaimRule states how a claim is answered, for reports.
func ClaimRule(margin float64) string {
	return fmt.Sprintf("A claim that X beats Y holds when the %.0f%% interval of X's speedup over Y lies above 1, does not hold when the interval lies below 1+m (no advantage as large as the margin m = %.0f%%, and none shown), and is inconclusive otherwise. "+
		"A claim that X matches or beats Y holds when the interval lies above 1/(1+m), does not hold when it lies below 1/(1+m) (X is slower by more than the margin), and is inconclusive otherwise. "+
		"A claim against several schedules holds when it holds against each and does not hold when it fails against one.",
		100*Level, 100*margin)
}

// answer is a claim's answer from one comparison.
func answer(c *Comparison, matches bool) string {
	m := c.Margin
	switch {
	case c.Pairs < 2:
		return Inconclusive
	case matches && c.Low >= 1/(1+m), !matches && c.Low > 1:
		return Holds
	case matches && c.High < 1/(1+m), !matches && c.High <= 1+m:
		return DoesNotHold
	}
	return Inconclusive
}

// LowBudget is the largest budget (fraction of a workload's step hint) a
// low-budget claim is tested at: Chen et al. 2022 call budgets of a few
// percent up to a quarter of the usual training "low".
const LowBudget = 0.25

// evaluateClaims answers each claim whose schedules the study has, over
// the scored problems (those at budgets up to LowBudget for a low-budget
// claim).
func evaluateClaims(s *Summary) []Claim {
	var out []Claim
	for _, cs := range paperClaims {
		c := Claim{Text: cs.text, Matches: cs.matches, Note: cs.note}
		c.Test = fmt.Sprintf("%s vs %s", cs.favoured, strings.Join(cs.against, ", "))
		if cs.lowOnly {
			c.Test += fmt.Sprintf(" at budgets ≤ %g", LowBudget)
		}
		missing := ""
		for _, n := range append([]string{cs.favoured}, cs.against...) {
			if indexOf(s.Entries, n) < 0 && missing == "" {
				missing = n
			}
		}
		problems := s.Scored
		if cs.lowOnly {
			problems = nil
			for _, p := range s.Scored {
				if p.Budget <= LowBudget {
					problems = append(problems, p)
				}
			}
		}
		failed := ""
		for _, n := range append([]string{cs.favoured}, cs.against...) {
			if missing == "" && !s.hasResults(n) && failed == "" {
				failed = n
			}
		}
		switch {
		case missing != "":
			c.Verdict = fmt.Sprintf("not tested: the study has no schedule named %q", missing)
		case failed != "" && s.noPeakAnywhere(failed):
			c.Verdict = fmt.Sprintf("not tested: %s has no peak (every selection run failed)", failed)
		case failed != "":
			c.Verdict = fmt.Sprintf("not tested: %s has no successful evaluation run", failed)
		case len(problems) == 0 && cs.lowOnly:
			c.Verdict = fmt.Sprintf("not tested: no scored problem at a budget ≤ %g", LowBudget)
		case len(problems) == 0:
			c.Verdict = "not tested: no problem discriminates"
		default:
			c.Verdict = Holds
			for _, against := range cs.against {
				cmp := compare(s, cs.favoured, against, problems)
				c.Comparisons = append(c.Comparisons, cmp)
				switch a := answer(cmp, cs.matches); {
				case a == DoesNotHold:
					c.Verdict = DoesNotHold
				case a == Inconclusive && c.Verdict == Holds:
					c.Verdict = Inconclusive
				}
			}
		}
		out = append(out, c)
	}
	return out
}
