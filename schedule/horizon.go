package schedule

import (
	"fmt"
	"math"
	"reflect"
)

// Horizoner is implemented by a schedule that knows the step at which it
// has run its course, when that is not simply its steps parameter: a
// composition (join, warmup, scale, ...), a table, wsd_s, wsdc. Package
// control's controllers implement it from their base schedule.
type Horizoner interface {
	// Horizon returns the step at which the schedule has run its course,
	// and false when it has none (a constant, a periodic schedule).
	Horizon() (int64, bool)
}

// Horizon returns the step at which s has run its course: what its
// Horizon method says, else its steps parameter when that is a positive
// integer. Open-ended and periodic schedules (constant, step, exponential,
// sgdr, cyclic, cycle, ...) have none: Horizon returns false.
func Horizon(s Schedule) (int64, bool) {
	if s == nil {
		return 0, false
	}
	if h, ok := s.(Horizoner); ok {
		return h.Horizon()
	}
	ks, v, ok := builtin().kindOf(s)
	if !ok {
		return 0, false
	}
	if i, ok := ks.byName["steps"]; ok && ks.params[i].typ == ptInt {
		if n := v.Field(ks.params[i].field).Int(); n > 0 {
			return n, true
		}
	}
	return 0, false
}

// maxExact is the number of steps Max evaluates one by one; beyond it
// Max samples evenly.
const maxExact = 1_000_000

// Max returns the largest rate of s over steps 0 to steps−1: every step up
// to a million steps, an even sample of a million steps beyond. It is
// what a peak rule reads to tell a shape (peak 1) from a schedule that
// gives its own peak. It returns NaN when steps <= 0 or a rate is NaN.
func Max(s Schedule, steps int64) float64 {
	if steps <= 0 {
		return math.NaN()
	}
	stride := max(1, steps/maxExact)
	m := math.Inf(-1)
	for t := int64(0); t < steps; t += stride {
		v := s.LR(t)
		if math.IsNaN(v) {
			return v
		}
		m = max(m, v)
	}
	return m
}

// Sample returns the rate of s at each of the given steps, or an error
// naming the first step whose rate is not a finite number (such a value
// would make every consumer of the table wrong).
func Sample(s Schedule, steps []int64) ([]float64, error) {
	out := make([]float64, len(steps))
	for i, t := range steps {
		v := s.LR(t)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: the learning rate at step %d is %v", s, t, v)
		}
		out[i] = v
	}
	return out, nil
}

// Range returns the steps from, from+every, ... up to and including to.
func Range(from, to, every int64) []int64 {
	if every <= 0 || to < from {
		return nil
	}
	out := make([]int64, 0, (to-from)/every+1)
	for t := from; t <= to; t += every {
		out = append(out, t)
		if t > math.MaxInt64-every {
			break
		}
	}
	return out
}

// Horizon is the base's horizon, plus the warm-up when it is a prefix.
func (s Warmup) Horizon() (int64, bool) {
	h, ok := Horizon(s.Base)
	if !s.isMultiplicative() && (s.Prefix || !ok) {
		h += s.length()
	}
	return h, ok
}

// WithHorizon rebuilds the warm-up to run its course in h steps: the
// warm-up keeps its length and the base's horizon becomes h (h − W for a
// prefix), so that Horizon of the result is h. Without this method
// WithHorizon took the warm-up's own steps parameter (its length W) for
// its horizon and set W = h: warmup(cosine(steps=1000), steps=100) asked
// for 2000 steps became a 2000-step warm-up that did not fit its base,
// and a warm-up nested in another one (through scale, clamp or floor)
// had its length replaced by the outer base's shortened horizon.
func (s Warmup) WithHorizon(h int64) (Schedule, error) {
	bh := h
	if s.Prefix && !s.isMultiplicative() {
		if bh = h - s.length(); bh <= 0 {
			return nil, fmt.Errorf("%s: a horizon of %d steps leaves no room after the %d-step warm-up", s, h, s.length())
		}
	}
	b, err := WithHorizon(s.Base, bh)
	if err != nil {
		return nil, err
	}
	s.Base = b
	return New(s)
}

