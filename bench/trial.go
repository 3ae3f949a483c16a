package bench

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/optim"
	"github.com/lrkit/lrkit/workload"
	"github.com/lrkit/lrkit/workload/data"
)

// lrPoints is how many points of a trial's learning-rate curve a result
// keeps for plots.
const lrPoints = 200

// TrialOptions change how trials run, for every trial of a study alike.
type TrialOptions struct {
	// Limit, if > 0, caps each workload's examples (a quick study's small
	// slice); see workload.Options.
	Limit int
	// Sets shares decoded image data sets between the trials of a process
	// (nil: each trial decodes its own); see data.SetCache.
	Sets *data.SetCache
}

// RunTrial trains one trial: the workload built for the trial's seed, the
// trial's spec as its controller (a schedule spec is a fixed controller),
// the entry's optimizer or the workload's, and an evaluation every
// EvalEvery steps. A refined trial first trains the spec to collect its
// gradient norms, then trains the refined schedule (the scored run).
// heartbeat is called after every step. A diverged run is a result
// (Diverged, final metric NaN), not an error; errors are for trials that
// could not run at all (a bad spec, a missing data set) and for
// cancellation.
func RunTrial(ctx context.Context, tr Trial, opts TrialOptions, heartbeat func()) (TrialResult, error) {
	if tr.Command != nil {
		return runCommand(ctx, tr, heartbeat)
	}
	w, err := workload.Lookup(tr.Workload)
	if err != nil {
		return TrialResult{Key: tr.Key}, err
	}
	ctrl, err := control.Parse(tr.Spec)
	if err != nil {
		return TrialResult{Key: tr.Key}, fmt.Errorf("trial %s: spec: %w", tr.Key, err)
	}
	if !tr.Refine {
		res, _, err := trainOnce(ctx, tr, w, ctrl, opts, heartbeat)
		return res, err
	}
	// Refinement: the first run's gradient norms give the schedule.
	first, recs, err := trainOnce(ctx, tr, w, ctrl, opts, heartbeat)
	if err != nil {
		return first, err
	}
	if first.Diverged {
		first.ExtraSteps = first.Steps
		return first, nil // nothing to refine: the base run diverged
	}
	rule := control.RuleL2
	if opt, err := newOptimizer(tr, w); err == nil && opt.EffectiveLRPower() == 1 {
		rule = control.RuleL1 // Adam-type: coordinate-wise, L1 rule
	}
	norms, _, err := control.GradNormsOf(recs, rule)
	if err != nil {
		return first, fmt.Errorf("trial %s: refine: %w", tr.Key, err)
	}
	lrs, err := control.Refine(norms, rule, control.RefineOptions{})
	if err != nil {
		return first, fmt.Errorf("trial %s: refine: %w", tr.Key, err)
	}
	table, err := control.RefinedTable(lrs, tr.Params["peak"])
	if err != nil {
		return first, fmt.Errorf("trial %s: refine: %w", tr.Key, err)
	}
	res, _, err := trainOnce(ctx, tr, w, control.NewFixed(table), opts, heartbeat)
	res.ExtraSteps = first.Steps
	sm := control.Summarize(lrs)
	res.RefinedPeakStep, res.RefinedAboveHalf = int64(sm.PeakStep), sm.AboveHalfFrac
	return res, err
}

func newOptimizer(tr Trial, w *workload.Workload) (optim.Optimizer, error) {
	name := tr.Optimizer
	if name == "" {
		name = w.DefaultOptimizer
	}
	return workload.NewOptimizer(name, w.WeightDecay)
}

// trainOnce trains the trial's workload under ctrl and returns the result
// and, for refinement, the records' gradient norms.
func trainOnce(ctx context.Context, tr Trial, w *workload.Workload, ctrl control.Controller, opts TrialOptions, heartbeat func()) (TrialResult, []runlog.Record, error) {
	res := TrialResult{Key: tr.Key, FinalMetric: runlog.Num(math.NaN())}
	cfg, _, err := w.TrainConfig(ctx, workload.TrainOptions{
		Options:   workload.Options{Seed: uint64(tr.Seed), Limit: opts.Limit, Sets: opts.Sets},
		Optimizer: tr.Optimizer, EvalEvery: max(1, tr.EvalEvery),
	})
	if err != nil {
		return res, nil, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	var norms []runlog.Record
	if tr.Refine {
		norms = make([]runlog.Record, 0, tr.Steps)
	}
	every := max(1, tr.Steps/lrPoints)
	cfg.Controller, cfg.Steps = ctrl, tr.Steps
	if tr.StopAt > 0 && tr.StopAt < tr.Steps {
		cfg.Steps = tr.StopAt // a probe: the start of the budget's schedule
	}
	horizon := earlySteps(tr)
	res.Early = &EarlyCurve{}
	cfg.OnRecord = func(r runlog.Record) error {
		if r.Step < horizon {
			res.Early.add(r.Loss, r.GradNorm)
		}
		if r.Step%every == 0 || r.Step == cfg.Steps-1 {
			res.LRSteps = append(res.LRSteps, r.Step)
			res.LR = append(res.LR, r.LR)
		}
		if r.Has(runlog.FieldValMetric) {
			res.Evals = append(res.Evals, EvalPoint{Step: r.Step + 1, Seconds: r.WallSeconds, Metric: runlog.Num(r.ValMetric), ValLoss: runlog.Num(r.ValLoss)})
			res.FinalMetric = runlog.Num(r.ValMetric)
		}
		if norms != nil {
			norms = append(norms, runlog.Record{Step: r.Step, GradNorm: r.GradNorm, GradNormL1: r.GradNormL1,
				Present: r.Present & (runlog.FieldGradNorm | runlog.FieldGradNormL1)})
		}
		res.Steps = r.Step + 1
		res.TrainSeconds = r.WallSeconds
		if heartbeat != nil {
			heartbeat()
		}
		return nil
	}
	t, err := train.New(cfg)
	if err != nil {
		return res, nil, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	if err := t.Run(ctx); err != nil {
		if errors.Is(err, train.ErrDiverged) {
			res.Diverged = true
			res.FinalMetric = runlog.Num(math.NaN())
			return res, nil, nil
		}
		return res, nil, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	return res, norms, nil
}
