package losscurve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/optimize"

	"github.com/lrkit/lrkit/schedule"
)

// PlanOptions describe the schedule to plan: Steps updates in all, a
// linear warm-up from 0 over Warmup steps to Peak (schedule.Warmup's
// ramp), then a non-increasing rate between Peak and Floor.
type PlanOptions struct {
	// Steps is the budget, at most MaxSteps (0: DefaultMaxSteps).
	Steps    int
	MaxSteps int
	Warmup   int
	// Peak is the peak rate; 0 means the peak the law was fitted at
	// (FitInfo.Peak of a *Fitted law). A law's predictions are only
	// meaningful near the rates it was fitted to.
	Peak  float64
	Floor float64
	// Knots is the number of free knots of the piecewise-linear decay
	// (default 32); they are spaced more densely towards the end, and the
	// decay starts of the WSD schedules compared are added to them.
	Knots int
	// Progress, if set, is called after each optimiser start.
	Progress func(done, total int)
}

// Candidate is a schedule with its predicted final loss.
type Candidate struct {
	Name  string  `json:"name"`
	Spec  string  `json:"spec"`
	Final float64 `json:"final_loss"`
}

// PlanResult is the optimised schedule, the named schedule nearest to it
// and the predicted final losses of common schedules.
type PlanResult struct {
	Optimum  Candidate   `json:"optimum"`
	LRs      []float64   `json:"-"` // the optimum at every step
	Peak     float64     `json:"peak"`
	Nearest  Candidate   `json:"nearest"`
	Distance float64     `json:"distance"` // RMS of (optimum − nearest)/Peak over post-warm-up steps
	Compare  []Candidate `json:"compare"`
	// Note says when a named schedule was at least as good as anything
	// the optimiser found (the optimum is then that schedule).
	Note string `json:"note,omitempty"`
}

// finalGrader is a law whose final loss and its gradient with respect to
// every per-step rate can be computed in O(T).
type finalGrader interface {
	finalGrad(lrs []float64, grad []float64) float64
}

// named is a schedule Plan compares.
type named struct {
	name string
	s    schedule.Schedule
}

