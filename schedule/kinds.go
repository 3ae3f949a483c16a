package schedule

// builtinKinds lists every schedule kind of the spec language, in the
// order `lrkit schedules` prints them. It is never mutated.
var builtinKinds = []Kind{
	{Name: "constant", Summary: "a fixed learning rate", Source: "HF transformers get_constant_schedule", Proto: Constant{}},
	{Name: "linear", Summary: "linear decay from peak to floor over steps", Source: "PyTorch LinearLR; HF get_linear_schedule_with_warmup", Proto: Linear{}},
	{Name: "polynomial", Summary: "decay as (1 - t/T)^power from peak to floor", Source: "PyTorch PolynomialLR; optax polynomial_schedule", Proto: Polynomial{}},
	{Name: "exponential", Summary: "peak·gamma^t per step, clipped below at floor", Source: "PyTorch ExponentialLR", Proto: Exponential{}},
	{Name: "geometric", Summary: "exponential decay that reaches floor exactly at steps", Source: "lrkit (budget form of exponential decay)", Proto: Geometric{}},
	{Name: "exp_decay", Summary: "peak·rate^((t-begin)/every), optionally staircase and clipped", Source: "optax exponential_decay", Proto: ExpDecay{}},
	{Name: "step", Summary: "multiply by gamma every 'every' steps", Source: "PyTorch StepLR", Proto: Step{}},
	{Name: "multistep", Summary: "multiply by gamma at each milestone", Source: "PyTorch MultiStepLR; He et al. 2016 (30-60-90)", Proto: MultiStep{}},
	{Name: "invsqrt", Summary: "linear warmup then inverse square root decay", Source: "HF get_inverse_sqrt_schedule; Vaswani et al. 2017, arXiv 1706.03762", Proto: InvSqrt{}},
	{Name: "cosine", Summary: "cosine annealing from peak to floor over steps", Source: "Loshchilov & Hutter 2016, arXiv 1608.03983; PyTorch CosineAnnealingLR", Proto: Cosine{}},
	{Name: "sgdr", Summary: "cosine annealing with warm restarts, growing cycles and shrinking peaks", Source: "Loshchilov & Hutter 2016, arXiv 1608.03983; PyTorch CosineAnnealingWarmRestarts", Proto: SGDR{}},
	{Name: "cyclic", Summary: "triangular cycles between low and high (triangular, triangular2, exp_range)", Source: "Smith 2017, arXiv 1506.01186; PyTorch CyclicLR", Proto: Cyclic{}},
	{Name: "onecycle", Summary: "one cycle: rise to peak, then anneal far below the start", Source: "Smith & Topin 2017, arXiv 1708.07120; PyTorch OneCycleLR", Proto: OneCycle{}},
	{Name: "rex", Summary: "reflected exponential decay (1-p)/(1-a·p)", Source: "Chen, Wolfe & Kyrillidis 2021, arXiv 2107.04197", Proto: Rex{},
		Unverified: "the paper's profile (a=1/2) is confirmed only by third-party code; the optional sampling interval is from memory"},
	{Name: "uba", Summary: "unified budget-aware decay with one shape parameter phi (2 = cosine)", Source: "Tang et al. 2025, arXiv 2505.24452", Proto: UBA{},
		Unverified: "the formula comes from third-party code, not the paper; the recommended phi is unknown, so phi has no default"},
	{Name: "wsd", Summary: "warmup, stable at peak, decay to floor at the end", Source: "Hägele et al. 2024, arXiv 2405.18392; Hu et al. 2024 (MiniCPM), arXiv 2404.06395; HF get_wsd_schedule", Proto: WSD{},
		Unverified: "shape=exp follows a recalled reading of MiniCPM's half-life formula"},
	{Name: "wsds", Summary: "WSD-S: one trajectory that decays before each budget and jumps back to peak", Source: "Wen et al. 2024, arXiv 2410.05192", Proto: WSDS{},
		Unverified: "the paper's decay shape and decay fraction are not verified"},
	{Name: "wsdc", Summary: "warmup, stable, decay to a constant level, then that level for ever", Source: "Deng et al. 2025 (PLM), arXiv 2503.12167", Proto: WSDC{},
		Unverified: "only the name is verified; the decay shape (cosine) and the level are lrkit's reading"},
	{Name: "cosine_power", Summary: "cosine power annealing: faster early decay for larger p", Source: "Hundt, Jain & Hager 2019 (sharpDARTS), arXiv 1903.09900", Proto: CosinePower{}},
	{Name: "damped_cosine", Summary: "EXPERIMENTAL: cosine cycles under an exponentially damped peak envelope", Source: "Zhao et al. 2025 (Chinese ModernBERT), arXiv 2510.12285", Proto: DampedCosine{},
		Unverified: "the cosine form is from a third-party summary; the peak and valley envelopes are a proposal, not the paper's"},
	{Name: "infinite", Summary: "warmup, cooldown to a constant, constant for as long as needed, final anneal", Source: "Ibrahim et al. 2024, arXiv 2403.08763; Singh, Janson et al. 2025, arXiv 2503.02844", Proto: Infinite{},
		Unverified: "the geometric anneal and the default alpha come from third-party code of the 2025 paper"},
	{Name: "power", Summary: "min(peak, batch·a·tokens^b) with warmup and an exponential final decay", Source: "Shen et al. 2024 (IBM power scheduler), arXiv 2408.13359; IBM dolomite-engine", Proto: Power{},
		Unverified: "a=4.6, b=-0.51 and the exact warmup and decay shapes are recalled, not read in the paper"},
	{Name: "warmup", Summary: "a warmup (linear, exp, untuned, RAdam-equivalent) in front of any schedule", Source: "Ma & Yarats 2019, arXiv 1910.04209; pytorch_warmup", Proto: Warmup{}},
	{Name: "slow_start_fast_decay", Summary: "PLACEHOLDER: long linear ramp to peak, then a short linear decay", Source: "Jeddi, Shafiee & Wong 2020, arXiv 2012.13628", Proto: SlowStartFastDecay{},
		Unverified: "the paper's exact shape was not found; this ramp-then-linear-decay is a guess"},
	{Name: "defazio", Summary: "linear decay that never reaches 0: peak·(1 - (t+1)/(T+1))", Source: "Defazio, Cutkosky, Mehta & Mishchenko 2023, arXiv 2310.07831", Proto: Defazio{},
		Unverified: "the exact (T+1) normalisation is recalled, not read in the paper"},
	{Name: "table", Summary: "piecewise linear through given points, inline or from a step,lr CSV file", Source: "lrkit", Proto: Table{}},
	{Name: "join", Summary: "run schedules one after another, each on its own local steps", Source: "optax join_schedules", Proto: Join{}},
	{Name: "cycle", Summary: "repeat a schedule every period steps", Source: "lrkit", Proto: Cycle{}},
	{Name: "restarts", Summary: "restart a schedule at growing intervals with shrinking rates", Source: "lrkit; timm cycle_mul and cycle_decay", Proto: Restarts{}},
	{Name: "clamp", Summary: "limit a schedule to [min, max]", Source: "lrkit", Proto: Clamp{}},
	{Name: "scale", Summary: "multiply a schedule by a constant", Source: "lrkit", Proto: Scale{}},
	{Name: "floor", Summary: "keep a schedule at or above min", Source: "lrkit", Proto: Floor{}},
}

// New validates a schedule built in Go and prepares it (reads a table's
// file, prepares nested schedules). Use it on struct literals:
//
//	s, err := schedule.New(schedule.WSD{Peak: 3e-4, Steps: 10000, Decay: schedule.Fraction(0.2), Shape: "1-sqrt"})
//
// A struct literal does not get the spec's numeric defaults: give every
// number whose zero value is not what you want (Gamma, Pct, Div...). An
// empty string field (Shape, Mode, Parity) means its default word.
func New(s Schedule) (Schedule, error) {
	if s == nil {
		return nil, &ParamError{Param: "schedule", Msg: "is nil"}
	}
	if v, ok := s.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if p, ok := s.(Preparer); ok {
		return p.Prepare()
	}
	return s, nil
}
