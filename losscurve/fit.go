package losscurve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Point is one observed loss: Loss after the update of step Step (an index
// into Run.LRs).
type Point struct {
	Step int
	Loss float64
}

// Run is one training run: its learning rate at every step and its
// observed losses at some steps, in increasing step order.
type Run struct {
	Name   string
	LRs    []float64
	Points []Point
}

// MinPoints is the fewest observed points after warm-up a run must have to
// be fitted or scored.
const MinPoints = 5

// Validate checks that the run is usable: finite non-negative rates,
// strictly increasing steps inside the rate sequence, positive finite
// losses and at least MinPoints points after warm-up. Errors name the run
// and the point index.
func (r Run) Validate() error {
	if len(r.LRs) == 0 {
		return fmt.Errorf("losscurve: run %s: %w", r.Name, ErrEmpty)
	}
	for i, v := range r.LRs {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("losscurve: run %s: learning rate at step %d is %v, want finite and >= 0", r.Name, i, v)
		}
	}
	w := DetectWarmup(r.LRs)
	n := 0
	for i, p := range r.Points {
		if p.Step < 0 || p.Step >= len(r.LRs) {
			return fmt.Errorf("losscurve: run %s: point %d at step %d is outside the %d steps with a learning rate", r.Name, i, p.Step, len(r.LRs))
		}
		if i > 0 && p.Step <= r.Points[i-1].Step {
			return fmt.Errorf("losscurve: run %s: point %d: step %d does not increase (previous %d)", r.Name, i, p.Step, r.Points[i-1].Step)
		}
		if !(p.Loss > 0) || math.IsInf(p.Loss, 0) {
			return fmt.Errorf("losscurve: run %s: point %d at step %d: loss %v, want a positive finite number", r.Name, i, p.Step, p.Loss)
		}
		if p.Step >= w {
			n++
		}
	}
	if n < MinPoints {
		return fmt.Errorf("losscurve: run %s: %d points after warm-up (step %d), need at least %d", r.Name, n, w, MinPoints)
	}
	return nil
}

// Fitting recipes (FitOptions.Recipe).
const (
	// RecipeDefault is lrkit's fit: the optimum of the Huber objective
	// plus a weak log-normal prior on the multi-power law's exponents (see
	// DefaultPrior), and bootstrap refits for prediction intervals.
	RecipeDefault = "lrkit"
	// RecipeConverged is the optimum of the Huber objective alone, with
	// no prior: what lrkit did before the prior was added. It over-fits
	// the fit curves when they do not identify the loss drop's shape.
	RecipeConverged = "converged"
	// RecipeReleased reproduces the multi-power law paper's released
	// fitting code (thu-yao-01-luo/MultiPowerLaw, src/fitting.py): a grid
	// start from a four-parameter proxy, then at most 200 AdamW steps with
	// patience 20 and its parameter read-out. Multi-power law only, repo
	// convention. For users who must reproduce the paper's numbers.
	RecipeReleased = "released"
)

// Recipes lists the fitting recipes in a stable order.
func Recipes() []string { return []string{RecipeDefault, RecipeConverged, RecipeReleased} }

// DefaultPrior is the weight of the default recipe's prior on the
// multi-power law's C, β and γ (FitOptions.Prior). It was chosen on the
// validation curves of docs/accuracy.md (the Hägele et al. scaling runs),
// never on its test curves; see cmd/accuracy.
const DefaultPrior = 1e-6

// DefaultBootstrap is the number of bootstrap refits of the default
// recipe (FitOptions.Bootstrap).
const DefaultBootstrap = 8

