package schedule

import (
	"math"
)

// Cyclic is the cyclical learning rate of Smith (arXiv 1506.01186; spec
// §9), computed as PyTorch CyclicLR does. With L = up + down, r = up/L,
// cycle = floor(1 + t/L) and x = 1 + t/L − cycle,
//
//	s = x/r if x <= r, else (x − 1)/(r − 1);  η = low + (high − low)·s·g
//
// where g is 1 (triangular), 1/2^(cycle−1) (triangular2) or γ^t
// (exp_range). The rate starts at Low and reaches High after Up steps.
type Cyclic struct {
	Low   float64 `spec:"low" doc:"lower bound of the cycle (PyTorch base_lr)"`
	High  float64 `spec:"high" doc:"upper bound of the cycle (PyTorch max_lr)"`
	Up    int64   `spec:"up" default:"2000" doc:"steps from low to high (step_size_up)"`
	Down  int64   `spec:"down" default:"0" doc:"steps from high back to low; 0 = up (step_size_down)"`
	Mode  string  `spec:"mode" default:"triangular" choices:"triangular|triangular2|exp_range" doc:"amplitude policy"`
	Gamma float64 `spec:"gamma" default:"1" doc:"per-step amplitude factor for exp_range"`
}

// LR returns the learning rate at step t.
func (s Cyclic) LR(t int64) float64 {
	t = nonNeg(t)
	up := float64(s.Up)
	down := float64(s.Down)
	if s.Down == 0 {
		down = up
	}
	total := up + down
	ratio := up / total
	e := float64(t)
	cycle := math.Floor(1 + e/total)
	x := 1 + e/total - cycle
	var sc float64
	if x <= ratio {
		sc = x / ratio
	} else {
		sc = (x - 1) / (ratio - 1)
	}
	h := (s.High - s.Low) * sc
	switch s.Mode {
	case "triangular2":
		return s.Low + h*(1/math.Pow(2, cycle-1))
	case "exp_range":
		return s.Low + h*math.Pow(s.Gamma, e)
	}
	return s.Low + h
}

// String returns the canonical spec text.
func (s Cyclic) String() string { return Format(s) }

// Validate checks the parameters.
func (s Cyclic) Validate() error {
	if err := checkRate("low", s.Low); err != nil {
		return err
	}
	if err := checkRate("high", s.High); err != nil {
		return err
	}
	if s.High < s.Low {
		return perr("high", "must not be below low (high %g < low %g); swap them", s.High, s.Low)
	}
	if err := checkHorizon("up", s.Up); err != nil {
		return err
	}
	if err := checkCount("down", s.Down); err != nil {
		return err
	}
	if err := checkChoice("mode", s.Mode, "triangular", "triangular2", "exp_range"); err != nil {
		return err
	}
	if err := checkPositive("gamma", s.Gamma); err != nil {
		return err
	}
	if s.Gamma > 1 {
		return perr("gamma", "must not exceed 1 (the amplitude would grow), got %g", s.Gamma)
	}
	return nil
}

// OneCycle is the one-cycle policy (Smith, "Super-Convergence", arXiv
// 1708.07120; spec §10) with PyTorch OneCycleLR's exact phase boundaries.
// init = peak/div and min = init/final_div (peak/2.5e5 with the defaults).
// Two phases: init→peak ending at step pct·T−1, then peak→min ending at
// T−1. Three phases: init→peak (pct·T−1), peak→init (2·pct·T−2), init→min
// (T−1). Each phase interpolates with q = (t − start)/(end − start) by
// cos(a→b, q) = b + (a−b)/2·(1+cos πq) or linear a + (b−a)·q.
//
// By default the rate holds min from step T−1 on. parity=pytorch
// evaluates step T as PyTorch does, by extrapolating the last phase (the
// linear shape goes negative there), and holds that value after T (PyTorch
// raises an error). parity=optax uses optax's schedules instead:
// cosine_onecycle_schedule (two phases, peak at int(pct·T), min at T) and
// linear_onecycle_schedule (three phases ending at int(pct·T),
// int(0.85·T) and T; write phases=3).
type OneCycle struct {
	Peak     float64 `spec:"peak" default:"1" doc:"maximum learning rate (max_lr)"`
	Steps    int64   `spec:"steps" doc:"total steps T (total_steps)"`
	Pct      float64 `spec:"pct" default:"0.3" doc:"fraction of steps spent rising (pct_start)"`
	Shape    string  `spec:"shape" default:"cos" choices:"cos|linear" doc:"interpolation between phase ends (anneal_strategy)"`
	Div      float64 `spec:"div" default:"25" doc:"initial rate is peak/div (div_factor)"`
	FinalDiv float64 `spec:"final_div" default:"1e4" doc:"final rate is initial/final_div (final_div_factor)"`
	Phases   int64   `spec:"phases" default:"2" doc:"2, or 3 for PyTorch three_phase (symmetric) and optax linear"`
	Parity   string  `spec:"parity" default:"none" choices:"none|pytorch|optax" doc:"none clamps at T−1; pytorch extrapolates at T; optax uses optax's boundaries"`
}

