package bench

import (
	"math"

	"github.com/lrkit/lrkit/runlog"
)

// EvalPoint is one untimed evaluation during a trial.
type EvalPoint struct {
	Step    int64      `json:"step"`
	Seconds float64    `json:"seconds"` // training time so far, evaluation excluded
	Metric  runlog.Num `json:"metric"`  // the workload's validation metric
	ValLoss runlog.Num `json:"val_loss"`
}

// TrialResult is what one trial measured.
type TrialResult struct {
	Key          string      `json:"key"`
	Evals        []EvalPoint `json:"evals"`
	Steps        int64       `json:"steps"`         // steps trained
	TrainSeconds float64     `json:"train_seconds"` // training time, evaluation excluded
	FinalMetric  runlog.Num  `json:"final_metric"`  // metric at the last evaluation
	Diverged     bool        `json:"diverged"`      // the loss became NaN or infinite
	// ExtraSteps is compute spent outside the scored run: the first run of
	// a refined trial, whose gradient norms gave the refined schedule.
	ExtraSteps int64 `json:"extra_steps,omitempty"`
	// Refined summarises where warmup and annealing emerged in a refined
	// schedule: the step of its peak and the fraction of steps above half
	// the peak.
	RefinedPeakStep  int64   `json:"refined_peak_step,omitempty"`
	RefinedAboveHalf float64 `json:"refined_above_half,omitempty"`
	// LR holds the learning rate at LRSteps, a few hundred points of the
	// schedule the trial followed, for plots.
	LRSteps []int64   `json:"lr_steps,omitempty"`
	LR      []float64 `json:"lr,omitempty"`
	// Early is the training loss and gradient norm at every step of the
	// first EarlyHorizon of the budget (all of a probe's steps), for the
	// pruner and its replay. A command workload has none.
	Early  *EarlyCurve `json:"early,omitempty"`
	Worker string      `json:"worker,omitempty"`
}

// StepsToTarget returns the step count at the first evaluation that
// reached target, or +Inf.
func (r TrialResult) StepsToTarget(target float64, higher bool) float64 {
	ev := make([]Eval, len(r.Evals))
	for i, e := range r.Evals {
		ev[i] = Eval{Time: float64(e.Step), Metric: float64(e.Metric)}
	}
	return TimeToTarget(ev, target, higher)
}

// SecondsToTarget returns the training seconds at the first evaluation
// that reached target, or +Inf.
func (r TrialResult) SecondsToTarget(target float64, higher bool) float64 {
	ev := make([]Eval, len(r.Evals))
	for i, e := range r.Evals {
		ev[i] = Eval{Time: e.Seconds, Metric: float64(e.Metric)}
	}
	return TimeToTarget(ev, target, higher)
}

// goodness turns a metric into "higher is better" so that results of
// accuracy and loss workloads compare the same way. NaN (a diverged run)
// is the worst possible.
func goodness(metric float64, higher bool) float64 {
	if math.IsNaN(metric) {
		return math.Inf(-1)
	}
	if higher {
		return metric
	}
	return -metric
}
