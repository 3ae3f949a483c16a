package scaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// FitOptions tune the fit.
type FitOptions struct {
	// Delta is the Huber loss's δ on log-loss residuals; 0: 10⁻³
	// (Hoffmann et al.).
	Delta float64
	// Starts are the initial parameter vectors tried (log A, log B, log E,
	// α, β for Chinchilla; log A, log E, α for the compute forms); nil: a
	// grid.
	Starts [][]float64
}

// terms evaluates the log-space model: log L̂ = LSE over the form's terms.
type model struct {
	form Form
	x, y []float64 // log N (or log C) and log D
	logL []float64
	del  float64
}

// eval returns the Huber objective (per δ) at θ and, when grad is not
// nil, fills it with the gradient.
func (m *model) eval(th []float64, grad []float64) float64 {
	for i := range grad {
		grad[i] = 0
	}
	var obj float64
	var u [3]float64
	for i := range m.x {
		n := 0
		switch m.form {
		case Chinchilla: // θ = a, b, e, α, β
			u[0], u[1], u[2], n = th[0]-th[3]*m.x[i], th[1]-th[4]*m.y[i], th[2], 3
		case Saturating: // θ = a, e, α
			u[0], u[1], n = th[0]-th[2]*m.x[i], th[1], 2
		default: // θ = a, α
			u[0], n = th[0]-th[1]*m.x[i], 1
		}
		mx := u[0]
		for k := 1; k < n; k++ {
			mx = max(mx, u[k])
		}
		var s float64
		var w [3]float64
		for k := range n {
			w[k] = math.Exp(u[k] - mx)
			s += w[k]
		}
		r := mx + math.Log(s) - m.logL[i]
		if math.Abs(r) <= m.del {
			obj += r * r / 2 / m.del
		} else {
			obj += math.Abs(r) - m.del/2
		}
		if grad == nil {
			continue
		}
		h := max(-1, min(1, r/m.del)) // dHuber/dr / δ
		for k := range n {
			w[k] /= s
		}
		switch m.form {
		case Chinchilla:
			grad[0] += h * w[0]
			grad[1] += h * w[1]
			grad[2] += h * w[2]
			grad[3] -= h * w[0] * m.x[i]
			grad[4] -= h * w[1] * m.y[i]
		case Saturating:
			grad[0] += h * w[0]
			grad[1] += h * w[1]
			grad[2] -= h * w[0] * m.x[i]
		default:
			grad[0] += h
			grad[1] -= h * m.x[i]
		}
	}
	return obj
}

func defaultStarts(form Form) [][]float64 {
	var out [][]float64
	exps := []float64{0.1, 0.4, 1}
	logs := []float64{0, 6, 15}
	es := []float64{-1, 0.5}
	switch form {
	case Chinchilla:
		for _, a := range logs {
			for _, b := range logs {
				for _, e := range es {
					for _, al := range exps {
						for _, be := range exps {
							out = append(out, []float64{a, b, e, al, be})
						}
					}
				}
			}
		}
	case Saturating:
		for _, a := range logs {
			for _, e := range es {
				for _, al := range exps {
					out = append(out, []float64{a, e, al})
				}
			}
		}
	default:
		for _, a := range logs {
			for _, al := range exps {
				out = append(out, []float64{a, al})
			}
		}
	}
	return out
}

