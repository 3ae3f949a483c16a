package control

import (
	"fmt"
	"math"

	"github.com/lrkit/lrkit/schedule"
)

// WithPeak applies lrkit's peak rule to a controller read from a spec, as
// `lrkit train --peak` and the benchmark do. A fixed schedule whose largest
// rate over the run's steps is 1 is a shape: it is scaled by peak, or by
// def (the workload's default peak) when peak is 0. A schedule that gives
// its own peak is used as written, and asking for a peak as well is an
// error (which to believe?). A learning controller (plateau, hd, ...) sets
// its own rates, so a peak with it is an error too.
func WithPeak(c Controller, peak, def float64, steps int64) (Controller, error) {
	if peak < 0 || math.IsNaN(peak) || math.IsInf(peak, 0) {
		return nil, fmt.Errorf("peak must be a finite number >= 0 (0: the default), got %v", peak)
	}
	fixed, ok := c.(*Fixed)
	if !ok {
		if peak != 0 {
			return nil, fmt.Errorf("a peak scales schedules; controller %s sets its own rates", c)
		}
		return c, nil
	}
	m := schedule.Max(fixed.Schedule, steps)
	isShape := math.Abs(m-1) < 1e-12
	switch {
	case !isShape && peak != 0:
		return nil, fmt.Errorf("the schedule %s already peaks at %g; give the peak in the spec or as the peak (then leave the spec's peak at 1), not both", fixed, m)
	case !isShape:
		return c, nil
	case peak == 0:
		peak = def
	}
	s, err := schedule.New(schedule.Scale{Base: fixed.Schedule, By: peak})
	if err != nil {
		return nil, fmt.Errorf("peak: %w", err)
	}
	return NewFixed(s), nil
}

// Horizon is the schedule's horizon (see schedule.Horizon).
func (f *Fixed) Horizon() (int64, bool) { return schedule.Horizon(f.Schedule) }

// Horizon is the base schedule's horizon.
func (p *Plateau) Horizon() (int64, bool) { return schedule.Horizon(p.Base) }

// HorizonWarning returns a warning when a run of steps updates outlasts
// the horizon of c's schedule, naming both numbers and the rate the extra
// steps run at ("" when the run fits, or c has no horizon). A run past
// its schedule's end is usually a mistake: `--steps 200` with
// cosine(steps=100) trains 100 steps at the final rate, often 0.
func HorizonWarning(c Controller, steps int64) string {
	h, ok := schedule.Horizon(c)
	if !ok || steps <= h {
		return ""
	}
	return fmt.Sprintf("the run has %d steps but the schedule %s ends at step %d: the last %d steps run at its final rate %g",
		steps, c, h, steps-h, c.LR(h))
}
