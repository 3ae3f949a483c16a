package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/store"
)

// RunJSON is a run as the API returns it.
type RunJSON struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Spec    string `json:"spec"`
	Budget  int64  `json:"budget"`
	Status  string `json:"status"`
	Version int64  `json:"version"`
	// ScheduleVersion changes exactly when the run's rates may have
	// changed (see scheduleVersion); Version also changes with every
	// stored metrics batch.
	ScheduleVersion string    `json:"schedule_version"`
	LastStep        int64     `json:"last_step"`
	Created         time.Time `json:"created"`
	Updated         time.Time `json:"updated"`
}

func runJSON(r store.Run) RunJSON {
	return RunJSON{ID: r.ID, Name: r.Name, Spec: r.Spec, Budget: r.Budget, Status: string(r.Status),
		Version: r.Version, ScheduleVersion: scheduleVersion(r), LastStep: r.LastStep, Created: r.Created, Updated: r.Updated}
}

// scheduleVersion identifies the rates a run gives: a hash of its spec and
// its controller's state, the two things its rates are a function of. A
// fixed schedule keeps it while metrics arrive; a controller that learns
// from them changes it as its state changes.
func scheduleVersion(r store.Run) string {
	h := fnv.New64a()
	h.Write([]byte(r.Spec))
	h.Write([]byte{0})
	h.Write(r.ControllerState)
	return strconv.FormatUint(h.Sum64(), 16)
}

// CreateRunRequest is the body of POST /v1/runs.
type CreateRunRequest struct {
	Name   string `json:"name"`
	Spec   string `json:"spec"`
	Budget int64  `json:"budget"`
}

// MetricJSON is one step's metrics; absent fields are not reported.
type MetricJSON struct {
	Step       int64    `json:"step"`
	LR         *float64 `json:"lr,omitempty"`
	Loss       *float64 `json:"loss,omitempty"`
	GradNorm   *float64 `json:"grad_norm,omitempty"`
	GradNormL1 *float64 `json:"grad_norm_l1,omitempty"`
	ValLoss    *float64 `json:"val_loss,omitempty"`
	ValMetric  *float64 `json:"val_metric,omitempty"`
}

// MetricsRequest is the body of POST /v1/runs/{run}/metrics. A batch ID
// already received for the run stores nothing (a retry).
type MetricsRequest struct {
	BatchID string       `json:"batch_id"`
	Metrics []MetricJSON `json:"metrics"`
}

// MetricsResponse says what a metrics batch stored.
type MetricsResponse struct {
	Duplicate       bool    `json:"duplicate"`
	Inserted        int     `json:"inserted"`
	Skipped         int     `json:"skipped"`
	Version         int64   `json:"version"`
	ScheduleVersion string  `json:"schedule_version"`
	LastStep        int64   `json:"last_step"`
	NextLR          float64 `json:"next_lr"` // the rate of step last_step+1
}

func (s *Server) runID(r *http.Request) (int64, error) {
	v := r.PathValue("run")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{code: http.StatusNotFound, msg: fmt.Sprintf("run %q not found", v)}
	}
	return id, nil
}

