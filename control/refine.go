package control

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// Rule is the weighting of refinement: which gradient norm the previous
// run logged and how it turns into a per-step weight.
type Rule int

const (
	// RuleL2 is the rule for SGD-type optimizers: w_t = Ĝ_t⁻², where Ĝ is
	// the smoothed L2 norm of the gradient.
	RuleL2 Rule = iota
	// RuleL1 is the rule for Adam and other coordinate-wise optimizers:
	// w_t = Ĝ_t⁻¹, where Ĝ is the smoothed L1 norm of the gradient.
	RuleL1
)

// String returns "l2" or "l1".
func (r Rule) String() string {
	switch r {
	case RuleL2:
		return "l2"
	case RuleL1:
		return "l1"
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

// ParseRule reads "l2" or "l1".
func ParseRule(s string) (Rule, error) {
	switch s {
	case "l2", "L2":
		return RuleL2, nil
	case "l1", "L1":
		return RuleL1, nil
	}
	return 0, fmt.Errorf("refinement rule must be l2 (SGD-type) or l1 (Adam-type), got %q", s)
}

// Constants of the released smoothing pipeline (facebookresearch/
// adaptive_scheduling, visual.py and README): the window is a fraction
// RefineTau of RefineSamples samples, whatever the run's length.
const (
	RefineSamples = 10000 // nvals: sequences shorter than this are interpolated up to it
	RefineTau     = 0.1   // sigma2: the median window as a fraction of RefineSamples
	refineTrim    = 2     // samples dropped at each end (wandb export artefacts)
)

// RefineOptions tunes Refine. The zero value is the released method.
type RefineOptions struct {
	// NoSmooth skips the median-filter pipeline and uses the norms as they
	// are (the spec's worked example [8,4,2,2,2,2,2,3] is unsmoothed).
	NoSmooth bool
	// Tau overrides RefineTau when positive.
	Tau float64
	// Horizon is the number of steps of the schedule returned; zero means
	// the number of norms given (the previous run's horizon).
	Horizon int
	// MaxSteps bounds the schedule RefineLog builds (one value per step of
	// the log); zero means DefaultMaxRefineSteps.
	MaxSteps int64
}

// DefaultMaxRefineSteps is RefineLog's default bound on a log's last step:
// a table of ten million steps takes about 80 MB per array, and a longer
// run is better refined from a log with coarser steps.
const DefaultMaxRefineSteps = 10_000_000

// Refine turns the per-step gradient norms G_1..G_T of a previous run into
// a refined schedule (Defazio, Cutkosky, Mehta, Mishchenko 2023, "When,
// Why and How Much? Adaptive Learning Rate Scheduling by Refinement",
// arXiv 2310.07831; closed form of find_closed_form_schedule in
// facebookresearch/adaptive_scheduling):
//
//	w_t = Ĝ_t⁻² (RuleL2) or Ĝ_t⁻¹ (RuleL1)
//	η̃_t = w_t · Σ_{p=t+1..T} w_p          (so η̃_T = 0)
//	η_t = η̃_t / max_s η̃_s                  (peak 1)
//
// Ĝ is G after MedianSmooth (unless opts.NoSmooth), resampled linearly to
// the horizon. The result has one value per step (index 0 is step 0), its
// maximum is exactly 1 and its last value is 0. Constant norms give exactly
// linear decay, 1 − t/(T−1).
//
// Errors: fewer than 2 usable norms, a NaN, or a norm that is zero or
// negative (its weight would be infinite). Infinite norms are dropped as
// the released code does when smoothing, and rejected when not.
func Refine(gradNorms []float64, rule Rule, opts RefineOptions) ([]float64, error) {
	if rule != RuleL2 && rule != RuleL1 {
		return nil, fmt.Errorf("refine: unknown rule %v", rule)
	}
	horizon := opts.Horizon
	if horizon == 0 {
		horizon = len(gradNorms)
	}
	if horizon < 2 {
		return nil, fmt.Errorf("refine: need a horizon of at least 2 steps, got %d", horizon)
	}
	g := gradNorms
	if !opts.NoSmooth {
		var err error
		if g, err = MedianSmooth(gradNorms, opts.Tau); err != nil {
			return nil, fmt.Errorf("refine: %w", err)
		}
	} else {
		for i, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("refine: gradient norm %d is %v", i, v)
			}
		}
	}
	g = Resample(g, horizon)
	w := make([]float64, len(g))
	for i, v := range g {
		if !(v > 0) {
			return nil, fmt.Errorf("refine: gradient norm at step %d is %v; norms must be positive", i, v)
		}
		if rule == RuleL2 {
			w[i] = 1 / (v * v)
		} else {
			w[i] = 1 / v
		}
	}
	out := make([]float64, len(w))
	tail := 0.0 // Σ_{p>t} w_p, accumulated from the end
	best := 0.0
	for t := len(w) - 1; t >= 0; t-- {
		out[t] = w[t] * tail
		tail += w[t]
		best = math.Max(best, out[t])
	}
	if !(best > 0) || math.IsInf(best, 0) {
		return nil, errors.New("refine: the schedule has no positive finite peak (norms out of floating-point range)")
	}
	for i := range out {
		out[i] /= best
	}
	return out, nil
}

