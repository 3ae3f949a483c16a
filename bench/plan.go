package bench

import (
	"fmt"
	"math"
	"strconv"
)

// Plan is what a study needs run, given the results it has: every trial
// (finished or not) and, in grid mode, where each cell's tuning stands.
type Plan struct {
	Trials []Trial
	// Cells holds one CellState per workload × budget × entry, in study
	// order (grid mode only).
	Cells []*CellState
}

// CellState is the tuning of one entry on one problem (workload × budget)
// in grid mode.
type CellState struct {
	Workload string
	Budget   float64
	Entry    string
	// Low and Ratio place the grid: point k has the peak Low·Ratio^k; the
	// initial grid is 0..Points-1.
	Low, Ratio float64
	Points     int
	// Lo and Hi are the grid points tried so far (Lo < 0 or Hi ≥ Points
	// after extension).
	Lo, Hi int
	// Grid holds what each tried point scored on the selection seeds, in
	// index order, for the points whose runs all finished.
	Grid []GridPoint
	// Tuned is set once the tuning is finished with a peak: Chosen is the
	// chosen point and Peak its peak learning rate.
	Tuned  bool
	Chosen int
	Peak   float64
	// NoPeak is set instead of Tuned when the tuning finished without a
	// peak: every selection run of every candidate point (the extensions
	// included) diverged or failed, so there is nothing to choose from.
	// Such a cell trains no evaluation runs. A cell that reuses the peak
	// of a cell without one (tune_budget) has none either.
	NoPeak bool
	// AtEdge is set when the chosen point is still at an edge of the grid
	// after every extension allowed (or with extension off): the optimum
	// may lie beyond it. Edge says which ("low" or "high").
	AtEdge bool
	Edge   string
	// ReusedFrom is the budget whose chosen peak this cell reuses (an
	// entry with tune_budget), 0 when the cell was tuned itself.
	ReusedFrom float64
	// Spec is the schedule spec at the chosen peak (empty until tuned);
	// for a refined entry, the spec its first run trains.
	Spec string
	// Probed is set when the cell's grid is pruned (tuning.prune): every
	// point first trains a probe; Pruned lists the points whose probes the
	// pruner stopped (no full run, not a candidate), and PruneNote says why
	// a cell could not be pruned.
	Probed    bool
	Pruned    []int
	PruneNote string
}

// GridPoint is one peak of a tuning grid and what its selection runs
// scored.
type GridPoint struct {
	Index int
	Peak  float64
	// Metric is the mean over the selection seeds of the final validation
	// metric (NaN when a run diverged or failed), Loss the mean final
	// validation loss.
	Metric, Loss float64
	Diverged     int // selection runs that diverged or failed
}

// PeakAt returns the peak learning rate of grid point k.
func (c *CellState) PeakAt(k int) float64 {
	return math.Exp(math.Log(c.Low) + float64(k)*math.Log(c.Ratio))
}

// Key returns the cell's problem.
func (c *CellState) Problem() Problem { return Problem{c.Workload, c.Budget} }

