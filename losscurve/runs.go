package losscurve

import (
	"fmt"
	"math"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// RecordOptions tell RunFromRecords where the records came from and where
// the learning rates come from.
type RecordOptions struct {
	// Name names the run in errors (usually the file name).
	Name string
	// Position returns the position of record i for errors, such as
	// "run.csv:12"; nil gives "<Name>: record i+1".
	Position func(i int) string
	// Schedule, if set, supplies the learning rate at every step instead
	// of the log's lr values.
	Schedule schedule.Schedule
	// LossField is the field to fit; 0 means loss, or val_loss when no
	// record has a loss.
	LossField runlog.Field
	// MaxSteps bounds the run's last step: a Run holds a rate per step, so
	// a log whose steps run to 2e9 would take 16 GB. 0 means
	// DefaultMaxSteps.
	MaxSteps int
}

// DefaultMaxSteps is the longest run (in steps) that the loss-curve tools
// accept unless told otherwise: 10 million steps, 80 MB of rates. lrkit
// fit, predict and plan raise it with --max-steps.
const DefaultMaxSteps = 10_000_000

// RunFromRecords turns a run log into a Run: the points are the records
// that hold the loss field; the per-step learning rates come from
// o.Schedule, or from the log's lr values. When the log has lr only at some
// steps, the rates in between are interpolated linearly (held constant
// before the first and after the last logged value) and a warning says so.
// Errors name the record's position: a loss that is NaN, infinite, zero or
// negative, steps that do not increase, no loss or lr at all, or fewer
// than MinPoints losses.
func RunFromRecords(recs []runlog.Record, o RecordOptions) (Run, []string, error) {
	pos := o.Position
	if pos == nil {
		pos = func(i int) string { return fmt.Sprintf("%s: record %d", o.Name, i+1) }
	}
	maxSteps := o.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	maxSteps = min(maxSteps, math.MaxInt32)
	lf := o.LossField
	if lf == 0 {
		lf = runlog.FieldLoss
		has := false
		for _, r := range recs {
			if r.Has(runlog.FieldLoss) {
				has = true
				break
			}
		}
		if !has {
			lf = runlog.FieldValLoss
		}
	}
	var warns []string
	run := Run{Name: o.Name}
	var lrSteps []int
	var lrVals []float64
	last := -1
	for i, r := range recs {
		if i > 0 && r.Step <= recs[i-1].Step {
			return Run{}, nil, fmt.Errorf("%s: step %d does not increase (previous %d)", pos(i), r.Step, recs[i-1].Step)
		}
		if r.Step >= int64(maxSteps) {
			return Run{}, nil, fmt.Errorf("%s: step %d is past the limit of %d steps (raise it with --max-steps)", pos(i), r.Step, maxSteps)
		}
		if v, ok := r.Value(lf); ok {
			if !(v > 0) || math.IsInf(v, 0) {
				return Run{}, nil, fmt.Errorf("%s: %s is %v at step %d, want a positive finite loss", pos(i), lf, v, r.Step)
			}
			run.Points = append(run.Points, Point{Step: int(r.Step), Loss: v})
			last = max(last, int(r.Step))
		}
		if o.Schedule == nil && r.Has(runlog.FieldLR) {
			if !(r.LR >= 0) || math.IsInf(r.LR, 0) {
				return Run{}, nil, fmt.Errorf("%s: lr is %v at step %d, want a finite rate >= 0", pos(i), r.LR, r.Step)
			}
			lrSteps = append(lrSteps, int(r.Step))
			lrVals = append(lrVals, r.LR)
		}
	}
	if len(run.Points) == 0 {
		if o.LossField == 0 {
			return Run{}, nil, fmt.Errorf("%s: no loss values (nor val_loss): the log needs a loss column (or map a TensorBoard tag to it with --tags loss=TAG)", o.Name)
		}
		return Run{}, nil, fmt.Errorf("%s: no %s values: the log needs a %s column (or map a TensorBoard tag to it with --tags)", o.Name, lf, lf)
	}
	n := last + 1
	run.LRs = make([]float64, n)
	switch {
	case o.Schedule != nil:
		for i := range run.LRs {
			run.LRs[i] = o.Schedule.LR(int64(i))
		}
	case len(lrVals) == 0:
		return Run{}, nil, fmt.Errorf("%s: no lr values: the log needs an lr column, or give the schedule with --schedule SPEC", o.Name)
	default:
		j := 0
		for i := range run.LRs {
			for j+1 < len(lrSteps) && lrSteps[j+1] <= i {
				j++
			}
			switch {
			case i <= lrSteps[0]:
				run.LRs[i] = lrVals[0]
			case j+1 >= len(lrSteps):
				run.LRs[i] = lrVals[len(lrVals)-1]
			default:
				f := float64(i-lrSteps[j]) / float64(lrSteps[j+1]-lrSteps[j])
				run.LRs[i] = lrVals[j] + (lrVals[j+1]-lrVals[j])*f
			}
		}
		if covered := countUpTo(lrSteps, n); covered < n {
			warns = append(warns, fmt.Sprintf("%s: lr logged at %d of %d steps; the others are interpolated linearly (give --schedule SPEC for exact rates)", o.Name, covered, n))
		}
	}
	if cnt := len(fitPoints(run)); cnt < MinPoints {
		return Run{}, nil, fmt.Errorf("%s: %d %s values at or after the end of warm-up (step %d), need at least %d", o.Name, cnt, lf, DetectWarmup(run.LRs), MinPoints)
	}
	if err := run.Validate(); err != nil {
		return Run{}, nil, err
	}
	return run, warns, nil
}

// countUpTo counts the steps below n.
func countUpTo(steps []int, n int) int {
	c := 0
	for _, s := range steps {
		if s < n {
			c++
		}
	}
	return c
}
