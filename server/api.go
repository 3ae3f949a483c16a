package server

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
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
	// Warning, on the answer of a creation or an action, says that the
	// budget outlasts the schedule's horizon (the extra steps run at its
	// final rate).
	Warning string `json:"warning,omitempty"`
}

func runJSON(r store.Run) RunJSON {
	return RunJSON{ID: r.ID, Name: r.Name, Spec: r.Spec, Budget: r.Budget, Status: string(r.Status),
		Version: r.Version, ScheduleVersion: scheduleVersion(r), LastStep: r.LastStep, Created: r.Created, Updated: r.Updated}
}

// parseSpec parses a schedule or controller spec that came from a client
// (or was stored from one) in the untrusted mode: a spec that names a
// file (table(file=...)) is refused, and its size is bounded, so a request
// can never make the server read its own files.
func parseSpec(text string) (control.Controller, error) {
	return control.ParseUntrusted(text)
}

// CreateRunRequest is the body of POST /v1/runs.
type CreateRunRequest struct {
	Name   string `json:"name"`
	Spec   string `json:"spec"`
	Budget int64  `json:"budget"`
}

// MetricJSON is one step's metrics; absent fields are not reported. Step
// is required.
type MetricJSON struct {
	Step       *int64   `json:"step"`
	LR         *float64 `json:"lr,omitempty"`
	Loss       *float64 `json:"loss,omitempty"`
	GradNorm   *float64 `json:"grad_norm,omitempty"`
	GradNormL1 *float64 `json:"grad_norm_l1,omitempty"`
	ValLoss    *float64 `json:"val_loss,omitempty"`
	ValMetric  *float64 `json:"val_metric,omitempty"`
}

// MetricsRequest is the body of POST /v1/runs/{run}/metrics. A batch ID
// already received for the run with the same records stores nothing (a
// retry); with other records it is refused (409).
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

// runParam is the request's {run} path value.
func runParam(r *http.Request) string {
	v := r.PathValue("run")
	if v == "" && r.Pattern == "" {
		// The rate route, matched before the router (isLRPath).
		v = strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/runs/"), "/lr")
	}
	return v
}

func (s *Server) runID(r *http.Request) (int64, error) {
	v := runParam(r)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{code: http.StatusNotFound, msg: fmt.Sprintf("run %q not found", v)}
	}
	return id, nil
}

// unavailable reports whether err means the database did not answer (or
// is closed: a server shutting down).
func unavailable(err error) bool {
	var ne *net.OpError
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) || errors.Is(err, store.ErrClosed) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// fail answers an error: a client error with its status, a missing run
// 404, a name clash or a reused batch ID or idempotency key 409, a
// database that does not answer or is damaged 503, anything else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeError(w, ae.code, ae.msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("run %s not found", runParam(r)))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "a run of that name already exists in the project")
	case errors.Is(err, store.ErrKeyReused):
		writeError(w, http.StatusConflict, fmt.Sprintf("Idempotency-Key %q was used for another request on this run (a retry must send the same request; a new action needs a new key)", idempotencyKey(r)))
	case errors.Is(err, store.ErrDamaged):
		s.log.Error("database damaged", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "database damaged: see the server log")
	case unavailable(err) && r.Context().Err() == nil:
		s.log.Error("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable: try again")
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
	if err := validateCreate(req, s.opts.MaxSteps); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := parseSpec(req.Spec)
	if err != nil {
		s.fail(w, r, badRequest("spec: %v", err))
		return
	}
	if err := checkHorizon(c, s.opts.MaxSteps); err != nil {
		s.fail(w, r, err)
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
	s.remember(s.newEntry(run, newBox(c), scheduleVersion(run)))
	s.log.Info("run created", "project", tok.ProjectID, "run", run.ID, "spec", run.Spec)
	out := runJSON(run)
	out.Warning = control.HorizonWarning(c, run.Budget)
	writeJSON(w, http.StatusCreated, out)
}

