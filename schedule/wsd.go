package schedule

import (
	"fmt"
	"math"
)

// WSD is warmup-stable-decay (spec §13): a linear warmup over W steps, a
// stable phase at Peak, and a decay over the last D steps to Floor, held
// after Steps. With S = T − D and x = (t − S)/D the decay is
//
//	η = floor + (peak − floor)·g(x)
//
// for the shapes linear 1−x, cosine (1+cos πx)/2, 1-sqrt 1−√x (Hägele et
// al., arXiv 2405.18392) and square 1−x². Two exponential shapes leave the
// floor form: exp is MiniCPM's half-life decay (Hu et al., arXiv
// 2404.06395), and geometric is
// peak·(floor/peak)^x (floor > 0), which reaches Floor exactly at T. exp is
// max(floor, peak·0.5^((t−S)/H)): it never reaches 0 on its own and drops
// to Floor at T; halflife=0 picks H = D·ln2/ln(peak/floor), which makes it
// equal to geometric.
//
// The warmup rises linearly from WarmupStart·Peak (epfml's code uses 0.01)
// to Peak: η = peak·(s + (1−s)·t/W). parity=hf reproduces HF
// get_wsd_schedule, whose warmup starts at min_lr_ratio (= floor/peak).
// Lengths are step counts or fractions of Steps; a fraction is rounded to
// the nearest step (epfml truncates).
type WSD struct {
	Peak        float64 `spec:"peak" default:"1" doc:"learning rate of the stable phase"`
	Floor       float64 `spec:"floor" default:"0" doc:"learning rate at the end of the decay"`
	Steps       int64   `spec:"steps" doc:"horizon T: the decay ends here"`
	Warmup      Length  `spec:"warmup" default:"0" doc:"warmup length W (steps or fraction of steps)"`
	Decay       Length  `spec:"decay" default:"0.1" doc:"decay length D (steps or fraction of steps)"`
	Shape       string  `spec:"shape" default:"linear" choices:"linear|cosine|1-sqrt|square|exp|geometric" doc:"decay shape"`
	Halflife    Length  `spec:"halflife" default:"0" doc:"half-life for shape=exp; 0 = reach floor at steps"`
	WarmupStart float64 `spec:"warmup_start" default:"0" doc:"warmup starts at this fraction of peak (epfml: 0.01)"`
	Parity      string  `spec:"parity" default:"none" choices:"none|hf" doc:"hf: warmup starts at floor (min_lr_ratio), as HF get_wsd_schedule"`
}

// LR returns the learning rate at step t.
func (s WSD) LR(t int64) float64 {
	t = nonNeg(t)
	w := s.Warmup.Of(s.Steps)
	d := s.Decay.Of(s.Steps)
	if t < w {
		p := float64(t) / float64(w)
		if s.Parity == ParityHF {
			return between(s.Floor, s.Peak, p)
		}
		return s.Peak * (s.WarmupStart + (1-s.WarmupStart)*p)
	}
	start := s.Steps - d
	if t < start {
		return s.Peak
	}
	if t >= s.Steps {
		return s.Floor
	}
	x := float64(t-start) / float64(d)
	switch s.Shape {
	case "exp":
		h := float64(s.Halflife.Of(s.Steps))
		if h == 0 {
			h = float64(d) * math.Ln2 / math.Log(s.Peak/s.Floor)
		}
		return math.Max(s.Floor, s.Peak*math.Pow(0.5, float64(t-start)/h))
	case "geometric":
		return s.Peak * math.Pow(s.Floor/s.Peak, x)
	}
	return between(s.Floor, s.Peak, decayShape(s.Shape, x))
}

// String returns the canonical spec text.
func (s WSD) String() string { return Format(s) }