// FitOptions tune Fit. The zero value is the documented default.
type FitOptions struct {
	// Recipe is RecipeDefault (""), RecipeConverged or RecipeReleased.
	Recipe string
	// Variant is the MultiPower convention ("paper", default, or "repo") or
	// the Annealing warm-up variant ("a" or "b", default). The released
	// recipe accepts only "repo" (or "").
	Variant string
	// Lambda is the Annealing law's λ (default DefaultLambda); it is not
	// fitted.
	Lambda float64
	// Delta is the Huber threshold on log loss (default 1e-3).
	Delta float64
	// Segment is the relative rate change (of the run's peak) below which
	// consecutive steps are merged into one constant-rate segment while
	// fitting the multi-power law (default 2e-3). Steps at observed points
	// always end a segment; piecewise-constant schedules are exact. The
	// fitted law is scored at full resolution.
	Segment float64
	// Prior is the weight w of a log-normal prior on the multi-power
	// law's C, β and γ: the objective gains w·n·Σ ln²(θ/θ0) for n fitted
	// points, with θ0 = PriorCentre (DefaultPriorCentre unless set). Runs
	// without a sharp decay barely constrain how the loss drop saturates,
	// and an unregularised fit drifts to the edge of the box (β → 0,
	// B → ∞).
	// 0 means DefaultPrior in the default recipe and none in the converged
	// recipe; a negative value means none.
	Prior float64
	// PriorCentre is the prior's centre θ0 = (C, β, γ), three positive
	// finite values; nil means DefaultPriorCentre.
	PriorCentre []float64
	// MinStep drops observed points before this step from the fit (they
	// are still scored by Evaluate). 0 fits every point from the end of
	// warm-up on.
	MinStep int
	// MaxStep, if positive, drops observed points after this step from
	// the fit: the law a run's prefix would give.
	MaxStep int
	// Bootstrap is the number of block-bootstrap refits that give the
	// prediction intervals (Fitted.Interval): 0 means DefaultBootstrap in
	// the default recipe and none otherwise; negative means none.
	Bootstrap int
	// Aggregate is how the fitted law's Predict combines the bootstrap
	// refits (AggregatePoint, AggregateMean or AggregateMedian; see
	// Fitted.Aggregate): "" means DefaultAggregate in the default recipe
	// and AggregatePoint otherwise. Without refits the point fit is used.
	Aggregate string
	// Resample is how the bootstrap refits resample the fit points:
	// ResamplePoints or ResampleResiduals ("" means DefaultResample).
	Resample string
	// PriorCandidates, if set, replaces Prior by a choice made for each
	// fit: every candidate weight (0 for none) is fitted to the fit runs
	// without the last ForwardHoldout of their span and scored on those
	// points, and the lowest held-out error wins (FitReport.Prior).
	// Multi-power law, default and converged recipes.
	PriorCandidates []float64
	// Seed seeds the bootstrap resampling (the fit is deterministic for a
	// given seed).
	Seed uint64
	// Progress, if set, is called after each optimiser start.
	Progress func(done, total int)
}

// DefaultPriorCentre returns the centre (C, β, γ) of the multi-power
// law's prior when FitOptions.PriorCentre is nil: the released code's
// start values, kept after a grid of other centres was compared on the
// validation curves of docs/accuracy.md (see cmd/accuracy).
func DefaultPriorCentre() []float64 { return []float64{1, 0.5, 0.5} }

// checkPriorCentre returns the prior's centre to use: DefaultPriorCentre
// for nil, else c if it holds three positive finite values.
func checkPriorCentre(c []float64) ([]float64, error) {
	if c == nil {
		return DefaultPriorCentre(), nil
	}
	if len(c) != 3 {
		return nil, fmt.Errorf("prior centre: %d values, want 3 (C, beta, gamma)", len(c))
	}
	for i, name := range []string{"C", "beta", "gamma"} {
		if !(c[i] > 0) || math.IsInf(c[i], 0) {
			return nil, fmt.Errorf("prior centre: %s = %v, want a positive finite value", name, c[i])
		}
	}
	return c, nil
}

// FitReport describes a fit.
type FitReport struct {
	Law         string             `json:"law"`
	Recipe      string             `json:"recipe"`
	Objective   float64            `json:"objective"` // Σ Huber(log pred − log obs) (plus the prior) at the optimum
	Points      int                `json:"points"`    // observed points used
	Starts      int                `json:"starts"`    // optimiser starts
	Evaluations int                `json:"evaluations"`
	Bootstrap   int                `json:"bootstrap"` // refits for the intervals
	Runs        map[string]Metrics `json:"runs"`      // in-sample metrics per run
	// Repeated counts the observed points left out because an earlier fit
	// run holds the same measurement (same step, loss and rates before
	// it: a run resumed from the other's checkpoint); each is fitted once.
	Repeated int `json:"repeated,omitempty"`
	// Prior is the per-fit choice of the prior's weight, when
	// FitOptions.PriorCandidates asked for one.
	Prior *PriorChoice `json:"prior,omitempty"`
	// Warnings name parameters that ended at a bound of the search box
	// or at zero: the fit runs do not identify them.
	Warnings []string `json:"warnings,omitempty"`
}

