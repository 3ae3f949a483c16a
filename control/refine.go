package control

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

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
// Errors: fewer than 2 usable norms, a NaN, a negative norm (-Inf
// included), or a zero norm (its weight would be infinite; see checkNorm),
// each naming its step (the index in gradNorms), smoothed or not. +Inf
// norms are dropped as the released code does when smoothing, and rejected
// when not.
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
	for i, v := range gradNorms {
		if err := checkNorm(v, !opts.NoSmooth); err != nil {
			return nil, fmt.Errorf("refine: gradient norm at step %d %w", i, err)
		}
	}
	g := gradNorms
	if !opts.NoSmooth {
		var err error
		if g, err = MedianSmooth(gradNorms, opts.Tau); err != nil {
			return nil, fmt.Errorf("refine: %w", err)
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
//  1. drop +Inf values (the released code drops ±Inf; -Inf, a negative
//     norm, is an error here);
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
// g[i] is the norm at step i. MedianSmooth fails, naming the step, on a
// NaN, a negative (-Inf included) or a zero norm (see checkNorm), and on
// fewer than 2 samples left after step 2.
func MedianSmooth(g []float64, tau float64) ([]float64, error) {
	if tau <= 0 {
		tau = RefineTau
	}
	if tau > 1 {
		return nil, fmt.Errorf("median window fraction tau must be in (0, 1], got %g", tau)
	}
	kept := make([]float64, 0, len(g))
	for i, v := range g {
		if err := checkNorm(v, true); err != nil {
			return nil, fmt.Errorf("gradient norm at step %d %w", i, err)
		}
		if !math.IsInf(v, 1) {
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

// checkNorm says what is wrong with one gradient norm v, as the rest of a
// sentence that names the norm ("gradient norm at step 50" + " is NaN"), or
// returns nil. +Inf (an overflowed norm) is accepted when dropInf, because
// the smoothing drops it as the released code does, and refused otherwise.
//
// A zero norm is refused, smoothed or not. The weight of a step is G⁻² (or
// G⁻¹), infinite at 0, so the unsmoothed closed form cannot use it; and
// although the median filter would hide an isolated 0, a gradient norm is
// exactly 0 only at an exact stationary point, which a stochastic training
// run does not reach. In a real log a 0 is a placeholder for a norm that
// was not computed (a logger's default, a column filled with 0), and
// smoothing it away silently would refine from a column that is partly
// missing. The spec (adaptive.md §1) defines only w_t = Ĝ_t⁻²; it says
// nothing that makes a zero usable. The message tells the user to leave
// such a value out: a missing norm is interpolated from its neighbours.
func checkNorm(v float64, dropInf bool) error {
	switch {
	case math.IsNaN(v):
		return errors.New("is NaN")
	case math.IsInf(v, 1) && !dropInf:
		return errors.New("is +Inf; unsmoothed refinement needs every norm finite (the smoothing drops infinite norms)")
	case v < 0:
		return fmt.Errorf("is %v; a norm cannot be negative", v)
	case v == 0:
		return errors.New("is 0; norms must be positive (a step's weight is 1/G² or 1/G): leave a norm that was not measured out of the log, and it is interpolated from its neighbours")
	}
	return nil
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
// A logged step keeps its own value exactly. A +Inf norm (an overflow) is
// kept at its own step only, for Refine's smoothing to drop: the steps
// around it are interpolated between the nearest finite norms, so it never
// spreads to its neighbours.
// It returns the per-step norms, which run-log column it read, and an error
// naming the column when it is absent or holds fewer than 2 finite values,
// and naming the step of a norm that is NaN, negative or zero (see Refine).
func GradNormsOf(recs []runlog.Record, rule Rule) ([]float64, string, error) {
	return gradNormsOf(recs, rule, math.MaxInt64-1, true, nil)
}

// gradNormsOf is GradNormsOf with a bound on the last step, a choice to
// keep (dropInf) or refuse +Inf norms, and where, which names the place
// of record i in the log ("run.csv:52") or is nil.
func gradNormsOf(recs []runlog.Record, rule Rule, maxSteps int64, dropInf bool, where func(i int) string) ([]float64, string, error) {
	field, col := runlog.FieldGradNorm, "grad_norm"
	if rule == RuleL1 {
		field, col = runlog.FieldGradNormL1, "grad_norm_l1"
	}
	at := func(i int, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if where != nil {
			if w := where(i); w != "" {
				return fmt.Errorf("%s: %s", w, msg)
			}
		}
		return errors.New(msg)
	}
	var steps []int64 // the logged steps with a finite norm
	var vals []float64
	var infs []int64 // the logged steps with a +Inf norm (dropInf only)
	logged := int64(-1)
	last := int64(-1)
	for i, r := range recs {
		last = max(last, r.Step)
		v, ok := r.Value(field)
		if !ok {
			continue
		}
		if r.Step <= logged {
			return nil, col, at(i, "%s: step %d comes after step %d; steps must increase", col, r.Step, logged)
		}
		logged = r.Step
		if err := checkNorm(v, dropInf); err != nil {
			return nil, col, at(i, "%s at step %d %v", col, r.Step, err)
		}
		if math.IsInf(v, 1) {
			infs = append(infs, r.Step)
			continue
		}
		steps = append(steps, r.Step)
		vals = append(vals, v)
	}
	if len(vals) < 2 {
		other := "grad_norm_l1 (--rule l1)"
		if rule == RuleL1 {
			other = "grad_norm (--rule l2)"
		}
		inf := ""
		if len(infs) > 0 {
			inf = fmt.Sprintf(" finite (and %d +Inf)", len(infs))
		}
		return nil, col, fmt.Errorf("the log has %d%s %s values; refinement with rule %v needs one per step (does it have %s?)", len(vals), inf, col, rule, other)
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
		case int64(t) == steps[k] || k+1 >= len(steps):
			out[t] = vals[k]
		default:
			f := float64(int64(t)-steps[k]) / float64(steps[k+1]-steps[k])
			out[t] = vals[k] + (vals[k+1]-vals[k])*f
		}
	}
	for _, s := range infs {
		out[s] = math.Inf(1)
	}
	return out, col, nil
}

// Refinement is a refined schedule with what it came from.
type Refinement struct {
	Norms   []float64 // the per-step gradient norms read from the log
	Column  string    // the run-log column they came from
	LRs     []float64 // the refined schedule, peak 1, one value per step
	Summary RefineSummary
	// Dropped lists the steps whose norm was +Inf and which the smoothing
	// dropped, in increasing order (none when NoSmooth: those are errors).
	Dropped []int64
}

// RefineLog refines the schedule of a run from its run log's records: the
// norms of the rule's column (GradNormsOf), Refine, and Summarize. A log
// whose last step is opts.MaxSteps or more (DefaultMaxRefineSteps when 0)
// is refused before anything is allocated for it. A norm that is NaN,
// negative or zero, or +Inf when opts.NoSmooth, is an error naming its
// step; RefineFile also names the file and line.
func RefineLog(recs []runlog.Record, rule Rule, opts RefineOptions) (Refinement, error) {
	return refineLog(recs, rule, opts, nil)
}

func refineLog(recs []runlog.Record, rule Rule, opts RefineOptions, where func(i int) string) (Refinement, error) {
	limit := opts.MaxSteps
	if limit <= 0 {
		limit = DefaultMaxRefineSteps
	}
	norms, col, err := gradNormsOf(recs, rule, limit, !opts.NoSmooth, where)
	if err != nil {
		return Refinement{Column: col}, err
	}
	lrs, err := Refine(norms, rule, opts)
	if err != nil {
		return Refinement{Column: col}, err
	}
	var dropped []int64
	for i, v := range norms {
		if math.IsInf(v, 1) {
			dropped = append(dropped, int64(i))
		}
	}
	return Refinement{Norms: norms, Column: col, LRs: lrs, Summary: Summarize(lrs), Dropped: dropped}, nil
}

// RefineFile reads the run log at path (any format runlog.ReadFile reads,
// a TensorBoard run directory included) with read, and refines it as
// RefineLog does. Every error names the file; one about a gradient norm in
// a CSV or JSON Lines log also names its line:
//
//	run.csv:52: grad_norm at step 50 is NaN
func RefineFile(path string, read runlog.ReadOptions, rule Rule, opts RefineOptions) (Refinement, error) {
	if read.Name == "" {
		read.Name = path
	}
	name := read.Name
	var recs []runlog.Record
	var where func(i int) string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if recs, err = runlog.ReadEventDir(path, read); err != nil {
			return Refinement{}, err
		}
	} else {
		r, err := runlog.Open(path, read)
		if err != nil {
			return Refinement{}, err
		}
		defer r.Close()
		liner, _ := r.Reader.(interface{ Line() int })
		var lines []int
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return Refinement{}, err
			}
			recs = append(recs, rec)
			if liner != nil {
				lines = append(lines, liner.Line())
			}
		}
		if liner != nil {
			where = func(i int) string { return fmt.Sprintf("%s:%d", name, lines[i]) }
		}
	}
	ref, err := refineLog(recs, rule, opts, where)
	if err != nil && !strings.HasPrefix(err.Error(), name+":") {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return ref, err
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
