package scaling

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// StudyOptions set a scaling study: a law per group of points, bootstrap
// intervals, held-out sizes, and the comparison of every group with a
// reference.
type StudyOptions struct {
	Form      Form   // "": chinchilla
	Boot      int    // bootstrap refits; 0: 200
	Seed      uint64 // bootstrap seed
	HoldOut   int    // largest model sizes held out for prediction; 0: 1, < 0: none
	Reference string // the group the others are compared with; "": the first
	// Cooldown maps a group to its cooldown fraction when its points come
	// from one constant-rate run per size plus short cooldowns (wsd: 0.2;
	// 0: read off the constant run with no cooldown), for its compute
	// cost: 6·N·(longest D at that size + fraction·ΣD) instead of 6·N·ΣD.
	Cooldown map[string]float64
	// Extrapolate is how far past the largest observed compute the
	// comparison grid reaches, as a factor; 0: 100.
	Extrapolate float64
	// Progress, when set, is called after each fitted group.
	Progress func(msg string)
}

// GroupFit is one group's law, its bootstrap and its held-out predictions.
type GroupFit struct {
	Group  string
	Points []Point
	Law    Law
	// Params holds each parameter's bootstrap 95% interval.
	Params map[string][2]float64
	Boot   []Law
	// HeldOut are the predictions of a law fitted without the largest
	// sizes, with the bootstrap interval of that law.
	HeldOut []Prediction
	Cost    float64 // FLOPs of the runs behind the points
}

// Prediction is a held-out point and what the law fitted without it says.
type Prediction struct {
	Point
	Predicted float64
	CI        [2]float64
}

// Comparison is a group's compute-optimal loss against the reference's on
// a grid of compute values, with paired bootstrap intervals of the
// difference (group − reference; negative: the group is better).
type Comparison struct {
	Group, Reference string
	Compute          []float64
	Loss, RefLoss    []float64
	LossCI, RefCI    [][2]float64
	Diff             []float64
	DiffCI           [][2]float64
	// RelDiff is the mean of L_group(N, D)/L_ref(N, D) − 1 over the
	// reference's own runs (inside the observed range), with its paired
	// bootstrap interval.
	RelDiff   float64
	RelDiffCI [2]float64
}

// Report is a scaling study's outcome.
type Report struct {
	Options     StudyOptions
	Fits        []GroupFit
	Comparisons []Comparison
}

// Study fits a law to every group of points and compares the groups.
func Study(ctx context.Context, points []Point, o StudyOptions) (*Report, error) {
	if o.Form == "" {
		o.Form = Chinchilla
	}
	if o.Boot == 0 {
		o.Boot = 200
	}
	if o.HoldOut == 0 {
		o.HoldOut = 1
	}
	if o.Extrapolate == 0 {
		o.Extrapolate = 100
	}
	groups := Groups(points)
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	if o.Reference == "" {
		o.Reference = names[0]
	}
	if groups[o.Reference] == nil {
		return nil, fmt.Errorf("scaling: reference group %q has no points (have %s)", o.Reference, strings.Join(names, ", "))
	}
	r := &Report{Options: o}
	for _, g := range names {
		gf, err := fitGroup(ctx, g, groups[g], o)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", g, err)
		}
		r.Fits = append(r.Fits, gf)
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("%s: %s", g, gf.Law))
		}
	}
	lo, hi := math.Inf(1), 0.0
	for _, p := range points {
		lo, hi = min(lo, p.Compute()), max(hi, p.Compute())
	}
	grid := logGrid(lo, hi*o.Extrapolate, 25)
	ref := r.fit(o.Reference)
	for _, gf := range r.Fits {
		if gf.Group != o.Reference {
			r.Comparisons = append(r.Comparisons, compare(gf, *ref, grid))
		}
	}
	return r, nil
}

func (r *Report) fit(g string) *GroupFit {
	for i := range r.Fits {
		if r.Fits[i].Group == g {
			return &r.Fits[i]
		}
	}
	return nil
}