// Fit fits a law of the given kind to runs and returns it with its
// bootstrap refits.
//
// The default and converged recipes minimise Σ Huber_δ(log L̂ − log L) over
// every observed point at or after each run's warm-up (plus the prior of
// FitOptions.Prior). The parameters that enter linearly (L0, A and C for
// the annealing law; L0, A, B for the multi-power law; L0, A for the power
// law) are solved for every value of the others by iteratively reweighted
// least squares (variable projection), with A, B, C ≥ 0. The remaining
// parameters (α; or α, C, β, γ) are optimised by gonum's Nelder–Mead on a
// log scale from the best points of a fixed grid, so the fit is
// deterministic. The released recipe is described at RecipeReleased.
//
// A point an earlier fit run already holds (the same step and loss, with
// the same rates before it: a run resumed from another's checkpoint, as
// WSD cooldowns are, logs the very same losses until it departs) is one
// measurement and is fitted once (FitReport.Repeated); the released
// recipe keeps every point, as the released code does.
//
// Bootstrap refits resample blocks of consecutive points of every run
// (a moving-block bootstrap, so the correlated residuals of a loss curve
// stay together) and refit from the optimum; their spread and the residual
// scale give Fitted.Interval.
func Fit(ctx context.Context, kind string, runs []Run, opts FitOptions) (*Fitted, FitReport, error) {
	if opts.Recipe == "" {
		opts.Recipe = RecipeDefault
	}
	switch opts.Recipe {
	case RecipeDefault:
		if opts.Prior == 0 {
			opts.Prior = DefaultPrior
		}
		if opts.Bootstrap == 0 {
			opts.Bootstrap = DefaultBootstrap
		}
		if opts.Aggregate == "" {
			opts.Aggregate = DefaultAggregate
		}
	case RecipeConverged, RecipeReleased:
	default:
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: unknown recipe %q (want one of %v)", opts.Recipe, Recipes())
	}
	agg, err := checkAggregate(opts.Aggregate)
	if err != nil {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: %w", err)
	}
	opts.Aggregate = agg
	if opts.Resample, err = checkResample(opts.Resample); err != nil {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: %w", err)
	}
	if opts.Prior < 0 {
		opts.Prior = 0
	}
	if opts.PriorCentre != nil && kind != KindMPL {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: a prior centre applies to the mpl law only, not %q", kind)
	}
	if opts.PriorCentre, err = checkPriorCentre(opts.PriorCentre); err != nil {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: %w", err)
	}
	if opts.Bootstrap < 0 {
		opts.Bootstrap = 0
	}
	fitRuns, opts, err := fitWindow("fit", runs, opts)
	if err != nil {
		return nil, FitReport{}, err
	}
	if opts.Recipe == RecipeReleased {
		if len(opts.PriorCandidates) > 0 {
			return nil, FitReport{}, errors.New("losscurve: fit: the released recipe takes no prior candidates")
		}
		return fitReleased(ctx, kind, runs, fitRuns, opts)
	}
	if err := checkPriorCandidates(kind, opts.PriorCandidates); err != nil {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: %w", err)
	}
	fitRuns, repeated := dropRepeatedPoints(fitRuns)
	var choice *PriorChoice
	if len(opts.PriorCandidates) > 0 {
		if choice, err = selectPrior(ctx, kind, fitRuns, opts); err != nil {
			return nil, FitReport{}, err
		}
		opts.Prior = choice.Weight
	}
	prob, err := newProblem(kind, fitRuns, opts)
	if err != nil {
		return nil, FitReport{}, err
	}
	best, bestF, evals, starts, err := prob.minimise(ctx, nil, opts.Progress)
	if err != nil {
		return nil, FitReport{}, err
	}
	fitted := &Fitted{Law: prob.build(best), Info: newFitInfo(opts.Recipe, fitRuns)}
	rep := FitReport{Law: kind, Recipe: opts.Recipe, Objective: bestF, Points: len(prob.obs), Starts: starts, Evaluations: evals, Prior: choice, Repeated: repeated}
	rep.Warnings = prob.boundWarnings(best)
	fitted.Sigma = prob.residualScale(best)
	if opts.Bootstrap > 0 {
		members, ev, err := bootstrap(ctx, kind, fitRuns, opts, best)
		if err != nil {
			return nil, FitReport{}, err
		}
		fitted.Members = members
		fitted.Aggregate = opts.Aggregate
		rep.Evaluations += ev
		rep.Bootstrap = len(members)
	}
	if rep.Runs, err = inSample(fitted, runs); err != nil {
		return nil, FitReport{}, err
	}
	return fitted, rep, nil
}

