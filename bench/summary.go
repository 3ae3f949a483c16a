package bench

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/lrkit/lrkit/schedule"
)

// Problem is one workload at one budget: the unit a performance profile
// counts.
type Problem struct {
	Workload string
	Budget   float64
}

func (p Problem) String() string { return fmt.Sprintf("%s@%g", p.Workload, p.Budget) }

// Censor is how a run that does not reach its problem's target within its
// budget is counted: as reaching it at Censor times the budget. The true
// time is only known to exceed the budget; 2× is the convention of
// time-to-target comparisons that must score every run (the PAR2 score of
// the SAT competitions counts an unsolved instance at twice the time
// limit), and it bounds what one censored run can do to a geometric mean:
// a factor of at most 2·budget over the first evaluation.
const Censor = 2.0

// Target is the value of a problem's validation metric that steps to
// target are counted to.
type Target struct {
	Value float64
	// Source is "baseline" (the tuned baseline's selection runs at its
	// chosen peak: the median over them of the final validation metric, so
	// that the target is the quality a tuned baseline reaches at the end of
	// the budget, as AlgoPerf sets its targets from tuned target-setting
	// runs), "study" (pinned in the study file) or "workload" (the
	// workload's own target: external and self mode, or a baseline whose
	// selection runs all diverged). The final metric is used rather than
	// the best over the run's evaluations: the maximum of 20 noisy
	// evaluations is biased upwards (the winner's curse), and a target
	// above what the baseline typically ends at would leave most runs
	// censored.
	Source string
	Runs   int // baseline runs it came from
}

// Exclusion is a problem left out of the score and why.
type Exclusion struct {
	Problem Problem
	Reason  string
}

// SeedRun is one entry's scored run on one problem and evaluation seed.
type SeedRun struct {
	OK    bool // a result exists
	Seed  int64
	Steps float64 // steps to target; +Inf when not reached
	// Cost is the compute the run needed to reach the target: Steps, or
	// Censor × the budget when not reached, plus the steps of any run it
	// needed first (a refined schedule's first run).
	Cost  float64
	Final float64 // final validation metric; NaN if the run diverged
	First bool    // reached the target at its first evaluation
	Extra int64   // steps of runs outside the scored one
}

// Cell is one entry on one problem.
type Cell struct {
	Tuning *CellState // grid mode: how the peak was chosen
	Peak   float64    // grid mode: the chosen peak
	Spec   string     // grid mode: the spec the evaluation runs trained
	Steps  int64      // the budget in steps
	Runs   []SeedRun  // per evaluation seed (study, in external mode)
	// Median is the median over seeds of the steps to target (+Inf when
	// the median run did not reach it); Final the median final metric.
	Median, Final float64
	Ratio         float64 // Median over the best entry's, +Inf beyond RatioMax
	Reached       int     // seeds that reached the target
	Area          float64 // mean of lr/peak over the budget (NaN if unknown)
}

