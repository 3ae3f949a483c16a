package bench

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/lrkit/lrkit/early"
	"github.com/lrkit/lrkit/runlog"
)

// EarlyHorizon is the fraction of its budget over which every trial keeps
// its per-step training loss and gradient norm (TrialResult.Early): enough
// for the early-ranking checkpoints at 10%, 20% and 30% of the budget
// (package early), so that pruning can be replayed on any finished study.
const EarlyHorizon = 0.3

// Prune turns on grid mode's pruner (off by default):
//
//	tuning:
//	  mode: grid
//	  prune:
//	    rule: loss          # loss (default), gradnorm, paper, loss+gradnorm
//	    at: [0.1, 0.2, 0.3] # checkpoints, fractions of the budget
//	    z: 2                # margin in standard errors
//	    keep: 1             # never stop the best keep points
//
// Each grid point of a cell is first trained as a probe: the first
// at[-1]·budget steps of the budget's schedule (the same run, cut short).
// Once every probe of the cell's grid has finished, package early's
// policy ranks them by their early training loss (and gradient norm,
// after the rule) at each checkpoint and stops those more than z standard
// errors behind the best; only the survivors are trained to the end and
// compete for the peak. A point survives if it survives on any selection
// seed. The survivors' full runs start from scratch (deterministic
// training repeats the probe's steps exactly), so a cell spends
// at[-1]·points + survivors runs instead of points. The decision is
// deterministic (a function of the stored probes), so a study resumes
// and distributes as without pruning. Refined entries and command
// workloads are not pruned (a refined run's first run is the probe's own
// schedule; a command workload reports no per-step training loss).
//
// Which decisions were wrong cannot be known from a pruned study (the
// stopped points were never trained to the end); the report's replay
// section measures them on an unpruned study, whose every trial keeps its
// early records (EarlyHorizon).
type Prune struct {
	Rule string    `yaml:"rule"`
	At   []float64 `yaml:"at"`
	Z    *float64  `yaml:"z"`
	Keep int       `yaml:"keep"`
}

// MaxPruneFraction is the last checkpoint a pruner may use: a probe of
// more than half the budget saves too little to be worth its rerun.
const MaxPruneFraction = 0.5

// policy is the pruner's early.Policy.
func (p *Prune) policy() (early.Policy, error) {
	pol := early.DefaultPolicy()
	if p.Rule != "" {
		r, err := early.RuleByName(p.Rule)
		if err != nil {
			return pol, err
		}
		pol.Rule = r
	}
	if len(p.At) > 0 {
		pol.Checkpoints = p.At
	}
	if p.Z != nil {
		pol.Z = *p.Z
	}
	if p.Keep > 0 {
		pol.Keep = p.Keep
	}
	return pol, nil
}

// validatePrune checks the prune settings, each error with its field.
func validatePrune(p *Prune, bad func(string, ...string) error) error {
	if p.Rule != "" {
		if _, err := early.RuleByName(p.Rule); err != nil {
			return bad(err.Error(), "tuning", "prune", "rule")
		}
	}
	for i, a := range p.At {
		if !(a > 0 && a <= MaxPruneFraction) || (i > 0 && a <= p.At[i-1]) {
			return bad(fmt.Sprintf("at %v: want increasing fractions of the budget in (0, %g]", p.At, MaxPruneFraction), "tuning", "prune", "at", strconv.Itoa(i))
		}
	}
	if p.Z != nil && !(*p.Z >= 0 && *p.Z <= 100) {
		return bad(fmt.Sprintf("z %v: want a margin of 0 to 100 standard errors", *p.Z), "tuning", "prune", "z")
	}
	if p.Keep < 0 {
		return bad(fmt.Sprintf("keep %d: want at least 1 (0: the default, 1)", p.Keep), "tuning", "prune", "keep")
	}
	return nil
}

// pruneFraction is the probe length of the study's pruner (its last
// checkpoint), 0 when pruning is off.
func (s *Study) pruneFraction() float64 {
	if s.Tuning.Prune == nil {
		return 0
	}
	pol, err := s.Tuning.Prune.policy()
	if err != nil || len(pol.Checkpoints) == 0 {
		return 0
	}
	return pol.Checkpoints[len(pol.Checkpoints)-1]
}