// fitWindow checks runs, fills opts' numeric defaults (Delta, Lambda,
// Segment) and returns the runs cut to the steps MinStep..MaxStep; op
// names the caller in errors.
func fitWindow(op string, runs []Run, opts FitOptions) ([]Run, FitOptions, error) {
	if len(runs) == 0 {
		return nil, opts, fmt.Errorf("losscurve: %s: no runs", op)
	}
	for _, r := range runs {
		if err := r.Validate(); err != nil {
			return nil, opts, err
		}
	}
	if opts.Delta <= 0 {
		opts.Delta = 1e-3
	}
	if opts.Lambda == 0 {
		opts.Lambda = DefaultLambda
	}
	if opts.Segment <= 0 {
		opts.Segment = 2e-3
	}
	if opts.MinStep <= 0 && opts.MaxStep <= 0 {
		return runs, opts, nil
	}
	out := make([]Run, len(runs))
	for i, r := range runs {
		out[i] = keepPoints(r, func(p Point) bool { return p.Step >= opts.MinStep && (opts.MaxStep <= 0 || p.Step <= opts.MaxStep) })
		if n := len(fitPoints(out[i])); n < MinPoints {
			where := fmt.Sprintf("at or after step %d (MinStep)", opts.MinStep)
			if opts.MaxStep > 0 {
				where = fmt.Sprintf("in steps %d..%d (MinStep..MaxStep)", opts.MinStep, opts.MaxStep)
			}
			return nil, opts, fmt.Errorf("losscurve: %s: run %s: %d points %s, need at least %d", op, r.Name, n, where, MinPoints)
		}
	}
	return out, opts, nil
}

// keepPoints returns r with only the observed points keep accepts.
func keepPoints(r Run, keep func(Point) bool) Run {
	out := Run{Name: r.Name, LRs: r.LRs}
	for _, p := range r.Points {
		if keep(p) {
			out.Points = append(out.Points, p)
		}
	}
	return out
}

// inSample returns law's metrics on each of runs, by name.
func inSample(law Law, runs []Run) (map[string]Metrics, error) {
	out := make(map[string]Metrics, len(runs))
	for _, r := range runs {
		m, err := Evaluate(law, r)
		if err != nil {
			return nil, err
		}
		out[r.Name] = m
	}
	return out, nil
}

// newProblem builds the variable-projection problem of a law kind.
func newProblem(kind string, runs []Run, opts FitOptions) (*fitProblem, error) {
	var prob *fitProblem
	var err error
	switch kind {
	case KindPower:
		prob = newPowerProblem(runs)
	case KindAnnealing:
		prob, err = newAnnealingProblem(runs, opts)
	case KindMPL:
		prob, err = newMPLProblem(runs, opts)
	default:
		err = fmt.Errorf("losscurve: fit: unknown law %q (want one of %v)", kind, Kinds())
	}
	if err != nil {
		return nil, err
	}
	prob.delta = opts.Delta
	return prob, nil
}

// fitProblem is a variable-projection problem: for nonlinear parameters
// x, features(x) fills one row per observed point; the model is the row
// times the linear coefficients.
type fitProblem struct {
	obs      []float64 // observed losses
	w0       []float64 // base weight of each point (nil: all 1); bootstrap counts
	nonneg   []bool    // per coefficient: constrained to >= 0
	names    []string  // nonlinear parameter names, then coefficient names
	grid     [][]float64
	lo, hi   []float64 // bounds on the nonlinear parameters
	features func(x []float64, rows *mat.Dense)
	build    func(x []float64) Law // x holds nonlinear params then coefficients
	delta    float64
	nStarts  int // Nelder–Mead starts from the best grid points
	// prior, if set, adds a penalty on the nonlinear parameters to the
	// objective (a weak prior; see FitOptions.Prior).
	prior func(x []float64) float64
}

// huber returns the Huber loss of residual r with threshold d.
func huber(r, d float64) float64 {
	a := math.Abs(r)
	if a <= d {
		return 0.5 * r * r
	}
	return d * (a - 0.5*d)
}

// clampX maps the optimiser's free variables (logs) to bounded params.
func (p *fitProblem) clampX(z []float64) []float64 {
	x := make([]float64, len(z))
	for i, v := range z {
		x[i] = min(max(math.Exp(v), p.lo[i]), p.hi[i])
	}
	return x
}

// baseWeight returns the base weight of point i.
func (p *fitProblem) baseWeight(i int) float64 {
	if p.w0 == nil {
		return 1
	}
	return p.w0[i]
}