// Plan finds the schedule that minimises law's predicted loss at the last
// step. The post-warm-up rate is piecewise linear through knots whose
// values are Peak − (Peak−Floor)·(p_0 + … + p_m) with p a softmax over
// free variables (the last a slack), so every candidate is non-increasing
// and within [Floor, Peak] by construction (the monotone parameterisation
// of the multi-power law paper, reparameterised so no projection is
// needed). The objective and its exact gradient cost O(T); gonum's L-BFGS
// runs from a linear start, a WSD-like start and the three best named
// schedules projected on the knots (the knots include the WSD decay
// starts, so a linear WSD is represented exactly). The result is never
// worse under the law than any schedule it lists: if a named schedule is
// still better than what the optimiser found, the optimum is that
// schedule and Note says so. The optimum is returned as a table(...)
// spec, with the nearest WSD (decay fraction and shape fitted) and the
// final losses of cosine, linear, WSD and REX schedules.
func Plan(ctx context.Context, law Law, opts PlanOptions) (PlanResult, error) {
	g, ok := Base(law).(finalGrader)
	if !ok {
		return PlanResult{}, fmt.Errorf("losscurve: plan: the %s law ignores the schedule, so there is nothing to optimise", law.Name())
	}
	if opts.Knots == 0 {
		opts.Knots = 32
	}
	if opts.Peak == 0 {
		if f, ok := law.(*Fitted); ok && f.Info.Peak > 0 {
			opts.Peak = f.Info.Peak
		} else {
			return PlanResult{}, errors.New("losscurve: plan: no peak given and the law does not record the peak rate it was fitted at")
		}
	}
	maxSteps := opts.MaxSteps
	if maxSteps <= 0 {
		maxSteps = DefaultMaxSteps
	}
	switch {
	case opts.Steps < 10:
		return PlanResult{}, fmt.Errorf("losscurve: plan: steps = %d, want at least 10", opts.Steps)
	case opts.Steps > maxSteps:
		return PlanResult{}, fmt.Errorf("losscurve: plan: steps = %d is past the limit of %d steps (raise it with --max-steps)", opts.Steps, maxSteps)
	case opts.Warmup < 0 || opts.Warmup > opts.Steps-10:
		return PlanResult{}, fmt.Errorf("losscurve: plan: warmup = %d, want 0 <= warmup <= steps-10 = %d", opts.Warmup, opts.Steps-10)
	case !(opts.Peak > 0) || math.IsInf(opts.Peak, 0):
		return PlanResult{}, fmt.Errorf("losscurve: plan: peak = %v, want a positive rate", opts.Peak)
	case !(opts.Floor >= 0) || opts.Floor > opts.Peak:
		return PlanResult{}, fmt.Errorf("losscurve: plan: floor = %v, want 0 <= floor <= peak = %v", opts.Floor, opts.Peak)
	case opts.Knots < 2:
		return PlanResult{}, fmt.Errorf("losscurve: plan: knots = %d, want at least 2", opts.Knots)
	}
	out := PlanResult{Peak: opts.Peak}
	// The named schedules and their final losses.
	cands := namedSchedules(opts)
	candLRs := make([][]float64, len(cands))
	var decayStarts []int
	for i, c := range cands {
		candLRs[i] = scheduleLRs(c.s, opts.Steps)
		out.Compare = append(out.Compare, Candidate{Name: c.name, Spec: c.s.String(), Final: finalLoss(law, candLRs[i])})
		if w, ok := c.s.(schedule.WSD); ok {
			decayStarts = append(decayStarts, int(w.Steps-w.Decay.Of(w.Steps))-opts.Warmup)
		}
	}
	p := newPlanner(opts, decayStarts)
	lrs := make([]float64, opts.Steps)
	grad := make([]float64, opts.Steps)
	fg := func(z, dz []float64) float64 {
		v := p.knotValues(z)
		p.fill(v, lrs)
		f := g.finalGrad(lrs, grad)
		if dz != nil {
			p.backprop(z, grad, dz)
		}
		return f
	}
	// Starts: linear decay (equal p), a WSD-like start (all mass on the
	// knots of the last ~20%) and the three best named schedules.
	nz := len(p.x)
	starts := [][]float64{make([]float64, nz), make([]float64, nz)}
	for m := range starts[1] {
		if float64(p.x[m]) < 0.8*float64(p.n-1) {
			starts[1][m] = -8
		}
	}
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return out.Compare[order[a]].Final < out.Compare[order[b]].Final })
	for _, i := range order[:min(3, len(order))] {
		starts = append(starts, p.project(candLRs[i]))
	}
	bestF := math.Inf(1)
	var bestZ []float64
	for s, z0 := range starts {
		if err := ctx.Err(); err != nil {
			return PlanResult{}, fmt.Errorf("losscurve: plan: %w", err)
		}
		prob := optimize.Problem{
			Func: func(z []float64) float64 { return fg(z, nil) },
			Grad: func(dz, z []float64) { fg(z, dz) },
		}
		res, err := optimize.Minimize(prob, z0, &optimize.Settings{
			MajorIterations: 500,
			Converger:       &optimize.FunctionConverge{Absolute: 1e-12, Iterations: 30},
		}, &optimize.LBFGS{})
		if res != nil && res.F < bestF && !math.IsNaN(res.F) {
			bestF, bestZ = res.F, append([]float64(nil), res.X...)
		} else if res == nil && err != nil {
			return PlanResult{}, fmt.Errorf("losscurve: plan: %w", err)
		}
		if opts.Progress != nil {
			opts.Progress(s+1, len(starts))
		}
	}
	if bestZ == nil {
		return PlanResult{}, errors.New("losscurve: plan: the optimiser found no finite final loss")
	}
	v := p.knotValues(bestZ)
	out.LRs = make([]float64, opts.Steps)
	p.fill(v, out.LRs)
	out.Optimum = Candidate{Name: "optimum", Spec: p.tableSpec(v), Final: finalLoss(law, out.LRs)}
	// Nearest WSD: decay fraction on a 1% grid and shape, by RMS distance
	// of the post-warm-up rates, measured on every stride-th step (about
	// 2000 steps).
	bestD := math.Inf(1)
	stride := max(1, (opts.Steps-opts.Warmup)/2000)
	var nearest schedule.Schedule
	for _, sh := range []string{"linear", "cosine", "1-sqrt", "square"} {
		for i := 1; i <= 99; i++ {
			f := float64(i) / 100
			if int(math.Round(f*float64(opts.Steps))) > opts.Steps-opts.Warmup {
				break
			}
			s := wsdSchedule(opts, f, sh)
			d, cnt := 0.0, 0
			for t := opts.Warmup; t < opts.Steps; t += stride {
				e := (s.LR(int64(t)) - out.LRs[t]) / opts.Peak
				d += e * e
				cnt++
			}
			d = math.Sqrt(d / float64(cnt))
			if d < bestD {
				bestD, nearest = d, s
				out.Nearest = Candidate{Name: fmt.Sprintf("wsd %g %s", f, sh), Spec: s.String()}
			}
		}
	}
	out.Distance = bestD
	nearLRs := scheduleLRs(nearest, opts.Steps)
	out.Nearest.Final = finalLoss(law, nearLRs)
	// The optimum must not be worse than anything listed.
	listed := append(append([]Candidate(nil), out.Compare...), out.Nearest)
	listedLRs := append(append([][]float64(nil), candLRs...), nearLRs)
	for i, c := range listed {
		if c.Final < out.Optimum.Final {
			out.Note = fmt.Sprintf("the optimiser found nothing better than %s; the optimum is that schedule", c.Name)
			out.Optimum = Candidate{Name: "optimum", Spec: c.Spec, Final: c.Final}
			out.LRs = append([]float64(nil), listedLRs[i]...)
		}
	}
	return out, nil
}

