package schedule

import (
	"math"
)

// Parity values. The default, ParityNone, is lrkit's clean rule from the
// spec; the others reproduce a library's documented behaviour (spec §23).
const (
	ParityNone    = "none"
	ParityPyTorch = "pytorch"
	ParityHF      = "hf"
	ParityOptax   = "optax"
)

// Cosine is cosine annealing from Peak to Floor over Steps (spec §7):
//
//	η(t) = floor + (peak − floor)·(1 + cos(π·t/T))/2,  0 <= t <= T
//
// By default (and with parity=optax, optax cosine_decay_schedule) it holds
// Floor after T. With parity=pytorch (CosineAnnealingLR) or parity=hf
// (get_cosine_schedule_with_warmup, num_cycles 0.5) the cosine continues
// past T and the rate rises again with period 2T. HF's cosine with warmup
// W over T steps is warmup(cosine(steps=T, parity=hf), steps=W): the
// warm-up counts inside the horizon.
type Cosine struct {
	Peak   float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor  float64 `spec:"floor" default:"0" doc:"learning rate at steps (eta_min)"`
	Steps  int64   `spec:"steps" doc:"horizon T (PyTorch T_max)"`
	Parity string  `spec:"parity" default:"none" choices:"none|pytorch|hf|optax" doc:"none/optax hold floor after steps; pytorch/hf keep following the cosine"`
}

// LR returns the learning rate at step t.
func (s Cosine) LR(t int64) float64 {
	t = nonNeg(t)
	if s.Parity != ParityPyTorch && s.Parity != ParityHF {
		t = min(t, s.Steps)
	}
	return s.Floor + (s.Peak-s.Floor)*(1+math.Cos(math.Pi*float64(t)/float64(s.Steps)))/2
}

// String returns the canonical spec text.
func (s Cosine) String() string { return Format(s) }

// Validate checks peak >= floor >= 0, steps > 0 and the parity word.
func (s Cosine) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	return checkChoice("parity", s.Parity, ParityNone, ParityPyTorch, ParityHF, ParityOptax)
}

// SGDR is cosine annealing with warm restarts (Loshchilov and Hutter,
// arXiv 1608.03983; spec §8). Cycle i lasts T_i = period·mult^i steps and
// starts at S_i = Σ_{j<i} T_j; inside it, with T_cur = t − S_i,
//
//	η = floor + (peak_i − floor)·(1 + cos(π·T_cur/T_i))/2,  peak_i = max(floor, peak·decay^i)
//
// The cycle is found with integer arithmetic, so every restart gives
// exactly peak_i. This equals PyTorch CosineAnnealingWarmRestarts driven
// by step() (decay 1). parity=pytorch reproduces its step(epoch) path
// instead, which finds the cycle with a floating-point logarithm and lands
// in the wrong cycle at some boundaries (period 1, mult 10, step 111 gives
// floor instead of peak).
type SGDR struct {
	Peak   float64 `spec:"peak" default:"1" doc:"learning rate at the first restart"`
	Floor  float64 `spec:"floor" default:"0" doc:"learning rate at the end of each cycle (eta_min)"`
	Period int64   `spec:"period" doc:"length of the first cycle (PyTorch T_0)"`
	Mult   int64   `spec:"mult" default:"1" doc:"each cycle is mult times longer than the previous (T_mult, integer >= 1)"`
	Decay  float64 `spec:"decay" default:"1" doc:"factor applied to the peak at each restart"`
	Parity string  `spec:"parity" default:"none" choices:"none|pytorch" doc:"pytorch = step(epoch) path with its float-log cycle search"`
}

// LR returns the learning rate at step t.
func (s SGDR) LR(t int64) float64 {
	t = nonNeg(t)
	var n int
	var tcur, ti float64
	if s.Parity == ParityPyTorch {
		n, tcur, ti = s.floatCycle(t)
	} else {
		var c, l int64
		n, c, l = geometricCycle(t, s.Period, s.Mult)
		tcur, ti = float64(c), float64(l)
	}
	peak := s.Peak
	if s.Decay != 1 && n > 0 {
		peak = math.Max(s.Floor, peak*math.Pow(s.Decay, float64(n)))
	}
	return s.Floor + (peak-s.Floor)*(1+math.Cos(math.Pi*tcur/ti))/2
}

