package schedule

import (
	"fmt"
	"math"
)

// Constant is a fixed learning rate: η(t) = peak for every step.
// HF get_constant_schedule (spec §1).
type Constant struct {
	Peak float64 `spec:"peak" default:"1" doc:"the learning rate"`
}

// LR returns Peak.
func (s Constant) LR(int64) float64 { return s.Peak }

// String returns the canonical spec text.
func (s Constant) String() string { return Format(s) }

// Validate checks that peak is a finite, non-negative number.
func (s Constant) Validate() error { return checkRate("peak", s.Peak) }

// Linear decays linearly from Peak at step 0 to Floor at step Steps and
// holds Floor after it (spec §2):
//
//	η(t) = floor + (peak − floor)·(1 − min(t,T)/T)
//
// It equals PyTorch LinearLR(start_factor=1, end_factor=floor/peak,
// total_iters=T). HF's linear schedule with warmup W over T steps is
// warmup(linear(steps=T), steps=W): the warm-up counts inside the horizon.
type Linear struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate reached at steps and held after"`
	Steps int64   `spec:"steps" doc:"horizon T: the step at which floor is reached"`
}

// LR returns the learning rate at step t.
func (s Linear) LR(t int64) float64 {
	return between(s.Floor, s.Peak, 1-progress(t, s.Steps))
}

// String returns the canonical spec text.
func (s Linear) String() string { return Format(s) }

// Validate checks peak >= floor >= 0 and steps > 0.
func (s Linear) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	return checkHorizon("steps", s.Steps)
}

// Polynomial decays as a power of the remaining fraction (spec §3):
//
//	η(t) = floor + (peak − floor)·(1 − min(t,T)/T)^power
//
// It matches PyTorch PolynomialLR (floor 0) and optax polynomial_schedule.
type Polynomial struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate reached at steps and held after"`
	Steps int64   `spec:"steps" doc:"horizon T"`
	Power float64 `spec:"power" default:"1" doc:"exponent p > 0 of the remaining fraction"`
}

// LR returns the learning rate at step t.
func (s Polynomial) LR(t int64) float64 {
	return between(s.Floor, s.Peak, math.Pow(1-progress(t, s.Steps), s.Power))
}

// String returns the canonical spec text.
func (s Polynomial) String() string { return Format(s) }

// Validate checks peak >= floor >= 0, steps > 0 and power > 0.
func (s Polynomial) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	return checkPositive("power", s.Power)
}

// Exponential multiplies the rate by Gamma every step, as PyTorch
// ExponentialLR does (spec §4), with an optional lower clip:
//
//	η(t) = max(floor, peak·γ^t)
//
// It has no horizon. γ must lie in (0, 1]; for a growing rate (an LR range
// test) use exp_decay with rate > 1 and an end clip.
type Exponential struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Gamma float64 `spec:"gamma" doc:"factor per step (PyTorch ExponentialLR gamma)"`
	Floor float64 `spec:"floor" default:"0" doc:"lower clip of the learning rate"`
}

// LR returns the learning rate at step t.
func (s Exponential) LR(t int64) float64 {
	return math.Max(s.Floor, s.Peak*math.Pow(s.Gamma, float64(nonNeg(t))))
}

// String returns the canonical spec text.
func (s Exponential) String() string { return Format(s) }

// Validate checks peak >= floor >= 0 and 0 < gamma <= 1.
func (s Exponential) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkPositive("gamma", s.Gamma); err != nil {
		return err
	}
	if s.Gamma > 1 {
		return perr("gamma", "must not exceed 1, got %g: a growing rate overflows; for an LR range test use exp_decay(rate=%g, every=1, end=MAX)", s.Gamma, s.Gamma)
	}
	return nil
}

// Geometric is the budget-aware exponential decay of spec §4: it falls by
// a constant factor per step and reaches Floor exactly at step Steps:
//
//	η(t) = peak·(floor/peak)^(min(t,T)/T)
type Geometric struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" doc:"learning rate reached at steps, > 0"`
	Steps int64   `spec:"steps" doc:"horizon T"`
}