// namedSchedules returns the schedules Plan compares, built as values.
func namedSchedules(o PlanOptions) []named {
	steps := int64(o.Steps)
	// The warm-up counts inside the horizon: the decay runs over the rest.
	warm := func(base schedule.Schedule) schedule.Schedule {
		w := schedule.Warmup{Base: base, Steps: int64(o.Warmup), Shape: "linear", Beta2: 0.999}
		if s, err := schedule.New(w); err == nil {
			return s
		}
		return w // a warm-up as long as the run: LR still follows the rule
	}
	out := []named{
		{"cosine", warm(schedule.Cosine{Peak: o.Peak, Floor: o.Floor, Steps: steps, Parity: "none"})},
		{"linear", warm(schedule.Linear{Peak: o.Peak, Floor: o.Floor, Steps: steps})},
		{"rex", warm(schedule.Rex{Peak: o.Peak, Floor: o.Floor, Steps: steps, A: 0.5, Every: 1})},
	}
	for _, f := range []float64{0.1, 0.2, 0.3} {
		for _, sh := range []string{"linear", "1-sqrt"} {
			out = append(out, named{fmt.Sprintf("wsd %g %s", f, sh), wsdSchedule(o, f, sh)})
		}
	}
	return out
}

// finalLoss returns the law's prediction at the last step.
func finalLoss(law Law, lrs []float64) float64 {
	if m, ok := Base(law).(*MultiPower); ok {
		return m.PredictFinal(lrs)
	}
	p := law.Predict(lrs)
	return p[len(p)-1]
}

// wsdSchedule is a WSD with a decay over the last frac of the steps.
func wsdSchedule(o PlanOptions, frac float64, shape string) schedule.WSD {
	return schedule.WSD{Peak: o.Peak, Floor: o.Floor, Steps: int64(o.Steps), Warmup: schedule.Steps(int64(o.Warmup)),
		Decay: schedule.Steps(int64(math.Round(frac * float64(o.Steps)))), Shape: shape, Parity: "none"}
}

// scheduleLRs returns s's rates at steps 0..n−1.
func scheduleLRs(s schedule.Schedule, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = s.LR(int64(i))
	}
	return out
}

// planner maps knot variables to per-step rates.
type planner struct {
	o PlanOptions
	n int   // post-warm-up steps
	x []int // knot offsets from the end of warm-up, x[0] = 0, x[K] = n−1
}

func newPlanner(o PlanOptions, extra []int) *planner {
	n := o.Steps - o.Warmup
	K := o.Knots
	p := &planner{o: o, n: n}
	set := map[int]bool{0: true, n - 1: true}
	for m := 1; m < K; m++ {
		u := float64(m) / float64(K)
		set[int(math.Round(float64(n-1)*(1-(1-u)*(1-u))))] = true
	}
	for _, x := range extra {
		if x > 0 && x < n-1 {
			set[x] = true
		}
	}
	for x := range set {
		p.x = append(p.x, x)
	}
	sort.Ints(p.x)
	return p
}