// floatCycle mirrors PyTorch's step(epoch) arithmetic.
func (s SGDR) floatCycle(t int64) (int, float64, float64) {
	t0 := float64(s.Period)
	e := float64(t)
	if t < s.Period {
		return 0, e, t0
	}
	if s.Mult == 1 {
		return int(t / s.Period), float64(t % s.Period), t0
	}
	m := float64(s.Mult)
	n := math.Floor(crLog(e/t0*(m-1)+1) / crLog(m))
	mn := math.Pow(m, n)
	return int(n), e - t0*(mn-1)/(m-1), t0 * mn
}

// geometricCycle finds the cycle holding step t >= 0 when cycle i lasts
// period·mult^i steps. It returns the cycle index, the step inside it and
// its length, with integer arithmetic only.
func geometricCycle(t, period, mult int64) (n int, cur, length int64) {
	if mult <= 1 {
		return int(t / period), t % period, period
	}
	start, length := int64(0), period
	for t-start >= length {
		start += length
		n++
		if length > math.MaxInt64/mult {
			// The next cycle would overflow int64; no step can reach past it.
			break
		}
		length *= mult
	}
	return n, t - start, length
}

// String returns the canonical spec text.
func (s SGDR) String() string { return Format(s) }

// Validate checks the parameters.
func (s SGDR) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
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
		return perr("decay", "must not exceed 1 (peaks may only shrink), got %g", s.Decay)
	}
	return checkChoice("parity", s.Parity, ParityNone, ParityPyTorch)
}

// CosinePower is cosine power annealing from sharpDARTS (Hundt, Jain,
// Hager; arXiv 1903.09900; spec §16). With c = (1 + cos(π·t/T))/2 and
// exponent order p >= 1,
//
//	m = (p^(c+1) − p)/(p² − p)   (m = c when p = 1),  η = floor + (peak − floor)·m
//
// A larger p decays faster early. This is the analytic form with 0-based
// steps; the reference code rescales by the min and max of the evaluated
// epochs 1..T instead, which differs slightly (spec §23.8). Holds Floor
// after T.
type CosinePower struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate at steps"`
	Steps int64   `spec:"steps" doc:"horizon T"`
	P     float64 `spec:"p" default:"10" doc:"exponent order p >= 1; 1 is cosine"`
}

// LR returns the learning rate at step t.
func (s CosinePower) LR(t int64) float64 {
	c := (1 + math.Cos(math.Pi*progress(t, s.Steps))) / 2
	m := c
	if s.P != 1 {
		// (p^(c+1) − p)/(p² − p) = (p^c − 1)/(p − 1), which cannot overflow.
		m = math.Expm1(c*math.Log(s.P)) / (s.P - 1)
	}
	return between(s.Floor, s.Peak, m)
}

// String returns the canonical spec text.
func (s CosinePower) String() string { return Format(s) }

// Validate checks peak >= floor >= 0, steps > 0 and p >= 1.
func (s CosinePower) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	if err := checkFinite("p", s.P); err != nil {
		return err
	}
	if s.P < 1 {
		return perr("p", "must be >= 1 (1 is plain cosine), got %g", s.P)
	}
	return nil
}

// DampedCosine is an EXPERIMENTAL reading of the damped-cosine schedule of
// Chinese ModernBERT (Zhao, Wang, Fu, Cheng; arXiv 2510.12285; spec §17).
// With p = min(t,T)/T and N cycles,
//
//	η = (P(p)+V(p))/2 + (P(p)−V(p))/2·cos(π(2N−1)p)
//
// which is verified only from a third-party summary. The envelopes are
// NOT from the paper: they are the spec's proposal
// P(p) = floor + (peak − floor)·e^(−damping·p) and V(p) = floor.
// The rate starts at peak, touches floor at p = (2k+1)/(2N−1) and ends at
// floor at T, which it holds after.
type DampedCosine struct {
	Peak    float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor   float64 `spec:"floor" default:"0" doc:"valley learning rate, reached at steps"`
	Steps   int64   `spec:"steps" doc:"horizon T"`
	Cycles  int64   `spec:"cycles" default:"3" doc:"number of cosine cycles N >= 1"`
	Damping float64 `spec:"damping" default:"3" doc:"decay rate of the peak envelope (proposed, unverified)"`
}

