package losscurve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// The released recipe (RecipeReleased) follows the multi-power law
// paper's public fitting code, thu-yao-01-luo/MultiPowerLaw, read in
// src/fitting.py, src/models.py, src/utils.py and src/config.py (our own
// implementation, not a port):
//
//  1. Initialisation: a linear regression of log(L − min L + 0.01) on
//     log S1 gives A and α; a grid of L0 = min L ± 0.2 (5 values),
//     A ± 0.1 (3), α ± 0.1 (3) and B ∈ {100, 550, 1000} starts L-BFGS-B on
//     the proxy L0 + A·S1^−α − B·(η_peak − η_t) with every parameter ≥ 0;
//     the best proxy fit is kept. The proxy's optimum is found here by
//     variable projection (its L0, A, B enter linearly) polished by
//     L-BFGS; on the paper's curves it matches the released log's start to
//     six digits.
//  2. C = 1, β = 0.5, γ = 0.5.
//  3. PyTorch AdamW (β1 = 0.9, β2 = 0.999, ε = 1e-8, weight decay 0.01)
//     with learning rate 5e-2 on L0, A, B, C and 5e-3 on α, β, γ, on the
//     sum over runs of Huber_δ=1e-3(log L − log L̂) over every logged point,
//     the observed losses held in float32; at most 200 steps, stopping
//     after 20 steps without a strict decrease (once past step 20) or when
//     the gradient norm falls below 1e-5.
//  4. Read-out: the parameters kept are those just after the AdamW step
//     whose objective (evaluated before that step) was the lowest, as the
//     released loop records them.
//
// The loss drop sums every rate change from step 1 on, the warm-up's
// increases included (ConventionRepo), as in the released model.
const (
	releasedLR1      = 5e-2 // L0, A, B, C
	releasedLR2      = 5e-3 // α, β, γ
	releasedSteps    = 200
	releasedPatience = 20
	releasedGradThr  = 1e-5
	adamBeta1        = 0.9
	adamBeta2        = 0.999
	adamEps          = 1e-8
	adamWeightDecay  = 0.01 // PyTorch AdamW's default
)

// releasedCurve is one run prepared for the released recipe.
type releasedCurve struct {
	data   mplRunData
	logObs []float64 // log of the float32 loss, in float32 as PyTorch computes it
	obs    []float64
	lr     []float64 // rate at each point's step
}

func fitReleased(ctx context.Context, kind string, runs, fitRuns []Run, opts FitOptions) (*Fitted, FitReport, error) {
	if kind != KindMPL {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: the released recipe fits only the %s law, not %q", KindMPL, kind)
	}
	if opts.Variant != "" && opts.Variant != string(ConventionRepo) {
		return nil, FitReport{}, fmt.Errorf("losscurve: fit: the released recipe uses the %q convention, not %q", ConventionRepo, opts.Variant)
	}
	curves, peak := releasedCurves(fitRuns, opts)
	init, err := releasedInit(ctx, curves, peak, opts.Delta)
	if err != nil {
		return nil, FitReport{}, err
	}
	best, bestF, _, evals, err := releasedAdamW(ctx, curves, init, opts, 0, nil)
	if err != nil {
		return nil, FitReport{}, err
	}
	law := releasedLaw(best)
	fitted := &Fitted{Law: law, Info: newFitInfo(RecipeReleased, fitRuns)}
	rep := FitReport{Law: kind, Recipe: RecipeReleased, Objective: bestF, Starts: 1, Evaluations: evals}
	n, s2 := 0, 0.0
	for _, c := range curves {
		rep.Points += len(c.obs)
		ld := c.data.lossDrop(law.C, law.Beta, law.Gamma, fitEps(law.Beta))
		for j := range c.obs {
			pred := law.L0 + law.A*math.Pow(c.data.s1[j], -law.Alpha) - law.B*ld[j]
			if pred > 0 {
				r := math.Log(pred) - math.Log(c.obs[j])
				s2 += r * r
				n++
			}
		}
	}
	if n > 0 {
		fitted.Sigma = math.Sqrt(s2 / float64(n))
	}
	if rep.Runs, err = inSample(law, runs); err != nil {
		return nil, FitReport{}, err
	}
	return fitted, rep, nil
}