// Plan returns every trial the study needs now, given the results so far
// (by trial key) and the trials that failed (could not run; a failed
// selection run counts as a diverged one). It is pure and deterministic:
// the same study and results give the same plan. In grid mode the plan
// holds, per cell, the initial grid's selection runs; an extension past
// an edge once every run of the grid so far has finished and its best
// point is at that edge (a grid whose every run diverged or failed
// extends downwards, where a lower peak may train); and the evaluation
// runs once the tuning has finished with a peak. A cell whose every
// selection run diverged or failed after the extensions has no peak
// (CellState.NoPeak) and no evaluation runs. A study runs in rounds
// until the plan adds no trial; called with a finished study's results
// it returns the study's every trial.
// In external and self mode the plan is Trials' and does not depend on
// results.
func (s *Study) Plan(info map[string]WorkloadInfo, results map[string]TrialResult, failed map[string]bool) (*Plan, error) {
	if s.Tuning.Mode != "grid" {
		trials, err := s.Trials(info)
		if err != nil {
			return nil, err
		}
		return &Plan{Trials: trials}, nil
	}
	p := &Plan{}
	cells := map[string]*CellState{}
	cellKey := func(w string, b float64, e string) string { return fmt.Sprintf("%s/%s/b%g", w, e, b) }
	// Cells tuned at their own budget first, then those that reuse a peak.
	for pass := 0; pass < 2; pass++ {
		for _, w := range s.Workloads {
			wi, ok := info[w]
			if !ok {
				return nil, fmt.Errorf("bench: study %s: unknown workload %q", s.Name, w)
			}
			for _, b := range s.budgetsOf(w) {
				for _, e := range s.Schedules {
					reuse := e.TuneBudget != 0 && e.TuneBudget != b
					if (pass == 0) == reuse {
						continue
					}
					c, err := s.newCell(w, wi, b, e)
					if err != nil {
						return nil, err
					}
					cells[cellKey(w, b, e.Name)] = c
					if reuse {
						src := cells[cellKey(w, e.TuneBudget, e.Name)]
						s.planReuse(p, c, src, wi, e, results, failed)
					} else {
						s.planTuning(p, c, wi, e, results, failed)
					}
					if c.Tuned {
						s.addEval(p, c, wi, e)
					}
				}
			}
		}
	}
	for _, w := range s.Workloads {
		for _, b := range s.budgetsOf(w) {
			for _, e := range s.Schedules {
				p.Cells = append(p.Cells, cells[cellKey(w, b, e.Name)])
			}
		}
	}
	return p, nil
}

// newCell sets up a cell's grid.
func (s *Study) newCell(w string, wi WorkloadInfo, b float64, e Entry) (*CellState, error) {
	lo, hi := wi.peakRange()
	if r := s.Tuning.Grid.Ranges[w]; len(r) == 2 {
		lo, hi = r[0], r[1]
	} else if r := s.Tuning.Grid.Range; len(r) == 2 {
		lo, hi = r[0], r[1]
	}
	if !(lo > 0 && hi > lo) {
		return nil, fmt.Errorf("bench: study %s: %s has no peak range to search (low %v, high %v)", s.Name, w, lo, hi)
	}
	n := s.Tuning.Grid.Points
	steps := s.budgetSteps(wi, b)
	if steps < 1 {
		return nil, fmt.Errorf("bench: study %s: budget %v of %s's step hint %d is under one step", s.Name, b, w, wi.StepHint)
	}
	if warm := s.warmupSteps(steps); warm >= steps {
		return nil, fmt.Errorf("bench: study %s: a warm-up of %d steps does not fit in budget %v of %s (%d steps)", s.Name, warm, b, w, steps)
	}
	return &CellState{Workload: w, Budget: b, Entry: e.Name, Low: lo, Ratio: math.Pow(hi/lo, 1/float64(n-1)), Points: n, Lo: 0, Hi: n - 1}, nil
}

func (s *Study) budgetSteps(wi WorkloadInfo, b float64) int64 {
	return int64(math.Round(b * float64(wi.StepHint)))
}

// warmupSteps is grid mode's fixed warm-up for a budget of steps.
func (s *Study) warmupSteps(steps int64) int64 {
	if s.Tuning.WarmupSteps > 0 {
		return s.Tuning.WarmupSteps
	}
	return int64(math.Round(s.Tuning.Warmup * float64(steps)))
}