// project returns free variables whose knot values follow lrs (a
// non-increasing schedule after warm-up): at each knot the rate of lrs,
// clamped to [Floor, Peak] and made non-increasing.
func (p *planner) project(lrs []float64) []float64 {
	span := p.o.Peak - p.o.Floor
	if span <= 0 {
		return make([]float64, len(p.x))
	}
	prev := p.o.Peak
	inc := make([]float64, len(p.x))
	total := 0.0
	for m, x := range p.x {
		v := min(max(lrs[p.o.Warmup+x], p.o.Floor), prev)
		inc[m] = (prev - v) / span
		total += inc[m]
		prev = v
	}
	slack := max(1-total, 1e-12)
	z := make([]float64, len(p.x))
	for m := range z {
		z[m] = math.Log(max(inc[m], 1e-12) / slack)
	}
	return z
}

// knotValues returns v_m = Peak − (Peak−Floor)·Σ_{i≤m} softmax(z, 0)_i.
func (p *planner) knotValues(z []float64) []float64 {
	sm := softmax(z)
	v := make([]float64, len(p.x))
	acc := 0.0
	for m := range v {
		if m < len(sm)-1 {
			acc += sm[m]
		}
		v[m] = p.o.Peak - (p.o.Peak-p.o.Floor)*min(acc, 1)
	}
	return v
}