// solve returns the best coefficients for nonlinear params x and the
// objective value.
func (p *fitProblem) solve(x []float64, rows *mat.Dense) ([]float64, float64) {
	p.features(x, rows)
	n, k := rows.Dims()
	w := make([]float64, n)
	for i := range w {
		w[i] = p.baseWeight(i)
	}
	var coef []float64
	obj := math.Inf(1)
	for iter := 0; iter < 4; iter++ {
		c := p.weightedLS(rows, w)
		if c == nil {
			return nil, math.Inf(1)
		}
		o := 0.0
		for i := 0; i < n; i++ {
			b := p.baseWeight(i)
			pred := 0.0
			for j := 0; j < k; j++ {
				pred += rows.At(i, j) * c[j]
			}
			if !(pred > 0) {
				if b == 0 {
					continue
				}
				o = math.Inf(1)
				break
			}
			r := math.Log(pred) - math.Log(p.obs[i])
			o += b * huber(r, p.delta)
			// Huber IRLS weight on the relative residual.
			if a := math.Abs(r); a > p.delta {
				w[i] = b * p.delta / a
			} else {
				w[i] = b
			}
		}
		if o < obj {
			obj, coef = o, c
		}
	}
	return coef, obj
}

// weightedLS minimises Σ w_i·((row_i·c − o_i)/o_i)² subject to the
// non-negativity constraints, by trying every subset of constrained
// coefficients fixed at zero (there are at most two). It forms the k×k
// normal equations once (columns scaled to unit norm for conditioning) and
// solves each subset's system with gonum's Cholesky factorisation.
func (p *fitProblem) weightedLS(rows *mat.Dense, w []float64) []float64 {
	n, k := rows.Dims()
	// Scaled design a_ij = rows_ij·sqrt(w_i)/o_i, target y_i = sqrt(w_i).
	scale := make([]float64, k)
	for i := 0; i < n; i++ {
		s := w[i] / (p.obs[i] * p.obs[i])
		for j := 0; j < k; j++ {
			v := rows.At(i, j)
			scale[j] += v * v * s
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j])
		if scale[j] == 0 || math.IsNaN(scale[j]) || math.IsInf(scale[j], 0) {
			scale[j] = 1
		}
	}
	ata := make([]float64, k*k)
	aty := make([]float64, k)
	yy := 0.0
	for i := 0; i < n; i++ {
		if w[i] == 0 {
			continue
		}
		sw := math.Sqrt(w[i]) / p.obs[i]
		y := math.Sqrt(w[i])
		yy += y * y
		for a := 0; a < k; a++ {
			va := rows.At(i, a) * sw / scale[a]
			aty[a] += va * y
			for b := 0; b <= a; b++ {
				ata[a*k+b] += va * rows.At(i, b) * sw / scale[b]
			}
		}
	}
	var cons []int
	for j, nn := range p.nonneg {
		if nn {
			cons = append(cons, j)
		}
	}
	var best []float64
	bestSSE := math.Inf(1)
	for mask := 0; mask < 1<<len(cons); mask++ {
		zero := make([]bool, k)
		for b, j := range cons {
			if mask&(1<<b) != 0 {
				zero[j] = true
			}
		}
		var free []int
		for j := 0; j < k; j++ {
			if !zero[j] {
				free = append(free, j)
			}
		}
		m := len(free)
		if m == 0 {
			continue
		}
		sym := mat.NewSymDense(m, nil)
		rhs := mat.NewVecDense(m, nil)
		for a, ja := range free {
			rhs.SetVec(a, aty[ja])
			for b, jb := range free[:a+1] {
				sym.SetSym(a, b, ata[ja*k+jb])
			}
		}
		var chol mat.Cholesky
		if !chol.Factorize(sym) {
			continue
		}
		var sol mat.VecDense
		if err := chol.SolveVecTo(&sol, rhs); err != nil {
			continue
		}
		c := make([]float64, k)
		ok := true
		for a, j := range free {
			c[j] = sol.AtVec(a) / scale[j]
			if math.IsNaN(c[j]) || (p.nonneg[j] && c[j] < 0) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		// SSE = yᵀy − 2·solᵀ·Aᵀy + solᵀ·AᵀA·sol = yᵀy − solᵀ·Aᵀy at the optimum.
		sse := yy - mat.Dot(&sol, rhs)
		if sse < bestSSE {
			bestSSE, best = sse, c
		}
	}
	return best
}

// objective returns the penalised objective at free variables z.
func (p *fitProblem) objective(ctx context.Context, rows *mat.Dense, evals *int) func(z []float64) float64 {
	return func(z []float64) float64 {
		*evals++
		if ctx.Err() != nil {
			return math.Inf(1)
		}
		x := p.clampX(z)
		_, o := p.solve(x, rows)
		if math.IsNaN(o) {
			return math.Inf(1)
		}
		if p.prior != nil {
			o += p.prior(x)
		}
		return o
	}
}

