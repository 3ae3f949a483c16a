package bench

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

// lrPoints is how many points of a trial's learning-rate curve a result
// keeps for plots.
const lrPoints = 200

// TrialOptions change how trials run, for every trial of a study alike.
type TrialOptions struct {
	// Limit, if > 0, caps each workload's examples (a quick study's small
	// slice); see workload.Options.
	Limit int
}

// RunTrial trains one trial: the workload built for the trial's seed, the
// trial's spec as its controller (a schedule spec is a fixed controller),
// the entry's optimizer or the workload's, and an evaluation every
// EvalEvery steps. heartbeat is called after every step. A diverged run
// is a result (Diverged, final metric NaN), not an error; errors are for
// trials that could not run at all (a bad spec, a missing data set) and
// for cancellation.
func RunTrial(ctx context.Context, tr Trial, opts TrialOptions, heartbeat func()) (TrialResult, error) {
	res := TrialResult{Key: tr.Key, FinalMetric: Num(math.NaN())}
	w, err := workload.Lookup(tr.Workload)
	if err != nil {
		return res, err
	}
	ctrl, err := control.Parse(tr.Spec)
	if err != nil {
		return res, fmt.Errorf("trial %s: spec: %w", tr.Key, err)
	}
	optName := tr.Optimizer
	if optName == "" {
		optName = w.DefaultOptimizer
	}
	opt, err := workload.NewOptimizer(optName, w.WeightDecay)
	if err != nil {
		return res, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	setup, err := w.Build(ctx, workload.Options{Seed: uint64(tr.Seed), Limit: opts.Limit})
	if err != nil {
		return res, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	every := max(1, tr.Steps/lrPoints)
	t, err := train.New(train.Config{
		Model: setup.Model, Data: setup.Data, Optimizer: opt, Controller: ctrl,
		Steps: tr.Steps, ValEvery: tr.EvalEvery, Validate: setup.Validate,
		ClipNorm: w.ClipNorm, Seed: uint64(tr.Seed),
		OnRecord: func(r runlog.Record) error {
			if r.Step%every == 0 || r.Step == tr.Steps-1 {
				res.LRSteps = append(res.LRSteps, r.Step)
				res.LR = append(res.LR, r.LR)
			}
			if r.Has(runlog.FieldValMetric) {
				res.Evals = append(res.Evals, EvalPoint{Step: r.Step + 1, Seconds: r.WallSeconds, Metric: Num(r.ValMetric), ValLoss: Num(r.ValLoss)})
				res.FinalMetric = Num(r.ValMetric)
			}
			res.Steps = r.Step + 1
			res.TrainSeconds = r.WallSeconds
			if heartbeat != nil {
				heartbeat()
			}
			return nil
		},
	})
	if err != nil {
		return res, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	if err := t.Run(ctx); err != nil {
		if errors.Is(err, train.ErrDiverged) {
			res.Diverged = true
			res.FinalMetric = Num(math.NaN())
			return res, nil
		}
		return res, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	return res, nil
}

// WorkloadInfos describes the named workloads for Study.Trials.
func WorkloadInfos(names []string) (map[string]WorkloadInfo, error) {
	out := map[string]WorkloadInfo{}
	for _, n := range names {
		w, err := workload.Lookup(n)
		if err != nil {
			return nil, err
		}
		out[n] = WorkloadInfo{StepHint: w.StepHint, DefaultPeak: w.DefaultPeak, Target: w.Target, HigherIsBetter: w.Metric.HigherIsBetter}
	}
	return out, nil
}
