package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
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

// tunePeak evaluates score (higher is better) at each peak of grid, then
// extends the grid by factor beyond whichever edge holds the best peak,
// at most twice on each side, so the chosen peak is not at the edge of
// what was tried unless the extensions ran out. It returns the best peak
// and every peak tried with its score, in increasing order of peak.
func tunePeak(grid []float64, factor float64, score func(peak float64) (float64, error)) (float64, [][2]float64, error) {
	tried := map[float64]float64{}
	eval := func(p float64) error {
		if _, ok := tried[p]; ok {
			return nil
		}
		s, err := score(p)
		tried[p] = s
		return err
	}
	for _, p := range grid {
		if err := eval(p); err != nil {
			return 0, nil, err
		}
	}
	for ext := 0; ext < 4; ext++ {
		lo, hi, best := math.Inf(1), 0.0, 0.0
		bestScore := math.Inf(-1)
		for p, s := range tried {
			lo, hi = min(lo, p), max(hi, p)
			if s > bestScore || (s == bestScore && p < best) {
				best, bestScore = p, s
			}
		}
		var next float64
		switch {
		case best == hi && hi*factor <= grid[len(grid)-1]*factor*factor*1.0001:
			next = hi * factor
		case best == lo && lo/factor >= grid[0]/factor/factor/1.0001:
			next = lo / factor
		}
		if next == 0 {
			break
		}
		if err := eval(next); err != nil {
			return 0, nil, err
		}
	}
	var out [][2]float64
	best, bestScore := 0.0, math.Inf(-1)
	for p, s := range tried {
		out = append(out, [2]float64{p, s})
		if s > bestScore || (s == bestScore && p < best) {
			best, bestScore = p, s
		}
	}
	slices.SortFunc(out, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	return best, out, nil
}