// MedianSmooth is the smoothing pipeline of the released refinement code
// (facebookresearch/adaptive_scheduling, visual.py and README):
//
//  1. drop ±Inf values;
//  2. drop the first 2 and the last 2 samples;
//  3. if fewer than RefineSamples remain, interpolate linearly up to
//     RefineSamples;
//  4. median filter of width 2·⌊τ·RefineSamples/2⌋+1 (τ = RefineTau when
//     tau <= 0), computed as MedianFilter does (reflect padding at the end
//     only, nearest at the start);
//  5. resample linearly to RefineSamples points.
//
// The width comes from RefineSamples, not from the run's length, as in the
// released code: a 35,000-step run gets a 1,001-sample window.
// It fails on NaN values and on fewer than 2 samples left after step 2.
func MedianSmooth(g []float64, tau float64) ([]float64, error) {
	if tau <= 0 {
		tau = RefineTau
	}
	if tau > 1 {
		return nil, fmt.Errorf("median window fraction tau must be in (0, 1], got %g", tau)
	}
	kept := make([]float64, 0, len(g))
	for i, v := range g {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("gradient norm %d is NaN", i)
		}
		if !math.IsInf(v, 0) {
			kept = append(kept, v)
		}
	}
	if len(kept) < 2*refineTrim+2 {
		return nil, fmt.Errorf("need at least %d finite gradient norms to smooth (2 are dropped at each end), got %d", 2*refineTrim+2, len(kept))
	}
	kept = kept[refineTrim : len(kept)-refineTrim]
	if len(kept) < RefineSamples {
		kept = Resample(kept, RefineSamples)
	}
	width := 2*int(tau*RefineSamples/2) + 1
	return Resample(MedianFilter(kept, width), RefineSamples), nil
}

// MedianFilter is a centred running median of odd width over x, padded as
// the released refinement code pads it: 2·width samples are appended by
// reflection about the last sample, excluding it (numpy "reflect"), and
// indices before the start read the first sample (scipy "nearest"). The
// result has len(x) values. An even width is rounded up to the next odd
// one; width 1 returns a copy. x must not contain NaN.
func MedianFilter(x []float64, width int) []float64 {
	n := len(x)
	out := make([]float64, n)
	if n == 0 {
		return out
	}
	if width < 1 {
		width = 1
	}
	if width%2 == 0 {
		width++
	}
	h := width / 2
	at := func(i int) float64 {
		if i < 0 {
			return x[0]
		}
		if i < n {
			return x[i]
		}
		return x[reflectIndex(i, n)]
	}
	win := make([]float64, 0, width)
	// sorted holds the window in order; moving by one sample removes one
	// value and inserts one, O(width) per step.
	for i := -h; i <= h; i++ {
		win = append(win, at(i))
	}
	sort.Float64s(win)
	out[0] = win[h]
	for c := 1; c < n; c++ {
		old, nw := at(c-1-h), at(c+h)
		k := sort.SearchFloat64s(win, old)
		copy(win[k:], win[k+1:])
		win = win[:len(win)-1]
		k = sort.SearchFloat64s(win, nw)
		win = append(win, 0)
		copy(win[k+1:], win[k:])
		win[k] = nw
		out[c] = win[h]
	}
	return out
}

