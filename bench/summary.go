package bench

import (
	"fmt"
	"math"
	"sort"
)

// Problem is one workload at one budget: the unit a performance profile
// counts.
type Problem struct {
	Workload string
	Budget   float64
}

func (p Problem) String() string { return fmt.Sprintf("%s@%g", p.Workload, p.Budget) }

// Cell is one schedule on one problem.
type Cell struct {
	Steps   float64 // median over studies of the best trial's steps to target (+Inf: not reached)
	Seconds float64 // the same in training seconds
	Ratio   float64 // Steps over the best schedule's Steps, +Inf beyond RatioMax
	// Final is the median over studies of the best trial's final metric
	// (best by final metric), for problems no schedule reaches.
	Final float64
	// PerSeed is the best final metric of each study, in seed order.
	PerSeed []float64
	Reached int // studies whose best trial reached the target
}

// Summary is a scored study.
type Summary struct {
	Study    *Study
	Entries  []string  // schedule names, in study order
	Problems []Problem // workload × budget, in study order
	Cells    map[string]map[Problem]*Cell
	// Score is each entry's benchmark score over all problems (area under
	// its performance profile up to RatioMax, in [0, 1]).
	Score map[string]float64
	// Speedup is each entry's geometric-mean speedup in steps to target
	// over the baseline, over the problems both reached, and how many.
	Speedup        map[string]float64
	SpeedupCounted map[string]int
	// Compute is each entry's training steps over its scored steps: 2 for
	// refinement (a first run, then the refined one), 1 otherwise.
	Compute map[string]float64
	Missing int // trials without a result
	Claims  []Claim
	Higher  map[string]bool // per workload: is a higher metric better
}

// Summarize scores the results of a study's trials.
func Summarize(s *Study, trials []Trial, results map[string]TrialResult) (*Summary, error) {
	sum := &Summary{
		Study:          s,
		Cells:          map[string]map[Problem]*Cell{},
		Score:          map[string]float64{},
		Speedup:        map[string]float64{},
		SpeedupCounted: map[string]int{},
		Higher:         map[string]bool{},
		Compute:        map[string]float64{},
	}
	scored, spent := map[string]int64{}, map[string]int64{}
	for _, e := range s.Schedules {
		sum.Entries = append(sum.Entries, e.Name)
		sum.Cells[e.Name] = map[Problem]*Cell{}
	}
	for _, w := range s.Workloads {
		for _, b := range s.Budgets {
			sum.Problems = append(sum.Problems, Problem{w, b})
		}
	}
	// Group trials: entry -> problem -> study -> trials.
	type group struct {
		steps, secs [][]float64
		finals      [][]float64
	}
	groups := map[string]map[Problem]*group{}
	for _, tr := range trials {
		if tr.Role == "tune" {
			continue // grid mode's selection runs are not scored
		}
		r, ok := results[tr.Key]
		if !ok {
			sum.Missing++
			continue
		}
		sum.Higher[tr.Workload] = tr.Higher
		scored[tr.Entry] += r.Steps
		spent[tr.Entry] += r.Steps + r.ExtraSteps
		p := Problem{tr.Workload, tr.Budget}
		if groups[tr.Entry] == nil {
			groups[tr.Entry] = map[Problem]*group{}
		}
		g := groups[tr.Entry][p]
		if g == nil {
			g = &group{
				steps:  make([][]float64, len(s.Seeds)),
				secs:   make([][]float64, len(s.Seeds)),
				finals: make([][]float64, len(s.Seeds)),
			}
			groups[tr.Entry][p] = g
		}
		g.steps[tr.Study] = append(g.steps[tr.Study], r.StepsToTarget(tr.Target, tr.Higher))
		g.secs[tr.Study] = append(g.secs[tr.Study], r.SecondsToTarget(tr.Target, tr.Higher))
		final := float64(r.FinalMetric)
		if r.Diverged {
			final = math.NaN()
		}
		g.finals[tr.Study] = append(g.finals[tr.Study], goodness(final, tr.Higher))
	}
	for entry, byProblem := range groups {
		for p, g := range byProblem {
			c := &Cell{Steps: math.Inf(1), Seconds: math.Inf(1), Final: math.NaN()}
			var steps, secs [][]float64
			var bestFinals []float64
			for st := range g.steps {
				if len(g.steps[st]) == 0 {
					continue
				}
				steps = append(steps, g.steps[st])
				secs = append(secs, g.secs[st])
				best := math.Inf(-1)
				for _, f := range g.finals[st] {
					best = math.Max(best, f)
				}
				bestFinals = append(bestFinals, best)
				for _, t := range g.steps[st] {
					if !math.IsInf(t, 1) {
						c.Reached++
						break
					}
				}
			}
			if len(steps) > 0 {
				c.Steps, _ = WorkloadTime(steps)
				c.Seconds, _ = WorkloadTime(secs)
				c.PerSeed = make([]float64, len(bestFinals))
				higher := sum.Higher[p.Workload]
				for i, f := range bestFinals {
					c.PerSeed[i] = fromGoodness(f, higher)
				}
				sorted := append([]float64(nil), bestFinals...)
				c.Final = fromGoodness(medianFinite(sorted), higher)
			}
			sum.Cells[entry][p] = c
		}
	}
	for e, n := range scored {
		if n > 0 {
			sum.Compute[e] = float64(spent[e]) / float64(n)
		}
	}
	// Ratios and scores over problems.
	times := make([][]float64, len(sum.Entries))
	for i, e := range sum.Entries {
		times[i] = make([]float64, len(sum.Problems))
		for j, p := range sum.Problems {
			times[i][j] = math.Inf(1)
			if c := sum.Cells[e][p]; c != nil {
				times[i][j] = c.Steps
			}
		}
	}
	ratios, err := Ratios(times)
	if err != nil {
		return nil, err
	}
	for i, e := range sum.Entries {
		for j, p := range sum.Problems {
			if c := sum.Cells[e][p]; c != nil {
				c.Ratio = ratios[i][j]
			}
		}
		sum.Score[e] = Score(ratios[i], len(sum.Problems))
	}
	if base := indexOf(sum.Entries, s.Baseline); base >= 0 {
		for i, e := range sum.Entries {
			sum.Speedup[e], sum.SpeedupCounted[e] = GeoMeanSpeedup(times[i], times[base])
		}
	}
	sum.Claims = evaluateClaims(sum)
	return sum, nil
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

// Best returns the entry with the highest benchmark score, ties broken by
// the higher speedup over the baseline, then by study order.
func (s *Summary) Best() string {
	best := ""
	for _, e := range s.Entries {
		if best == "" || s.Score[e] > s.Score[best] ||
			(s.Score[e] == s.Score[best] && s.Speedup[e] > s.Speedup[best]) {
			best = e
		}
	}
	return best
}
