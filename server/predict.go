package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
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

type cachedPrediction struct {
	version int64
	law     string
	p       Prediction
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
	p, err := s.predict(r.Context(), tok.ProjectID, id, law)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// predict fits law to the run's losses (cached per run version).
func (s *Server) predict(ctx context.Context, projectID, id int64, law string) (Prediction, error) {
	run, err := s.st.GetRun(ctx, projectID, id)
	if err != nil {
		return Prediction{}, err
	}
	s.predMu.Lock()
	c, ok := s.preds[id]
	s.predMu.Unlock()
	if ok && c.version == run.Version && c.law == law {
		return c.p, nil
	}
	ctrl, err := buildController(run)
	if err != nil {
		return Prediction{}, err
	}
	recs, err := s.st.Metrics(ctx, projectID, id, 0, 0)
	if err != nil {
		return Prediction{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, fitTimeout)
	defer cancel()
	p, err := Predict(ctx, run, ctrl, recs, law)
	if err != nil {
		return Prediction{}, err
	}
	s.predMu.Lock()
	s.preds[id] = cachedPrediction{version: run.Version, law: law, p: p}
	s.predMu.Unlock()
	return p, nil
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