// reflectIndex maps an index past the end of a length-n sequence to the
// numpy "reflect" padding source (the edge sample is not repeated).
func reflectIndex(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	m := i % period
	if m < 0 {
		m += period
	}
	if m >= n {
		m = period - m
	}
	return m
}

// Resample returns n values linearly interpolated through x placed evenly
// on [0, 1] (numpy interp(linspace(0,1,n), linspace(0,1,len(x)), x)). The
// first and last values are kept exactly; a constant x gives exactly the
// same constant.
func Resample(x []float64, n int) []float64 {
	out := make([]float64, n)
	if len(x) == 0 || n == 0 {
		return out
	}
	if len(x) == n {
		copy(out, x)
		return out
	}
	if len(x) == 1 || n == 1 {
		for i := range out {
			out[i] = x[0]
		}
		return out
	}
	scale := float64(len(x)-1) / float64(n-1)
	for i := range out {
		p := float64(i) * scale
		j := int(p)
		if j >= len(x)-1 {
			out[i] = x[len(x)-1]
			continue
		}
		f := p - float64(j)
		if f == 0 || x[j] == x[j+1] {
			out[i] = x[j]
			continue
		}
		out[i] = x[j] + (x[j+1]-x[j])*f
	}
	return out
}

// RefineSummary says where warmup and annealing emerged in a refined
// schedule.
type RefineSummary struct {
	PeakStep      int     // first step at the maximum
	PeakFrac      float64 // PeakStep / (T−1)
	AboveHalfFrac float64 // fraction of steps whose rate is at least half the peak
	FirstHalf     int     // first step at or above half the peak (end of the warmup's lower half)
	LastHalf      int     // last step at or above half the peak (the anneal falls below half after it)
}

// Summarize describes a schedule (any positive peak): the peak's position
// and the span above half of it.
func Summarize(lrs []float64) RefineSummary {
	var s RefineSummary
	if len(lrs) == 0 {
		return s
	}
	peak := lrs[0]
	for i, v := range lrs {
		if v > peak {
			peak, s.PeakStep = v, i
		}
	}
	if len(lrs) > 1 {
		s.PeakFrac = float64(s.PeakStep) / float64(len(lrs)-1)
	}
	s.FirstHalf, s.LastHalf = -1, -1
	n := 0
	for i, v := range lrs {
		if v >= peak/2 {
			n++
			if s.FirstHalf < 0 {
				s.FirstHalf = i
			}
			s.LastHalf = i
		}
	}
	s.AboveHalfFrac = float64(n) / float64(len(lrs))
	return s
}

// RefinedTable returns a refined schedule (Refine's output, peak 1) as a
// table schedule with one point per step, scaled by peak: the rate at step
// t is peak·lrs[t], and the last value is held after the horizon.
func RefinedTable(lrs []float64, peak float64) (schedule.Schedule, error) {
	at := make([]int64, len(lrs))
	for i := range at {
		at[i] = int64(i)
	}
	s, err := schedule.New(schedule.Table{At: at, Rates: append([]float64(nil), lrs...), Scale: peak})
	if err != nil {
		return nil, fmt.Errorf("refined table: %w", err)
	}
	return s, nil
}