// minimise runs the grid and Nelder–Mead starts and returns the best
// nonlinear parameters followed by the coefficients. With start set (the
// free variables of an earlier optimum) it skips the grid and runs one
// Nelder–Mead from there.
func (p *fitProblem) minimise(ctx context.Context, start []float64, progress func(int, int)) ([]float64, float64, int, int, error) {
	k := len(p.nonneg)
	rows := mat.NewDense(len(p.obs), k, nil)
	evals := 0
	f := p.objective(ctx, rows, &evals)
	type cand struct {
		z []float64
		f float64
	}
	var cands []cand
	if start != nil {
		z := append([]float64(nil), start...)
		cands = append(cands, cand{z, f(z)})
	} else {
		for _, g := range p.grid {
			z := make([]float64, len(g))
			for i, v := range g {
				z[i] = math.Log(v)
			}
			cands = append(cands, cand{z, f(z)})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, evals, 0, fmt.Errorf("losscurve: fit: %w", err)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].f < cands[j].f })
	starts := min(p.nStarts, len(cands))
	best := cands[0]
	for s := 0; s < starts; s++ {
		res, err := optimize.Minimize(optimize.Problem{Func: f}, cands[s].z, &optimize.Settings{
			FuncEvaluations: 400 * len(cands[s].z),
			Converger:       &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-10, Iterations: 60},
		}, &optimize.NelderMead{})
		if cerr := ctx.Err(); cerr != nil {
			return nil, 0, evals, s, fmt.Errorf("losscurve: fit: %w", cerr)
		}
		if (err == nil || res != nil) && res != nil && res.F < best.f {
			best = cand{res.X, res.F}
		}
		if progress != nil {
			progress(s+1, starts)
		}
	}
	x := p.clampX(best.z)
	coef, obj := p.solve(x, rows)
	if p.prior != nil {
		obj += p.prior(x)
	}
	if coef == nil || math.IsInf(obj, 0) {
		return nil, 0, evals, starts, errors.New("losscurve: fit: no parameters give a positive predicted loss at every point")
	}
	return append(x, coef...), obj, evals, starts, nil
}

// freeVars returns the optimiser's variables (logs of the nonlinear
// parameters) of a solution returned by minimise.
func (p *fitProblem) freeVars(sol []float64) []float64 {
	z := make([]float64, len(p.lo))
	for i := range z {
		z[i] = math.Log(sol[i])
	}
	return z
}

// boundWarnings names the parameters of sol that sit at a bound of the
// box, or constrained coefficients at zero.
func (p *fitProblem) boundWarnings(sol []float64) []string {
	var out []string
	nl := len(p.lo)
	for i := 0; i < nl; i++ {
		switch v := sol[i]; {
		case v <= p.lo[i]*(1+1e-6):
			out = append(out, fmt.Sprintf("%s = %.4g is at its lower bound %.4g: the fit runs do not pin it down", p.names[i], v, p.lo[i]))
		case v >= p.hi[i]*(1-1e-6):
			out = append(out, fmt.Sprintf("%s = %.4g is at its upper bound %.4g: the fit runs do not pin it down", p.names[i], v, p.hi[i]))
		}
	}
	for j, nn := range p.nonneg {
		if nn && sol[nl+j] == 0 {
			out = append(out, fmt.Sprintf("%s = 0: the fit found no effect of that term", p.names[nl+j]))
		}
	}
	return out
}

// residualScale returns the root mean square of the log residuals of sol
// over the fitted points (weighted by the base weights).
func (p *fitProblem) residualScale(sol []float64) float64 {
	k := len(p.nonneg)
	nl := len(p.lo)
	rows := mat.NewDense(len(p.obs), k, nil)
	p.features(sol[:nl], rows)
	s, w := 0.0, 0.0
	for i, o := range p.obs {
		pred := 0.0
		for j := 0; j < k; j++ {
			pred += rows.At(i, j) * sol[nl+j]
		}
		if !(pred > 0) {
			continue
		}
		r := math.Log(pred) - math.Log(o)
		b := p.baseWeight(i)
		s += b * r * r
		w += b
	}
	if w == 0 {
		return 0
	}
	return math.Sqrt(s / w)
}

// grid returns the Cartesian product of the given value lists.
func grid(axes ...[]float64) [][]float64 {
	out := [][]float64{{}}
	for _, ax := range axes {
		var next [][]float64
		for _, g := range out {
			for _, v := range ax {
				next = append(next, append(append([]float64(nil), g...), v))
			}
		}
		out = next
	}
	return out
}

// fitPoints lists, per run, the observed points at or after warm-up.
func fitPoints(r Run) []Point {
	w := DetectWarmup(r.LRs)
	var pts []Point
	for _, p := range r.Points {
		if p.Step >= w {
			pts = append(pts, p)
		}
	}
	return pts
}

