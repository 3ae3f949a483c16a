package schedule

import (
	"math"
)

// Warmup puts a warmup in front of any schedule (spec §20).
//
// Shapes linear and untuned_linear ramp for t < W linearly from
// start·b.LR(0) to b.LR(0),
//
//	η(t) = (start + (1 − start)·t/W)·b.LR(0)   (HF style: 0 at t = 0)
//
// and from step W on run b on local steps, η(t) = b.LR(t − W). By default
// the warm-up counts inside the base's horizon
// H, as Hugging Face's get_*_schedule_with_warmup count it: b is the base
// with its horizon shortened to H − W (its steps parameter; fractional
// phase lengths follow), so warmup(cosine(steps=10000), steps=500) lasts
// 10,000 steps and equals HF's cosine with 500 warm-up steps of 10,000
// training steps. (timm's default also keeps the total at H, but runs the
// base on global steps and overwrites its first W steps.) A base without
// a horizon (constant, step, ...) is simply preceded by the warm-up. With
// prefix=true the warm-up comes before the base: b is the base as written and the
// whole lasts H + W steps (lrkit before this change, and timm's
// warmup_prefix=True). untuned_linear is Ma and Yarats' untuned rule
// (arXiv 1910.04209): W = round(2/(1 − β2)), 2000 for β2 = 0.999
// (pytorch_warmup truncates this to 1999; we round).
//
// Shapes exp, untuned_exp and radam follow pytorch_warmup and MULTIPLY the
// base at the same global step by a factor ω(t) that tends to 1 and never
// reaches it: η(t) = (start + (1 − start)·ω(t))·base.LR(t).
//   - exp:         ω = 1 − exp(−t/τ), τ = steps;
//   - untuned_exp: ω = 1 − exp(−(1 − β2)·t), τ = 1/(1 − β2);
//   - radam:       the RAdam-equivalent factor of pytorch_warmup,
//     ω = sqrt((ρ−4)(ρ−2)ρ∞/((ρ∞−4)(ρ∞−2)ρ)) at ρ = ρ(t+δ), with
//     ρ∞ = 2/(1−β2) − 1, ρ(u) = ρ∞ − 2uβ2^u/(1−β2^u) and δ the smallest
//     u >= 1 with ρ(u) > 4 (5 for β2 = 0.999).
//
// The multiplicative shapes are inside the horizon by their nature; prefix
// changes nothing for them. A linear warmup of 0 steps is no warmup:
// η(t) = base.LR(t).
//
// The first update gets factor 0 for every shape but radam (lrkit follows
// HF here; pytorch_warmup gives 1/τ, spec §23.7).
type Warmup struct {
	Base  Schedule `spec:"base,positional" doc:"the schedule that follows (or is damped by) the warmup"`
	Steps int64    `spec:"steps" default:"0" doc:"warmup length W (linear) or time constant τ (exp); 0 for untuned and radam"`
	Shape string   `spec:"shape" default:"linear" choices:"linear|exp|untuned_linear|untuned_exp|radam" doc:"warmup rule"`
	Beta2 float64  `spec:"beta2" default:"0.999" doc:"Adam β2 for the untuned and radam rules"`
	Start float64  `spec:"start" default:"0" doc:"factor at step 0, a fraction of the target rate"`
	// Prefix puts a linear warm-up before the base instead of inside its
	// horizon (see above).
	Prefix bool `spec:"prefix" default:"false" doc:"put the warm-up before the base (the total grows by its length) instead of inside the base's horizon"`

	base Schedule // the base as the linear shapes run it after W (prepared)
}

// LR returns the learning rate at step t.
func (s Warmup) LR(t int64) float64 {
	t = nonNeg(t)
	switch s.Shape {
	case "exp", "untuned_exp", "radam":
		return (s.Start + (1-s.Start)*s.factor(t)) * s.Base.LR(t)
	}
	b := s.base
	if b == nil {
		b = s.shortened() // a struct literal not made by New: right, but slow
	}
	w := s.length()
	if t < w {
		return (s.Start + (1-s.Start)*float64(t)/float64(w)) * b.LR(0)
	}
	return b.LR(t - w)
}

// length is the prefix length of the linear shapes.
func (s Warmup) length() int64 {
	if s.Shape == "untuned_linear" {
		return int64(math.Round(2 / (1 - s.Beta2)))
	}
	return s.Steps
}

// factor is ω(t) of the multiplicative shapes.
func (s Warmup) factor(t int64) float64 {
	switch s.Shape {
	case "exp":
		return -math.Expm1(-float64(t) / float64(s.Steps))
	case "untuned_exp":
		return -math.Expm1(-(1 - s.Beta2) * float64(t))
	}
	rinf := 2/(1-s.Beta2) - 1
	d := radamOffset(s.Beta2, rinf)
	r := radamRho(float64(t)+float64(d), s.Beta2, rinf)
	return math.Sqrt((r - 4) * (r - 2) * rinf / ((rinf - 4) * (rinf - 2) * r))
}

func radamRho(u, beta2, rinf float64) float64 {
	b := math.Pow(beta2, u)
	return rinf - 2*u*b/(1-b)
}

