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
func FitExp(y []float64) ExpFit {
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
// UnivariateSpline). It takes a centred moving median of width about a
// tenth of the series (odd, at least 3) over the points kept so far, and
// for `rounds` rounds drops the `frac` share of points with the largest
// residual, only from the first half of the series, as the released code
// does (training loss: 10 rounds of 3%; validation loss: 1 round dropping
// the single largest). It returns the smoothed value at every x.
func RobustSmooth(y []float64, rounds int, frac float64) []float64 {
	n := len(y)
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	h := max(1, n/20)
	smooth := func() []float64 {
		out := make([]float64, n)
		win := make([]float64, 0, 2*h+1)
		for i := range n {
			win = win[:0]
			for w := h; len(win) == 0 && w <= n; w *= 2 {
				for j := max(0, i-w); j <= min(n-1, i+w); j++ {
					if keep[j] {
						win = append(win, y[j])
					}
				}
			}
			sort.Float64s(win)
			m := len(win)
			if m%2 == 1 {
				out[i] = win[m/2]
			} else {
				out[i] = (win[m/2-1] + win[m/2]) / 2
			}
		}
		return out
	}
	s := smooth()
	for range rounds {
		drop := int(math.Ceil(frac * float64(n)))
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
		s = smooth()
	}
	return s
}

// ForecastLoss predicts the loss `ahead` steps after the start of a short
// series of training losses, as AutoLRS does: robust smoothing (10 rounds
// of 3%), the exponential fit, and its value at x = ahead. A series with a
// NaN or infinite value forecasts NaN.
func ForecastLoss(losses []float64, ahead float64) float64 {
	for _, v := range losses {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.NaN()
		}
	}
	if len(losses) == 0 {
		return math.NaN()
	}
	return FitExp(RobustSmooth(losses, 10, 0.03)).At(ahead)
}