// Validate checks the parameters.
func (s WSD) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		l    Length
	}{{"warmup", s.Warmup}, {"decay", s.Decay}, {"halflife", s.Halflife}} {
		if err := checkLength(l.name, l.l); err != nil {
			return err
		}
	}
	w, d := s.Warmup.Of(s.Steps), s.Decay.Of(s.Steps)
	if w+d > s.Steps {
		return perr("decay", "warmup %d + decay %d is longer than steps %d; shorten them or raise steps", w, d, s.Steps)
	}
	if err := checkChoice("shape", s.Shape, shapeLinear, shapeCosine, shapeSqrt, shapeSquare, "exp", "geometric"); err != nil {
		return err
	}
	if s.Shape == "geometric" && s.Floor <= 0 {
		return perr("floor", "must be greater than 0 for shape=geometric, got %g", s.Floor)
	}
	if s.Shape == "exp" && s.Halflife.IsZero() && (s.Floor <= 0 || s.Floor == s.Peak) {
		return perr("halflife", "is needed for shape=exp when floor is 0 or equal to peak; give halflife=N or a floor in (0, peak)")
	}
	if !s.Halflife.IsZero() && s.Shape != "exp" {
		return perr("halflife", "applies only to shape=exp, got shape=%s; remove it", s.Shape)
	}
	// A fractional half-life that rounds to 0 steps would reach LR as
	// H = 0 (halflife=0.001 of steps=100): 0.5^(0/0) is NaN at the first
	// decay step. 0 means "reach floor at steps" only when written as 0.
	if !s.Halflife.IsZero() && s.Halflife.Of(s.Steps) == 0 {
		return perr("halflife", "%s of steps %d rounds to 0 steps; give at least one step, or 0 to reach floor at steps", s.Halflife, s.Steps)
	}
	if err := checkFinite("warmup_start", s.WarmupStart); err != nil {
		return err
	}
	if s.WarmupStart < 0 || s.WarmupStart > 1 {
		return perr("warmup_start", "must be a fraction of peak in [0, 1], got %g", s.WarmupStart)
	}
	if err := checkChoice("parity", s.Parity, ParityNone, ParityHF); err != nil {
		return err
	}
	if s.Parity == ParityHF && s.WarmupStart != 0 {
		return perr("warmup_start", "cannot be set with parity=hf, whose warmup starts at floor; remove one of them")
	}
	return nil
}

// WSDS is WSD-S (Wen et al., arXiv 2410.05192; spec §14): one trajectory
// that serves several budgets C_1 < … < C_k. After a linear warmup of W
// steps the rate stays at Peak except in the D_i steps before each budget,
// where it decays to Floor; at C_i it jumps straight back to Peak (no new
// warmup) and training continues from the decayed weights. Past C_k it
// holds Floor:
//
//	η = floor + (peak − floor)·g((t − (C_i − D_i))/D_i)  for C_i − D_i <= t < C_i
//
// Decay is a step count or a fraction of each budget. The paper's decay
// shape and fraction are unverified.
type WSDS struct {
	Peak    float64 `spec:"peak" default:"1" doc:"learning rate of the stable phases"`
	Floor   float64 `spec:"floor" default:"0" doc:"learning rate at each budget's end"`
	Warmup  Length  `spec:"warmup" default:"0" doc:"warmup length (steps or fraction of the last budget)"`
	Budgets []int64 `spec:"budgets" doc:"increasing steps C_i at which a decayed checkpoint is taken"`
	Decay   Length  `spec:"decay" default:"0.1" doc:"decay length D_i (steps, or fraction of each budget)"`
	Shape   string  `spec:"shape" default:"linear" choices:"linear|cosine|1-sqrt|square" doc:"decay shape"`
}

// LR returns the learning rate at step t.
func (s WSDS) LR(t int64) float64 {
	t = nonNeg(t)
	n := len(s.Budgets)
	if n == 0 {
		return s.Floor
	}
	if w := s.Warmup.Of(s.Budgets[n-1]); t < w {
		return s.Peak * (float64(t) / float64(w))
	}
	i := countLE(s.Budgets, t)
	if i == n {
		return s.Floor
	}
	c := s.Budgets[i]
	d := s.Decay.Of(c)
	if t < c-d {
		return s.Peak
	}
	return between(s.Floor, s.Peak, decayShape(s.Shape, float64(t-(c-d))/float64(d)))
}

// String returns the canonical spec text.
func (s WSDS) String() string { return Format(s) }