func fitGroup(ctx context.Context, g string, ps []Point, o StudyOptions) (GroupFit, error) {
	frac, shared := o.Cooldown[g]
	gf := GroupFit{Group: g, Points: ps, Cost: cost(ps, frac, shared)}
	var err error
	if gf.Law, err = Fit(ctx, o.Form, ps, FitOptions{}); err != nil {
		return gf, err
	}
	if gf.Boot, err = Bootstrap(ctx, gf.Law, ps, o.Boot, o.Seed, FitOptions{}); err != nil {
		return gf, err
	}
	gf.Params = map[string][2]float64{}
	for name, f := range paramFuncs(o.Form) {
		gf.Params[name] = Interval(gf.Boot, f)
	}
	if o.HoldOut > 0 {
		gf.HeldOut, err = holdOut(ctx, ps, o)
	}
	return gf, err
}

func paramFuncs(f Form) map[string]func(Law) float64 {
	m := map[string]func(Law) float64{
		"E": func(l Law) float64 { return l.E }, "A": func(l Law) float64 { return l.A },
		"alpha": func(l Law) float64 { return l.Alpha },
	}
	if f == Chinchilla {
		m["B"] = func(l Law) float64 { return l.B }
		m["beta"] = func(l Law) float64 { return l.Beta }
	}
	return m
}

// holdOut fits the law without the o.HoldOut largest sizes and predicts
// their points.
func holdOut(ctx context.Context, ps []Point, o StudyOptions) ([]Prediction, error) {
	var sizes []float64
	seen := map[float64]bool{}
	for _, p := range ps {
		if !seen[p.N] {
			seen[p.N] = true
			sizes = append(sizes, p.N)
		}
	}
	sort.Float64s(sizes)
	if len(sizes)-o.HoldOut < 3 {
		return nil, fmt.Errorf("%d sizes leave %d to fit after holding out %d, want 3", len(sizes), len(sizes)-o.HoldOut, o.HoldOut)
	}
	cut := sizes[len(sizes)-o.HoldOut]
	var keep, held []Point
	for _, p := range ps {
		if p.N < cut {
			keep = append(keep, p)
		} else {
			held = append(held, p)
		}
	}
	law, err := Fit(ctx, o.Form, keep, FitOptions{})
	if err != nil {
		return nil, fmt.Errorf("held-out fit: %w", err)
	}
	// With fewer than 4 sizes left there is no cluster bootstrap: the
	// predictions go without an interval (NaN).
	boot, _ := Bootstrap(ctx, law, keep, o.Boot, o.Seed+1, FitOptions{})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Prediction, len(held))
	for i, p := range held {
		out[i] = Prediction{Point: p, Predicted: law.Loss(p.N, p.D), CI: [2]float64{math.NaN(), math.NaN()}}
		if boot != nil {
			out[i].CI = Interval(boot, func(l Law) float64 { return l.Loss(p.N, p.D) })
		}
	}
	return out, nil
}

// cost is the compute of the runs behind ps: one run per point, or with
// shared one constant run per size plus cooldowns of that fraction.
func cost(ps []Point, cooldown float64, shared bool) float64 {
	if !shared {
		c := 0.0
		for _, p := range ps {
			c += p.Compute()
		}
		return c
	}
	longest, sum := map[float64]float64{}, map[float64]float64{}
	for _, p := range ps {
		longest[p.N] = max(longest[p.N], p.D)
		sum[p.N] += p.D
	}
	c := 0.0
	for n := range longest {
		c += 6 * n * (longest[n] + cooldown*sum[n])
	}
	return c
}

func compare(g, ref GroupFit, grid []float64) Comparison {
	c := Comparison{Group: g.Group, Reference: ref.Group, Compute: grid}
	k := min(len(g.Boot), len(ref.Boot))
	rel := func(a, b Law) float64 {
		s := 0.0
		for _, p := range ref.Points {
			s += a.Loss(p.N, p.D)/b.Loss(p.N, p.D) - 1
		}
		return s / float64(len(ref.Points))
	}
	c.RelDiff = rel(g.Law, ref.Law)
	rs := make([]float64, k)
	for i := range k {
		rs[i] = rel(g.Boot[i], ref.Boot[i])
	}
	c.RelDiffCI = percentile95(rs)
	for _, x := range grid {
		c.Loss = append(c.Loss, g.Law.LossAtCompute(x))
		c.RefLoss = append(c.RefLoss, ref.Law.LossAtCompute(x))
		c.LossCI = append(c.LossCI, Interval(g.Boot, func(l Law) float64 { return l.LossAtCompute(x) }))
		c.RefCI = append(c.RefCI, Interval(ref.Boot, func(l Law) float64 { return l.LossAtCompute(x) }))
		c.Diff = append(c.Diff, c.Loss[len(c.Loss)-1]-c.RefLoss[len(c.RefLoss)-1])
		vals := make([]float64, k)
		for i := range k {
			vals[i] = g.Boot[i].LossAtCompute(x) - ref.Boot[i].LossAtCompute(x)
		}
		c.DiffCI = append(c.DiffCI, percentile95(vals))
	}
	return c
}