// Summary is a scored study.
type Summary struct {
	Study    *Study
	Entries  []string  // schedule names, in study order
	Problems []Problem // workload × budget, in study order
	Targets  map[Problem]Target
	// Scored are the problems that discriminate between the entries, in
	// study order; Excluded the others, with the reason.
	Scored   []Problem
	Excluded []Exclusion
	Cells    map[string]map[Problem]*Cell
	// Compare is each entry against the baseline over the scored problems
	// (nil for the baseline itself).
	Compare map[string]*Comparison
	// Area is each entry's learning-rate area (mean of lr/peak over the
	// budget) averaged over the scored problems.
	Area map[string]float64
	// Compute is each entry's training steps per scored step (2 for
	// refinement: a first run, then the refined one); TuningRuns its
	// selection runs (grid mode).
	Compute    map[string]float64
	TuningRuns map[string]int
	// Score is each entry's AlgoPerf benchmark score over the scored
	// problems (area under its performance profile up to RatioMax).
	Score   map[string]float64
	Claims  []Claim
	Higher  map[string]bool // per workload: is a higher metric better
	Missing int             // scored runs without a result
	// AtEdge are the grid cells whose chosen peak stayed at an edge of the
	// grid after every extension.
	AtEdge []*CellState
	// NoPeak are the grid cells whose tuning found no peak (every
	// selection run diverged or failed), in study order: they trained no
	// evaluation run, so their entry is in no comparison on their problem
	// and counts there as not reaching the target in the scores.
	NoPeak []*CellState
	// Recommended is the entry lrkit recommends: the one with the largest
	// speedup among those whose interval lies above 1, else the baseline.
	Recommended string
	// Headline is the report's one-sentence verdict.
	Headline string
	// NoResults are the entries without a single successful scored run
	// (every evaluation run failed or has no result), in study order: no
	// verdict, claim or recommendation is drawn about them. When it holds
	// every entry, Summarize returns ErrNoResults.
	NoResults []string
	// Pruning is the live pruner's selection compute per workload (a study
	// with tuning.prune); PruneReplay the default pruner replayed on the
	// full selection runs of the cells that were not pruned: what it would
	// have saved and which of its decisions would have been wrong.
	Pruning, PruneReplay []PruneRow
}

// ErrNoResults is returned (wrapped, with the counts and the first
// failure) by Summarize for a study without one successful scored run:
// every trial failed, or every evaluation run did. A report of such a
// study has nothing to score.
var ErrNoResults = errors.New("no successful trials")

// Summarize scores a study's outcome: targets, the problems that
// discriminate, each entry's runs, its comparison with the baseline
// (cluster bootstrap), the claims from the papers and the headline.
//
// An entry without a successful scored run is listed in NoResults and
// gets no verdict; a baseline without one gives no recommendation. When no
// entry has a successful scored run, Summarize returns the summary (its
// headline says so, and it recommends nothing, so that a report can still
// list the failures) together with an error wrapping ErrNoResults.
func Summarize(s *Study, out *Outcome) (*Summary, error) {
	sum := &Summary{
		Study: s, Targets: map[Problem]Target{}, Cells: map[string]map[Problem]*Cell{},
		Compare: map[string]*Comparison{}, Area: map[string]float64{}, Compute: map[string]float64{},
		TuningRuns: map[string]int{}, Score: map[string]float64{}, Higher: map[string]bool{},
	}
	for _, e := range s.Schedules {
		sum.Entries = append(sum.Entries, e.Name)
		sum.Cells[e.Name] = map[Problem]*Cell{}
	}
	for _, w := range s.Workloads {
		for _, b := range s.budgetsOf(w) {
			sum.Problems = append(sum.Problems, Problem{w, b})
		}
	}
	for _, tr := range out.Trials {
		sum.Higher[tr.Workload] = tr.Higher
	}
	cells := map[string]*CellState{}
	if out.Plan != nil {
		for _, c := range out.Plan.Cells {
			cells[c.Entry+"\x00"+c.Problem().String()] = c
			if c.Tuned && c.AtEdge {
				sum.AtEdge = append(sum.AtEdge, c)
			}
			if c.NoPeak {
				sum.NoPeak = append(sum.NoPeak, c)
			}
		}
	}
	sum.setTargets(out, cells)
	sum.collectRuns(out, cells)
	sum.noResults()
	sum.exclude()
	sum.score()
	for _, e := range sum.Entries {
		if e != s.Baseline && indexOf(sum.Entries, s.Baseline) >= 0 {
			sum.Compare[e] = compare(sum, e, s.Baseline, sum.Scored)
		}
	}
	sum.Claims = evaluateClaims(sum)
	sum.recommend()
	if s.Tuning.Mode == "grid" {
		sum.Pruning = livePruning(s, out)
		sum.PruneReplay = replayPruning(s, out, sum.Higher)
	}
	switch {
	case len(sum.NoResults) == 0:
		return sum, nil
	case len(sum.NoResults) == len(sum.Entries):
		sum.Recommended = ""
		sum.Headline = fmt.Sprintf("No successful trials: %s, so the study gives no verdict and recommends no schedule.", failedCount(out, sum.Entries))
		return sum, fmt.Errorf("bench: study %q: %w: %s%s", s.Name, ErrNoResults, failedCount(out, sum.Entries), firstFailure(out, sum.Entries))
	}
	rest := "the other schedules are scored"
	if !sum.hasResults(s.Baseline) {
		rest = "nor is any schedule compared with the baseline " + s.Baseline
	}
	return sum, fmt.Errorf("bench: study %q: %w for %s: %s, so no verdict is drawn about %s (%s)%s",
		s.Name, ErrNoResults, strings.Join(sum.NoResults, ", "), failedCount(out, sum.NoResults), plural(len(sum.NoResults), "it", "them"), rest, firstFailure(out, sum.NoResults))
}

