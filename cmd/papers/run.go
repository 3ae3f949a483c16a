package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
)

// job is one training run of a study.
type job struct {
	w     *workload.Workload
	shape schedule.Schedule // scaled by peak
	peak  float64
	steps int64
	seed  uint64
	every int64 // validation interval; 0: only after the last step
	nap   bool
	log   string // the finished run log (.csv)
	// config, when set, adjusts the train.Config after TrainConfig built
	// it (NaP, extra validation); it may return a record hook.
	config func(cfg *train.Config, s *workload.Setup) error
	// after runs when the run is complete, before its log is renamed
	// into place (to write side files first).
	after func() error
}

// run trains j unless its log exists, and returns the log's records.
func (j job) run(ctx context.Context) ([]runlog.Record, error) {
	if _, err := os.Stat(j.log); err == nil {
		return runlog.ReadFile(j.log, runlog.ReadOptions{})
	}
	if err := os.MkdirAll(filepath.Dir(j.log), 0o755); err != nil {
		return nil, err
	}
	every := j.every
	if every == 0 {
		every = j.steps
	}
	cfg, setup, err := j.w.TrainConfig(ctx, workload.TrainOptions{Options: workload.Options{Seed: j.seed}, EvalEvery: every})
	if err != nil {
		return nil, err
	}
	s, err := schedule.New(schedule.Scale{Base: j.shape, By: j.peak})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.log, err)
	}
	cfg.Controller = control.NewFixed(s)
	cfg.Steps = j.steps
	cfg.NaP = j.nap
	if j.config != nil {
		if err := j.config(&cfg, setup); err != nil {
			return nil, err
		}
	}
	part := strings.TrimSuffix(j.log, ".csv") + ".part.csv"
	start := time.Now()
	_, err = train.RunSession(ctx, cfg, train.SessionOptions{Log: part})
	if err != nil && !isDivergence(err) {
		os.Remove(part)
		return nil, fmt.Errorf("%s: %w", j.log, err)
	}
	if j.after != nil {
		if err := j.after(); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(part, j.log); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d steps in %.0fs\n", j.log, j.steps, time.Since(start).Seconds())
	return runlog.ReadFile(j.log, runlog.ReadOptions{})
}

func isDivergence(err error) bool { return errors.Is(err, train.ErrDiverged) }

// finalVal returns the validation metric of the last record that has one,
// or NaN (a diverged run).
func finalVal(recs []runlog.Record, steps int64) float64 {
	if len(recs) == 0 || recs[len(recs)-1].Step != steps-1 {
		return math.NaN()
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Has(runlog.FieldValMetric) {
			return recs[i].ValMetric
		}
	}
	return math.NaN()
}

// peakName formats a peak for a file name.
func peakName(p float64) string { return strings.ReplaceAll(fmt.Sprintf("%.3g", p), "+", "") }