func logGrid(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*float64(i)/float64(n-1))
	}
	return out
}

// Markdown writes the report as a markdown section body (tables only; the
// caller adds figures).
func (r *Report) Markdown(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "Form: %s; %d cluster-bootstrap refits (model sizes resampled); the %d largest size(s) held out for prediction.\n\n", o.Form, o.Boot, o.HoldOut)
	fmt.Fprintf(w, "| group | points | sizes | law | 95%% intervals | compute of the runs (FLOPs) |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Fits {
		var iv []string
		for _, k := range []string{"E", "A", "alpha", "B", "beta"} {
			if ci, ok := f.Params[k]; ok {
				iv = append(iv, fmt.Sprintf("%s [%.3g, %.3g]", k, ci[0], ci[1]))
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %.3g |\n", f.Group, len(f.Points), sizes(f.Points), f.Law, strings.Join(iv, "; "), f.Cost)
	}
	fmt.Fprintf(w, "\n**Held-out sizes.** Each group's law refitted without its largest size(s), predicting them:\n\n| group | N | D | observed | predicted [95%% CI] | error | inside |\n|---|---|---|---|---|---|---|\n")
	for _, f := range r.Fits {
		for _, p := range f.HeldOut {
			ci, in := "(too few sizes for an interval)", "n/a"
			if !math.IsNaN(p.CI[0]) {
				ci = fmt.Sprintf("[%.4f, %.4f]", p.CI[0], p.CI[1])
				in = fmt.Sprint(p.Loss >= p.CI[0] && p.Loss <= p.CI[1])
			}
			fmt.Fprintf(w, "| %s | %.3g | %.3g | %.4f | %.4f %s | %+.2f%% | %s |\n", f.Group, p.N, p.D, p.Loss, p.Predicted, ci, 100*(p.Predicted/p.Loss-1), in)
		}
	}
	for _, c := range r.Comparisons {
		verdict := "indistinguishable from the reference law there (the interval holds 0)"
		switch {
		case c.RelDiffCI[0] > 0:
			verdict = "above the reference law there (worse)"
		case c.RelDiffCI[1] < 0:
			verdict = "below the reference law there (better)"
		}
		fmt.Fprintf(w, "\n**%s against %s.** At the %s runs' own (N, D), the %s law predicts %+.2f%% [%+.2f%%, %+.2f%%] relative to the %s law (mean over the runs, paired bootstrap 95%% interval): %s. The %s runs cost %.0f%% of the %s runs' compute.\n",
			c.Group, c.Reference, c.Reference, c.Group, 100*c.RelDiff, 100*c.RelDiffCI[0], 100*c.RelDiffCI[1], c.Reference, verdict, c.Group, 100*r.fit(c.Group).Cost/r.fit(c.Reference).Cost, c.Reference)
		fmt.Fprintf(w, "\nCompute-optimal loss (difference %s − %s with a bootstrap 95%% interval; the grid runs to %gx the largest observed compute):\n\n| compute (FLOPs) | %s | %s | difference [95%% CI] |\n|---|---|---|---|\n", c.Group, c.Reference, o.Extrapolate, c.Group, c.Reference)
		for i := 0; i < len(c.Compute); i += 6 {
			fmt.Fprintf(w, "| %.3g | %.4f | %.4f | %+.4f [%+.4f, %+.4f] |\n", c.Compute[i], c.Loss[i], c.RefLoss[i], c.Diff[i], c.DiffCI[i][0], c.DiffCI[i][1])
		}
	}
	fmt.Fprintln(w)
}

func sizes(ps []Point) int {
	m := map[float64]bool{}
	for _, p := range ps {
		m[p.N] = true
	}
	return len(m)
}