// LR returns the learning rate at step t.
func (s OneCycle) LR(t int64) float64 {
	t = nonNeg(t)
	init := s.Peak / s.Div
	low := init / s.FinalDiv
	T := float64(s.Steps)
	if s.Parity == ParityOptax {
		return s.optax(t, init, low)
	}
	if s.Parity == ParityPyTorch {
		t = min(t, s.Steps)
	} else {
		t = min(t, s.Steps-1)
	}
	e := float64(t)
	e1 := s.Pct*T - 1
	if s.Phases == 3 {
		e2 := 2*s.Pct*T - 2
		switch {
		case e <= e1:
			return s.interp(init, s.Peak, e/e1)
		case e <= e2:
			return s.interp(s.Peak, init, (e-e1)/(e2-e1))
		default:
			return s.interp(init, low, (e-e2)/(T-1-e2))
		}
	}
	if e <= e1 {
		return s.interp(init, s.Peak, e/e1)
	}
	return s.interp(s.Peak, low, (e-e1)/(T-1-e1))
}

func (s OneCycle) interp(a, b, q float64) float64 {
	if s.Shape == "linear" {
		return (b-a)*q + a
	}
	return b + (a-b)/2*(math.Cos(math.Pi*q)+1)
}

// optax follows piecewise_interpolate_schedule: each piece is clipped to
// [0, 1] progress between integer boundaries.
func (s OneCycle) optax(t int64, init, low float64) float64 {
	b1 := int64(s.Pct * float64(s.Steps))
	if s.Shape == "linear" {
		b2 := int64(0.85 * float64(s.Steps))
		switch {
		case t <= b1:
			return s.interp(init, s.Peak, frac(t, 0, b1))
		case t <= b2:
			return s.interp(s.Peak, init, frac(t, b1, b2))
		default:
			return s.interp(init, low, frac(t, b2, s.Steps))
		}
	}
	if t <= b1 {
		return s.interp(init, s.Peak, frac(t, 0, b1))
	}
	return s.interp(s.Peak, low, frac(t, b1, s.Steps))
}

// frac is (t − a)/(b − a) clipped to [0, 1]; 1 when b <= a.
func frac(t, a, b int64) float64 {
	if b <= a || t >= b {
		return 1
	}
	if t <= a {
		return 0
	}
	return float64(t-a) / float64(b-a)
}

// String returns the canonical spec text.
func (s OneCycle) String() string { return Format(s) }

// Validate checks the parameters.
func (s OneCycle) Validate() error {
	if err := checkRate("peak", s.Peak); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	if !(s.Pct > 0 && s.Pct < 1) {
		return perr("pct", "must lie strictly between 0 and 1, got %v", s.Pct)
	}
	if err := checkChoice("shape", s.Shape, "cos", "linear"); err != nil {
		return err
	}
	if err := checkPositive("div", s.Div); err != nil {
		return err
	}
	if err := checkPositive("final_div", s.FinalDiv); err != nil {
		return err
	}
	if s.Phases != 2 && s.Phases != 3 {
		return perr("phases", "must be 2 or 3, got %d", s.Phases)
	}
	if err := checkChoice("parity", s.Parity, ParityNone, ParityPyTorch, ParityOptax); err != nil {
		return err
	}
	T := float64(s.Steps)
	if s.Parity == ParityOptax {
		if s.Shape == "cos" && s.Phases != 2 {
			return perr("phases", "optax's cosine_onecycle_schedule has two phases; write phases=2")
		}
		if s.Shape == "linear" && s.Phases != 3 {
			return perr("phases", "optax's linear_onecycle_schedule always has three phases; write phases=3")
		}
		if s.Shape == "linear" && s.Pct >= 0.85 {
			return perr("pct", "must be below optax's pct_final 0.85, got %g", s.Pct)
		}
		return nil
	}
	// PyTorch's phase ends must be strictly increasing, or a phase divides by zero.
	e1 := s.Pct*T - 1
	ends := []float64{e1, T - 1}
	if s.Phases == 3 {
		ends = []float64{e1, 2*s.Pct*T - 2, T - 1}
	}
	prev := 0.0
	for _, e := range ends {
		if !(e > prev) {
			return perr("steps", "is too small for pct %g: every phase needs at least one step (steps %d); raise steps or change pct", s.Pct, s.Steps)
		}
		prev = e
	}
	return nil
}
