package schedule

import (
	"math"
)

// Infinite is the "infinite" learning-rate schedule for continued
// pre-training (Ibrahim et al., arXiv 2403.08763; Singh, Janson et al.,
// arXiv 2503.02844; spec §18). Four phases, with N_w = warmup,
// N_c = N_w + cooldown and N_a = steps − anneal:
//
//	warmup    t <= N_w:        peak·t/N_w
//	cooldown  N_w < t <= N_c:  peak → level, x = (t−N_w)/(N_c−N_w), by shape:
//	          cosine  level + (peak−level)·(1+cos πx)/2                  ("Inf Cos")
//	          invsqrt peak + (level−peak)·h(x)/h(1), h(u) = 1/√(1+αu) − 1  (Ibrahim et al.)
//	          linear  peak + (level−peak)·x
//	constant  N_c < t <= N_a:  level, for as long as you like
//	anneal    N_a < t <= N:    level·(floor/level)^((t−N_a)/(N−N_a)), then floor
//	                           (with anneal 0 there is none: level for ever)
//
// Steps = 0 leaves out the anneal: the rate stays at Level for ever, which
// is how later tasks continue training at η_const. To anneal such a run
// later, join it with a geometric decay:
// join([infinite(..., steps=0), geometric(peak=level, floor=f, steps=A)], at=[N_a]).
// Lengths are counts, or fractions of Steps when Steps > 0.
type Infinite struct {
	Peak     float64 `spec:"peak" default:"1" doc:"learning rate at the end of warmup"`
	Level    float64 `spec:"level" doc:"constant learning rate η_const between cooldown and anneal"`
	Floor    float64 `spec:"floor" default:"0" doc:"learning rate at the end of the anneal (> 0 when anneal > 0)"`
	Steps    int64   `spec:"steps" default:"0" doc:"total N; 0 = open-ended, no anneal"`
	Warmup   Length  `spec:"warmup" default:"0" doc:"warmup length"`
	Cooldown Length  `spec:"cooldown" doc:"length of the cooldown from peak to level"`
	Anneal   Length  `spec:"anneal" default:"0" doc:"length of the final anneal from level to floor"`
	Shape    string  `spec:"shape" default:"cosine" choices:"cosine|invsqrt|linear" doc:"cooldown shape"`
	Alpha    float64 `spec:"alpha" default:"10" doc:"timescale α of the invsqrt cooldown"`
}

// LR returns the learning rate at step t.
func (s Infinite) LR(t int64) float64 {
	t = nonNeg(t)
	nw := s.Warmup.Of(s.Steps)
	if t <= nw {
		if nw == 0 {
			return s.Peak
		}
		return s.Peak * (float64(t) / float64(nw))
	}
	nc := nw + s.Cooldown.Of(s.Steps)
	if t <= nc {
		x := float64(t-nw) / float64(nc-nw)
		// Both shapes are written in the floor form level + (peak −
		// level)·(1 − r): peak + (level − peak)·r missed level at x = 1 by
		// rounding (invsqrt with peak 1, level 0.1 gave 0.09999999999999987
		// at N_c, just below the constant phase's 0.1 that follows).
		switch s.Shape {
		case "invsqrt":
			// h(x)/h(1) with h(u) = 1/√(1+αu) − 1 = −αu/(√(1+αu)·(1+√(1+αu))),
			// so the ratio is x·q(1)/q(x) with q(u) = √(1+αu)·(1+√(1+αu)):
			// the direct form cancels to 0/0 = NaN for α below about 1e-16.
			// The ratio is at most 1 for x <= 1; rounding can exceed it by
			// an ulp when α is huge, which must not take the rate below level.
			q := func(u float64) float64 { r := math.Sqrt(1 + s.Alpha*u); return r * (1 + r) }
			return between(s.Level, s.Peak, 1-math.Min(1, x*q(1)/q(x)))
		case shapeLinear:
			return between(s.Level, s.Peak, 1-x)
		}
		return between(s.Level, s.Peak, 0.5*(1+math.Cos(math.Pi*x)))
	}
	if s.Steps == 0 {
		return s.Level
	}
	na := s.Steps - s.Anneal.Of(s.Steps)
	// Without an anneal (anneal 0, or a fraction that rounds to 0 steps)
	// the rate holds level past steps: it used to drop to floor (0 by
	// default) at steps+1, a jump no phase of the schedule makes.
	if t <= na || na == s.Steps {
		return s.Level
	}
	if t >= s.Steps {
		return s.Floor
	}
	return s.Level * math.Pow(s.Floor/s.Level, float64(t-na)/float64(s.Steps-na))
}

// String returns the canonical spec text.
func (s Infinite) String() string { return Format(s) }