func newPowerProblem(runs []Run) *fitProblem {
	var steps, obs []float64
	for _, r := range runs {
		for _, p := range fitPoints(r) {
			steps = append(steps, float64(p.Step+1))
			obs = append(obs, p.Loss)
		}
	}
	return &fitProblem{
		obs: obs, nonneg: []bool{false, true}, names: []string{"alpha", "L0", "A"},
		grid: grid([]float64{0.1, 0.3, 0.6, 1, 1.5}), lo: []float64{1e-3}, hi: []float64{3}, nStarts: 2,
		features: func(x []float64, rows *mat.Dense) {
			for i, t := range steps {
				rows.Set(i, 0, 1)
				rows.Set(i, 1, math.Pow(t, -x[0]))
			}
		},
		build: func(x []float64) Law { return &Power{Alpha: x[0], L0: x[1], A: x[2]} },
	}
}

func newAnnealingProblem(runs []Run, opts FitOptions) (*fitProblem, error) {
	v := WarmupVariant(opts.Variant)
	if v == "" {
		v = WarmupB
	}
	if v != WarmupA && v != WarmupB {
		return nil, fmt.Errorf("losscurve: fit: annealing variant %q: want %q or %q", opts.Variant, WarmupA, WarmupB)
	}
	var s1, s2, obs []float64
	for _, r := range runs {
		a1, a2 := AnnealingAreas(r.LRs, opts.Lambda, DetectWarmup(r.LRs), v)
		for _, p := range fitPoints(r) {
			s1 = append(s1, max(a1[p.Step], 1e-10))
			s2 = append(s2, a2[p.Step])
			obs = append(obs, p.Loss)
		}
	}
	return &fitProblem{
		obs: obs, nonneg: []bool{false, true, true}, names: []string{"alpha", "L0", "A", "C"},
		grid: grid([]float64{0.1, 0.3, 0.6, 1, 1.5}), lo: []float64{1e-3}, hi: []float64{3}, nStarts: 2,
		features: func(x []float64, rows *mat.Dense) {
			for i := range obs {
				rows.Set(i, 0, 1)
				rows.Set(i, 1, math.Pow(s1[i], -x[0]))
				rows.Set(i, 2, -s2[i])
			}
		},
		build: func(x []float64) Law {
			return &Annealing{Alpha: x[0], L0: x[1], A: x[2], C: x[3], Lambda: opts.Lambda, Variant: v, Warmup: -1}
		},
	}, nil
}

// mplRunData is a run compressed for fitting the multi-power law.
type mplRunData struct {
	ref     float64
	eta     []float64
	lens    []int
	obsSeg  []int     // segment whose end is each point's step (−1: before k0)
	s1      []float64 // S1 at each point
	nPoints int
}

// compressRun merges the steps k0..last point of r into constant-rate
// segments (see FitOptions.Segment).
func compressRun(r Run, k0 int, tol float64) mplRunData {
	pts := fitPoints(r)
	last := pts[len(pts)-1].Step
	peak := 0.0
	for _, v := range r.LRs[:last+1] {
		peak = max(peak, v)
	}
	s1 := cumsum(r.LRs[:last+1])
	d := mplRunData{ref: r.LRs[k0-1], nPoints: len(pts)}
	isObs := map[int]bool{}
	for _, p := range pts {
		isObs[p.Step] = true
		d.s1 = append(d.s1, max(s1[p.Step], 1e-10))
	}
	segOf := map[int]int{}
	start, sum := k0, 0.0
	for i := k0; i <= last; i++ {
		sum += r.LRs[i]
		end := isObs[i] || i == last || math.Abs(r.LRs[i+1]-r.LRs[start]) > tol*peak
		if end {
			d.eta = append(d.eta, sum/float64(i-start+1))
			d.lens = append(d.lens, i-start+1)
			segOf[i] = len(d.eta) - 1
			start, sum = i+1, 0
		}
	}
	for _, p := range pts {
		if s, ok := segOf[p.Step]; ok {
			d.obsSeg = append(d.obsSeg, s)
		} else {
			d.obsSeg = append(d.obsSeg, -1)
		}
	}
	return d
}

// lossDrop returns LD/B at each point of the compressed run.
func (d *mplRunData) lossDrop(c, beta, gamma, eps float64) []float64 {
	ld := lossDropSegments(d.ref, d.eta, d.lens, c, beta, gamma, eps)
	out := make([]float64, d.nPoints)
	for j, s := range d.obsSeg {
		if s >= 0 {
			out[j] = ld[s]
		}
	}
	return out
}

