package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/store"
)

// Limits of the live fit.
const (
	maxPredictSteps = 5_000_000 // longest budget predicted
	maxFitPoints    = 400       // observed losses used (evenly thinned)
	fitTimeout      = 30 * time.Second
)

// Alternative is the predicted final loss of another schedule for the
// rest of the run.
type Alternative struct {
	Name      string  `json:"name"`
	Tail      string  `json:"tail"` // the schedule from the next step on, written from its own step 0
	FinalLoss float64 `json:"final_loss"`
}

// Prediction is the live fit of a loss-curve law to a run's losses and
// what it predicts.
type Prediction struct {
	Law          string             `json:"law"`
	Params       map[string]float64 `json:"params"`
	Points       int                `json:"points"`
	AtStep       int64              `json:"at_step"` // the next step: alternatives start here
	FinalStep    int64              `json:"final_step"`
	FinalLoss    float64            `json:"final_loss"` // under the current spec
	Alternatives []Alternative      `json:"alternatives"`
	// Curve is the predicted loss under the current spec at up to 200
	// steps, for charts.
	CurveSteps []int64   `json:"curve_steps"`
	CurveLoss  []float64 `json:"curve_loss"`
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

// Predict fits a law of the given kind to the losses in recs of a run
// following ctrl, and predicts its final loss under the current spec and
// under cosine, linear and WSD decays from the next step to the budget.
// The rate of a past step is the reported lr where there is one, else the
// controller's.
func Predict(ctx context.Context, run store.Run, ctrl control.Controller, recs []runlog.Record, law string) (Prediction, error) {
	at := run.LastStep + 1
	final := max(run.Budget, at)
	if final > maxPredictSteps {
		return Prediction{}, badRequest("budget of %d steps is too long to predict (limit %d)", final, maxPredictSteps)
	}
	hist := make([]float64, at)
	for i := range hist {
		hist[i] = ctrl.LR(int64(i))
	}
	var pts []losscurve.Point
	for _, rec := range recs {
		if rec.Step < at && rec.Has(runlog.FieldLR) {
			hist[rec.Step] = rec.LR
		}
		if rec.Has(runlog.FieldLoss) && rec.Loss > 0 {
			pts = append(pts, losscurve.Point{Step: int(rec.Step), Loss: rec.Loss})
		}
	}
	if len(pts) > maxFitPoints {
		thin := make([]losscurve.Point, 0, maxFitPoints)
		for i := range maxFitPoints {
			thin = append(thin, pts[i*(len(pts)-1)/(maxFitPoints-1)])
		}
		pts = thin
	}
	fitted, _, err := losscurve.Fit(ctx, law, []losscurve.Run{{Name: run.Name, LRs: hist, Points: pts}}, losscurve.FitOptions{})
	if err != nil {
		return Prediction{}, &apiError{code: http.StatusUnprocessableEntity, msg: fmt.Sprintf("cannot fit the %s law yet: %v", law, err)}
	}
	withTail := func(tail func(int64) float64) []float64 {
		lrs := make([]float64, final)
		copy(lrs, hist)
		for i := at; i < final; i++ {
			lrs[i] = tail(i)
		}
		return lrs
	}
	curLRs := withTail(ctrl.LR)
	curve := fitted.Predict(curLRs)
	p := Prediction{Law: law, Params: fitted.Params(), Points: len(pts), AtStep: at, FinalStep: final - 1,
		FinalLoss: curve[len(curve)-1], Version: run.Version}
	n := int64(len(curve))
	for k := range int64(200) {
		i := k * (n - 1) / 199
		if len(p.CurveSteps) > 0 && p.CurveSteps[len(p.CurveSteps)-1] == i {
			continue
		}
		p.CurveSteps = append(p.CurveSteps, i)
		p.CurveLoss = append(p.CurveLoss, curve[i])
	}
	if left := final - at; left > 0 {
		cur := ctrl.LR(at)
		for _, alt := range []struct{ name, tail string }{
			{"cosine", fmt.Sprintf("cosine(peak=%s, steps=%d)", num(cur), left)},
			{"linear", fmt.Sprintf("linear(peak=%s, steps=%d)", num(cur), left)},
			{"wsd", fmt.Sprintf("wsd(peak=%s, steps=%d, decay=0.2)", num(cur), left)},
		} {
			sch, err := schedule.Parse(alt.tail)
			if err != nil {
				return Prediction{}, fmt.Errorf("alternative %s: %w", alt.name, err)
			}
			pred := fitted.Predict(withTail(func(i int64) float64 { return sch.LR(i - at) }))
			p.Alternatives = append(p.Alternatives, Alternative{Name: alt.name, Tail: sch.String(), FinalLoss: pred[len(pred)-1]})
		}
	}
	for _, v := range append([]float64{p.FinalLoss}, p.CurveLoss...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Prediction{}, &apiError{code: http.StatusUnprocessableEntity, msg: "the fitted law predicts a non-finite loss"}
		}
	}
	return p, nil
}