// LR returns the learning rate at step t.
func (s Geometric) LR(t int64) float64 {
	return s.Peak * math.Pow(s.Floor/s.Peak, progress(t, s.Steps))
}

// String returns the canonical spec text.
func (s Geometric) String() string { return Format(s) }

// Validate checks peak >= floor > 0 and steps > 0.
func (s Geometric) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if s.Floor <= 0 {
		return perr("floor", "must be greater than 0 for a geometric decay, got %g; use exponential or linear to reach 0", s.Floor)
	}
	return checkHorizon("steps", s.Steps)
}

// ExpDecay is optax's exponential_decay (spec §4): the rate is Peak until
// step Begin, then
//
//	η(t) = peak·rate^((t − begin)/every)
//
// with the exponent floored when Staircase is set. End, when not 0, clips
// the value: a lower bound when rate < 1, an upper bound when rate > 1.
type ExpDecay struct {
	Peak      float64 `spec:"peak" default:"1" doc:"learning rate until begin"`
	Rate      float64 `spec:"rate" doc:"factor applied every 'every' steps (optax decay_rate)"`
	Every     int64   `spec:"every" doc:"steps per factor of rate (optax transition_steps)"`
	Staircase bool    `spec:"staircase" default:"false" doc:"apply the factor in whole steps only"`
	Begin     int64   `spec:"begin" default:"0" doc:"step at which decay begins (optax transition_begin)"`
	End       float64 `spec:"end" default:"0" doc:"clip value (optax end_value); 0 means no clip"`
}

// LR returns the learning rate at step t.
func (s ExpDecay) LR(t int64) float64 {
	d := nonNeg(t) - s.Begin
	if d <= 0 || s.Peak == 0 {
		return s.clip(s.Peak)
	}
	p := float64(d) / float64(s.Every)
	if s.Staircase {
		p = math.Floor(p)
	}
	return s.clip(s.Peak * math.Pow(s.Rate, p))
}

func (s ExpDecay) clip(v float64) float64 {
	if s.End == 0 {
		return v
	}
	if s.Rate < 1 {
		return math.Max(v, s.End)
	}
	return math.Min(v, s.End)
}

// String returns the canonical spec text.
func (s ExpDecay) String() string { return Format(s) }

// Validate checks the parameters.
func (s ExpDecay) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkPositive("rate", s.Rate); err != nil {
		return err
	}
	if err := checkHorizon("every", s.Every); err != nil {
		return err
	}
	if err := checkCount("begin", s.Begin); err != nil {
		return err
	}
	if err := checkRate("end", s.End); err != nil {
		return err
	}
	if s.Rate > 1 && s.End == 0 {
		return perr("end", "is needed when rate > 1 (the rate grows without bound); give end=MAX as the upper clip")
	}
	return nil
}

// Step multiplies the rate by Gamma every Every steps, as PyTorch StepLR
// (spec §5): η(t) = peak·γ^floor(t/every).
type Step struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Every int64   `spec:"every" doc:"steps between drops (PyTorch step_size)"`
	Gamma float64 `spec:"gamma" default:"0.1" doc:"factor applied at each drop"`
}

// LR returns the learning rate at step t.
func (s Step) LR(t int64) float64 {
	return s.Peak * math.Pow(s.Gamma, float64(nonNeg(t)/s.Every))
}

// String returns the canonical spec text.
func (s Step) String() string { return Format(s) }

// Validate checks peak >= 0, every > 0 and gamma > 0.
func (s Step) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkHorizon("every", s.Every); err != nil {
		return err
	}
	return checkDecayFactor("gamma", s.Gamma)
}

// MultiStep multiplies the rate by Gamma at each milestone, as PyTorch
// MultiStepLR (spec §5): η(t) = peak·γ^k where k counts the milestones
// m <= t. The new value applies at t = m; a repeated milestone counts
// twice. The classic ResNet recipe is milestones [30, 60, 90] (epochs).
type MultiStep struct {
	Peak       float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Milestones []int64 `spec:"milestones" doc:"steps at which the rate is multiplied by gamma, non-decreasing"`
	Gamma      float64 `spec:"gamma" default:"0.1" doc:"factor applied at each milestone"`
}

