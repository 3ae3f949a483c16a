package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/workload"
)

// Limits of one study file, checked before anything runs: a study that
// asks for more is refused with the field that asked, instead of running
// out of memory or running for ever.
const (
	// MaxStudyBytes is the largest study file ParseStudy reads.
	MaxStudyBytes = 1 << 20
	// MaxTrialSteps is the most steps one trial may train (a budget times
	// its workload's step hint).
	MaxTrialSteps = 10_000_000
	// MaxSeeds is the most evaluation or selection seeds a study may list.
	MaxSeeds = 1000
	// MaxGridPoints is the largest initial peak grid.
	MaxGridPoints = 100
	// MaxExternalTrials is the most quasirandom points per study (seed)
	// of external tuning.
	MaxExternalTrials = 10_000
	// MaxStudyTrials is the most trials a study may plan: workloads ×
	// budgets × schedules × seeds × search points (with a grid's possible
	// extensions counted).
	MaxStudyTrials = 50_000
)

// validateContent checks what the study's structure does not say: that
// every spec parses (as untrusted text: a study
// file never makes lrkit read another file) with its template variables
// filled in, every optimizer exists, seed lists have no duplicates,
// targets are finite, budgets give a bounded number of steps, and the
// whole study plans a bounded number of trials.
func (s *Study) validateContent(bad func(string, ...string) error) error {
	if err := checkSeeds(s.Seeds, bad, "seeds"); err != nil {
		return err
	}
	if err := checkSeeds(s.Tuning.Seeds, bad, "tuning", "seeds"); err != nil {
		return err
	}
	for w, t := range s.Targets {
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return bad(fmt.Sprintf("target %v: want a finite number", t), "targets", w)
		}
	}
	if s.Tuning.Grid.Points > MaxGridPoints {
		return bad(fmt.Sprintf("%d peaks; at most %d", s.Tuning.Grid.Points, MaxGridPoints), "tuning", "grid", "points")
	}
	if s.Tuning.Trials > MaxExternalTrials {
		return bad(fmt.Sprintf("%d trials per study; at most %d", s.Tuning.Trials, MaxExternalTrials), "tuning", "trials")
	}
	for i, e := range s.Schedules {
		if e.Optimizer != "" {
			if _, err := workload.NewOptimizer(e.Optimizer, 0); err != nil {
				return bad(err.Error(), "schedules", strconv.Itoa(i), "optimizer")
			}
		}
		if e.Spec == "" {
			continue // a refined entry; validate checked its base
		}
		if err := s.checkSpec(e.Spec); err != nil {
			return bad(err.Error(), "schedules", strconv.Itoa(i), "spec")
		}
	}
	if err := s.checkCommands(bad); err != nil {
		return err
	}
	if n := s.plannedTrials(); n > MaxStudyTrials {
		return bad(fmt.Sprintf("the study plans up to %.3g trials (workloads × budgets × schedules × seeds × search points); at most %d", n, MaxStudyTrials), "schedules")
	}
	return nil
}

// checkSeeds refuses too many seeds and a seed listed twice (two trials
// with one key would share one result).
func checkSeeds(seeds []int64, bad func(string, ...string) error, path ...string) error {
	if len(seeds) > MaxSeeds {
		return bad(fmt.Sprintf("%d seeds; at most %d", len(seeds), MaxSeeds), path...)
	}
	seen := map[int64]bool{}
	for i, x := range seeds {
		if seen[x] {
			return bad(fmt.Sprintf("seed %d listed twice", x), append(slices.Clone(path), strconv.Itoa(i))...)
		}
		seen[x] = true
	}
	return nil
}

// checkSpec parses a spec template with sample values for its variables,
// as untrusted text.
func (s *Study) checkSpec(spec string) error {
	vars := map[string]string{"peak": "0.01", "steps": "1000", "warmup": "50", "decay_steps": "950"}
	for name, r := range s.Tuning.Space {
		if _, ok := vars[name]; !ok {
			vars[name] = strconv.FormatFloat(r.Min, 'g', -1, 64)
		}
	}
	text := Expand(spec, vars)
	if _, err := control.ParseUntrusted(text); err != nil {
		if text != spec {
			return fmt.Errorf("%v (in the spec with its ${...} variables filled in: %s)", err, text)
		}
		return err
	}
	return nil
}