// failedCount says how many of the entries' trials failed and how many of
// their scored runs have not run.
func failedCount(out *Outcome, entries []string) string {
	total, failed, pending := 0, 0, 0
	for _, tr := range out.Trials {
		if indexOf(entries, tr.Entry) < 0 {
			continue
		}
		total++
		_, ok := out.Results[tr.Key]
		_, bad := out.Failed[tr.Key]
		switch {
		case bad:
			failed++
		case !ok && !tr.selection():
			pending++ // a study loaded before it ended
		}
	}
	txt := fmt.Sprintf("%d of %d trials failed", failed, total)
	if pending > 0 {
		txt += fmt.Sprintf(" and %d scored runs have not run", pending)
	}
	return txt
}

// firstFailure is "; the first failure: ..." with the error of the entries'
// failed trial whose key sorts first, or "".
func firstFailure(out *Outcome, entries []string) string {
	entryOf := map[string]string{}
	for _, tr := range out.Trials {
		entryOf[tr.Key] = tr.Entry
	}
	for _, k := range sortedKeys(out.Failed) {
		if indexOf(entries, entryOf[k]) >= 0 {
			return "; the first failure: " + out.Failed[k]
		}
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// noResults lists the entries without a successful scored run.
func (sum *Summary) noResults() {
	for _, e := range sum.Entries {
		ok := false
		for _, c := range sum.Cells[e] {
			for _, r := range c.Runs {
				ok = ok || r.OK
			}
		}
		if !ok {
			sum.NoResults = append(sum.NoResults, e)
		}
	}
}

// hasResults reports whether entry e has a successful scored run.
func (sum *Summary) hasResults(e string) bool { return indexOf(sum.NoResults, e) < 0 }

// noPeakText is what the report says of a schedule on a problem where
// its tuning found no peak (CellState.NoPeak).
const noPeakText = "no peak: every selection run failed"

// noPeakCell returns entry e's grid cell on problem p if its tuning found
// no peak, else nil.
func (sum *Summary) noPeakCell(e string, p Problem) *CellState {
	for _, c := range sum.NoPeak {
		if c.Entry == e && c.Problem() == p {
			return c
		}
	}
	return nil
}

// noPeakAnywhere reports whether entry e found no peak on any problem, so
// that it trained no evaluation run at all.
func (sum *Summary) noPeakAnywhere(e string) bool {
	if len(sum.Problems) == 0 {
		return false
	}
	for _, p := range sum.Problems {
		if sum.noPeakCell(e, p) == nil {
			return false
		}
	}
	return true
}

// setTargets sets each problem's target: pinned by the study, else (grid
// mode) from the baseline's selection runs at its chosen peak, else the
// workload's.
func (sum *Summary) setTargets(out *Outcome, cells map[string]*CellState) {
	s := sum.Study
	workloadTarget := map[string]float64{}
	for _, tr := range out.Trials {
		workloadTarget[tr.Workload] = tr.Target
	}
	for _, p := range sum.Problems {
		if v, ok := s.Targets[p.Workload]; ok {
			sum.Targets[p] = Target{Value: v, Source: "study"}
			continue
		}
		t := Target{Value: workloadTarget[p.Workload], Source: "workload"}
		if c := cells[s.Baseline+"\x00"+p.String()]; c != nil && c.Tuned {
			higher := sum.Higher[p.Workload]
			var best []float64
			for _, seed := range s.Tuning.Seeds {
				r, ok := out.Results[gridKey(c, "tune", c.Chosen, seed)]
				if !ok || r.Diverged {
					continue
				}
				if f := float64(r.FinalMetric); !math.IsNaN(f) {
					best = append(best, goodness(f, higher))
				}
			}
			if len(best) > 0 {
				t = Target{Value: fromGoodness(medianFinite(best), higher), Source: "baseline", Runs: len(best)}
			}
		}
		sum.Targets[p] = t
	}
}

// collectRuns fills every cell with its scored runs: in grid mode the
// evaluation runs at the chosen peak; in external and self mode, per
// study, AlgoPerf's fastest trial (and the best final metric of the
// study's trials).
func (sum *Summary) collectRuns(out *Outcome, cells map[string]*CellState) {
	s := sum.Study
	grid := s.Tuning.Mode == "grid"
	scored, spent := map[string]float64{}, map[string]float64{}
	for _, tr := range out.Trials {
		p := Problem{tr.Workload, tr.Budget}
		if tr.selection() {
			if tr.Role == "tune" {
				sum.TuningRuns[tr.Entry]++
			}
			continue
		}
		c := sum.Cells[tr.Entry][p]
		if c == nil {
			c = &Cell{Steps: tr.Steps, Area: math.NaN(), Runs: make([]SeedRun, len(s.Seeds))}
			if grid {
				c.Tuning = cells[tr.Entry+"\x00"+p.String()]
				c.Peak, c.Spec = tr.Params["peak"], tr.Spec
			}
			sum.Cells[tr.Entry][p] = c
		}
		r, ok := out.Results[tr.Key]
		if !ok {
			sum.Missing++
			continue
		}
		target := sum.Targets[p].Value
		run := SeedRun{OK: true, Seed: tr.Seed, Steps: r.StepsToTarget(target, tr.Higher), Final: float64(r.FinalMetric), Extra: r.ExtraSteps}
		if r.Diverged {
			run.Final = math.NaN()
		}
		run.Cost = run.Steps
		if math.IsInf(run.Steps, 1) {
			run.Cost = Censor * float64(tr.Steps)
		}
		run.Cost += float64(r.ExtraSteps)
		run.First = len(r.Evals) > 0 && run.Steps == float64(r.Evals[0].Step)
		scored[tr.Entry] += float64(r.Steps)
		spent[tr.Entry] += float64(r.Steps + r.ExtraSteps)
		if grid && tr.Study == 0 || !grid && math.IsNaN(c.Area) {
			c.Area = runArea(tr, r)
		}
		prev := c.Runs[tr.Study]
		if !prev.OK {
			c.Runs[tr.Study] = run
			continue
		}
		// External mode: the study's fastest trial, and its best final
		// metric.
		final := prev.Final
		if goodness(run.Final, tr.Higher) > goodness(final, tr.Higher) {
			final = run.Final
		}
		if run.Cost < prev.Cost {
			prev = run
		}
		prev.Final = final
		c.Runs[tr.Study] = prev
	}
	for e, n := range scored {
		if n > 0 {
			sum.Compute[e] = spent[e] / n
		}
	}
	for _, byProblem := range sum.Cells {
		for p, c := range byProblem {
			var steps, finals []float64
			for _, r := range c.Runs {
				if !r.OK {
					continue
				}
				steps = append(steps, r.Steps)
				finals = append(finals, goodness(r.Final, sum.Higher[p.Workload]))
				if !math.IsInf(r.Steps, 1) {
					c.Reached++
				}
			}
			c.Median, c.Final = math.Inf(1), math.NaN()
			if len(steps) > 0 {
				c.Median = median(steps)
				c.Final = fromGoodness(medianFinite(finals), sum.Higher[p.Workload])
			}
		}
	}
}

// runArea is the learning-rate area of a trial's schedule: the mean of
// lr/peak over its steps. A schedule spec is sampled at every step; a
// refined schedule (or a controller) from the rates its run recorded.
func runArea(tr Trial, r TrialResult) float64 {
	peak := tr.Params["peak"]
	if !(peak > 0) {
		return math.NaN()
	}
	if !tr.Refine {
		if sch, err := schedule.Parse(tr.Spec); err == nil {
			lrs, err := schedule.Sample(sch, schedule.Range(0, tr.Steps-1, 1))
			if err == nil && len(lrs) > 0 {
				a := 0.0
				for _, v := range lrs {
					a += v
				}
				return a / float64(len(lrs)) / peak
			}
		}
	}
	if len(r.LR) == 0 {
		return math.NaN()
	}
	a := 0.0
	for _, v := range r.LR {
		a += v
	}
	return a / float64(len(r.LR)) / peak
}

// exclude splits the problems into those that discriminate and those that
// cannot: no entry reaches the target on any evaluation seed, or every
// entry reaches it at the first evaluation on every seed.
func (sum *Summary) exclude() {
	for _, p := range sum.Problems {
		reached, allFirst, runs := false, true, 0
		for _, e := range sum.Entries {
			c := sum.Cells[e][p]
			if c == nil {
				continue
			}
			for _, r := range c.Runs {
				if !r.OK {
					continue
				}
				runs++
				reached = reached || !math.IsInf(r.Steps, 1)
				allFirst = allFirst && r.First
			}
		}
		switch {
		case runs == 0:
			sum.Excluded = append(sum.Excluded, Exclusion{p, "no results"})
		case !reached:
			sum.Excluded = append(sum.Excluded, Exclusion{p, "no schedule reaches the target on any evaluation seed"})
		case allFirst:
			sum.Excluded = append(sum.Excluded, Exclusion{p, "every schedule reaches the target at the first evaluation on every seed"})
		default:
			sum.Scored = append(sum.Scored, p)
		}
	}
}

// score computes performance ratios and AlgoPerf scores over the scored
// problems, and each entry's mean learning-rate area.
func (sum *Summary) score() {
	times := make([][]float64, len(sum.Entries))
	for i, e := range sum.Entries {
		times[i] = make([]float64, len(sum.Scored))
		for j, p := range sum.Scored {
			times[i][j] = math.Inf(1)
			if c := sum.Cells[e][p]; c != nil {
				times[i][j] = c.Median
			}
		}
	}
	ratios, _ := Ratios(times) // rectangular by construction
	for i, e := range sum.Entries {
		for j, p := range sum.Scored {
			if c := sum.Cells[e][p]; c != nil {
				c.Ratio = ratios[i][j]
			}
		}
		sum.Score[e] = 0
		if len(sum.Scored) > 0 {
			sum.Score[e] = Score(ratios[i], len(sum.Scored))
		}
		problems := sum.Scored
		if len(problems) == 0 {
			problems = sum.Problems
		}
		a, n := 0.0, 0
		for _, p := range problems {
			if c := sum.Cells[e][p]; c != nil && !math.IsNaN(c.Area) {
				a += c.Area
				n++
			}
		}
		sum.Area[e] = math.NaN()
		if n > 0 {
			sum.Area[e] = a / float64(n)
		}
	}
	for _, p := range sum.Problems {
		if !sum.isScored(p) {
			for _, e := range sum.Entries {
				if c := sum.Cells[e][p]; c != nil {
					c.Ratio = math.NaN()
				}
			}
		}
	}
}

func (sum *Summary) isScored(p Problem) bool {
	for _, q := range sum.Scored {
		if q == p {
			return true
		}
	}
	return false
}

// recommend picks the recommended entry and writes the headline from the
// comparisons, so that the headline says what the comparison table shows.
func (sum *Summary) recommend() {
	base := sum.Study.Baseline
	sum.Recommended = base
	n := len(sum.Scored)
	if base == "" {
		sum.Headline = "The study has no baseline, so no schedule is compared with one."
		return
	}
	if !sum.hasResults(base) {
		// Keeping the baseline would be a verdict drawn from no data.
		sum.Recommended = ""
		why := "has no successful evaluation run (see Failed trials)"
		if sum.noPeakAnywhere(base) {
			why = "has " + noPeakText + " (see Tuned peaks)"
		}
		sum.Headline = fmt.Sprintf("The baseline %s %s, so no schedule is compared with it and none is recommended.", base, why)
		return
	}
	// Entries without a successful run are in no verdict: say so, rather
	// than count them among the schedules that are not faster.
	var failed, noPeak []string
	for _, e := range sum.NoResults {
		if sum.noPeakAnywhere(e) {
			noPeak = append(noPeak, e)
		} else {
			failed = append(failed, e)
		}
	}
	untested := ""
	if len(failed) > 0 {
		untested = fmt.Sprintf(" %s: no successful evaluation run, not compared (see Failed trials).", strings.Join(failed, ", "))
	}
	if len(noPeak) > 0 {
		untested += fmt.Sprintf(" %s: no peak (every selection run failed), not compared (see Tuned peaks).", strings.Join(noPeak, ", "))
	}
	if n == 0 {
		sum.Headline = fmt.Sprintf("No problem of this study discriminates between the schedules (%d excluded), so it gives no verdict; keep %s.%s", len(sum.Excluded), base, untested)
		return
	}
	var faster []string
	for _, e := range sum.Entries {
		if c := sum.Compare[e]; c != nil && c.Verdict == VerdictFaster && sum.hasResults(e) {
			faster = append(faster, e)
		}
	}
	sort.SliceStable(faster, func(i, j int) bool { return sum.Compare[faster[i]].Speedup > sum.Compare[faster[j]].Speedup })
	excluded := ""
	if len(sum.Excluded) > 0 {
		excluded = fmt.Sprintf("; %d of %d problems do not discriminate and are left out", len(sum.Excluded), len(sum.Problems))
	}
	if len(faster) == 0 {
		none := "No schedule"
		if len(sum.NoResults) > 0 {
			none = "No schedule compared"
		}
		sum.Headline = fmt.Sprintf("%s is clearly faster than %s: every %.0f%% interval of the speedup in steps to target includes 1 or lies below it (%d problems%s). Recommended: %s.%s",
			none, base, 100*Level, n, excluded, base, untested)
		return
	}
	best := faster[0]
	c := sum.Compare[best]
	sum.Recommended = best
	sum.Headline = fmt.Sprintf("%s is faster than %s: it reaches the targets %.2f× as fast (%.0f%% interval %.2f–%.2f×, %d problems%s). Recommended: %s.%s",
		best, base, c.Speedup, 100*Level, c.Low, c.High, n, excluded, best, untested)
}

func fromGoodness(g float64, higher bool) float64 {
	if math.IsInf(g, -1) {
		return math.NaN()
	}
	if higher {
		return g
	}
	return -g
}

// medianFinite is the median with -Inf (diverged) entries counted as the
// lowest values; it returns -Inf when the median itself diverged.
func medianFinite(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n == 0 {
		return math.Inf(-1)
	}
	if n%2 == 1 {
		return xs[n/2]
	}
	a, b := xs[n/2-1], xs[n/2]
	if math.IsInf(a, -1) {
		return a
	}
	return (a + b) / 2
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// RecommendedSpecs returns, per workload, the recommended entry's spec at
// the workload's largest budget: "workload (steps steps): spec".
func (sum *Summary) RecommendedSpecs() []string {
	var out []string
	if sum.Recommended == "" {
		return nil // nothing recommended (no baseline, or no data)
	}
	for _, w := range sum.Study.Workloads {
		c := sum.Cells[sum.Recommended][Problem{w, largestBudget(sum.Study, w)}]
		if c == nil || c.Spec == "" {
			continue
		}
		spec := c.Spec
		if sum.entry(sum.Recommended).Refine != "" {
			spec = "refine a first run of " + spec
		}
		out = append(out, fmt.Sprintf("%s (%d steps): %s", w, c.Steps, spec))
	}
	return out
}
