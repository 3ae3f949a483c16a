package schedule

import (
	"fmt"
	"math"
)

// prepareChild runs Prepare on a nested schedule when it has one.
func prepareChild(s Schedule) (Schedule, error) {
	if p, ok := s.(Preparer); ok && s != nil {
		return p.Prepare()
	}
	return s, nil
}

// Join runs its parts one after another, switching at the steps in At
// (optax join_schedules). Each part runs on local steps, counted from 0
// where it starts: η(t) = parts[k].LR(t − at[k−1]) for at[k−1] <= t <
// at[k]. The last part runs for ever.
type Join struct {
	Parts []Schedule `spec:"parts,positional" doc:"the schedules, each written from its own step 0"`
	At    []int64    `spec:"at" doc:"global steps at which each next part starts, increasing; one fewer than parts"`
}

// LR returns the learning rate at step t.
func (s Join) LR(t int64) float64 {
	t = nonNeg(t)
	k := countLE(s.At, t)
	if k > 0 {
		t -= s.At[k-1]
	}
	return s.Parts[k].LR(t)
}

// String returns the canonical spec text.
func (s Join) String() string { return Format(s) }

// Validate checks the parts and the switch steps.
func (s Join) Validate() error {
	if len(s.Parts) == 0 {
		return perr("parts", "must list at least one schedule")
	}
	if len(s.At) != len(s.Parts)-1 {
		return perr("at", "must give %d switch steps for %d parts, got %d", len(s.Parts)-1, len(s.Parts), len(s.At))
	}
	for i, a := range s.At {
		if a <= 0 {
			return perr(fmt.Sprintf("at[%d]", i), "must be a positive step, got %d", a)
		}
		if i > 0 && a <= s.At[i-1] {
			return perr(fmt.Sprintf("at[%d]", i), "must be above the one before (%d after %d): switch steps are strictly increasing", a, s.At[i-1])
		}
	}
	for i, p := range s.Parts {
		if err := validateChild(fmt.Sprintf("parts[%d]", i), p); err != nil {
			return err
		}
	}
	return nil
}

// Prepare prepares every part.
func (s Join) Prepare() (Schedule, error) {
	parts := make([]Schedule, len(s.Parts))
	for i, p := range s.Parts {
		q, err := prepareChild(p)
		if err != nil {
			return s, fmt.Errorf("parts[%d]: %w", i, err)
		}
		parts[i] = q
	}
	s.Parts = parts
	return s, nil
}

// Cycle repeats its base every Period steps: η(t) = base.LR(t mod period).
type Cycle struct {
	Base   Schedule `spec:"base,positional" doc:"the schedule to repeat, written from step 0"`
	Period int64    `spec:"period" doc:"steps per repetition"`
}

// LR returns the learning rate at step t.
func (s Cycle) LR(t int64) float64 { return s.Base.LR(nonNeg(t) % s.Period) }

// String returns the canonical spec text.
func (s Cycle) String() string { return Format(s) }

// Validate checks the base and period > 0.
func (s Cycle) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	return checkHorizon("period", s.Period)
}

// Prepare prepares the base schedule.
func (s Cycle) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	s.Base = b
	return s, err
}

// Restarts restarts its base at growing intervals and shrinks each
// restart: cycle i lasts period·mult^i steps and gives
// decay^i·base.LR(t − S_i), where S_i is the cycle's first step. The base
// runs on local steps and is not stretched: when a cycle outlasts the
// base's horizon the base holds its end value. For cosine cycles that
// grow with the cycle use sgdr.
type Restarts struct {
	Base   Schedule `spec:"base,positional" doc:"the schedule of one cycle, written from step 0"`
	Period int64    `spec:"period" doc:"length of the first cycle"`
	Mult   int64    `spec:"mult" default:"1" doc:"each cycle is mult times longer than the previous (integer >= 1)"`
	Decay  float64  `spec:"decay" default:"1" doc:"factor applied to the rate at each restart"`
}

// LR returns the learning rate at step t.
func (s Restarts) LR(t int64) float64 {
	n, cur, _ := geometricCycle(nonNeg(t), s.Period, s.Mult)
	v := s.Base.LR(cur)
	if n > 0 && s.Decay != 1 {
		v *= math.Pow(s.Decay, float64(n))
	}
	return v
}

// String returns the canonical spec text.
func (s Restarts) String() string { return Format(s) }

// Validate checks the parameters and the base.
func (s Restarts) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	if err := checkHorizon("period", s.Period); err != nil {
		return err
	}
	if s.Mult < 1 {
		return perr("mult", "must be an integer >= 1, got %d", s.Mult)
	}
	if err := checkPositive("decay", s.Decay); err != nil {
		return err
	}
	if s.Decay > 1 {
		return perr("decay", "must not exceed 1, got %g", s.Decay)
	}
	return nil
}

// Prepare prepares the base schedule.
func (s Restarts) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	s.Base = b
	return s, err
}

// Clamp limits its base to [Min, Max].
type Clamp struct {
	Base Schedule `spec:"base,positional" doc:"the schedule to limit"`
	Min  float64  `spec:"min" default:"0" doc:"lower bound"`
	Max  float64  `spec:"max" doc:"upper bound"`
}

// LR returns min(max(base.LR(t), Min), Max).
func (s Clamp) LR(t int64) float64 { return math.Min(math.Max(s.Base.LR(t), s.Min), s.Max) }

// String returns the canonical spec text.
func (s Clamp) String() string { return Format(s) }

// Validate checks 0 <= min <= max and the base.
func (s Clamp) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	if err := checkRate("min", s.Min); err != nil {
		return err
	}
	if err := checkRate("max", s.Max); err != nil {
		return err
	}
	if s.Min > s.Max {
		return perr("min", "must not exceed max (min %g > max %g)", s.Min, s.Max)
	}
	return nil
}

// Prepare prepares the base schedule.
func (s Clamp) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	s.Base = b
	return s, err
}

// Scale multiplies its base by a constant: η(t) = by·base.LR(t). Write
// multipliers (peak 1) and scale them to a learning rate.
type Scale struct {
	Base Schedule `spec:"base,positional" doc:"the schedule to scale"`
	By   float64  `spec:"by" doc:"factor, >= 0"`
}

// LR returns By·base.LR(t).
func (s Scale) LR(t int64) float64 { return s.By * s.Base.LR(t) }

// String returns the canonical spec text.
func (s Scale) String() string { return Format(s) }

// Validate checks by >= 0 and the base.
func (s Scale) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	return checkRate("by", s.By)
}

// Prepare prepares the base schedule.
func (s Scale) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	s.Base = b
	return s, err
}

// Floor keeps its base at or above Min: η(t) = max(base.LR(t), min).
type Floor struct {
	Base Schedule `spec:"base,positional" doc:"the schedule to bound from below"`
	Min  float64  `spec:"min" doc:"lowest learning rate"`
}

// LR returns max(base.LR(t), Min).
func (s Floor) LR(t int64) float64 { return math.Max(s.Base.LR(t), s.Min) }

// String returns the canonical spec text.
func (s Floor) String() string { return Format(s) }

// Validate checks min >= 0 and the base.
func (s Floor) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	return checkRate("min", s.Min)
}

// Prepare prepares the base schedule.
func (s Floor) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	s.Base = b
	return s, err
}