// LR returns the learning rate at step t.
func (s DampedCosine) LR(t int64) float64 {
	p := progress(t, s.Steps)
	pk := between(s.Floor, s.Peak, math.Exp(-s.Damping*p))
	return (pk+s.Floor)/2 + (pk-s.Floor)/2*math.Cos(math.Pi*float64(2*s.Cycles-1)*p)
}

// String returns the canonical spec text.
func (s DampedCosine) String() string { return Format(s) }

// Validate checks the parameters.
func (s DampedCosine) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	if s.Cycles < 1 {
		return perr("cycles", "must be at least 1, got %d", s.Cycles)
	}
	if err := checkFinite("damping", s.Damping); err != nil {
		return err
	}
	if s.Damping < 0 {
		return perr("damping", "must not be negative, got %g", s.Damping)
	}
	return nil
}

// UBA is the unified budget-aware schedule of Tang, Dong, Zeng, Zhou and
// Lin (arXiv 2505.24452; spec §12). With c = 1 + cos(π·min(t,T)/T),
//
//	η = floor + (peak − floor)·2c/(2φ + (2 − φ)·c)
//
// φ = 2 is cosine annealing; φ < 2 holds the rate high longer, φ > 2
// decays sooner. The formula comes from third-party code and could not be
// checked against the paper, so φ has no default.
type UBA struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate at steps"`
	Steps int64   `spec:"steps" doc:"horizon T"`
	Phi   float64 `spec:"phi" doc:"shape parameter φ > 0 (2 = cosine); no default: the paper's advice is unverified"`
}

// LR returns the learning rate at step t.
func (s UBA) LR(t int64) float64 {
	// 2φ + (2 − φ)c written as φ(2 − c) + 2c, which does not cancel for large φ.
	cs := math.Cos(math.Pi * progress(t, s.Steps))
	c := 1 + cs
	return between(s.Floor, s.Peak, 2*c/(s.Phi*(1-cs)+2*c))
}

// String returns the canonical spec text.
func (s UBA) String() string { return Format(s) }

// Validate checks peak >= floor >= 0, steps > 0 and phi > 0.
func (s UBA) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	return checkPositive("phi", s.Phi)
}

// Rex is the reflected-exponential schedule of Chen, Wolfe and Kyrillidis
// (arXiv 2107.04197; spec §11) in the general family of the spec: with
// p = k·floor(t/k)/T (k = every, the sampling interval),
//
//	m(p) = (1 − p)/(1 − a·p),  η = floor + (peak − floor)·m(p)
//
// a = 1/2 is the paper's profile, a = 0 is linear decay. The widely copied
// IvanVassi/REX_LR code is a = 0.9 and restarts every T steps:
// cycle(rex(a=0.9, steps=T), period=T). Holds Floor after T.
type Rex struct {
	Peak  float64 `spec:"peak" default:"1" doc:"learning rate at step 0"`
	Floor float64 `spec:"floor" default:"0" doc:"learning rate at steps"`
	Steps int64   `spec:"steps" doc:"horizon T"`
	A     float64 `spec:"a" default:"0.5" doc:"shape in [0, 1): 0.5 = paper, 0 = linear, 0.9 = IvanVassi/REX_LR"`
	Every int64   `spec:"every" default:"1" doc:"sampling interval: the profile is re-read every k steps"`
}

// LR returns the learning rate at step t.
func (s Rex) LR(t int64) float64 {
	t = nonNeg(t)
	if s.Every > 1 {
		t -= t % s.Every
	}
	p := progress(t, s.Steps)
	return between(s.Floor, s.Peak, (1-p)/(1-s.A*p))
}

// String returns the canonical spec text.
func (s Rex) String() string { return Format(s) }

// Validate checks the parameters.
func (s Rex) Validate() error {
	if err := checkPeakFloor(s.Peak, s.Floor); err != nil {
		return err
	}
	if err := checkHorizon("steps", s.Steps); err != nil {
		return err
	}
	if !(s.A >= 0 && s.A < 1) {
		return perr("a", "must lie in [0, 1) (0.5 is the paper's value), got %v", s.A)
	}
	if s.Every < 1 {
		return perr("every", "must be at least 1, got %d", s.Every)
	}
	return nil
}