// prunes says whether entry e's cells on workload w are pruned.
func (s *Study) prunes(w string, e Entry) bool {
	return s.pruneFraction() > 0 && e.Refine == "" && s.command(w) == nil
}

// EarlyCurve is a trial's training loss and gradient norm at every step
// from 0 (index = step) up to its early horizon, rounded to 6 significant
// digits; NaN where the run diverged.
type EarlyCurve struct {
	Loss     []runlog.Num `json:"loss"`
	GradNorm []runlog.Num `json:"grad_norm"`
}

// add appends one step's values.
func (c *EarlyCurve) add(loss, grad float64) {
	c.Loss = append(c.Loss, runlog.Num(round6(loss)))
	c.GradNorm = append(c.GradNorm, runlog.Num(round6(grad)))
}

// round6 rounds to 6 significant digits (the JSON stays short); NaN and
// the infinities pass.
func round6(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// MaxEarlySteps bounds a trial's early records, so that its result stays
// well inside the work queue's 1 MB message limit (about 22 bytes a step).
// Trials of more than MaxEarlySteps/EarlyHorizon steps (66,666) keep the
// first MaxEarlySteps only; the pruner cannot judge them (their cells are
// not pruned, and the report says so) and the replay skips them.
const MaxEarlySteps = 20000

// earlySteps is how many leading steps of a trial keep early records.
func earlySteps(tr Trial) int64 {
	n := int64(math.Ceil(EarlyHorizon * float64(tr.Steps)))
	return min(max(n, tr.StopAt), tr.Steps, MaxEarlySteps)
}

// earlyTrial turns a result's early curve into package early's trial,
// with the full budget as its budget; ok is false without one.
func earlyTrial(id string, steps int64, r TrialResult) (early.Trial, bool) {
	if r.Early == nil || len(r.Early.Loss) == 0 || len(r.Early.Loss) != len(r.Early.GradNorm) {
		return early.Trial{}, false
	}
	recs := make([]runlog.Record, len(r.Early.Loss))
	for i := range recs {
		recs[i] = runlog.Record{Step: int64(i), Loss: float64(r.Early.Loss[i]), GradNorm: float64(r.Early.GradNorm[i]),
			Present: runlog.FieldLoss | runlog.FieldGradNorm}
	}
	return early.Trial{ID: id, Budget: steps, Records: recs}, true
}

// tuneTrials returns the selection runs of a cell's grid points Lo..Hi
// and whether all of them have finished (or failed). Without pruning
// that is every point's full runs; with it, the probes first, and once
// they have all finished, the full runs of the points that survive (and
// of any point whose full runs are already stored); c.Pruned lists the
// others.
func (s *Study) tuneTrials(c *CellState, wi WorkloadInfo, e Entry, results map[string]TrialResult, failed map[string]bool) ([]Trial, bool) {
	done := func(key string) bool {
		_, ok := results[key]
		return ok || failed[key]
	}
	var trials []Trial
	complete := true
	add := func(role string, k int) {
		for i, seed := range s.Tuning.Seeds {
			tr := s.gridTrial(c, wi, e, role, k, i, seed)
			trials = append(trials, tr)
			if !done(tr.Key) {
				complete = false
			}
		}
	}
	if !s.prunes(c.Workload, e) {
		for k := c.Lo; k <= c.Hi; k++ {
			add("tune", k)
		}
		return trials, complete
	}
	c.Probed = true
	for k := c.Lo; k <= c.Hi; k++ {
		add("probe", k)
	}
	if !complete {
		// Full runs already stored stay in the plan while a new probe
		// (an extension's) runs.
		for k := c.Lo; k <= c.Hi; k++ {
			for i, seed := range s.Tuning.Seeds {
				if tr := s.gridTrial(c, wi, e, "tune", k, i, seed); done(tr.Key) {
					trials = append(trials, tr)
				}
			}
		}
		return trials, false
	}
	keep := s.survivors(c, wi, results, failed)
	c.Pruned = c.Pruned[:0]
	// When every probe diverged or failed, nothing is pruned: the points
	// get no full runs and score as diverged, so the grid extends
	// downwards as an unpruned grid of diverged runs does.
	none := len(keep) == 0
	for k := c.Lo; k <= c.Hi; k++ {
		full := true
		for _, seed := range s.Tuning.Seeds {
			full = full && done(gridKey(c, "tune", k, seed))
		}
		switch {
		case keep[k] || full:
			add("tune", k)
		case !none:
			c.Pruned = append(c.Pruned, k)
		}
	}
	return trials, complete
}

// survivors applies the pruner to a cell's finished probes, per selection
// seed, and returns the points that survive on at least one seed. A probe
// that failed, diverged or kept no early records is stopped outright. If
// the policy cannot judge (a budget too short for its windows), every
// point survives and c.PruneNote says why.
func (s *Study) survivors(c *CellState, wi WorkloadInfo, results map[string]TrialResult, failed map[string]bool) map[int]bool {
	keep := map[int]bool{}
	pol, err := s.Tuning.Prune.policy()
	steps := s.budgetSteps(wi, c.Budget)
	c.PruneNote = ""
	for _, seed := range s.Tuning.Seeds {
		var sibs []early.Trial
		var idx []int
		for k := c.Lo; k <= c.Hi; k++ {
			key := gridKey(c, "probe", k, seed)
			r, ok := results[key]
			if !ok || failed[key] || r.Diverged {
				continue
			}
			et, ok := earlyTrial(key, steps, r)
			if !ok {
				continue
			}
			sibs, idx = append(sibs, et), append(idx, k)
		}
		if len(sibs) == 0 {
			continue
		}
		var ds []early.Decision
		if err == nil {
			ds, err = pol.Decide(sibs)
		}
		if err != nil {
			c.PruneNote = "not pruned: " + err.Error()
			for k := c.Lo; k <= c.Hi; k++ {
				keep[k] = true
			}
			return keep
		}
		for j, d := range ds {
			if !d.Stop {
				keep[idx[j]] = true
			}
		}
	}
	return keep
}

// PruneRow is one workload's pruning figures, live or replayed.
type PruneRow struct {
	Workload string
	// Cells is the grid cells (replay: cell × selection seed groups)
	// counted; Points the grid points they tried, Pruned those stopped.
	Cells, Points, Pruned int
	// StepsRun are the selection steps spent (probes included), StepsFull
	// those every point's full run would have taken; Saved = 1 −
	// StepsRun/StepsFull.
	StepsRun, StepsFull int64
	Saved               float64
	// Replay only: WinnerStopped counts groups whose chosen point (the
	// tuning's choice) would have been stopped, Near the stopped points
	// whose final metric was within PruneTol of the best, and Regret the
	// mean over groups of how much worse the best surviving point's final
	// metric is (in the metric's units, positive is worse).
	WinnerStopped, Near int
	Regret              float64
	// Live only: Unjudged are the cells the pruner could not judge (all
	// their points were trained), with why in Notes.
	Unjudged int
	Notes    []string
}

// PruneTol is what counts as "near the best" in the replay: within 0.005
// of the best final metric (accuracy or nats), as in docs/papers.md §1.
const PruneTol = 0.005

// livePruning sums up a pruned study's selection compute per workload.
func livePruning(s *Study, out *Outcome) []PruneRow {
	if out.Plan == nil || s.pruneFraction() == 0 {
		return nil
	}
	rows := map[string]*PruneRow{}
	probed := map[string]bool{}
	cellOf := func(w, e string, b float64) string { return fmt.Sprintf("%s\x00%s\x00%g", w, e, b) }
	for _, c := range out.Plan.Cells {
		if c == nil || !c.Probed {
			continue
		}
		probed[cellOf(c.Workload, c.Entry, c.Budget)] = true
		row := rows[c.Workload]
		if row == nil {
			row = &PruneRow{Workload: c.Workload}
			rows[c.Workload] = row
		}
		row.Cells++
		row.Points += c.Hi - c.Lo + 1
		row.Pruned += len(c.Pruned)
		if c.PruneNote != "" {
			row.Unjudged++
			row.Notes = append(row.Notes, fmt.Sprintf("%s %s: %s", c.Problem(), c.Entry, c.PruneNote))
		}
	}
	for _, tr := range out.Trials {
		row := rows[tr.Workload]
		if row == nil || (tr.Role != "probe" && tr.Role != "tune") || !probed[cellOf(tr.Workload, tr.Entry, tr.Budget)] {
			continue
		}
		if r, ok := out.Results[tr.Key]; ok {
			row.StepsRun += r.Steps
		}
		if tr.Role == "probe" {
			row.StepsFull += tr.Steps
		}
	}
	return sortedRows(rows)
}

// replayPruning replays the default pruner (early.DefaultPolicy) on the
// full selection runs of every grid cell and selection seed whose runs
// all kept early records.
func replayPruning(s *Study, out *Outcome, higher map[string]bool) []PruneRow {
	if out.Plan == nil {
		return nil
	}
	pol := early.DefaultPolicy()
	rows := map[string]*PruneRow{}
	regret := map[string]float64{}
	byKey := make(map[string]Trial, len(out.Trials))
	for _, t := range out.Trials {
		byKey[t.Key] = t
	}
	for _, c := range out.Plan.Cells {
		// Cells pruned live hold full runs of their survivors only.
		if c == nil || !c.Tuned || c.ReusedFrom != 0 || c.Probed {
			continue
		}
		for _, seed := range s.Tuning.Seeds {
			var sibs []early.Trial
			var final []float64
			var steps int64
			okAll := true
			for k := c.Lo; k <= c.Hi; k++ {
				key := gridKey(c, "tune", k, seed)
				r, ok := out.Results[key]
				if !ok {
					okAll = false
					break
				}
				tr := byKey[key]
				steps = tr.Steps
				et, ok := earlyTrial(key, tr.Steps, r)
				if !ok || r.Diverged {
					okAll = false // replay only groups with complete records
					break
				}
				sibs, final = append(sibs, et), append(final, float64(r.FinalMetric))
			}
			if !okAll || len(sibs) < 2 || steps == 0 {
				continue
			}
			o, err := pol.Simulate(sibs, final, !higher[c.Workload], PruneTol)
			if err != nil {
				continue // a budget too short for the policy's windows
			}
			row := rows[c.Workload]
			if row == nil {
				row = &PruneRow{Workload: c.Workload}
				rows[c.Workload] = row
			}
			row.Cells++
			row.Points += len(sibs)
			row.Pruned += len(o.Stopped)
			row.StepsRun += o.StepsRun
			row.StepsFull += o.StepsFull
			// The point the tuning chose (by mean final metric over the
			// selection seeds, ties to the lower validation loss), which
			// with one selection seed is this group's best.
			chosen := gridKey(c, "tune", c.Chosen, seed)
			for _, id := range o.Stopped {
				if id == chosen {
					row.WinnerStopped++
				}
			}
			row.Near += o.StoppedNear
			regret[c.Workload] += o.Regret
		}
	}
	for w, row := range rows {
		row.Regret = regret[w] / float64(row.Cells)
	}
	return sortedRows(rows)
}

// sortedRows returns the rows by workload name, with Saved filled in and
// an "all" row when there are several.
func sortedRows(m map[string]*PruneRow) []PruneRow {
	if len(m) == 0 {
		return nil
	}
	var rows []PruneRow
	all := PruneRow{Workload: "all"}
	var regret float64
	for _, r := range m {
		if r.StepsFull > 0 {
			r.Saved = 1 - float64(r.StepsRun)/float64(r.StepsFull)
		}
		rows = append(rows, *r)
		all.Cells += r.Cells
		all.Points += r.Points
		all.Pruned += r.Pruned
		all.StepsRun += r.StepsRun
		all.StepsFull += r.StepsFull
		all.WinnerStopped += r.WinnerStopped
		all.Near += r.Near
		all.Unjudged += r.Unjudged
		regret += r.Regret * float64(r.Cells)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Workload < rows[j].Workload })
	if len(rows) > 1 {
		if all.StepsFull > 0 {
			all.Saved = 1 - float64(all.StepsRun)/float64(all.StepsFull)
		}
		if all.Cells > 0 {
			all.Regret = regret / float64(all.Cells)
		}
		rows = append(rows, all)
	}
	return rows
}