// releasedCurves prepares the fit runs for the released recipe and
// returns them with the highest rate of any run.
func releasedCurves(fitRuns []Run, opts FitOptions) ([]releasedCurve, float64) {
	// The released code evaluates the loss drop at every step; merge only
	// steps whose rates differ by less than 2e-4 of the peak.
	tol := min(opts.Segment, 2e-4)
	var curves []releasedCurve
	peak := 0.0
	for _, r := range fitRuns {
		c := releasedCurve{data: compressRun(r, 1, tol)}
		for _, p := range fitPoints(r) {
			f := float32(p.Loss)
			c.obs = append(c.obs, p.Loss)
			c.logObs = append(c.logObs, float64(float32(math.Log(float64(f)))))
			c.lr = append(c.lr, r.LRs[p.Step])
		}
		for _, v := range r.LRs {
			peak = max(peak, v)
		}
		curves = append(curves, c)
	}
	return curves, peak
}

// releasedAdamW runs the released recipe's AdamW from the initialisation
// init (L0, A, α, B; C, β, γ start at 1, 0.5, 0.5) until its stopping rule
// fires or releasedSteps steps are done, and returns the parameters it
// reads out (those after the step whose objective was the lowest before
// the stop), their objective, the number of AdamW steps taken to reach
// them and the number of objective evaluations. visit, if not nil, sees
// every step's parameters before that step (step 0 is the start) with
// their objective; with follow > 0 the steps go on past the stop up to
// step follow (the read-out is unchanged).
func releasedAdamW(ctx context.Context, curves []releasedCurve, init []float64, opts FitOptions, follow int, visit func(step int, objective float64, theta []float64)) ([]float64, float64, int, int, error) {
	theta := []float64{init[0], init[1], init[2], init[3], 1, 0.5, 0.5} // L0, A, α, B, C, β, γ
	lrs := []float64{releasedLR1, releasedLR1, releasedLR2, releasedLR1, releasedLR1, releasedLR2, releasedLR2}
	m := make([]float64, 7)
	v := make([]float64, 7)
	grad := make([]float64, 7)
	best := append([]float64(nil), theta...)
	bestF, minF := math.Inf(1), math.Inf(1)
	bestStep, noImprove, evals := 0, 0, 0
	stopped := false
	for step := 0; step < max(releasedSteps, follow+1); step++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, evals, fmt.Errorf("losscurve: fit: %w", err)
		}
		if step >= releasedSteps {
			stopped = true
		}
		if stopped && step > follow {
			break
		}
		f := releasedObjective(curves, theta, grad, opts.Delta)
		evals += 7
		if visit != nil {
			visit(step, f, theta)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			break
		}
		adamW(theta, grad, m, v, lrs, step+1)
		if stopped {
			continue
		}
		if f < minF {
			minF, noImprove = f, 0
		} else {
			noImprove++
		}
		if (step > releasedPatience && noImprove >= releasedPatience) || floats.Norm(grad, 2) < releasedGradThr {
			stopped = true
			continue
		}
		if f < bestF {
			bestF, bestStep = f, step+1
			copy(best, theta)
		}
		if opts.Progress != nil {
			opts.Progress(step+1, releasedSteps)
		}
	}
	return best, bestF, bestStep, evals, nil
}

// releasedLaw is the law of the released recipe's parameters theta (L0,
// A, α, B, C, β, γ).
func releasedLaw(theta []float64) *MultiPower {
	return &MultiPower{L0: theta[0], A: theta[1], Alpha: theta[2], B: theta[3], C: theta[4], Beta: theta[5], Gamma: theta[6], Convention: ConventionRepo, Warmup: -1}
}

// ReleasedStep is one point of the released recipe's optimiser path (see
// ReleasedPath).
type ReleasedStep struct {
	// Step is the number of AdamW steps taken.
	Step int
	// Objective is Σ Huber(log L − log L̂) over the fit runs at Law.
	Objective float64
	// Law holds the parameters after Step steps (repo convention).
	Law *MultiPower
	// ReadOut is set on the step whose parameters the released recipe
	// returns (its stopping rule and read-out applied to this path).
	ReadOut bool
}