// LR returns the learning rate at step t.
func (s MultiStep) LR(t int64) float64 {
	return s.Peak * math.Pow(s.Gamma, float64(countLE(s.Milestones, nonNeg(t))))
}

// countLE returns how many elements of the sorted xs are <= t.
func countLE(xs []int64, t int64) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if xs[m] <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// String returns the canonical spec text.
func (s MultiStep) String() string { return Format(s) }

// Validate checks the milestones are positive and non-decreasing.
func (s MultiStep) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if len(s.Milestones) == 0 {
		return perr("milestones", "must list at least one step, e.g. milestones=[300, 600, 900]")
	}
	for i, m := range s.Milestones {
		if m <= 0 {
			return perr(fmt.Sprintf("milestones[%d]", i), "must be a positive step, got %d", m)
		}
		if i > 0 && m < s.Milestones[i-1] {
			return perr("milestones", "must be in increasing order (%d after %d); sort them", m, s.Milestones[i-1])
		}
	}
	return checkDecayFactor("gamma", s.Gamma)
}

// InvSqrt is HF get_inverse_sqrt_schedule (spec §6): a linear warmup
// t/max(1,W) for t < W, then 1/sqrt((t + timescale − W)/timescale), all
// times Peak. Timescale 0 means HF's default: W, or 10000 when W is 0.
// With the default timescale it is sqrt(W/t) after warmup. It has no
// horizon and never reaches 0.
type InvSqrt struct {
	Peak      float64 `spec:"peak" default:"1" doc:"learning rate at the end of warmup"`
	Warmup    int64   `spec:"warmup" default:"0" doc:"linear warmup steps W"`
	Timescale int64   `spec:"timescale" default:"0" doc:"decay timescale; 0 = W, or 10000 when W = 0 (HF rule)"`
}

// LR returns the learning rate at step t.
func (s InvSqrt) LR(t int64) float64 {
	t = nonNeg(t)
	if t < s.Warmup {
		return s.Peak * (float64(t) / float64(max(1, s.Warmup)))
	}
	ts := s.Timescale
	if ts == 0 {
		ts = s.Warmup
		if ts == 0 {
			ts = 10000
		}
	}
	// (t + ts − W)/ts, with t − W >= 0 computed in integers so that huge
	// steps neither overflow nor cancel.
	return s.Peak / math.Sqrt((float64(t-s.Warmup)+float64(ts))/float64(ts))
}

// String returns the canonical spec text.
func (s InvSqrt) String() string { return Format(s) }

// Validate checks peak >= 0 and non-negative warmup and timescale.
func (s InvSqrt) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkCount("warmup", s.Warmup); err != nil {
		return err
	}
	return checkCount("timescale", s.Timescale)
}

// Defazio is the linear decay that Defazio, Cutkosky, Mehta and Mishchenko
// (arXiv 2310.07831, spec §21) show to be worst-case optimal for the last
// iterate of SGD: with the paper's 1-based update k = t+1,
//
//	η = peak·(1 − k/(T+1)),  k = 1..T
//
// so the first update uses peak·T/(T+1) and the last (t = T−1) uses
// peak/(T+1): it never reaches 0. Past T−1 it holds that value. The form
// is from the spec's recollection of the paper ([recall]).
type Defazio struct {
	Peak  float64 `spec:"peak" default:"1" doc:"scale D/(G√T) of the step size"`
	Steps int64   `spec:"steps" doc:"number of updates T"`
}

// LR returns the learning rate at step t.
func (s Defazio) LR(t int64) float64 {
	k := min(nonNeg(t), s.Steps-1) + 1
	return s.Peak * (1 - float64(k)/float64(s.Steps+1))
}

// String returns the canonical spec text.
func (s Defazio) String() string { return Format(s) }

// Validate checks peak >= 0 and steps > 0.
func (s Defazio) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	return checkHorizon("steps", s.Steps)
}