// planTuning adds a cell's selection runs: the grid so far, one more
// point past an edge while the best point sits there (up to Extend per
// side), and marks the cell tuned when no extension is due.
func (s *Study) planTuning(p *Plan, c *CellState, wi WorkloadInfo, e Entry, results map[string]TrialResult, failed map[string]bool) {
	maxExt := *s.Tuning.Grid.Extend
	for {
		trials, complete := s.tuneTrials(c, wi, e, results, failed)
		if !complete {
			p.Trials = append(p.Trials, trials...)
			return
		}
		c.Grid = c.Grid[:0]
		best := -1
		pruned := map[int]bool{}
		for _, k := range c.Pruned {
			pruned[k] = true
		}
		for k := c.Lo; k <= c.Hi; k++ {
			if pruned[k] {
				continue // stopped by the pruner: not a candidate
			}
			gp := s.scorePoint(c, wi, k, results, failed)
			c.Grid = append(c.Grid, gp)
			if best < 0 || betterPoint(gp, c.Grid[best], wi.HigherIsBetter) {
				best = len(c.Grid) - 1
			}
		}
		k := c.Grid[best].Index
		switch {
		case k == c.Lo && -c.Lo < maxExt:
			c.Lo--
			continue
		case k == c.Hi && c.Hi-(c.Points-1) < maxExt:
			c.Hi++
			continue
		}
		p.Trials = append(p.Trials, trials...)
		if allFailed(c.Grid, len(s.Tuning.Seeds)) {
			// Nothing trained: the grid's low edge would be a choice made
			// from no run.
			c.NoPeak = true
			return
		}
		c.Tuned, c.Chosen, c.Peak = true, k, c.PeakAt(k)
		switch k {
		case c.Lo:
			c.AtEdge, c.Edge = true, "low"
		case c.Hi:
			c.AtEdge, c.Edge = true, "high"
		}
		return
	}
}

// allFailed reports whether every selection run of every point of grid
// (seeds runs a point) diverged or failed.
func allFailed(grid []GridPoint, seeds int) bool {
	for _, gp := range grid {
		if gp.Diverged < seeds {
			return false
		}
	}
	return true
}

// planReuse makes a cell of an entry with tune_budget take the peak of
// its tuning budget's cell, or its lack of one. The baseline's reused
// cells also train the selection seeds at that peak: a problem's target
// comes from them.
func (s *Study) planReuse(p *Plan, c, src *CellState, wi WorkloadInfo, e Entry, results map[string]TrialResult, failed map[string]bool) {
	c.ReusedFrom = src.Budget
	c.Low, c.Ratio = src.Low, src.Ratio
	if src.NoPeak {
		c.NoPeak = true
		return
	}
	if !src.Tuned {
		return
	}
	c.Lo, c.Hi = src.Chosen, src.Chosen
	if e.Name == s.Baseline {
		if _, pinned := s.Targets[c.Workload]; !pinned {
			if !s.addTune(p, c, wi, e, src.Chosen, results, failed) {
				return
			}
			c.Grid = []GridPoint{s.scorePoint(c, wi, src.Chosen, results, failed)}
		}
	}
	c.Tuned, c.Chosen, c.Peak, c.AtEdge, c.Edge = true, src.Chosen, src.Peak, src.AtEdge, src.Edge
}

// addTune adds the selection runs of grid point k and reports whether
// all of them have finished (or failed).
func (s *Study) addTune(p *Plan, c *CellState, wi WorkloadInfo, e Entry, k int, results map[string]TrialResult, failed map[string]bool) bool {
	complete := true
	for i, seed := range s.Tuning.Seeds {
		tr := s.gridTrial(c, wi, e, "tune", k, i, seed)
		p.Trials = append(p.Trials, tr)
		if _, ok := results[tr.Key]; !ok && !failed[tr.Key] {
			complete = false
		}
	}
	return complete
}

// addEval adds a tuned cell's evaluation runs, one per evaluation seed.
func (s *Study) addEval(p *Plan, c *CellState, wi WorkloadInfo, e Entry) {
	for i, seed := range s.Seeds {
		tr := s.gridTrial(c, wi, e, "eval", c.Chosen, i, seed)
		c.Spec = tr.Spec
		p.Trials = append(p.Trials, tr)
	}
}