// checkHorizon refuses a schedule whose horizon (the step at which it has
// run its course) is past the server's step limit: its rates could not be
// asked for, and charts and forecasts would run to it.
func checkHorizon(c control.Controller, maxSteps int64) error {
	if h, ok := schedule.Horizon(c); ok && h > maxSteps {
		return badRequest("spec: the schedule runs to step %d, past the limit %d (the server's --max-steps)", h, maxSteps)
	}
	return nil
}

// MaxSpecBytes is the longest spec a client may send.
const MaxSpecBytes = 10000

func validateCreate(req CreateRunRequest, maxSteps int64) error {
	if req.Name == "" || len(req.Name) > 200 {
		return badRequest("name: want 1 to 200 characters, got %d", len(req.Name))
	}
	if err := checkText("name", req.Name); err != nil {
		return err
	}
	if req.Spec == "" {
		return badRequest("spec: missing (a schedule or controller spec such as cosine(peak=3e-4, steps=10000))")
	}
	if len(req.Spec) > MaxSpecBytes {
		return badRequest("spec: %d characters, the limit is %d", len(req.Spec), MaxSpecBytes)
	}
	if req.Budget <= 0 || req.Budget > maxSteps {
		return badRequest("budget: %d steps, want 1 to %d (the server's --max-steps)", req.Budget, maxSteps)
	}
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, tok store.Token) {
	runs, err := s.st.ListRuns(r.Context(), tok.ProjectID)
	if err != nil {
		s.fail(w, r, err)
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

// records converts and checks a batch; errors name the record index and
// field.
func records(req MetricsRequest, maxSteps int64) ([]runlog.Record, error) {
	if req.BatchID == "" || len(req.BatchID) > 128 {
		return nil, badRequest("batch_id: want 1 to 128 characters (a unique ID per batch makes retries safe), got %d", len(req.BatchID))
	}
	if err := checkText("batch_id", req.BatchID); err != nil {
		return nil, err
	}
	if len(req.Metrics) == 0 {
		return nil, badRequest("metrics: empty batch")
	}
	if len(req.Metrics) > MaxBatch {
		return nil, badRequest("metrics: %d records, at most %d per batch", len(req.Metrics), MaxBatch)
	}
	out := make([]runlog.Record, len(req.Metrics))
	for i, m := range req.Metrics {
		// The record's place in errors, written only for an error.
		where := func() string { return "metrics[" + strconv.Itoa(i) + "]" }
		if m.Step == nil {
			return nil, badRequest("%s.step: missing (every record needs the step it reports)", where())
		}
		if *m.Step < 0 || *m.Step > maxSteps {
			return nil, checkStep(where(), *m.Step, maxSteps)
		}
		rec := runlog.Record{Step: *m.Step}
		fields := [...]struct {
			name   string
			v      *float64
			nonNeg bool
			f      runlog.Field
		}{
			{"lr", m.LR, true, runlog.FieldLR},
			{"loss", m.Loss, false, runlog.FieldLoss},
			{"grad_norm", m.GradNorm, true, runlog.FieldGradNorm},
			{"grad_norm_l1", m.GradNormL1, true, runlog.FieldGradNormL1},
			{"val_loss", m.ValLoss, false, runlog.FieldValLoss},
			{"val_metric", m.ValMetric, false, runlog.FieldValMetric},
		}
		for _, f := range fields {
			if f.v == nil {
				continue
			}
			if v := *f.v; math.IsNaN(v) || math.IsInf(v, 0) || (f.nonNeg && v < 0) {
				return nil, checkFinite(where(), f.name, v, f.nonNeg)
			}
			rec.Set(f.f, *f.v)
		}
		if rec.Present == 0 {
			return nil, badRequest("%s (step %d): no metric reported", where(), *m.Step)
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

// observe is the controller's part of a metrics batch, run inside the
// batch's transaction: a learning controller observes the newly stored
// records in step order, its new state is stored with them, and a change
// of its next rate is recorded as a controller event in the same
// transaction. It returns the controller of the run as changed. A fixed
// schedule learns nothing: its cached controller is used as it is,
// without parsing its spec again.
func observe(ch *store.Change, cached *runEntry) (*ctrlBox, error) {
	sv := scheduleVersion(ch.Run)
	if cached != nil && cached.box.fixed && cached.schedVersion == sv && cached.run.Spec == ch.Run.Spec &&
		bytes.Equal(cached.run.ControllerState, ch.Run.ControllerState) {
		return cached.box, nil
	}
	c, err := buildController(ch.Run)
	if err != nil {
		return nil, err
	}
	if _, fixed := c.(*control.Fixed); fixed || ch.Run.Status != store.RunRunning {
		return newBox(c), nil
	}
	fresh, err := ch.Fresh()
	if err != nil {
		return nil, err
	}
	if len(fresh) == 0 {
		return newBox(c), nil
	}
	obs := slices.Clone(fresh)
	slices.SortFunc(obs, func(a, b runlog.Record) int { return int(min(max(a.Step-b.Step, -1), 1)) })
	// The rate of the step after the last one stored (this batch's
	// included): what the job asks for next.
	next := ch.Run.LastStep + 1
	before := c.LR(next)
	for _, rec := range obs {
		c.Observe(rec)
	}
	after := c.LR(next)
	if before != after {
		detail, err := json.Marshal(decision{Step: next, From: before, To: after, Observed: len(obs)})
		if err != nil {
			return nil, fmt.Errorf("controller decision: %w", err)
		}
		ch.AddEvent(next, "controller", detail)
	}
	st, err := c.State()
	if err != nil {
		return nil, fmt.Errorf("controller state: %w", err)
	}
	ch.Run.ControllerState = st
	return newBox(c), nil
}

func (s *Server) postMetrics(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	data, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := s.handOver(r, tok, id, data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := q.pending.Wait()
	if errors.Is(err, store.ErrBatchReused) {
		s.fail(w, r, &apiError{code: http.StatusConflict, msg: fmt.Sprintf(
			"batch_id %q: already stored for this run with other records (a retry must send the same records; new records need a new batch_id)", q.batchID)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Duplicate {
		s.dupes.Inc()
	}
	s.stored.Add(float64(res.Inserted))
	var e *runEntry
	if q.box != nil {
		e = s.remember(s.newEntry(res.Run, q.box, scheduleVersion(res.Run)))
	} else if e, err = s.entryFor(res.Run); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, MetricsResponse{Duplicate: res.Duplicate, Inserted: res.Inserted, Skipped: res.Skipped,
		Version: res.Run.Version, ScheduleVersion: scheduleVersion(res.Run), LastStep: res.Run.LastStep, NextLR: e.box.lr(res.Run.LastStep + 1)})
}

// queuedBatch is a metrics batch queued for its group commit. box is set
// by the store's committer (the batch's update) before pending's Wait
// returns.
type queuedBatch struct {
	batchID string
	pending *store.PendingMetrics
	box     *ctrlBox
}

// queueMetrics decodes a metrics batch and queues it for its commit.
func (s *Server) queueMetrics(ctx context.Context, tok store.Token, id int64, data []byte) (*queuedBatch, error) {
	var req MetricsRequest
	if err := decodeMetrics(data, &req); err != nil {
		return nil, err
	}
	recs, err := records(req, s.opts.MaxSteps)
	if err != nil {
		return nil, err
	}
	cached := s.cached(id)
	q := &queuedBatch{batchID: req.BatchID}
	q.pending, err = s.st.QueueMetrics(ctx, tok.ProjectID, id, req.BatchID, recs, func(ch *store.Change) (err error) {
		q.box, err = observe(ch, cached)
		return err
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

func metricJSON(rec runlog.Record) MetricJSON {
	step := rec.Step
	m := MetricJSON{Step: &step}
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
	from, _, err := queryInt(q, "from", 0, 0, s.opts.MaxSteps)
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
	limit, _, err := queryInt(q, "limit", MaxEvents, 1, MaxEvents)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.entry(r.Context(), tok.ProjectID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	// One more than asked tells whether there are more.
	evs, err := s.st.Events(r.Context(), tok.ProjectID, id, after, int(limit)+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	more := len(evs) > int(limit)
	evs = evs[:min(len(evs), int(limit))]
	out := make([]EventJSON, len(evs))
	for i, e := range evs {
		out[i] = EventJSON{ID: e.ID, Step: e.Step, Kind: e.Kind, Detail: e.Detail, Created: e.Created}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "more": more})
}