// ReleasedPath follows the released recipe's optimiser (RecipeReleased:
// the same initialisation and AdamW) for steps steps without its stopping
// rule and returns its parameters every `every` steps, from the start, and
// at the step the released recipe reads out. It shows what the released
// recipe's early stop selects: the objective along this path is far from
// monotone (AdamW at these learning rates oscillates), so the read-out
// depends on where the patience rule happens to fire. Of opts only Delta,
// Segment, MinStep and MaxStep apply (MaxStep follows the path of a
// run's prefix).
func ReleasedPath(ctx context.Context, runs []Run, opts FitOptions, steps, every int) ([]ReleasedStep, error) {
	if steps < 1 || every < 1 {
		return nil, fmt.Errorf("losscurve: released path: steps %d and every %d must be positive", steps, every)
	}
	runs, opts, err := fitWindow("released path", runs, opts)
	if err != nil {
		return nil, err
	}
	curves, peak := releasedCurves(runs, opts)
	init, err := releasedInit(ctx, curves, peak, opts.Delta)
	if err != nil {
		return nil, err
	}
	var path []ReleasedStep // every step until the read-out is known
	_, _, readOut, _, err := releasedAdamW(ctx, curves, init, opts, steps, func(step int, f float64, theta []float64) {
		path = append(path, ReleasedStep{Step: step, Objective: f, Law: releasedLaw(theta)})
	})
	if err != nil {
		return nil, err
	}
	kept := path[:0]
	for _, s := range path {
		s.ReadOut = s.Step == readOut
		// The optimiser runs on to its stop, past steps if it comes later.
		if (s.Step%every == 0 && s.Step <= steps) || s.Step == steps || s.ReadOut {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// releasedObjective returns Σ Huber(log L − log L̂) over the curves at
// θ = (L0, A, α, B, C, β, γ) and writes its gradient to grad: exact for
// L0, A, α and B, central differences of the loss-drop expansion for C, β
// and γ.
func releasedObjective(curves []releasedCurve, theta, grad []float64, delta float64) float64 {
	L0, A, alpha, B, C, beta, gamma := theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], theta[6]
	for i := range grad {
		grad[i] = 0
	}
	const eps = 1e-13
	total := 0.0
	for _, c := range curves {
		// LD/B and its derivatives in C, β, γ by central differences
		// (relative step 1e-5), the seven expansions evaluated in parallel.
		var ld []float64
		dld := make([][]float64, 3)
		var wg sync.WaitGroup
		for k := -1; k < 3; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if k < 0 {
					ld = c.data.lossDrop(C, beta, gamma, eps)
					return
				}
				pv := []float64{C, beta, gamma}[k]
				h := 1e-5 * max(math.Abs(pv), 1e-8)
				p := []float64{C, beta, gamma}
				p[k] = pv + h
				up := c.data.lossDrop(p[0], p[1], p[2], eps)
				p[k] = pv - h
				dn := c.data.lossDrop(p[0], p[1], p[2], eps)
				d := make([]float64, len(up))
				for j := range up {
					d[j] = (up[j] - dn[j]) / (2 * h)
				}
				dld[k] = d
			}()
		}
		wg.Wait()
		for j := range c.obs {
			s1a := math.Pow(c.data.s1[j], -alpha)
			pred := L0 + A*s1a - B*ld[j]
			pc := max(pred, 1e-10)
			r := c.logObs[j] - math.Log(pc)
			total += huber(r, delta)
			if pred < 1e-10 {
				continue // clamped: no gradient
			}
			dh := r // d huber / d r
			if math.Abs(r) > delta {
				dh = math.Copysign(delta, r)
			}
			// dr/dθ = −(1/pred)·dpred/dθ.
			k := -dh / pred
			grad[0] += k
			grad[1] += k * s1a
			grad[2] += k * (-A * math.Log(c.data.s1[j]) * s1a)
			grad[3] += k * (-ld[j])
			grad[4] += k * (-B * dld[0][j])
			grad[5] += k * (-B * dld[1][j])
			grad[6] += k * (-B * dld[2][j])
		}
	}
	return total
}