// plannedTrials is an upper bound of the trials the study plans, as a
// float so that absurd settings do not overflow.
func (s *Study) plannedTrials() float64 {
	budgets := float64(max(len(s.Budgets), 1))
	seeds := float64(max(len(s.Seeds), 1))
	per := seeds // trials per workload, budget and schedule
	switch s.Tuning.Mode {
	case "grid":
		points := s.Tuning.Grid.Points
		if points == 0 {
			points = MinGridPoints
		}
		extend := DefaultExtend
		if s.Tuning.Grid.Extend != nil {
			extend = *s.Tuning.Grid.Extend
		}
		per = float64(max(len(s.Tuning.Seeds), 1))*float64(points+2*extend) + seeds
		if s.Tuning.Prune != nil {
			per += float64(max(len(s.Tuning.Seeds), 1)) * float64(points+2*extend) // the probes
		}
	case "self":
	default:
		per = seeds * float64(max(s.Tuning.Trials, 1))
	}
	n := 0.0
	for _, w := range s.Workloads {
		b := float64(len(s.WorkloadBudgets[w]))
		if _, ok := s.WorkloadBudgets[w]; !ok {
			b = budgets
		}
		n += b
	}
	return n * float64(len(s.Schedules)) * per
}

// WorkloadInfos looks up the study's workloads and checks its budgets
// against their step hints, with the file, line and field of a bad entry:
// an unknown workload, or a budget that would train more than
// MaxTrialSteps steps.
func (s *Study) WorkloadInfos() (map[string]WorkloadInfo, error) {
	at := func(key, msg string) error {
		if e, ok := s.where[key]; ok {
			c := *e
			c.Msg = msg
			return &c
		}
		return fmt.Errorf("bench: study %s: %s: %s", s.Name, key, msg)
	}
	out := map[string]WorkloadInfo{}
	for i, name := range s.Workloads {
		if c := s.command(name); c != nil {
			out[name] = c.info()
			continue
		}
		w, err := workload.Lookup(name)
		if err != nil {
			return nil, at(fmt.Sprint("workloads.", i), err.Error())
		}
		lo, hi := w.PeakSearchRange()
		out[name] = WorkloadInfo{StepHint: w.StepHint, DefaultPeak: w.DefaultPeak, Target: w.Target,
			HigherIsBetter: w.Metric.HigherIsBetter, PeakLow: lo, PeakHigh: hi}
	}
	for _, name := range s.Workloads {
		key := "budgets."
		if _, ok := s.WorkloadBudgets[name]; ok {
			key = "workload_budgets." + name + "."
		}
		for i, b := range s.budgetsOf(name) {
			hint := out[name].StepHint
			if steps := b * float64(hint); steps > MaxTrialSteps {
				return nil, at(fmt.Sprint(key, i), fmt.Sprintf("budget %v of %s's step hint %d is %.3g steps; at most %d steps per trial", b, name, hint, steps, MaxTrialSteps))
			}
		}
	}
	return out, nil
}

// checkCommands checks the study's command workloads: their settings, that
// no built-in workload has the name, and that refinement (which would need
// the command to train a table schedule it is given as a file) is not
// asked of them.
func (s *Study) checkCommands(bad func(string, ...string) error) error {
	if len(s.Commands) == 0 {
		return nil
	}
	used := map[string]bool{}
	for _, w := range s.Workloads {
		used[w] = true
	}
	names := make([]string, 0, len(s.Commands))
	for name := range s.Commands {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := workload.Lookup(name); err == nil {
			return bad(fmt.Sprintf("%q is a built-in workload; give the command another name", name), "commands", name)
		}
		if field, msg := s.Commands[name].check(); field != "" {
			return bad(msg, "commands", name, field)
		}
		if !used[name] {
			return bad(fmt.Sprintf("command %q is not in workloads", name), "commands", name)
		}
	}
	for i, e := range s.Schedules {
		if e.Refine != "" {
			return bad("refinement is not available with command workloads (the command would have to train a per-step table)", "schedules", strconv.Itoa(i), "refine")
		}
	}
	return nil
}

// OnlyWorkloads restricts the study to some of its workloads, for a run
// that does part of a study now and the rest later: the trials keep
// their keys, so a later run of the whole study finds them done.
func (s *Study) OnlyWorkloads(names []string) error {
	have := map[string]bool{}
	for _, w := range s.Workloads {
		have[w] = true
	}
	seen := map[string]bool{}
	var keep []string
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("bench: study %s has no workload %q (it has %v)", s.Name, n, s.Workloads)
		}
		if !seen[n] {
			keep = append(keep, n)
			seen[n] = true
		}
	}
	if len(keep) == 0 {
		return fmt.Errorf("bench: study %s: no workloads chosen", s.Name)
	}
	s.Workloads = keep
	return nil
}
