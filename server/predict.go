package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/store"
)

// Limits of the live fit.
const (
	maxPredictSteps = 5_000_000 // longest budget predicted
	maxFitPoints    = 400       // observed losses used (evenly thinned)
	fitTimeout      = 30 * time.Second
)

// predictWait is the longest an API request waits for its fit, which may
// be queued behind others of up to fitTimeout each: past it the answer is
// a 503 to try again, not a request held for minutes (until the client or
// the server's write timeout cut it, with no answer).
var predictWait = time.Minute

// Alternative is the predicted final loss of another schedule for the
// rest of the run, with its prediction interval.
type Alternative struct {
	Name      string  `json:"name"`
	Tail      string  `json:"tail"` // the schedule from the next step on, written from its own step 0
	FinalLoss float64 `json:"final_loss"`
	FinalLo   float64 `json:"final_lo"`
	FinalHi   float64 `json:"final_hi"`
}

// Prediction is the live fit of a loss-curve law to a run's losses and
// what it predicts (losscurve.Live). When the law cannot be identified
// from the run yet (a law with a loss-drop term fitted to a run whose rate
// has not decayed), Identifiable is false, Reason says why and no
// alternative is ranked. Predictions exist only for steps DefinedFrom to
// DefinedTo (the curve arrays hold only such steps); FinalLoss and its
// interval are 0 unless FinalDefined.
type Prediction struct {
	Law          string             `json:"law"`
	Params       map[string]float64 `json:"params"`
	Points       int                `json:"points"`
	AtStep       int64              `json:"at_step"` // the next step: alternatives start here
	FinalStep    int64              `json:"final_step"`
	Identifiable bool               `json:"identifiable"`
	Reason       string             `json:"reason,omitempty"`
	Note         string             `json:"note,omitempty"`
	Warnings     []string           `json:"warnings,omitempty"`
	DefinedFrom  int64              `json:"defined_from"`
	DefinedTo    int64              `json:"defined_to"`
	Level        float64            `json:"level"`
	FinalDefined bool               `json:"final_defined"`
	FinalLoss    float64            `json:"final_loss"` // under the current spec
	FinalLo      float64            `json:"final_lo"`
	FinalHi      float64            `json:"final_hi"`
	Alternatives []Alternative      `json:"alternatives"` // best first
	// Curve is the predicted loss under the current spec, with its
	// interval, at up to 200 steps within [DefinedFrom, DefinedTo].
	CurveSteps []int64   `json:"curve_steps"`
	CurveLoss  []float64 `json:"curve_loss"`
	CurveLo    []float64 `json:"curve_lo"`
	CurveHi    []float64 `json:"curve_hi"`
	Version    int64     `json:"version"`
}