// Validate checks the parameters.
func (s WSDS) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if len(s.Budgets) == 0 {
		return perr("budgets", "must list at least one step, e.g. budgets=[4000, 7000, 10000]")
	}
	if err := checkLength("warmup", s.Warmup); err != nil {
		return err
	}
	if err := checkLength("decay", s.Decay); err != nil {
		return err
	}
	prev := s.Warmup.Of(s.Budgets[len(s.Budgets)-1])
	for i, c := range s.Budgets {
		if c <= 0 {
			return perr(fmt.Sprintf("budgets[%d]", i), "must be a positive step, got %d", c)
		}
		if i > 0 && c <= s.Budgets[i-1] {
			return perr(fmt.Sprintf("budgets[%d]", i), "must be above the one before (%d after %d): budgets are strictly increasing", c, s.Budgets[i-1])
		}
		if d := s.Decay.Of(c); c-d < prev {
			return perr("decay", "decay %d before budget %d overlaps the warmup or the previous budget (%d); shorten decay", d, c, prev)
		}
		prev = c
	}
	return checkChoice("shape", s.Shape, shapeLinear, shapeCosine, shapeSqrt, shapeSquare)
}

// WSDC is warmup-stable-decay-constant, named after PLM (Deng et al.,
// arXiv 2503.12167; spec §15): a linear warmup to Peak, a stable phase at
// Peak, a decay to the level η_c, then η_c for as long as training runs.
// The open-ended tail suits continued, multi-phase training. Only the name
// is verified; the decay shape (cosine by default) and η_c are lrkit's
// reading. Lengths are step counts, or fractions of Steps when it is set.
type WSDC struct {
	Peak   float64 `spec:"peak" default:"1" doc:"learning rate of the stable phase"`
	Level  float64 `spec:"level" doc:"constant learning rate η_c after the decay"`
	Warmup Length  `spec:"warmup" default:"0" doc:"warmup length"`
	Stable Length  `spec:"stable" doc:"length of the stable phase after warmup"`
	Decay  Length  `spec:"decay" doc:"length of the decay from peak to level"`
	Shape  string  `spec:"shape" default:"cosine" choices:"cosine|linear|1-sqrt|square" doc:"decay shape"`
	Steps  int64   `spec:"steps" default:"0" doc:"total that fractional lengths refer to; 0 = lengths are counts"`
}

// LR returns the learning rate at step t.
func (s WSDC) LR(t int64) float64 {
	t = nonNeg(t)
	w := s.Warmup.Of(s.Steps)
	if t < w {
		return s.Peak * (float64(t) / float64(w))
	}
	a := w + s.Stable.Of(s.Steps)
	if t < a {
		return s.Peak
	}
	d := s.Decay.Of(s.Steps)
	if t >= a+d {
		return s.Level
	}
	shape := s.Shape
	if shape == "" {
		shape = shapeCosine
	}
	return between(s.Level, s.Peak, decayShape(shape, float64(t-a)/float64(d)))
}

// String returns the canonical spec text.
func (s WSDC) String() string { return Format(s) }

// Validate checks the parameters.
func (s WSDC) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkRate("level", s.Level); err != nil {
		return err
	}
	if s.Level > s.Peak {
		return perr("level", "must not exceed peak (level %g > peak %g)", s.Level, s.Peak)
	}
	if err := checkCount("steps", s.Steps); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		l    Length
	}{{"warmup", s.Warmup}, {"stable", s.Stable}, {"decay", s.Decay}} {
		if err := checkLength(l.name, l.l); err != nil {
			return err
		}
		if l.l.IsFrac && s.Steps == 0 {
			return perr(l.name, "is a fraction but steps is not set; give steps=N or a step count")
		}
	}
	if w, st, d := s.Warmup.Of(s.Steps), s.Stable.Of(s.Steps), s.Decay.Of(s.Steps); s.Steps > 0 && w+st+d > s.Steps {
		return perr("decay", "warmup %d + stable %d + decay %d is longer than steps %d", w, st, d, s.Steps)
	}
	return checkChoice("shape", s.Shape, shapeCosine, shapeLinear, shapeSqrt, shapeSquare)
}