// Rehorizoner is implemented by a schedule that can be rebuilt to run its
// course in a given number of steps (a composition passing it to its
// base).
type Rehorizoner interface {
	WithHorizon(h int64) (Schedule, error)
}

// WithHorizon returns s rebuilt to run its course in h steps: its
// WithHorizon method's answer, else s with its steps parameter set to h
// (validated and prepared again; phase lengths given as fractions follow,
// counts stay). It fails for a schedule whose horizon is not a steps
// parameter (a join, a table, wsds) or that has none.
func WithHorizon(s Schedule, h int64) (Schedule, error) {
	if r, ok := s.(Rehorizoner); ok {
		return r.WithHorizon(h)
	}
	ks, v, ok := builtin().kindOf(s)
	if ok && !ks.ptr {
		if i, has := ks.byName["steps"]; has && ks.params[i].typ == ptInt {
			if _, custom := s.(Horizoner); !custom || v.Field(ks.params[i].field).Int() > 0 {
				cp := reflect.New(ks.typ).Elem()
				cp.Set(v)
				cp.Field(ks.params[i].field).SetInt(h)
				return New(cp.Interface().(Schedule))
			}
		}
	}
	return nil, fmt.Errorf("%s has no steps parameter to shorten", s)
}

// WithHorizon shortens the base.
func (s Scale) WithHorizon(h int64) (Schedule, error) { return rehorizonBase(&s, &s.Base, h) }

// WithHorizon shortens the base.
func (s Clamp) WithHorizon(h int64) (Schedule, error) { return rehorizonBase(&s, &s.Base, h) }

// WithHorizon shortens the base.
func (s Floor) WithHorizon(h int64) (Schedule, error) { return rehorizonBase(&s, &s.Base, h) }

// rehorizonBase sets *base (a field of *s) to the base shortened to h and
// returns *s prepared. It takes s by pointer: with s passed as a Schedule
// value, the interface held a copy made before *base was set, so the
// shortened base was lost and warmup(scale(cosine(steps=1000), by=2),
// steps=100) ran its cosine over 1000 steps after the warm-up (1100 in
// all, 0.0499 at step 999 instead of 6.1e-6).
func rehorizonBase[T Schedule](s *T, base *Schedule, h int64) (Schedule, error) {
	b, err := WithHorizon(*base, h)
	if err != nil {
		return nil, err
	}
	*base = b
	return New(*s)
}

// Horizon is the start of the last part plus its horizon.
func (s Join) Horizon() (int64, bool) {
	last := len(s.Parts) - 1
	if last < 0 || len(s.At) != last {
		return 0, false
	}
	h, ok := Horizon(s.Parts[last])
	if last > 0 {
		h += s.At[last-1]
	}
	return h, ok
}

// Horizon is the base's.
func (s Scale) Horizon() (int64, bool) { return Horizon(s.Base) }

// Horizon is the base's.
func (s Clamp) Horizon() (int64, bool) { return Horizon(s.Base) }

// Horizon is the base's.
func (s Floor) Horizon() (int64, bool) { return Horizon(s.Base) }

// Horizon is the last budget.
func (s WSDS) Horizon() (int64, bool) {
	if n := len(s.Budgets); n > 0 {
		return s.Budgets[n-1], true
	}
	return 0, false
}

// Horizon is steps, or the sum of the phases when they are counts.
func (s WSDC) Horizon() (int64, bool) {
	if s.Steps > 0 {
		return s.Steps, true
	}
	if !s.Warmup.IsFrac && !s.Stable.IsFrac && !s.Decay.IsFrac {
		return s.Warmup.Count + s.Stable.Count + s.Decay.Count, true
	}
	return 0, false
}

// Horizon is the last point's step.
func (s Table) Horizon() (int64, bool) {
	xs := s.xs
	if xs == nil {
		xs = s.At
	}
	if n := len(xs); n > 0 {
		return xs[n-1], true
	}
	return 0, false
}