func (s *Server) getPrediction(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	law := r.URL.Query().Get("law")
	if law == "" {
		law = losscurve.KindMPL
	}
	if !slices.Contains(losscurve.Kinds(), law) {
		s.fail(w, r, badRequest("law=%q: want one of %s", law, strings.Join(losscurve.Kinds(), ", ")))
		return
	}
	p, err := s.pred.get(r.Context(), tok.ProjectID, id, law, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// The forecast is fitted off the request path: a predictor goroutine fits
// one run and law at a time, and keeps the last fit of each. A request
// gets the fit of the run's current version if there is one; else the last
// fit if it is younger than Options.PredictEvery (so a run taking metrics
// is fitted at most that often, however often it is asked); else a new
// fit is queued, and the API route waits for it while the dashboard shows
// what it has. A Prediction's Version says which run version it fits.

// errFitting answers a dashboard that asked for a run's first fit.
var errFitting = &apiError{code: http.StatusAccepted, msg: "fitting the law: the prediction appears on the next refresh"}

type predKey struct {
	run int64
	law string
}

// predSlot is the last fit of one run and law, and the fit in progress.
type predSlot struct {
	project int64
	p       *Prediction
	err     error     // the last fit's error, if it failed
	version int64     // the run version the last fit is for
	at      time.Time // when the last fit ended; zero: none yet
	queued  bool
	wait    chan struct{} // closed when the queued fit ends
}

type predictor struct {
	s     *Server
	mu    sync.Mutex
	slots map[predKey]*predSlot
	queue chan predKey
}

func newPredictor(s *Server) *predictor {
	p := &predictor{s: s, slots: map[predKey]*predSlot{}, queue: make(chan predKey, 1024)}
	s.wg.Add(1)
	go p.work()
	return p
}

// get returns the prediction of a run under law (see above); with wait
// set it waits for a fit if there is none recent enough.
func (p *predictor) get(ctx context.Context, projectID, id int64, law string, wait bool) (Prediction, error) {
	e, err := p.s.entry(ctx, projectID, id)
	if err != nil {
		return Prediction{}, err
	}
	k := predKey{id, law}
	p.mu.Lock()
	sl := p.slots[k]
	if sl == nil || sl.project != projectID {
		if len(p.slots) > 10000 {
			// Drop the finished fits, not the queued ones: the worker
			// closes a queued slot's wait channel, and requests wait on
			// it (a queued slot dropped here was queued again by the
			// next request for it and closed twice, a panic).
			maps.DeleteFunc(p.slots, func(_ predKey, sl *predSlot) bool { return !sl.queued })
		}
		sl = &predSlot{project: projectID}
		p.slots[k] = sl
	}
	if !sl.at.IsZero() && (sl.version >= e.run.Version || time.Since(sl.at) < p.s.opts.PredictEvery) {
		pr, err := sl.result()
		p.mu.Unlock()
		return pr, err
	}
	if !sl.queued {
		select {
		case p.queue <- k:
			sl.queued, sl.wait = true, make(chan struct{})
		default:
			p.mu.Unlock()
			return Prediction{}, &apiError{code: http.StatusServiceUnavailable, msg: "too many forecasts queued: try again"}
		}
	}
	done := sl.wait
	if !wait {
		pr, err := sl.result()
		if sl.at.IsZero() {
			err = errFitting
		}
		p.mu.Unlock()
		return pr, err
	}
	p.mu.Unlock()
	timer := time.NewTimer(predictWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		return Prediction{}, &apiError{code: http.StatusServiceUnavailable, msg: "the forecast is still being fitted (after others queued before it): try again"}
	case <-ctx.Done():
		return Prediction{}, ctx.Err()
	case <-p.s.done:
		return Prediction{}, store.ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return sl.result()
}

func (sl *predSlot) result() (Prediction, error) {
	if sl.err != nil {
		return Prediction{}, sl.err
	}
	if sl.p == nil {
		return Prediction{}, errFitting
	}
	return *sl.p, nil
}

// work fits the queued runs until the server closes.
func (p *predictor) work() {
	defer p.s.wg.Done()
	for {
		var k predKey
		select {
		case <-p.s.done:
			return
		case k = <-p.queue:
		}
		p.mu.Lock()
		sl := p.slots[k]
		p.mu.Unlock()
		if sl == nil {
			continue
		}
		pr, version, err := p.fit(sl.project, k.run, k.law)
		p.mu.Lock()
		if err == nil {
			sl.p, sl.err = &pr, nil
		} else {
			sl.p, sl.err = nil, err
		}
		sl.version, sl.at, sl.queued = version, time.Now(), false
		close(sl.wait)
		p.mu.Unlock()
	}
}

// fit reads a run and its metrics and fits law to them.
func (p *predictor) fit(projectID, id int64, law string) (Prediction, int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fitTimeout)
	defer cancel()
	run, err := p.s.st.GetRun(ctx, projectID, id)
	if err != nil {
		return Prediction{}, 0, err
	}
	recs, err := p.s.st.Metrics(ctx, projectID, id, 0, 0)
	if err != nil {
		return Prediction{}, run.Version, err
	}
	ctrl, err := buildController(run)
	if err != nil {
		return Prediction{}, run.Version, err
	}
	start := time.Now()
	pr, err := Predict(ctx, run, ctrl, recs, law)
	p.s.log.Debug("forecast", "run", id, "law", law, "version", run.Version, "records", len(recs), "dur", time.Since(start), "err", err)
	return pr, run.Version, err
}

// Predict forecasts a run following ctrl from its metric records with a
// law of the given kind (losscurve.Live): the fit, its predictions with
// intervals under the current spec and under cosine, linear and WSD decays
// from the next step to the budget, and whether the run identifies the law
// at all. The rate of a past step is the reported lr where there is one,
// else the controller's.
func Predict(ctx context.Context, run store.Run, ctrl control.Controller, recs []runlog.Record, law string) (Prediction, error) {
	at := run.LastStep + 1
	final := max(run.Budget, at)
	if final > maxPredictSteps {
		return Prediction{}, badRequest("budget of %d steps is too long to predict (limit %d)", final, maxPredictSteps)
	}
	f, err := losscurve.Live(ctx, losscurve.LiveRun{Name: run.Name, Records: recs, Rate: ctrl.LR, Next: at, Budget: final},
		losscurve.ForecastOptions{Kind: law, MaxPoints: maxFitPoints})
	if err != nil {
		return Prediction{}, &apiError{code: http.StatusUnprocessableEntity, msg: fmt.Sprintf("cannot fit the %s law yet: %v", law, err)}
	}
	if f.DefinedFrom < 0 { // too few losses to fit anything
		return Prediction{}, &apiError{code: http.StatusUnprocessableEntity, msg: fmt.Sprintf("cannot fit the %s law yet: %s", law, f.Reason)}
	}
	p := Prediction{Law: f.Law, Params: f.Params, Points: f.Points, AtStep: f.AtStep, FinalStep: f.FinalStep,
		Identifiable: f.Identifiable, Reason: f.Reason, Note: f.Note, Warnings: f.Warnings,
		DefinedFrom: f.DefinedFrom, DefinedTo: f.DefinedTo, Level: f.Level, Version: run.Version}
	if f.Final != nil {
		p.FinalDefined, p.FinalLoss, p.FinalLo, p.FinalHi = true, f.Final.Loss, f.Final.Lo, f.Final.Hi
	}
	for _, c := range f.Curve {
		p.CurveSteps = append(p.CurveSteps, c.Step)
		p.CurveLoss = append(p.CurveLoss, c.Loss)
		p.CurveLo = append(p.CurveLo, c.Lo)
		p.CurveHi = append(p.CurveHi, c.Hi)
	}
	for _, o := range f.Options {
		p.Alternatives = append(p.Alternatives, Alternative{Name: o.Name, Tail: o.Tail, FinalLoss: o.Final.Loss, FinalLo: o.Final.Lo, FinalHi: o.Final.Hi})
	}
	return p, nil
}