// Validate checks the parameters.
func (s Infinite) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkRate("level", s.Level); err != nil {
		return err
	}
	if err := checkRate("floor", s.Floor); err != nil {
		return err
	}
	if s.Level > s.Peak {
		return perr("level", "must not exceed peak (level %g > peak %g)", s.Level, s.Peak)
	}
	if s.Floor > s.Level {
		return perr("floor", "must not exceed level (floor %g > level %g)", s.Floor, s.Level)
	}
	if err := checkCount("steps", s.Steps); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		l    Length
	}{{"warmup", s.Warmup}, {"cooldown", s.Cooldown}, {"anneal", s.Anneal}} {
		if err := checkLength(l.name, l.l); err != nil {
			return err
		}
		if l.l.IsFrac && s.Steps == 0 {
			return perr(l.name, "is a fraction but steps is not set; give steps=N or a step count")
		}
	}
	if s.Cooldown.IsZero() {
		return perr("cooldown", "must be at least one step")
	}
	if s.Steps == 0 && !s.Anneal.IsZero() {
		return perr("anneal", "needs steps: the anneal ends at steps; give steps=N or drop anneal")
	}
	if s.Steps > 0 {
		nc := s.Warmup.Of(s.Steps) + s.Cooldown.Of(s.Steps)
		if na := s.Steps - s.Anneal.Of(s.Steps); nc > na {
			return perr("anneal", "warmup + cooldown (%d steps) overlaps the anneal starting at %d; shorten them or raise steps", nc, na)
		}
		if !s.Anneal.IsZero() && s.Floor <= 0 {
			return perr("floor", "must be greater than 0 for the geometric anneal, got %g", s.Floor)
		}
	}
	if err := checkChoice("shape", s.Shape, shapeCosine, "invsqrt", shapeLinear); err != nil {
		return err
	}
	return checkPositive("alpha", s.Alpha)
}

// Power is the power scheduler of Shen et al. (IBM; arXiv 2408.13359;
// spec §19). With n = t·tokens_per_step tokens seen,
//
//	p(n) = min(peak, batch·a·n^b)
//
// the core rule; a warmup of W steps rises linearly to p(W); a final
// decay over the last D steps of Steps multiplies p(N−D) by
// f(x) = (e·e^(−x) − 1)/(e − 1), x in [0, 1] (the exponential shape of IBM
// dolomite-engine's ExponentialScheduler with end ratio 0), reaching 0 at
// Steps and holding it. The constants a = 4.6, b = −0.51 and peak 0.02
// are the paper's fitted values as recalled by the spec, and the exact
// warmup and decay shapes are unverified.
type Power struct {
	Peak          float64 `spec:"peak" default:"0.02" doc:"cap η_max of the learning rate"`
	A             float64 `spec:"a" default:"4.6" doc:"fitted constant a of batch·a·n^b"`
	B             float64 `spec:"b" default:"-0.51" doc:"fitted exponent b (< 0) of batch·a·n^b"`
	Batch         float64 `spec:"batch" doc:"batch size β in sequences"`
	TokensPerStep float64 `spec:"tokens_per_step" doc:"tokens consumed by one optimizer step"`
	Warmup        Length  `spec:"warmup" default:"0" doc:"warmup length"`
	Decay         Length  `spec:"decay" default:"0" doc:"final decay length (needs steps)"`
	Steps         int64   `spec:"steps" default:"0" doc:"total steps N; 0 = open-ended, no decay"`
}

// LR returns the learning rate at step t.
func (s Power) LR(t int64) float64 {
	t = nonNeg(t)
	if w := s.Warmup.Of(s.Steps); t < w {
		return float64(t) / float64(w) * s.power(w)
	}
	if s.Steps > 0 && !s.Decay.IsZero() {
		if t >= s.Steps {
			return 0
		}
		d := s.Decay.Of(s.Steps)
		if start := s.Steps - d; t >= start {
			x := float64(t-start) / float64(d)
			return (math.E*math.Exp(-x) - 1) / (math.E - 1) * s.power(start)
		}
	}
	return s.power(t)
}

// power is min(peak, batch·a·n^b) for the tokens seen by step t.
func (s Power) power(t int64) float64 {
	if t <= 0 {
		return s.Peak
	}
	return math.Min(s.Peak, s.Batch*s.A*math.Pow(float64(t)*s.TokensPerStep, s.B))
}

// String returns the canonical spec text.
func (s Power) String() string { return Format(s) }

// Validate checks the parameters.
func (s Power) Validate() error {
	if err := checkPositive("peak", s.Peak); err != nil {
		return err
	}
	if err := checkPositive("a", s.A); err != nil {
		return err
	}
	if err := checkFinite("b", s.B); err != nil {
		return err
	}
	if s.B >= 0 {
		return perr("b", "must be negative so the rate falls with tokens (paper: -0.51), got %g", s.B)
	}
	if err := checkPositive("batch", s.Batch); err != nil {
		return err
	}
	if err := checkPositive("tokens_per_step", s.TokensPerStep); err != nil {
		return err
	}
	if err := checkCount("steps", s.Steps); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		l    Length
	}{{"warmup", s.Warmup}, {"decay", s.Decay}} {
		if err := checkLength(l.name, l.l); err != nil {
			return err
		}
		if l.l.IsFrac && s.Steps == 0 {
			return perr(l.name, "is a fraction but steps is not set; give steps=N or a step count")
		}
	}
	if s.Steps == 0 && !s.Decay.IsZero() {
		return perr("decay", "needs steps: the decay ends at steps")
	}
	if s.Steps > 0 && s.Warmup.Of(s.Steps)+s.Decay.Of(s.Steps) > s.Steps {
		return perr("decay", "warmup + decay is longer than steps %d", s.Steps)
	}
	return nil
}
