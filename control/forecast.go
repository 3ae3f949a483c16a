package control

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// ExpFit is the exponential model AutoLRS fits to a short loss series:
// y(x) ≈ A·exp(B·x) + C with B = −exp(B′) < 0.
type ExpFit struct{ A, B, C float64 }

// At returns the model's value at x.
func (f ExpFit) At(x float64) float64 { return f.A*math.Exp(f.B*x) + f.C }

// FitExp fits y_i ≈ A·exp(B·i) + C at x = 0..len(y)−1 as AutoLRS does
// (YuchenJin/autolrs autolrs_server.py): for a fixed B′, (A, C) solve a
// linear least-squares problem on the basis [exp(B·x), 1]; B′ minimises the
// residual by Nelder–Mead from B′ = 0 (gonum optimize).
//
// lrkit adds one constraint (a deviation): C ≥ floor. On a window where the
// loss still falls almost linearly, the unconstrained fit sends B to 0⁻,
// A to +∞ and C to −∞, and forecasts a loss far below anything reachable;
// with floor = 0 (a cross-entropy or squared loss) the asymptote stays
// meaningful. Pass math.Inf(-1) for the released, unconstrained fit.
func FitExp(y []float64, floor float64) ExpFit {
	n := len(y)
	if n == 0 {
		return ExpFit{C: math.NaN()}
	}
	solve := func(bp float64) (ExpFit, float64) {
		b := -math.Exp(bp)
		var se, see, sy, sey float64
		for i, v := range y {
			e := math.Exp(b * float64(i))
			se += e
			see += e * e
			sy += v
			sey += e * v
		}
		nn := float64(n)
		det := see*nn - se*se
		var f ExpFit
		if math.Abs(det) <= 1e-12*see*nn || math.IsNaN(det) {
			f = ExpFit{A: 0, B: b, C: sy / nn}
		} else {
			f = ExpFit{A: (nn*sey - se*sy) / det, B: b, C: (see*sy - se*sey) / det}
		}
		if f.C < floor && see > 0 {
			// c fixed at the floor; a by least squares on exp(b·x).
			f.C = floor
			f.A = (sey - floor*se) / see
		}
		var r float64
		for i, v := range y {
			d := f.At(float64(i)) - v
			r += d * d
		}
		return f, r
	}
	obj := func(p []float64) float64 {
		if p[0] > 50 || p[0] < -50 {
			return math.Inf(1)
		}
		_, r := solve(p[0])
		if math.IsNaN(r) {
			return math.Inf(1)
		}
		return r
	}
	bp := 0.0
	res, _ := optimize.Minimize(optimize.Problem{Func: obj}, []float64{0},
		&optimize.Settings{Converger: &optimize.FunctionConverge{Absolute: 1e-5, Relative: 1e-5, Iterations: 50}, FuncEvaluations: 5000},
		&optimize.NelderMead{})
	if res != nil && len(res.X) == 1 && !math.IsInf(res.F, 0) {
		bp = res.X[0]
	}
	f, _ := solve(bp)
	return f
}

// RobustSmooth is lrkit's stand-in for AutoLRS's robust spline smoothing
// (a deviation: the released code refits a degree-2 scipy
// UnivariateSpline). The smoother is a local linear regression (LOESS with
// tricube weights over the nearest fifth of the points kept, at least 5),
// which follows a steep start without the bias of a one-sided median. For
// `rounds` rounds it drops the `frac` share of points (at least one) with
// the largest residual, only from the first half of the series, as the
// released code does (training loss: 10 rounds of 3%; validation loss: 1
// round dropping the single largest), and refits. It returns the smoothed
// value at every x = 0..len(y)−1.
func RobustSmooth(y []float64, rounds int, frac float64) []float64 {
	n := len(y)
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	s := loess(y, keep)
	for range rounds {
		drop := int(frac * float64(n))
		if frac <= 0 {
			drop = 1
		}
		type cand struct {
			i int
			r float64
		}
		var cs []cand
		for i := 0; i < n/2; i++ {
			if keep[i] {
				cs = append(cs, cand{i, math.Abs(y[i] - s[i])})
			}
		}
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].r > cs[b].r })
		for k := 0; k < drop && k < len(cs); k++ {
			keep[cs[k].i] = false
		}
		s = loess(y, keep)
	}
	return s
}

// loess evaluates a tricube-weighted local linear fit through the kept
// points at every x.
func loess(y []float64, keep []bool) []float64 {
	n := len(y)
	var xs []int
	for i, k := range keep {
		if k {
			xs = append(xs, i)
		}
	}
	out := make([]float64, n)
	m := len(xs)
	if m == 0 {
		return out
	}
	k := min(m, max(5, n/5))
	d := make([]float64, m)
	for i := range n {
		// the k nearest kept points: a window slid over the sorted xs.
		lo := sort.SearchInts(xs, i)
		a, b := lo, lo // [a, b)
		for b-a < k {
			switch {
			case a == 0:
				b++
			case b == m:
				a--
			case i-xs[a-1] <= xs[b]-i:
				a--
			default:
				b++
			}
		}
		h := 0.0
		for j := a; j < b; j++ {
			d[j] = math.Abs(float64(xs[j] - i))
			h = math.Max(h, d[j])
		}
		h = h*1.0001 + 1e-9
		var sw, sx, sy, sxx, sxy float64
		for j := a; j < b; j++ {
			u := d[j] / h
			w := math.Pow(1-u*u*u, 3)
			x := float64(xs[j] - i)
			sw += w
			sx += w * x
			sy += w * y[xs[j]]
			sxx += w * x * x
			sxy += w * x * y[xs[j]]
		}
		det := sw*sxx - sx*sx
		if det <= 1e-12*sw*sxx || sw == 0 {
			out[i] = sy / sw
			continue
		}
		out[i] = (sxx*sy - sx*sxy) / det // intercept at x = i
	}
	return out
}

// ForecastLoss predicts the loss `ahead` steps after the start of a short
// series of training losses, as AutoLRS does: robust smoothing (10 rounds
// of 3%), the exponential fit with asymptote at least floor (see FitExp),
// and its value at x = ahead. A series with a NaN or infinite value
// forecasts NaN.
func ForecastLoss(losses []float64, ahead, floor float64) float64 {
	for _, v := range losses {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.NaN()
		}
	}
	if len(losses) == 0 {
		return math.NaN()
	}
	return FitExp(RobustSmooth(losses, 10, 0.03), floor).At(ahead)
}