// mplConvention checks a multi-power convention name.
func mplConvention(variant string) (Convention, error) {
	conv := Convention(variant)
	if conv == "" {
		conv = ConventionPaper
	}
	if conv != ConventionPaper && conv != ConventionRepo {
		return "", fmt.Errorf("losscurve: fit: mpl variant %q: want %q or %q", variant, ConventionPaper, ConventionRepo)
	}
	return conv, nil
}

// compressMPLRuns compresses every run for the multi-power law's fit.
func compressMPLRuns(runs []Run, conv Convention, tol float64) []mplRunData {
	var data []mplRunData
	for _, r := range runs {
		m := &MultiPower{Convention: conv, Warmup: -1}
		k0 := min(m.dropStart(r.LRs), len(r.LRs)-1)
		data = append(data, compressRun(r, max(k0, 1), tol))
	}
	return data
}

// fitEps is the relative error bound of the loss-drop expansion while
// fitting. The expansion's error is at most eps·Σ|Δ|; LD/B is about β·Σ Δ
// for small β, so eps follows β (see MultiPower.eps).
func fitEps(beta float64) float64 { return max(min(1e-6, 1e-3*beta), 1e-13) }

func newMPLProblem(runs []Run, opts FitOptions) (*fitProblem, error) {
	conv, err := mplConvention(opts.Variant)
	if err != nil {
		return nil, err
	}
	data := compressMPLRuns(runs, conv, opts.Segment)
	var obs []float64
	for _, r := range runs {
		for _, p := range fitPoints(r) {
			obs = append(obs, p.Loss)
		}
	}
	var prior func(x []float64) float64
	if w := opts.Prior; w > 0 {
		centre := opts.PriorCentre // checked by Fit
		if centre == nil {
			centre = DefaultPriorCentre()
		}
		c0, beta0, gamma0 := centre[0], centre[1], centre[2]
		prior = func(x []float64) float64 {
			a, b, c := math.Log(x[1]/c0), math.Log(x[2]/beta0), math.Log(x[3]/gamma0)
			return w * float64(len(obs)) * (a*a + b*b + c*c)
		}
	}
	return &fitProblem{
		prior: prior,
		obs:   obs, nonneg: []bool{false, true, true},
		names: []string{"alpha", "C", "beta", "gamma", "L0", "A", "B"},
		// α, C, β, γ.
		grid:    grid([]float64{0.2, 0.45, 0.8}, []float64{0.5, 2, 8}, []float64{0.01, 0.3, 0.6, 1.2}, []float64{0.3, 0.6, 1.2}),
		lo:      []float64{1e-3, 1e-8, 1e-6, 1e-3},
		hi:      []float64{3, 1e4, 2.5, 6},
		nStarts: 3,
		features: func(x []float64, rows *mat.Dense) {
			i := 0
			for di := range data {
				ld := data[di].lossDrop(x[1], x[2], x[3], fitEps(x[2]))
				for j := 0; j < data[di].nPoints; j++ {
					rows.Set(i, 0, 1)
					rows.Set(i, 1, math.Pow(data[di].s1[j], -x[0]))
					rows.Set(i, 2, -ld[j])
					i++
				}
			}
		},
		build: func(x []float64) Law {
			return &MultiPower{Alpha: x[0], C: x[1], Beta: x[2], Gamma: x[3], L0: x[4], A: x[5], B: x[6], Convention: conv, Warmup: -1}
		},
	}, nil
}

// dropRepeatedPoints removes from each run the observed points that an
// earlier run of runs already holds: the same step and the same loss,
// with the same rates at every update before that step. Such a point is
// one measurement logged twice (a run resumed from another's checkpoint,
// as WSD cooldowns resume from a constant-rate run, logs its losses until
// it departs), and counting it once per run would weigh the shared prefix
// twice in the fit and in the prior's weight. Runs left with no points
// after warm-up are dropped. It returns the runs and how many points it
// removed.
func dropRepeatedPoints(runs []Run) ([]Run, int) {
	removed := 0
	out := make([]Run, 0, len(runs))
	for i, r := range runs {
		seen := map[Point]bool{} // points of earlier runs that share r's rates up to their step
		for _, e := range runs[:i] {
			same := Departure(r.LRs, e.LRs) // updates 0..same-1 agree
			for _, p := range e.Points {
				if p.Step <= same {
					seen[p] = true
				}
			}
		}
		if len(seen) == 0 {
			out = append(out, r)
			continue
		}
		kept := keepPoints(r, func(p Point) bool { return !seen[p] })
		removed += len(r.Points) - len(kept.Points)
		if len(fitPoints(kept)) > 0 {
			out = append(out, kept)
		}
	}
	return out, removed
}