// releasedInit returns (L0, A, α, B), the best fit of the released
// initialisation's proxy L0 + A·S1^−α − B·(peak − η_t).
func releasedInit(ctx context.Context, curves []releasedCurve, peak, delta float64) ([]float64, error) {
	minL := math.Inf(1)
	for _, c := range curves {
		for _, o := range c.obs {
			minL = min(minL, o)
		}
	}
	var lx, ly []float64
	var s1, gap, obs []float64
	for _, c := range curves {
		for j, o := range c.obs {
			lx = append(lx, math.Log(c.data.s1[j]))
			ly = append(ly, math.Log(o-minL+0.01))
			s1 = append(s1, c.data.s1[j])
			gap = append(gap, peak-c.lr[j])
			obs = append(obs, o)
		}
	}
	if len(lx) < 3 {
		return nil, errors.New("losscurve: fit: too few points for the released initialisation")
	}
	_, slope := stat.LinearRegression(lx, ly, nil, false)
	alpha0 := -slope
	// The proxy's α from a grid around the regression's slope (as the
	// released grid), refined by Nelder–Mead; L0, A and B (all ≥ 0 in the
	// released bounds) by variable projection.
	alphas := []float64{max(alpha0-0.1, 1e-3), max(alpha0, 1e-3), max(alpha0+0.1, 1e-3)}
	prob := &fitProblem{
		obs: obs, nonneg: []bool{true, true, true}, names: []string{"alpha", "L0", "A", "B"},
		grid: grid(alphas), lo: []float64{1e-6}, hi: []float64{10}, nStarts: 3, delta: delta,
		features: func(x []float64, rows *mat.Dense) {
			for i := range obs {
				rows.Set(i, 0, 1)
				rows.Set(i, 1, math.Pow(s1[i], -x[0]))
				rows.Set(i, 2, -gap[i])
			}
		},
		build: func(x []float64) Law { return nil },
	}
	sol, _, _, _, err := prob.minimise(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("losscurve: fit: released initialisation: %w", err)
	}
	// Polish all four on the exact Huber objective (the reweighted least
	// squares above stops a little short of it).
	x0 := []float64{sol[1], sol[2], sol[0], sol[3]}
	fg := func(x, g []float64) float64 {
		L0, A, al, B := x[0], x[1], x[2], x[3]
		if L0 < 0 || A < 0 || al < 0 || B < 0 {
			return math.Inf(1)
		}
		for i := range g {
			g[i] = 0
		}
		t := 0.0
		for i, o := range obs {
			sa := math.Pow(s1[i], -al)
			pred := L0 + A*sa - B*gap[i]
			if !(pred > 0) {
				return math.Inf(1)
			}
			r := math.Log(o) - math.Log(pred)
			t += huber(r, delta)
			dh := r
			if math.Abs(r) > delta {
				dh = math.Copysign(delta, r)
			}
			k := -dh / pred
			g[0] += k
			g[1] += k * sa
			g[2] += k * (-A * math.Log(s1[i]) * sa)
			g[3] += k * (-gap[i])
		}
		return t
	}
	// Minimize may stop with an error (a line search that cannot improve
	// at this precision) yet return its best point, which is all we need.
	res, _ := optimize.Minimize(optimize.Problem{
		Func: func(x []float64) float64 { return fg(x, make([]float64, 4)) },
		Grad: func(g, x []float64) { fg(x, g) },
	}, x0, &optimize.Settings{GradientThreshold: 1e-12, MajorIterations: 2000}, &optimize.LBFGS{})
	if res != nil && fg(res.X, make([]float64, 4)) < fg(x0, make([]float64, 4)) {
		x0 = res.X
	}
	return x0, nil
}

// adamW applies PyTorch's AdamW update number t (from 1) with per-parameter
// learning rates lrs, in PyTorch's order: decoupled weight decay, moment
// updates, then the bias-corrected step.
func adamW(theta, grad, m, v, lrs []float64, t int) {
	bc1 := 1 - math.Pow(adamBeta1, float64(t))
	bc2 := math.Sqrt(1 - math.Pow(adamBeta2, float64(t)))
	for i := range theta {
		theta[i] *= 1 - lrs[i]*adamWeightDecay
		m[i] = adamBeta1*m[i] + (1-adamBeta1)*grad[i]
		v[i] = adamBeta2*v[i] + (1-adamBeta2)*grad[i]*grad[i]
		theta[i] -= lrs[i] / bc1 * m[i] / (math.Sqrt(v[i])/bc2 + adamEps)
	}
}