// radamOffset is the smallest u >= 1 with ρ(u) > 4.
func radamOffset(beta2, rinf float64) int64 {
	u := int64(1)
	for radamRho(float64(u), beta2, rinf) <= 4 {
		u++
	}
	return u
}

// String returns the canonical spec text.
func (s Warmup) String() string { return Format(s) }

// Validate checks the parameters and the base schedule.
func (s Warmup) Validate() error {
	if err := validateChild("base", s.Base); err != nil {
		return err
	}
	if err := checkChoice("shape", s.Shape, "linear", "exp", "untuned_linear", "untuned_exp", "radam"); err != nil {
		return err
	}
	if err := checkCount("steps", s.Steps); err != nil {
		return err
	}
	// beta2 is written in the canonical text whatever the shape, so it
	// must be finite even where the shape ignores it: New accepted
	// Warmup{Shape: "linear", Beta2: NaN}, whose String ("beta2=NaN")
	// Parse refuses and whose ToJSON fails.
	if err := checkFinite("beta2", s.Beta2); err != nil {
		return err
	}
	switch s.Shape {
	case "", "linear":
		// W = 0 is no warmup: the base from step 0. A tuned warmup fraction
		// that rounds to zero steps lands here.
	case "exp":
		if s.Steps == 0 {
			return perr("steps", "must be a positive number of steps for shape=%s", s.shapeName())
		}
	default:
		if s.Steps != 0 {
			return perr("steps", "is set by beta2 for shape=%s; remove steps", s.Shape)
		}
		if s.Shape == "radam" && !(s.Beta2 > 0.6 && s.Beta2 < 1) {
			return perr("beta2", "must lie in (0.6, 1) for shape=radam, got %g", s.Beta2)
		}
		if !(s.Beta2 > 0 && s.Beta2 < 1) {
			return perr("beta2", "must lie in (0, 1), got %g", s.Beta2)
		}
	}
	if err := checkFinite("start", s.Start); err != nil {
		return err
	}
	if s.Start < 0 || s.Start > 1 {
		return perr("start", "must be a fraction in [0, 1], got %g", s.Start)
	}
	return nil
}

func (s Warmup) shapeName() string {
	if s.Shape == "" {
		return "linear"
	}
	return s.Shape
}

// Prepare prepares the base schedule and, for a linear warm-up inside
// the horizon, the base shortened by the warm-up.
func (s Warmup) Prepare() (Schedule, error) {
	b, err := prepareChild(s.Base)
	if err != nil {
		return s, err
	}
	s.Base, s.base = b, b
	if s.Prefix || s.isMultiplicative() {
		return s, nil
	}
	h, ok := Horizon(b)
	w := s.length()
	if !ok || w == 0 {
		return s, nil
	}
	if w >= h {
		return s, perr("steps", "a warm-up of %d steps does not fit inside the base's horizon of %d steps; shorten it, or write prefix=true to put it before the base", w, h)
	}
	short, err := WithHorizon(b, h-w)
	if err != nil {
		return s, perr("prefix", "a warm-up inside the horizon needs a base whose steps can be shortened: %v; write prefix=true to put the warm-up before the base", err)
	}
	s.base = short
	return s, nil
}

// shortened returns the base the linear shapes run after the warm-up,
// without Prepare's checks: the base itself for a prefix, a base without
// a horizon or one that cannot be shortened.
func (s Warmup) shortened() Schedule {
	h, ok := Horizon(s.Base)
	w := s.length()
	if s.Prefix || !ok || w == 0 || w >= h {
		return s.Base
	}
	if b, err := WithHorizon(s.Base, h-w); err == nil {
		return b
	}
	return s.Base
}

func (s Warmup) isMultiplicative() bool {
	switch s.Shape {
	case "exp", "untuned_exp", "radam":
		return true
	}
	return false
}

// SlowStartFastDecay is a PLACEHOLDER for the "slow start, fast decay"
// schedule that Jeddi, Shafiee and Wong (arXiv 2012.13628) use for
// adversarial fine-tuning (spec §20). Its exact shape was not found; this
// is the spec's guess: a long linear ramp from 0 to Peak over Ramp steps,
// then a short linear decay to Floor at Steps, held after.
type SlowStartFastDecay struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at the end of the ramp"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate at steps"`
	Steps int64   `spec:"steps" doc:"horizon T"`
	Ramp  Length  `spec:"ramp" doc:"length of the slow linear ramp (no default: unverified)"`
}

// LR returns the learning rate at step t.
func (s SlowStartFastDecay) LR(t int64) float64 {
	t = nonNeg(t)
	r := s.Ramp.Of(s.Steps)
	if t < r {
		return s.Peak * (float64(t) / float64(r))
	}
	return between(s.Floor, s.Peak, 1-progress(t-r, s.Steps-r))
}

// String returns the canonical spec text.
func (s SlowStartFastDecay) String() string { return Format(s) }

// Validate checks the parameters.
func (s SlowStartFastDecay) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	if err := checkLength("ramp", s.Ramp); err != nil {
		return err
	}
	if r := s.Ramp.Of(s.Steps); r >= s.Steps {
		return perr("ramp", "must end before steps (ramp %d >= steps %d) to leave room for the decay", r, s.Steps)
	}
	return nil
}