// scorePoint is the selection criterion of grid point k: the mean final
// validation metric over the selection seeds (NaN if any run diverged or
// failed) and the mean final validation loss.
func (s *Study) scorePoint(c *CellState, wi WorkloadInfo, k int, results map[string]TrialResult, failed map[string]bool) GridPoint {
	gp := GridPoint{Index: k, Peak: c.PeakAt(k)}
	n := float64(len(s.Tuning.Seeds))
	for _, seed := range s.Tuning.Seeds {
		key := gridKey(c, "tune", k, seed)
		r, ok := results[key]
		if !ok || failed[key] || r.Diverged || math.IsNaN(float64(r.FinalMetric)) {
			gp.Diverged++
			gp.Metric, gp.Loss = math.NaN(), math.NaN()
			continue
		}
		gp.Metric += float64(r.FinalMetric) / n
		gp.Loss += r.finalLoss() / n
	}
	return gp
}

// betterPoint orders grid points by the selection criterion: the higher
// goodness of the mean final metric (a diverged point is the worst), then
// the lower mean final validation loss. Equal points are not better, so a
// scan in index order keeps the lowest peak of a tie.
func betterPoint(a, b GridPoint, higher bool) bool {
	ga, gb := goodness(a.Metric, higher), goodness(b.Metric, higher)
	if ga != gb {
		return ga > gb
	}
	la, lb := a.Loss, b.Loss
	if math.IsNaN(la) {
		la = math.Inf(1)
	}
	if math.IsNaN(lb) {
		lb = math.Inf(1)
	}
	return la < lb
}

// finalLoss is the validation loss at the last evaluation (NaN if none).
func (r TrialResult) finalLoss() float64 {
	if len(r.Evals) == 0 || r.Diverged {
		return math.NaN()
	}
	return float64(r.Evals[len(r.Evals)-1].ValLoss)
}

func gridKey(c *CellState, role string, k int, seed int64) string {
	return fmt.Sprintf("%s/%s/b%g/%s/k%d/s%d", c.Workload, c.Entry, c.Budget, role, k, seed)
}

// gridTrial is the trial of a cell's entry at grid point k on a seed.
func (s *Study) gridTrial(c *CellState, wi WorkloadInfo, e Entry, role string, k, seedIndex int, seed int64) Trial {
	steps := s.budgetSteps(wi, c.Budget)
	warm := s.warmupSteps(steps)
	peak := c.PeakAt(k)
	spec, opt := s.resolve(e)
	if t, ok := s.Targets[c.Workload]; ok {
		wi.Target = t
	}
	frac := float64(warm) / float64(steps)
	var stop int64
	if role == "probe" {
		stop = max(1, int64(math.Ceil(s.pruneFraction()*float64(steps))))
	}
	vars := map[string]string{
		"peak":        strconv.FormatFloat(peak, 'g', 6, 64),
		"steps":       strconv.FormatInt(steps, 10),
		"warmup":      strconv.FormatInt(warm, 10),
		"decay_steps": strconv.FormatInt(steps-warm, 10),
	}
	return Trial{
		Key:       gridKey(c, role, k, seed),
		Command:   s.command(c.Workload),
		Workload:  c.Workload,
		Entry:     e.Name,
		Spec:      Expand(spec, vars),
		Optimizer: opt,
		Refine:    e.Refine != "",
		Budget:    c.Budget,
		Steps:     steps,
		Seed:      seed,
		Study:     seedIndex,
		Role:      role,
		Grid:      k,
		Params:    map[string]float64{"peak": peak, "warmup": frac},
		Target:    wi.Target,
		Higher:    wi.HigherIsBetter,
		EvalEvery: max(1, steps/int64(s.Eval.Count)),
		StopAt:    stop,
	}
}

// resolve returns the spec template and optimizer an entry trains: a
// refined entry's are those of the entry it refines (its own optimizer,
// if it names one, wins).
func (s *Study) resolve(e Entry) (spec, optimizer string) {
	spec, optimizer = e.Spec, e.Optimizer
	if e.Refine != "" {
		for _, o := range s.Schedules {
			if o.Name == e.Refine {
				spec = o.Spec
				if optimizer == "" {
					optimizer = o.Optimizer
				}
			}
		}
	}
	return spec, optimizer
}
