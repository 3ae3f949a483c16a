package control

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// gp is a one-dimensional Gaussian-process regression on [0, 1], as
// AutoLRS uses through scikit-optimize's default GP: a constant × Matérn
// 5/2 kernel plus Gaussian noise, fitted to normalised targets (y minus
// its mean, over its standard deviation) by maximising the log marginal
// likelihood. Kernel hyperparameters are searched in log space within
// skopt's bounds (constant 0.01..1000, length scale 0.01..100) and noise
// 1e-10..1, by Nelder–Mead from three starts.
type gp struct {
	xs, ys     []float64 // observations (ys raw)
	mean, std  float64   // normalisation of ys
	amp, ell   float64   // constant and length scale
	noise      float64   // noise variance (normalised units)
	chol       mat.Cholesky
	alpha      *mat.VecDense // K⁻¹·y (normalised)
	fitted     bool
	scratchVec []float64
}

// matern52 is the Matérn ν = 5/2 correlation at distance r for length ell.
func matern52(r, ell float64) float64 {
	s := math.Sqrt(5) * math.Abs(r) / ell
	return (1 + s + s*s/3) * math.Exp(-s)
}

// fit sets the observations and fits the hyperparameters.
func (g *gp) fit(xs, ys []float64) {
	g.xs, g.ys = xs, ys
	n := len(ys)
	g.mean, g.std = 0, 1
	for _, y := range ys {
		g.mean += y
	}
	g.mean /= float64(n)
	var v float64
	for _, y := range ys {
		v += (y - g.mean) * (y - g.mean)
	}
	if n > 1 && v > 0 {
		g.std = math.Sqrt(v / float64(n))
	}
	yn := make([]float64, n)
	for i, y := range ys {
		yn[i] = (y - g.mean) / g.std
	}
	clampP := func(p []float64) (amp, ell, noise float64) {
		amp = math.Exp(math.Min(math.Log(1000), math.Max(math.Log(0.01), p[0])))
		ell = math.Exp(math.Min(math.Log(100), math.Max(math.Log(0.01), p[1])))
		noise = math.Exp(math.Min(0, math.Max(math.Log(1e-10), p[2])))
		return
	}
	nll := func(p []float64) float64 {
		amp, ell, noise := clampP(p)
		var ch mat.Cholesky
		if !g.factor(&ch, amp, ell, noise) {
			return math.Inf(1)
		}
		a := mat.NewVecDense(n, nil)
		if err := ch.SolveVecTo(a, mat.NewVecDense(n, yn)); err != nil {
			return math.Inf(1)
		}
		return 0.5*mat.Dot(mat.NewVecDense(n, yn), a) + 0.5*ch.LogDet() + 0.5*float64(n)*math.Log(2*math.Pi)
	}
	best := []float64{0, 0, math.Log(1e-2)}
	bestF := nll(best)
	if n > 1 {
		for _, start := range [][]float64{{0, 0, math.Log(1e-2)}, {0, math.Log(0.1), math.Log(1e-4)}, {0, math.Log(0.3), math.Log(1e-6)}} {
			res, err := optimize.Minimize(optimize.Problem{Func: nll}, start,
				&optimize.Settings{Converger: &optimize.FunctionConverge{Absolute: 1e-8, Iterations: 50}, FuncEvaluations: 2000},
				&optimize.NelderMead{})
			if res != nil && (err == nil || !math.IsInf(res.F, 0)) && res.F < bestF {
				best, bestF = res.X, res.F
			}
		}
	}
	g.amp, g.ell, g.noise = clampP(best)
	g.fitted = g.factor(&g.chol, g.amp, g.ell, g.noise)
	if !g.fitted {
		// Fall back to a large noise, always positive definite.
		g.noise = 1
		g.fitted = g.factor(&g.chol, g.amp, g.ell, g.noise)
	}
	g.alpha = mat.NewVecDense(n, nil)
	if err := g.chol.SolveVecTo(g.alpha, mat.NewVecDense(n, yn)); err != nil {
		g.fitted = false
	}
	g.scratchVec = make([]float64, n)
}

func (g *gp) factor(ch *mat.Cholesky, amp, ell, noise float64) bool {
	n := len(g.xs)
	k := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			v := amp * matern52(g.xs[i]-g.xs[j], ell)
			if i == j {
				v += noise
			}
			k.SetSym(i, j, v)
		}
	}
	return ch.Factorize(k)
}

// predict returns the posterior mean and standard deviation of the
// (unnormalised) target at x, without the noise term.
func (g *gp) predict(x float64) (mu, sd float64) {
	if !g.fitted {
		return g.mean, g.std
	}
	n := len(g.xs)
	ks := g.scratchVec
	for i := range n {
		ks[i] = g.amp * matern52(x-g.xs[i], g.ell)
	}
	kv := mat.NewVecDense(n, ks)
	mu = mat.Dot(kv, g.alpha)
	w := mat.NewVecDense(n, nil)
	if err := g.chol.SolveVecTo(w, kv); err != nil {
		return g.mean, g.std
	}
	v := g.amp - mat.Dot(kv, w)
	if v < 0 {
		v = 0
	}
	return g.mean + g.std*mu, g.std * math.Sqrt(v)
}
