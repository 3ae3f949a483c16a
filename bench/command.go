package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lrkit/lrkit/runlog"
)

// CommandWorkload is a workload that a study runs as a program of its
// user's (a PyTorch script, say) instead of one of lrkit's built-in
// workloads. For each trial lrkit starts the program with the trial in
// environment variables and reads the run log the program writes:
//
//	LRKIT_SPEC        the trial's schedule spec, ${peak}, ${steps}, ... filled in
//	LRKIT_PEAK        the trial's peak rate
//	LRKIT_SEED        the trial's seed
//	LRKIT_STEPS       the budget: optimizer updates to train
//	LRKIT_RUNLOG      the run log to write (.jsonl)
//	LRKIT_EVAL_EVERY  evaluate every that many updates and after the last
//
// The run log has one record per update (step, lr, loss; grad_norm for a
// refined entry) and val_metric on evaluation steps, measured after that
// update; wall_seconds, if present, is the training time so far. The
// Python package writes this format (lrkit.RunLog); see
// clients/python/examples/train_torch.py. A run whose last record has a
// loss that is NaN or infinite diverged. A non-zero exit status fails the
// trial with the end of the program's standard error.
type CommandWorkload struct {
	// Run is the program and its arguments, run without a shell.
	Run []string `yaml:"run"`
	// Dir is the working directory, relative to the study file's directory
	// (default: that directory); ParseStudy makes it absolute, and workers
	// on other machines need the same path.
	Dir string `yaml:"dir" json:"dir"`
	// Metric is "accuracy" (higher is better) or "loss".
	Metric string `yaml:"metric"`
	// Target is the value of the validation metric that counts as reached,
	// unless the study takes targets from its tuned baseline.
	Target float64 `yaml:"target"`
	// StepHint is the budget that budgets are fractions of.
	StepHint int64 `yaml:"step_hint"`
	// Peak is a peak rate that works; PeakRange, if set, is where a
	// tuning grid starts (otherwise a decade either side of Peak).
	Peak      float64    `yaml:"peak"`
	PeakRange [2]float64 `yaml:"peak_range"`
	// Timeout bounds one run (default 1 hour).
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// commandHeartbeat is how often a running command's trial tells the work
// queue that it is alive.
const commandHeartbeat = 5 * time.Second

// check reports a setting that cannot run: the field and what is wrong.
func (c CommandWorkload) check() (field, msg string) {
	switch {
	case len(c.Run) == 0 || strings.TrimSpace(c.Run[0]) == "":
		return "run", "give the program and its arguments, e.g. [python3, train.py]"
	case c.Metric != "accuracy" && c.Metric != "loss":
		return "metric", fmt.Sprintf("%q, want accuracy or loss", c.Metric)
	case c.StepHint < 1 || c.StepHint > MaxTrialSteps:
		return "step_hint", fmt.Sprintf("%d, want 1 to %d updates", c.StepHint, MaxTrialSteps)
	case !(c.Peak > 0) || math.IsInf(c.Peak, 0):
		return "peak", fmt.Sprintf("%v, want a positive rate", c.Peak)
	case math.IsNaN(c.Target) || math.IsInf(c.Target, 0):
		return "target", fmt.Sprintf("%v, want a finite number", c.Target)
	case c.PeakRange != [2]float64{} && !(c.PeakRange[0] > 0 && c.PeakRange[1] > c.PeakRange[0] && !math.IsInf(c.PeakRange[1], 0)):
		return "peak_range", fmt.Sprintf("%v, want [low, high] with 0 < low < high", c.PeakRange)
	case c.Timeout < 0:
		return "timeout", fmt.Sprintf("%v, want a positive duration", c.Timeout)
	}
	return "", ""
}

// info describes the command for planning trials.
func (c CommandWorkload) info() WorkloadInfo {
	lo, hi := c.Peak/10, c.Peak*10
	if c.PeakRange != [2]float64{} {
		lo, hi = c.PeakRange[0], c.PeakRange[1]
	}
	return WorkloadInfo{StepHint: c.StepHint, DefaultPeak: c.Peak, Target: c.Target,
		HigherIsBetter: c.Metric == "accuracy", PeakLow: lo, PeakHigh: hi}
}

// runCommand runs one trial of a command workload (tr.Command) in its
// directory and reads the run log it writes into a result.
func runCommand(ctx context.Context, tr Trial, heartbeat func()) (TrialResult, error) {
	c := *tr.Command
	res := TrialResult{Key: tr.Key, FinalMetric: runlog.Num(math.NaN())}
	if field, msg := c.check(); field != "" {
		return res, fmt.Errorf("trial %s: command workload %s: %s: %s", tr.Key, tr.Workload, field, msg)
	}
	tmp, err := os.MkdirTemp("", "lrkit-trial-")
	if err != nil {
		return res, fmt.Errorf("trial %s: %w", tr.Key, err)
	}
	defer os.RemoveAll(tmp)
	logPath := filepath.Join(tmp, "run.jsonl")
	timeout := c.Timeout
	if timeout == 0 {
		timeout = time.Hour
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.Run[0], c.Run[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(),
		"LRKIT_SPEC="+tr.Spec,
		// The peak as the spec template wrote it (six significant digits),
		// so that the program sees the same number in both.
		"LRKIT_PEAK="+strconv.FormatFloat(tr.Params["peak"], 'g', 6, 64),
		"LRKIT_SEED="+strconv.FormatInt(tr.Seed, 10),
		"LRKIT_STEPS="+strconv.FormatInt(tr.Steps, 10),
		"LRKIT_RUNLOG="+logPath,
		"LRKIT_EVAL_EVERY="+strconv.FormatInt(max(1, tr.EvalEvery), 10),
	)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("trial %s: command workload %s: start %q: %w", tr.Key, tr.Workload, c.Run[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(commandHeartbeat)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-tick.C:
			if heartbeat != nil {
				heartbeat()
			}
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("trial %s: %w", tr.Key, ctx.Err())
	}
	if err != nil {
		if cctx.Err() != nil {
			err = fmt.Errorf("no result within %v (timeout)", timeout)
		}
		return res, fmt.Errorf("trial %s: command workload %s: %w%s", tr.Key, tr.Workload, err, stderr.text())
	}
	recs, err := runlog.ReadFile(logPath, runlog.ReadOptions{Name: tr.Workload + " run log"})
	if err != nil {
		return res, fmt.Errorf("trial %s: command workload %s wrote no readable run log: %w%s", tr.Key, tr.Workload, err, stderr.text())
	}
	if len(recs) == 0 {
		return res, fmt.Errorf("trial %s: command workload %s wrote an empty run log", tr.Key, tr.Workload)
	}
	resultFromRecords(&res, recs, tr)
	return res, nil
}

// resultFromRecords fills a trial's result from the records of its run.
func resultFromRecords(res *TrialResult, recs []runlog.Record, tr Trial) {
	every := max(1, tr.Steps/lrPoints)
	for _, r := range recs {
		if r.Has(runlog.FieldLR) && (r.Step%every == 0 || r.Step == tr.Steps-1) {
			res.LRSteps = append(res.LRSteps, r.Step)
			res.LR = append(res.LR, r.LR)
		}
		if r.Has(runlog.FieldValMetric) {
			res.Evals = append(res.Evals, EvalPoint{Step: r.Step + 1, Seconds: r.WallSeconds,
				Metric: runlog.Num(r.ValMetric), ValLoss: runlog.Num(r.ValLoss)})
			res.FinalMetric = runlog.Num(r.ValMetric)
		}
		res.Steps = r.Step + 1
		res.TrainSeconds = r.WallSeconds
	}
	last := recs[len(recs)-1]
	if last.Has(runlog.FieldLoss) && (math.IsNaN(last.Loss) || math.IsInf(last.Loss, 0)) {
		res.Diverged = true
		res.FinalMetric = runlog.Num(math.NaN())
	}
}

// tailBuffer keeps the last few kilobytes written to it: the end of a
// failed program's standard error, for its trial's error.
type tailBuffer struct{ b []byte }

const tailMax = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) text() string {
	s := string(bytes.TrimSpace(t.b))
	if s == "" {
		return ""
	}
	return "; its standard error ends: " + s
}
