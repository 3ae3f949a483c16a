package early

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Group is one set of finished siblings with their final values (the
// validation metric at the end of the budget).
type Group struct {
	Name        string
	Trials      []Trial
	Final       []float64
	LowerBetter bool
}

// Agreement is how well a rule's early ranking at one fraction agrees with
// the final ranking, over groups: each value is the mean over groups with
// a percentile bootstrap 95% interval (groups resampled with replacement).
type Agreement struct {
	Rule     string
	Fraction float64
	Groups   int
	// Top1 is the fraction of groups where the early pick had the best
	// final value; Chance the mean of 1/siblings (a random pick).
	Top1, Chance float64
	Top1CI       [2]float64
	// Spearman and Kendall (τ-b) correlate the early score with the final
	// value, signed so that +1 is perfect agreement.
	Spearman, Kendall     float64
	SpearmanCI, KendallCI [2]float64
	// Regret is the mean gap between the early pick's final value and the
	// best (positive: worse), in the final value's units.
	Regret   float64
	RegretCI [2]float64
}

// ValidateOptions set the bootstrap.
type ValidateOptions struct {
	Window    Window
	Bootstrap int    // resamples; 0: 2000
	Seed      uint64 // bootstrap generator seed
}

// perGroup are one group's agreement values at one fraction.
type perGroup struct{ top1, chance, rho, tau, regret float64 }

// Validate measures, for every rule and fraction, how often the early
// ranking of each group picks its final winner and how the early scores
// correlate with the final values.
func Validate(groups []Group, fractions []float64, rules []Rule, o ValidateOptions) ([]Agreement, error) {
	if len(groups) == 0 {
		return nil, errors.New("early: no groups to validate on")
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = 2000
	}
	if o.Bootstrap < 0 {
		return nil, fmt.Errorf("early: %d bootstrap resamples, want > 0", o.Bootstrap)
	}
	var out []Agreement
	for _, r := range rules {
		for _, f := range fractions {
			vals := make([]perGroup, len(groups))
			for g, gr := range groups {
				v, err := agree(gr, f, r, o.Window)
				if err != nil {
					return nil, fmt.Errorf("group %s: %w", gr.Name, err)
				}
				vals[g] = v
			}
			out = append(out, summarise(r.Name, f, vals, o))
		}
	}
	return out, nil
}

func agree(g Group, f float64, r Rule, w Window) (perGroup, error) {
	if len(g.Final) != len(g.Trials) || len(g.Trials) < 2 {
		return perGroup{}, fmt.Errorf("%d trials and %d final values, want the same number, at least 2", len(g.Trials), len(g.Final))
	}
	scores, err := Rank(g.Trials, f, r, w)
	if err != nil {
		return perGroup{}, err
	}
	byID := make(map[string]int, len(g.Trials))
	for i, t := range g.Trials {
		byID[t.ID] = i
	}
	sign := 1.0
	if !g.LowerBetter {
		sign = -1
	}
	best := math.Inf(1)
	for _, v := range g.Final {
		if bad(v) {
			return perGroup{}, fmt.Errorf("a final value is %v", v)
		}
		best = min(best, sign*v)
	}
	early := make([]float64, len(g.Trials))
	final := make([]float64, len(g.Trials))
	for _, s := range scores {
		i := byID[s.ID]
		early[i] = s.Score
		final[i] = sign * g.Final[i]
	}
	pick := sign * g.Final[byID[scores[0].ID]]
	v := perGroup{chance: 1 / float64(len(g.Trials)), regret: pick - best}
	if pick == best {
		v.top1 = 1
	}
	v.rho = Spearman(early, final)
	v.tau = Kendall(early, final)
	return v, nil
}

func summarise(rule string, f float64, vals []perGroup, o ValidateOptions) Agreement {
	get := func(k int) []float64 {
		xs := make([]float64, len(vals))
		for i, v := range vals {
			xs[i] = [...]float64{v.top1, v.chance, v.rho, v.tau, v.regret}[k]
		}
		return xs
	}
	a := Agreement{Rule: rule, Fraction: f, Groups: len(vals)}
	rng := rand.New(rand.NewPCG(o.Seed, 0xb007))
	a.Top1, a.Top1CI = BootstrapMean(get(0), o.Bootstrap, rng)
	a.Chance = mean(get(1))
	a.Spearman, a.SpearmanCI = BootstrapMean(get(2), o.Bootstrap, rng)
	a.Kendall, a.KendallCI = BootstrapMean(get(3), o.Bootstrap, rng)
	a.Regret, a.RegretCI = BootstrapMean(get(4), o.Bootstrap, rng)
	return a
}

// BootstrapMean returns the mean of xs and a percentile bootstrap 95%
// interval from b resamples. NaN values (an undefined correlation) are
// left out.
func BootstrapMean(xs []float64, b int, rng *rand.Rand) (float64, [2]float64) {
	var ys []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ys = append(ys, x)
		}
	}
	if len(ys) == 0 {
		return math.NaN(), [2]float64{math.NaN(), math.NaN()}
	}
	ms := make([]float64, b)
	for k := range ms {
		s := 0.0
		for range ys {
			s += ys[rng.IntN(len(ys))]
		}
		ms[k] = s / float64(len(ys))
	}
	sort.Float64s(ms)
	return mean(ys), [2]float64{Quantile(ms, 0.025), Quantile(ms, 0.975)}
}

// Quantile returns the q-quantile of sorted xs by linear interpolation
// between order statistics (type 7, R's default).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// ranks returns the average ranks (1-based, ties averaged) of xs.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// Spearman is the rank correlation of x and y (Pearson's r of the average
// ranks); NaN when either is constant. Infinite values rank last.
func Spearman(x, y []float64) float64 {
	return pearson(ranks(x), ranks(y))
}

func pearson(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Kendall is Kendall's τ-b of x and y (ties adjusted); NaN when either is
// constant.
func Kendall(x, y []float64) float64 {
	var c, d, tx, ty float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			a := cmp(x[i], x[j])
			b := cmp(y[i], y[j])
			switch {
			case a == 0 && b == 0:
			case a == 0:
				tx++
			case b == 0:
				ty++
			case a == b:
				c++
			default:
				d++
			}
		}
	}
	den := math.Sqrt((c + d + tx) * (c + d + ty))
	if den == 0 {
		return math.NaN()
	}
	return (c - d) / den
}

func cmp(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