// GradNormsOf extracts the gradient norms a rule needs from a run log's
// records: grad_norm for RuleL2, grad_norm_l1 for RuleL1, as one value per
// step from step 0 to the last step of the log (linearly interpolated
// between logged steps, the first value held before the first logged one).
// It returns the per-step norms, which run-log column it read, and an error
// naming the column when it is absent or holds fewer than 2 values.
func GradNormsOf(recs []runlog.Record, rule Rule) ([]float64, string, error) {
	return gradNormsOf(recs, rule, math.MaxInt64-1)
}

func gradNormsOf(recs []runlog.Record, rule Rule, maxSteps int64) ([]float64, string, error) {
	field, col := runlog.FieldGradNorm, "grad_norm"
	if rule == RuleL1 {
		field, col = runlog.FieldGradNormL1, "grad_norm_l1"
	}
	var steps []int64
	var vals []float64
	last := int64(-1)
	for _, r := range recs {
		last = max(last, r.Step)
		v, ok := r.Value(field)
		if !ok {
			continue
		}
		if len(steps) > 0 && r.Step <= steps[len(steps)-1] {
			return nil, col, fmt.Errorf("%s: step %d comes after step %d; steps must increase", col, r.Step, steps[len(steps)-1])
		}
		steps = append(steps, r.Step)
		vals = append(vals, v)
	}
	if len(vals) < 2 {
		other := "grad_norm_l1 (--rule l1)"
		if rule == RuleL1 {
			other = "grad_norm (--rule l2)"
		}
		return nil, col, fmt.Errorf("the log has %d %s values; refinement with rule %v needs one per step (does it have %s?)", len(vals), col, rule, other)
	}
	if last >= maxSteps {
		return nil, col, fmt.Errorf("the log's last step is %d; refinement builds one value per step and stops at %d steps (raise the limit to go further)", last, maxSteps)
	}
	out := make([]float64, last+1)
	k := 0
	for t := range out {
		for k+1 < len(steps) && steps[k+1] <= int64(t) {
			k++
		}
		switch {
		case int64(t) <= steps[0]:
			out[t] = vals[0]
		case k+1 >= len(steps):
			out[t] = vals[len(vals)-1]
		default:
			f := float64(int64(t)-steps[k]) / float64(steps[k+1]-steps[k])
			out[t] = vals[k] + (vals[k+1]-vals[k])*f
		}
	}
	return out, col, nil
}

// Refinement is a refined schedule with what it came from.
type Refinement struct {
	Norms   []float64 // the per-step gradient norms read from the log
	Column  string    // the run-log column they came from
	LRs     []float64 // the refined schedule, peak 1, one value per step
	Summary RefineSummary
}

// RefineLog refines the schedule of a run from its run log's records: the
// norms of the rule's column (GradNormsOf), Refine, and Summarize. A log
// whose last step is opts.MaxSteps or more (DefaultMaxRefineSteps when 0)
// is refused before anything is allocated for it.
func RefineLog(recs []runlog.Record, rule Rule, opts RefineOptions) (Refinement, error) {
	limit := opts.MaxSteps
	if limit <= 0 {
		limit = DefaultMaxRefineSteps
	}
	norms, col, err := gradNormsOf(recs, rule, limit)
	if err != nil {
		return Refinement{Column: col}, err
	}
	lrs, err := Refine(norms, rule, opts)
	if err != nil {
		return Refinement{Column: col}, err
	}
	return Refinement{Norms: norms, Column: col, LRs: lrs, Summary: Summarize(lrs)}, nil
}

// Table returns the refinement scaled to peak as a step,lr table: steps 0
// to T−1 and their rates.
func (r Refinement) Table(peak float64) ([]int64, []float64) {
	steps := make([]int64, len(r.LRs))
	lrs := make([]float64, len(r.LRs))
	for i, v := range r.LRs {
		steps[i], lrs[i] = int64(i), v*peak
	}
	return steps, lrs
}