// Fit fits the form to points: all of them for Chinchilla, the compute
// frontier for the compute forms.
func Fit(ctx context.Context, form Form, points []Point, o FitOptions) (Law, error) {
	if _, err := ParseForm(string(form)); err != nil {
		return Law{}, err
	}
	fit := points
	if form != Chinchilla {
		fit = Frontier(points)
	}
	need := map[Form]int{Chinchilla: 5, Saturating: 3, PowerLaw: 2}[form]
	if len(fit) < need+1 {
		return Law{}, fmt.Errorf("scaling: %d points to fit (%d given), want at least %d for the %s form's %d parameters", len(fit), len(points), need+1, form, need)
	}
	m := &model{form: form, del: o.Delta}
	if m.del == 0 {
		m.del = 1e-3
	}
	if m.del < 0 || math.IsNaN(m.del) {
		return Law{}, fmt.Errorf("scaling: Huber delta %v, want > 0", o.Delta)
	}
	for i, p := range fit {
		if !(p.N > 0 && p.D > 0 && p.Loss > 0) || math.IsInf(p.N+p.D+p.Loss, 0) {
			return Law{}, fmt.Errorf("scaling: point %d (%s, N=%g, D=%g, loss=%g): want positive finite values", i, p.Group, p.N, p.D, p.Loss)
		}
		if form == Chinchilla {
			m.x, m.y = append(m.x, math.Log(p.N)), append(m.y, math.Log(p.D))
		} else {
			m.x = append(m.x, math.Log(p.Compute()))
		}
		m.logL = append(m.logL, math.Log(p.Loss))
	}
	starts := o.Starts
	if starts == nil {
		starts = defaultStarts(form)
	}
	best, bestObj := []float64(nil), math.Inf(1)
	prob := optimize.Problem{Func: func(th []float64) float64 { return m.eval(th, nil) },
		Grad: func(g, th []float64) { m.eval(th, g) }}
	settings := &optimize.Settings{GradientThreshold: 1e-10, Converger: &optimize.FunctionConverge{Absolute: 1e-12, Iterations: 50}, MajorIterations: 2000}
	for _, s0 := range starts {
		if err := ctx.Err(); err != nil {
			return Law{}, err
		}
		if len(s0) != need {
			return Law{}, fmt.Errorf("scaling: a start has %d values, the %s form has %d parameters", len(s0), form, need)
		}
		res, err := optimize.Minimize(prob, append([]float64(nil), s0...), settings, &optimize.LBFGS{})
		if res == nil || (err != nil && res.F >= bestObj) {
			continue
		}
		if res.F < bestObj && !math.IsNaN(res.F) {
			best, bestObj = res.X, res.F
		}
	}
	if best == nil {
		return Law{}, errors.New("scaling: no start converged")
	}
	l := Law{Form: form, Objective: bestObj, Points: len(points), Fitted: len(fit)}
	switch form {
	case Chinchilla:
		l.A, l.B, l.E, l.Alpha, l.Beta = math.Exp(best[0]), math.Exp(best[1]), math.Exp(best[2]), best[3], best[4]
	case Saturating:
		l.A, l.E, l.Alpha = math.Exp(best[0]), math.Exp(best[1]), best[2]
	default:
		l.A, l.Alpha = math.Exp(best[0]), best[1]
	}
	return l, nil
}

// theta returns the law's parameter vector, a start for refits.
func (l Law) theta() []float64 {
	switch l.Form {
	case Chinchilla:
		return []float64{math.Log(l.A), math.Log(l.B), math.Log(l.E), l.Alpha, l.Beta}
	case Saturating:
		return []float64{math.Log(l.A), math.Log(l.E), l.Alpha}
	}
	return []float64{math.Log(l.A), l.Alpha}
}

// Bootstrap refits the law b times on cluster resamples of the points:
// the distinct model sizes N are drawn with replacement and each drawn
// size brings all its points. Each refit starts from the full fit's
// optimum and a few grid points. Resamples with too few points to fit are
// drawn again.
func Bootstrap(ctx context.Context, full Law, points []Point, b int, seed uint64, o FitOptions) ([]Law, error) {
	bySize := map[float64][]Point{}
	var sizes []float64
	for _, p := range points {
		if bySize[p.N] == nil {
			sizes = append(sizes, p.N)
		}
		bySize[p.N] = append(bySize[p.N], p)
	}
	sort.Float64s(sizes)
	if len(sizes) < 4 {
		// Resamples must keep 3 distinct sizes to fit; from 3 sizes the
		// only such resample is the data itself, an interval of width 0.
		return nil, fmt.Errorf("scaling: %d model sizes, want at least 4 to bootstrap", len(sizes))
	}
	grid := defaultStarts(full.Form)
	o.Starts = [][]float64{full.theta()}
	for k := 0; k < len(grid); k += max(1, len(grid)/8) {
		o.Starts = append(o.Starts, grid[k])
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ca1e))
	laws := make([]Law, 0, b)
	for tries := 0; len(laws) < b && tries < 20*b; tries++ {
		var ps []Point
		distinct := map[float64]bool{}
		for range sizes {
			n := sizes[rng.IntN(len(sizes))]
			distinct[n] = true
			ps = append(ps, bySize[n]...)
		}
		if len(distinct) < 3 {
			continue
		}
		l, err := Fit(ctx, full.Form, ps, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		laws = append(laws, l)
	}
	if len(laws) < b {
		return nil, fmt.Errorf("scaling: only %d of %d bootstrap refits succeeded", len(laws), b)
	}
	return laws, nil
}

// Interval returns the percentile 95% interval of f over the laws.
func Interval(laws []Law, f func(Law) float64) [2]float64 {
	vs := make([]float64, len(laws))
	for i, l := range laws {
		vs[i] = f(l)
	}
	return percentile95(vs)
}

// percentile95 returns the 2.5% and 97.5% quantiles of the non-NaN values
// (linear interpolation between order statistics).
func percentile95(xs []float64) [2]float64 {
	var vs []float64
	for _, v := range xs {
		if !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return [2]float64{math.NaN(), math.NaN()}
	}
	sort.Float64s(vs)
	q := func(p float64) float64 {
		h := p * float64(len(vs)-1)
		lo := int(h)
		if lo+1 >= len(vs) {
			return vs[len(vs)-1]
		}
		return vs[lo] + (h-float64(lo))*(vs[lo+1]-vs[lo])
	}
	return [2]float64{q(0.025), q(0.975)}
}