// softmax of z with an extra 0 appended (the slack).
func softmax(z []float64) []float64 {
	mx := 0.0
	for _, v := range z {
		mx = max(mx, v)
	}
	out := make([]float64, len(z)+1)
	s := 0.0
	for i := range out {
		zi := 0.0
		if i < len(z) {
			zi = z[i]
		}
		out[i] = math.Exp(zi - mx)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// fill writes the warm-up ramp (schedule.Warmup: Peak·t/W) and the
// piecewise-linear decay through the knots into lrs.
func (p *planner) fill(v []float64, lrs []float64) {
	W := p.o.Warmup
	for t := 0; t < W; t++ {
		lrs[t] = p.o.Peak * float64(t) / float64(W)
	}
	seg := 0
	for i := 0; i < p.n; i++ {
		for seg+1 < len(p.x)-1 && i >= p.x[seg+1] {
			seg++
		}
		x0, x1 := p.x[seg], p.x[min(seg+1, len(p.x)-1)]
		if x1 == x0 {
			lrs[W+i] = v[seg]
			continue
		}
		f := float64(i-x0) / float64(x1-x0)
		lrs[W+i] = v[seg] + (v[min(seg+1, len(v)-1)]-v[seg])*f
	}
}

// backprop maps the per-step gradient to the knot variables z.
func (p *planner) backprop(z, grad, dz []float64) {
	W := p.o.Warmup
	gv := make([]float64, len(p.x))
	seg := 0
	for i := 0; i < p.n; i++ {
		for seg+1 < len(p.x)-1 && i >= p.x[seg+1] {
			seg++
		}
		x0, x1 := p.x[seg], p.x[min(seg+1, len(p.x)-1)]
		g := grad[W+i]
		if x1 == x0 {
			gv[seg] += g
			continue
		}
		f := float64(i-x0) / float64(x1-x0)
		gv[seg] += g * (1 - f)
		gv[min(seg+1, len(gv)-1)] += g * f
	}
	// v_m = Peak − (Peak−Floor)·Σ_{i≤m} s_i  ⇒  dL/ds_i = −(Peak−Floor)·Σ_{m≥i} dL/dv_m.
	sm := softmax(z)
	gs := make([]float64, len(sm))
	acc := 0.0
	for m := len(gv) - 1; m >= 0; m-- {
		acc += gv[m]
		if m < len(gs)-1 {
			gs[m] = -(p.o.Peak - p.o.Floor) * acc
		}
	}
	dot := 0.0
	for i := range sm {
		dot += sm[i] * gs[i]
	}
	for a := range dz {
		dz[a] = sm[a] * (gs[a] - dot)
	}
}

// tableSpec writes the planned schedule as a table(...) spec: the warm-up
// ramp's ends and the knots.
func (p *planner) tableSpec(v []float64) string {
	var at, lr []string
	W := p.o.Warmup
	if W > 0 {
		at = append(at, "0")
		lr = append(lr, "0")
	}
	for m, x := range p.x {
		at = append(at, strconv.Itoa(W+x))
		lr = append(lr, strconv.FormatFloat(v[m], 'g', 8, 64))
	}
	return "table(at=[" + strings.Join(at, ", ") + "], lr=[" + strings.Join(lr, ", ") + "])"
}

// finalGrad returns L(T−1) and writes dL(T−1)/dη_j for every j to grad.
// Rates of warm-up steps get a gradient too; Plan ignores it.
func (m *MultiPower) finalGrad(lrs []float64, grad []float64) float64 {
	T := len(lrs)
	t := T - 1
	k0 := max(m.dropStart(lrs), 1)
	s1 := 0.0
	for _, v := range lrs {
		s1 += v
	}
	s1c := max(s1, 1e-10)
	dS1 := -m.Alpha * m.A * math.Pow(s1c, -m.Alpha-1)
	// S_k(t) for all k, from the end.
	sk := make([]float64, T+1)
	for k := t; k >= 0; k-- {
		sk[k] = sk[k+1] + lrs[k]
	}
	G := make([]float64, T)
	Gp := make([]float64, T) // G'(x_k)·e_k^−γ
	ld := 0.0
	lastE, ep := math.NaN(), 0.0
	for k := k0; k <= t; k++ {
		if e := max(lrs[k], etaFloor); e != lastE {
			ep, lastE = math.Pow(e, -m.Gamma), e
		}
		x := ep * sk[k]
		base := m.C*x + 1
		lb := math.Log1p(m.C * x)
		pb := math.Exp(-m.Beta * lb)
		G[k] = -math.Expm1(-m.Beta * lb)
		Gp[k] = m.Beta * m.C * pb / base * ep
		ld += (lrs[k-1] - lrs[k]) * G[k]
	}
	prefix := 0.0
	for j := 0; j < T; j++ {
		d := 0.0
		if j >= k0 {
			dk := lrs[j-1] - lrs[j]
			prefix += dk * Gp[j]
			d -= G[j]
			if lrs[j] > etaFloor {
				// ∂x_j/∂e_j through e^−γ: −γ·x_j/e_j; Gp holds G'·e^−γ.
				d += dk * Gp[j] * sk[j] * (-m.Gamma) / lrs[j]
			}
			d += prefix
		}
		if j+1 >= k0 && j+1 <= t && j+1 >= 1 {
			d += G[j+1]
		}
		g := -m.B * d
		if s1 > 1e-10 {
			g += dS1
		}
		grad[j] = g
	}
	return m.L0 + m.A*math.Pow(s1c, -m.Alpha) - m.B*ld
}

// finalGrad returns L(T−1) and its gradient with respect to every rate.
// With the warm-up fixed, S2(T−1) = Σ_{l>start} (η_{l−1}−η_l)·c_l with
// c_l = (1−λ^{T−l})/(1−λ).
func (a *Annealing) finalGrad(lrs []float64, grad []float64) float64 {
	T := len(lrs)
	w := a.Warmup
	if w < 0 {
		w = DetectWarmup(lrs)
	}
	s1, s2 := a.Areas(lrs)
	start := min(w, T)
	if a.Variant == WarmupA {
		start = 0
	}
	c := func(l int) float64 {
		if a.Lambda == 1 {
			return float64(T - l)
		}
		return (1 - math.Pow(a.Lambda, float64(T-l))) / (1 - a.Lambda)
	}
	S1 := max(s1[T-1], 1e-10)
	dS1 := -a.Alpha * a.A * math.Pow(S1, -a.Alpha-1)
	for j := range grad {
		d := 0.0
		if j+1 <= T-1 && j+1 > start {
			d += c(j + 1)
		}
		if j > start {
			d -= c(j)
		}
		grad[j] = dS1 - a.C*d
	}
	return a.L0 + a.A*math.Pow(S1, -a.Alpha) - a.C*s2[T-1]
}
