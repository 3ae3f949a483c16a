package losscurve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// LiveRun is a run in progress, as a live forecast sees it.
type LiveRun struct {
	Name string
	// Records are the run's metrics so far, in increasing step order;
	// records with a positive finite loss are fitted.
	Records []runlog.Record
	// Rate is the run's schedule: the rate of past steps that logged no
	// lr, and of every step from Next on.
	Rate func(step int64) float64
	// Next is the first step not yet trained; Budget the run's total
	// number of steps (the forecast's horizon is step Budget−1).
	Next, Budget int64
}

// ForecastOptions tune Live. The zero value is the documented default.
type ForecastOptions struct {
	// Kind is the law (default KindMPL).
	Kind string
	// Level is the level of the prediction intervals (default 0.9).
	Level float64
	// Samples is the number of curve points returned (default 200).
	Samples int
	// MaxPoints caps the fitted losses, evenly thinned (default 400).
	MaxPoints int
	// MinDecay is how far below its peak (a fraction of the peak) the
	// rate must have fallen since warm-up, with MinPoints losses logged
	// after that fall began, before a law with a loss-drop term is
	// identified (default 0.1).
	MinDecay float64
	// Fit are the fit's options (default recipe).
	Fit FitOptions
}

// Band is a predicted loss and its prediction interval.
type Band struct {
	Loss float64 `json:"loss"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// CurvePoint is the prediction at one step.
type CurvePoint struct {
	Step int64 `json:"step"`
	Band
}

// Option is another schedule for the rest of a run and its predicted
// final loss.
type Option struct {
	Name string `json:"name"`
	// Tail is the schedule from the forecast's AtStep on, written from its
	// own step 0.
	Tail  string `json:"tail"`
	Final Band   `json:"final"`
}

// Forecast is what a law fitted to a run in progress predicts, and what it
// cannot predict.
type Forecast struct {
	Law    string             `json:"law"`
	Params map[string]float64 `json:"params,omitempty"`
	// Points is the number of losses fitted.
	Points    int     `json:"points"`
	AtStep    int64   `json:"at_step"`
	FinalStep int64   `json:"final_step"`
	Level     float64 `json:"level"`
	// Identifiable says whether the fitted law can predict the effect of
	// a change of schedule; when false, Reason says why and Options is
	// empty.
	Identifiable bool   `json:"identifiable"`
	Reason       string `json:"reason,omitempty"`
	// Note qualifies an identifiable forecast: the power law cannot rank
	// schedules; a forecast beyond LongHorizon times the fitted steps is a
	// long extrapolation.
	Note string `json:"note,omitempty"`
	// Warnings name fitted parameters at a bound of the search box.
	Warnings []string `json:"warnings,omitempty"`
	// DefinedFrom and DefinedTo bound the steps where the prediction is
	// defined: from the first fitted loss (the law diverges towards step
	// 0) to the horizon, or, when the law is not identifiable, to the last
	// step before the schedule leaves the rates the fit has seen. Both are
	// −1 when nothing is defined.
	DefinedFrom int64 `json:"defined_from"`
	DefinedTo   int64 `json:"defined_to"`
	// Final is the prediction at FinalStep under the current schedule;
	// nil when it is not defined there.
	Final *Band `json:"final,omitempty"`
	// Curve samples the prediction under the current schedule within
	// [DefinedFrom, DefinedTo].
	Curve []CurvePoint `json:"curve"`
	// Options are other schedules for the rest of the run, best (lowest
	// predicted final loss) first.
	Options []Option `json:"options,omitempty"`
}

// Live fits a law to the losses of a run in progress and forecasts its
// loss under its own schedule and under cosine, linear and WSD decays from
// the next step, each with a prediction interval (Fitted.Interval).
//
// A law with a loss-drop term (mpl, annealing) fitted to a run whose rate
// has not decayed cannot tell how the loss will respond to a decay: the
// forecast then says so (Identifiable false, with the reason), ranks no
// schedules, and predicts only while the schedule stays within the rates
// the fit has seen. Predictions before the first fitted loss are never
// returned.
func Live(ctx context.Context, run LiveRun, opts ForecastOptions) (Forecast, error) {
	if opts.Kind == "" {
		opts.Kind = KindMPL
	}
	if opts.Level <= 0 || opts.Level >= 1 {
		opts.Level = 0.9
	}
	if opts.Samples <= 1 {
		opts.Samples = 200
	}
	if opts.MaxPoints < MinPoints {
		opts.MaxPoints = 400
	}
	if opts.MinDecay <= 0 {
		opts.MinDecay = 0.1
	}
	if run.Rate == nil {
		return Forecast{}, errors.New("losscurve: live forecast: no schedule (Rate is nil)")
	}
	if run.Next < 0 || run.Budget < run.Next {
		return Forecast{}, fmt.Errorf("losscurve: live forecast: next step %d and budget %d: want 0 <= next <= budget", run.Next, run.Budget)
	}
	final := max(run.Budget, run.Next, 1)
	fc := Forecast{Law: opts.Kind, AtStep: run.Next, FinalStep: final - 1, Level: opts.Level, DefinedFrom: -1, DefinedTo: -1}
	lrs := make([]float64, final)
	for i := range lrs {
		lrs[i] = run.Rate(int64(i))
	}
	var pts []Point
	for _, rec := range run.Records {
		if rec.Step < 0 || rec.Step >= run.Next {
			continue
		}
		if rec.Has(runlog.FieldLR) {
			lrs[rec.Step] = rec.LR
		}
		if rec.Has(runlog.FieldLoss) && rec.Loss > 0 && !math.IsInf(rec.Loss, 0) {
			if n := len(pts); n == 0 || int(rec.Step) > pts[n-1].Step {
				pts = append(pts, Point{Step: int(rec.Step), Loss: rec.Loss})
			}
		}
	}
	for i, v := range lrs {
		if !(v >= 0) || math.IsInf(v, 0) {
			return Forecast{}, fmt.Errorf("losscurve: live forecast: run %s: rate at step %d is %v, want finite and >= 0", run.Name, i, v)
		}
	}
	if len(pts) > opts.MaxPoints {
		thin := make([]Point, 0, opts.MaxPoints)
		for i := range opts.MaxPoints {
			thin = append(thin, pts[i*(len(pts)-1)/(opts.MaxPoints-1)])
		}
		pts = thin
	}
	hist := Run{Name: run.Name, LRs: lrs[:max(run.Next, 1)], Points: pts}
	nfit := len(fitPoints(hist))
	fc.Points = nfit
	if nfit < MinPoints {
		fc.Reason = fmt.Sprintf("not enough losses yet: %d logged after the warm-up, the fit needs %d", nfit, MinPoints)
		return fc, nil
	}
	fitted, rep, err := Fit(ctx, opts.Kind, []Run{hist}, opts.Fit)
	if err != nil {
		return Forecast{}, fmt.Errorf("losscurve: live forecast: %w", err)
	}
	fc.Params = Base(fitted).Params()
	fc.Warnings = rep.Warnings
	info := fitted.Info
	fc.DefinedFrom = int64(info.From)
	fc.DefinedTo = final - 1
	fc.Identifiable = true
	if opts.Kind != KindPower {
		if reason := identifiability(hist, opts.MinDecay); reason != "" {
			fc.Identifiable, fc.Reason = false, reason
			// Defined while the schedule keeps within the rates seen
			// after warm-up.
			low := math.Inf(1)
			for i := DetectWarmup(hist.LRs); i <= info.To && i < len(hist.LRs); i++ {
				low = min(low, hist.LRs[i])
			}
			fc.DefinedTo = int64(info.To)
			for t := info.To + 1; t < len(lrs) && lrs[t] >= low*(1-1e-9); t++ {
				fc.DefinedTo = int64(t)
			}
		}
	} else {
		fc.Note = "the power law ignores the schedule: every option gets the same prediction"
	}
	if long := HorizonNote(fitted, int(final)); fc.Identifiable && long != "" {
		if fc.Note != "" {
			long = fc.Note + "; " + long
		}
		fc.Note = long
	}
	mid, lo, hi := fitted.Interval(lrs, opts.Level)
	from, to := fc.DefinedFrom, fc.DefinedTo
	for k := range opts.Samples {
		s := from + int64(k)*(to-from)/int64(opts.Samples-1)
		if n := len(fc.Curve); n > 0 && fc.Curve[n-1].Step == s {
			continue
		}
		fc.Curve = append(fc.Curve, CurvePoint{Step: s, Band: Band{mid[s], lo[s], hi[s]}})
	}
	if to == final-1 {
		fc.Final = &Band{mid[to], lo[to], hi[to]}
	}
	for _, v := range mid[from : to+1] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Forecast{}, fmt.Errorf("losscurve: live forecast: the fitted %s law predicts a non-finite loss", opts.Kind)
		}
	}
	if !fc.Identifiable || run.Next >= final {
		return fc, nil
	}
	// Other schedules for the rest of the run, from the current rate.
	cur := run.Rate(run.Next)
	left := final - run.Next
	tails := []struct {
		name string
		s    schedule.Schedule
	}{
		{"cosine", schedule.Cosine{Peak: cur, Steps: left}},
		{"linear", schedule.Linear{Peak: cur, Steps: left}},
		{"wsd", schedule.WSD{Peak: cur, Steps: left, Decay: schedule.Fraction(0.2), Shape: "linear"}},
	}
	alt := make([]float64, final)
	copy(alt, lrs[:run.Next])
	for _, t := range tails {
		s, err := schedule.New(t.s)
		if err != nil {
			return Forecast{}, fmt.Errorf("losscurve: live forecast: option %s: %w", t.name, err)
		}
		for i := run.Next; i < final; i++ {
			alt[i] = s.LR(i - run.Next)
		}
		m, l, h := fitted.Interval(alt, opts.Level)
		fc.Options = append(fc.Options, Option{Name: t.name, Tail: s.String(), Final: Band{m[final-1], l[final-1], h[final-1]}})
	}
	sort.SliceStable(fc.Options, func(i, j int) bool { return fc.Options[i].Final.Loss < fc.Options[j].Final.Loss })
	return fc, nil
}

// identifiability returns why a law with a loss-drop term fitted to run
// cannot tell how the loss responds to a decay, or "" when it can: the
// rate must have fallen at least minDecay of its peak since warm-up, with
// MinPoints losses logged from that fall on.
func identifiability(run Run, minDecay float64) string {
	pts := fitPoints(run)
	w := DetectWarmup(run.LRs)
	last := pts[len(pts)-1].Step
	peak := 0.0
	for _, v := range run.LRs[:last+1] {
		peak = max(peak, v)
	}
	fell, low := -1, peak
	for i := w; i <= last; i++ {
		low = min(low, run.LRs[i])
		if fell < 0 && run.LRs[i] <= peak*(1-minDecay) {
			fell = i
		}
	}
	after := 0
	for _, p := range pts {
		if fell >= 0 && p.Step >= fell {
			after++
		}
	}
	if fell >= 0 && after >= MinPoints {
		return ""
	}
	drop := 0.0
	if peak > 0 {
		drop = (peak - low) / peak
	}
	if fell < 0 {
		return fmt.Sprintf("not identifiable until the rate has decayed: since the warm-up the rate has fallen %.0f%% below its peak, and the law needs a fall of %.0f%% with %d losses logged after it to learn how the loss responds to a decay", 100*drop, 100*minDecay, MinPoints)
	}
	return fmt.Sprintf("not identifiable until more losses are logged after the decay: %d since the rate fell %.0f%% below its peak at step %d, %d needed", after, 100*minDecay, fell, MinPoints)
}