// fail answers an error: a client error with its status, a missing run
// 404, a name clash 409, anything else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeError(w, ae.code, ae.msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("run %s not found", r.PathValue("run")))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "a run of that name already exists in the project")
	default:
		s.internal(w, r, err)
	}
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, tok store.Token) {
	writeJSON(w, http.StatusOK, map[string]any{"project_id": tok.ProjectID, "token_name": tok.Name})
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request, tok store.Token) {
	var req CreateRunRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := validateCreate(req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := control.Parse(req.Spec)
	if err != nil {
		s.fail(w, r, badRequest("spec: %v", err))
		return
	}
	state, err := c.State()
	if err != nil {
		s.internal(w, r, err)
		return
	}
	run, err := s.st.CreateRun(r.Context(), tok.ProjectID, req.Name, c.String(), req.Budget, state)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("run created", "project", tok.ProjectID, "run", run.ID, "spec", run.Spec)
	writeJSON(w, http.StatusCreated, runJSON(run))
}

func validateCreate(req CreateRunRequest) error {
	if req.Name == "" || len(req.Name) > 200 {
		return badRequest("name: want 1 to 200 characters, got %d", len(req.Name))
	}
	if req.Spec == "" {
		return badRequest("spec: missing (a schedule or controller spec such as cosine(peak=3e-4, steps=10000))")
	}
	if len(req.Spec) > 10000 {
		return badRequest("spec: %d characters, the limit is 10000", len(req.Spec))
	}
	if req.Budget <= 0 || req.Budget > MaxStep {
		return badRequest("budget: %d steps, want 1 to %d", req.Budget, MaxStep)
	}
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, tok store.Token) {
	runs, err := s.st.ListRuns(r.Context(), tok.ProjectID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]RunJSON, 0, len(runs))
	for _, run := range runs {
		out = append(out, runJSON(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	run, err := s.st.GetRun(r.Context(), tok.ProjectID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runJSON(run))
}

// LRResponse answers GET /v1/runs/{run}/lr: one step's rate, or the rates
// of steps from..to-1.
type LRResponse struct {
	Step            *int64    `json:"step,omitempty"`
	LR              *float64  `json:"lr,omitempty"`
	From            *int64    `json:"from,omitempty"`
	LRs             []float64 `json:"lrs,omitempty"`
	Version         int64     `json:"version"`
	ScheduleVersion string    `json:"schedule_version"`
	Status          string    `json:"status"`
	Budget          int64     `json:"budget"`
}

func (s *Server) getLR(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	q := r.URL.Query()
	step, hasStep, err := queryInt(q, "step", 0, math.MinInt64, math.MaxInt64)
	if err == nil && hasStep {
		err = checkStep("query parameter step", step)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	from, hasFrom, err := queryInt(q, "from", 0, math.MinInt64, math.MaxInt64)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, hasTo, err := queryInt(q, "to", 0, math.MinInt64, math.MaxInt64)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case hasStep && (hasFrom || hasTo):
		err = badRequest("give either step or from and to, not both")
	case !hasStep && !(hasFrom && hasTo):
		err = badRequest("give step=N, or from=A and to=B for the rates of steps A..B-1")
	case hasFrom:
		if err = checkStep("query parameter from", from); err == nil {
			if err = checkStep("query parameter to", to); err == nil && to <= from {
				err = badRequest("to=%d must be greater than from=%d", to, from)
			} else if err == nil && to-from > MaxRange {
				err = badRequest("range of %d steps is too long (at most %d per request)", to-from, MaxRange)
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.entry(r.Context(), tok.ProjectID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := LRResponse{Version: e.run.Version, ScheduleVersion: e.schedVersion, Status: string(e.run.Status), Budget: e.run.Budget}
	e.mu.Lock()
	if hasStep {
		v := e.ctrl.LR(step)
		resp.Step, resp.LR = &step, &v
	} else {
		resp.From = &from
		resp.LRs = make([]float64, to-from)
		for i := range resp.LRs {
			resp.LRs[i] = e.ctrl.LR(from + int64(i))
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// records converts and checks a batch; errors name the record index and
// field.
func records(req MetricsRequest) ([]runlog.Record, error) {
	if req.BatchID == "" || len(req.BatchID) > 128 {
		return nil, badRequest("batch_id: want 1 to 128 characters (a unique ID per batch makes retries safe), got %d", len(req.BatchID))
	}
	if len(req.Metrics) == 0 {
		return nil, badRequest("metrics: empty batch")
	}
	if len(req.Metrics) > MaxBatch {
		return nil, badRequest("metrics: %d records, at most %d per batch", len(req.Metrics), MaxBatch)
	}
	out := make([]runlog.Record, len(req.Metrics))
	for i, m := range req.Metrics {
		where := fmt.Sprintf("metrics[%d]", i)
		if err := checkStep(where, m.Step); err != nil {
			return nil, err
		}
		rec := runlog.Record{Step: m.Step}
		fields := []struct {
			name   string
			v      *float64
			nonNeg bool
			dst    *float64
			f      runlog.Field
		}{
			{"lr", m.LR, true, &rec.LR, runlog.FieldLR},
			{"loss", m.Loss, false, &rec.Loss, runlog.FieldLoss},
			{"grad_norm", m.GradNorm, true, &rec.GradNorm, runlog.FieldGradNorm},
			{"grad_norm_l1", m.GradNormL1, true, &rec.GradNormL1, runlog.FieldGradNormL1},
			{"val_loss", m.ValLoss, false, &rec.ValLoss, runlog.FieldValLoss},
			{"val_metric", m.ValMetric, false, &rec.ValMetric, runlog.FieldValMetric},
		}
		for _, f := range fields {
			if err := checkFinite(where+"."+f.name, f.v, f.nonNeg); err != nil {
				return nil, err
			}
			if f.v != nil {
				*f.dst = *f.v
				rec.Present |= f.f
			}
		}
		if rec.Present == 0 {
			return nil, badRequest("%s (step %d): no metric reported", where, m.Step)
		}
		out[i] = rec
	}
	return out, nil
}

// decision is a change of a controller's next rate caused by what it
// observed.
type decision struct {
	Step     int64   `json:"step"`
	From     float64 `json:"from_lr"`
	To       float64 `json:"to_lr"`
	Observed int     `json:"observed"`
}

func (s *Server) postMetrics(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	var req MetricsRequest
	if err := decodeBody(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := records(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var dec *decision
	var ctrl control.Controller
	res, err := s.st.AppendMetrics(r.Context(), tok.ProjectID, id, req.BatchID, recs, func(run *store.Run, fresh []runlog.Record) error {
		dec, ctrl = nil, nil
		c, err := buildController(*run)
		if err != nil {
			return err
		}
		ctrl = c
		if run.Status != store.RunRunning || len(fresh) == 0 {
			return nil
		}
		obs := slices.Clone(fresh)
		slices.SortFunc(obs, func(a, b runlog.Record) int { return int(min(max(a.Step-b.Step, -1), 1)) })
		next := run.LastStep + 1
		before := c.LR(next)
		for _, rec := range obs {
			c.Observe(rec)
		}
		after := c.LR(next)
		if before != after {
			dec = &decision{Step: next, From: before, To: after, Observed: len(obs)}
		}
		st, err := c.State()
		if err != nil {
			return fmt.Errorf("controller state: %w", err)
		}
		run.ControllerState = st
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Duplicate {
		s.dupes.Inc()
	}
	s.stored.Add(float64(res.Inserted))
	if dec != nil {
		detail, _ := json.Marshal(dec)
		if _, err := s.st.AddEvent(r.Context(), tok.ProjectID, id, dec.Step, "controller", detail); err != nil {
			s.log.Error("controller event", "run", id, "err", err)
		}
	}
	var next float64
	if ctrl != nil {
		e := newRunEntry(res.Run, ctrl)
		s.store(e)
		next = ctrl.LR(res.Run.LastStep + 1)
	} else if e, err := s.entry(r.Context(), tok.ProjectID, id); err == nil {
		e.mu.Lock()
		next = e.ctrl.LR(e.run.LastStep + 1)
		e.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, MetricsResponse{Duplicate: res.Duplicate, Inserted: res.Inserted, Skipped: res.Skipped,
		Version: res.Run.Version, ScheduleVersion: scheduleVersion(res.Run), LastStep: res.Run.LastStep, NextLR: next})
}

// store caches e unless a newer version of its run is cached.
func (s *Server) store(e *runEntry) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if old := s.runs[e.run.ID]; old != nil && old.run.Version > e.run.Version {
		return
	}
	s.runs[e.run.ID] = e
}

func metricJSON(rec runlog.Record) MetricJSON {
	m := MetricJSON{Step: rec.Step}
	opt := func(f runlog.Field, v float64) *float64 {
		if rec.Has(f) {
			return &v
		}
		return nil
	}
	m.LR = opt(runlog.FieldLR, rec.LR)
	m.Loss = opt(runlog.FieldLoss, rec.Loss)
	m.GradNorm = opt(runlog.FieldGradNorm, rec.GradNorm)
	m.GradNormL1 = opt(runlog.FieldGradNormL1, rec.GradNormL1)
	m.ValLoss = opt(runlog.FieldValLoss, rec.ValLoss)
	m.ValMetric = opt(runlog.FieldValMetric, rec.ValMetric)
	return m
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	q := r.URL.Query()
	from, _, err := queryInt(q, "from", 0, 0, MaxStep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, _, err := queryInt(q, "limit", 10000, 1, MaxRange)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := s.st.Metrics(r.Context(), tok.ProjectID, id, from, int(limit))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]MetricJSON, len(recs))
	for i, rec := range recs {
		out[i] = metricJSON(rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"metrics": out})
}

// EventJSON is a run's event.
type EventJSON struct {
	ID      int64           `json:"id"`
	Step    int64           `json:"step"`
	Kind    string          `json:"kind"`
	Detail  json.RawMessage `json:"detail"`
	Created time.Time       `json:"created"`
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	q := r.URL.Query()
	after, _, err := queryInt(q, "after", 0, 0, math.MaxInt64)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.st.GetRun(r.Context(), tok.ProjectID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	evs, err := s.st.Events(r.Context(), tok.ProjectID, id, after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]EventJSON, len(evs))
	for i, e := range evs {
		out[i] = EventJSON{ID: e.ID, Step: e.Step, Kind: e.Kind, Detail: e.Detail, Created: e.Created}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}
