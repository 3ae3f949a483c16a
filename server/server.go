// Package server is lrkit's learning-rate control plane: an HTTP/JSON API
// (under /v1/, described by /openapi.json) through which training jobs in
// any language ask for their learning rate and report their metrics, a
// server-rendered dashboard at /, /healthz and Prometheus metrics at
// /metrics. Everything persists through package store (SQLite or
// PostgreSQL); controller state changes in the same transaction as the
// metrics that change it, so replicas sharing PostgreSQL lose no update.
package server

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits on requests.
const (
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes = 1 << 20
	// MaxBatch is the most records one metrics batch may hold.
	MaxBatch = 10000
	// MaxRange is the most learning rates one range request returns.
	MaxRange = 100000
	// MaxStep is the largest step accepted anywhere (an absurd step is a
	// client bug, not a training run).
	MaxStep = int64(1) << 40
)

//go:embed openapi.json
var openAPIDoc []byte

// Options configure a Server. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Refresh is how long a cached run (its controller) is served before
	// it is read again from the database, so rates follow updates made by
	// other replicas within this time (default 1s). This replica's own
	// updates are seen at once.
	Refresh time.Duration
	// TokenTTL is how long a looked-up API token is trusted before it is
	// looked up again (so a revoked token stops working within it;
	// default 10s).
	TokenTTL time.Duration
}

// Server serves the API and the dashboard over a store.
type Server struct {
	st   *store.Store
	log  *slog.Logger
	opts Options
	mux  *http.ServeMux
	reg  *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	stored   prometheus.Counter
	dupes    prometheus.Counter

	tokMu  sync.Mutex
	tokens map[string]cachedToken

	runMu sync.Mutex
	runs  map[int64]*runEntry

	predMu sync.Mutex
	preds  map[int64]cachedPrediction
}

type cachedToken struct {
	tok     store.Token
	expires time.Time
}

// runEntry is a run with its controller built, as served by the LR
// endpoints.
type runEntry struct {
	mu           sync.Mutex // guards ctrl (controllers are not safe for concurrent use)
	run          store.Run
	ctrl         control.Controller
	schedVersion string       // scheduleVersion(run), computed once
	loaded       atomic.Int64 // UnixNano of the last check against the database
}

// newRunEntry caches run with its controller, checked against the
// database now.
func newRunEntry(run store.Run, ctrl control.Controller) *runEntry {
	e := &runEntry{run: run, ctrl: ctrl, schedVersion: scheduleVersion(run)}
	e.loaded.Store(time.Now().UnixNano())
	return e
}

// New returns a Server over st.
func New(st *store.Store, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 10 * time.Second
	}
	s := &Server{st: st, log: opts.Logger, opts: opts, mux: http.NewServeMux(), reg: prometheus.NewRegistry(),
		tokens: map[string]cachedToken{}, runs: map[int64]*runEntry{}, preds: map[int64]cachedPrediction{}}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lrkit_http_requests_total",
		Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lrkit_http_request_seconds",
		Help: "HTTP request latency by route pattern.", Buckets: []float64{.0001, .0005, .001, .002, .005, .01, .05, .1, .5, 1, 5}}, []string{"route"})
	s.stored = prometheus.NewCounter(prometheus.CounterOpts{Name: "lrkit_metrics_stored_total", Help: "Metric records stored (new steps)."})
	s.dupes = prometheus.NewCounter(prometheus.CounterOpts{Name: "lrkit_metric_batches_duplicate_total", Help: "Metric batches received again (retries) and not stored twice."})
	s.reg.MustRegister(s.requests, s.latency, s.stored, s.dupes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.routes()
	return s
}

// Routes lists the API's routes as "METHOD /path" patterns; the OpenAPI
// document describes each of them (tested).
func Routes() []string {
	out := make([]string, len(apiRoutes))
	for i, r := range apiRoutes {
		out[i] = r.pattern
	}
	return out
}

// route is an API route: h for project-level routes, or run for those
// under /v1/runs/{run}, which get the run's ID parsed (an ID that is not a
// positive integer is a 404 before the handler runs).
type route struct {
	pattern string
	h       func(*Server, http.ResponseWriter, *http.Request, store.Token)
	run     func(*Server, http.ResponseWriter, *http.Request, store.Token, int64)
}

var apiRoutes = []route{
	{pattern: "GET /v1/project", h: (*Server).getProject},
	{pattern: "POST /v1/runs", h: (*Server).createRun},
	{pattern: "GET /v1/runs", h: (*Server).listRuns},
	{pattern: "GET /v1/runs/{run}", run: (*Server).getRun},
	{pattern: "GET /v1/runs/{run}/lr", run: (*Server).getLR},
	{pattern: "POST /v1/runs/{run}/metrics", run: (*Server).postMetrics},
	{pattern: "GET /v1/runs/{run}/metrics", run: (*Server).getMetrics},
	{pattern: "GET /v1/runs/{run}/events", run: (*Server).getEvents},
	{pattern: "POST /v1/runs/{run}/actions/decay", run: (*Server).actionDecay},
	{pattern: "POST /v1/runs/{run}/actions/extend", run: (*Server).actionExtend},
	{pattern: "POST /v1/runs/{run}/actions/pause", run: (*Server).actionPause},
	{pattern: "POST /v1/runs/{run}/actions/resume", run: (*Server).actionResume},
	{pattern: "GET /v1/runs/{run}/prediction", run: (*Server).getPrediction},
}

func (s *Server) routes() {
	for _, rt := range apiRoutes {
		s.handle(rt.pattern, func(w http.ResponseWriter, req *http.Request) {
			tok, ok := s.auth(w, req)
			if !ok {
				return
			}
			if rt.run == nil {
				rt.h(s, w, req, tok)
				return
			}
			id, err := s.runID(req)
			if err != nil {
				s.fail(w, req, err)
				return
			}
			rt.run(s, w, req, tok, id)
		})
	}
	s.handle("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})
	s.handle("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.dashboardRoutes()
	s.handle("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
}

// statusWriter records the status code for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) handle(pattern string, h http.HandlerFunc) {
	lat := s.latency.WithLabelValues(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		r.Body = http.MaxBytesReader(sw, r.Body, MaxBodyBytes)
		h(sw, r)
		d := time.Since(start)
		lat.Observe(d.Seconds())
		s.requests.WithLabelValues(pattern, strconv.Itoa(sw.code)).Inc()
		if sw.code >= 500 {
			s.log.Error("request", "method", r.Method, "path", r.URL.Path, "code", sw.code, "dur", d)
		} else if sw.code >= 400 {
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "code", sw.code, "dur", d)
		}
	})
}

// ServeHTTP serves the API, the dashboard, /healthz and /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.Projects(ctx); err != nil {
		s.log.Error("healthz", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && (h[:len(p)] == p || h[:len(p)] == "bearer ") {
		return h[len(p):]
	}
	return ""
}

// auth checks the request's API token; on failure it has answered 401.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) (store.Token, bool) {
	text := bearer(r)
	if text == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lrkit"`)
		writeError(w, http.StatusUnauthorized, "missing API token (send Authorization: Bearer <token>)")
		return store.Token{}, false
	}
	tok, err := s.lookupToken(r.Context(), text)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lrkit", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid API token")
		} else {
			s.internal(w, r, err)
		}
		return store.Token{}, false
	}
	return tok, true
}

func (s *Server) lookupToken(ctx context.Context, text string) (store.Token, error) {
	h := store.HashToken(text)
	now := time.Now()
	s.tokMu.Lock()
	c, ok := s.tokens[h]
	s.tokMu.Unlock()
	if ok && now.Before(c.expires) {
		return c.tok, nil
	}
	tok, err := s.st.LookupToken(ctx, text)
	if err != nil {
		return store.Token{}, err
	}
	s.tokMu.Lock()
	if len(s.tokens) > 100000 {
		clear(s.tokens)
	}
	s.tokens[h] = cachedToken{tok: tok, expires: now.Add(s.opts.TokenTTL)}
	s.tokMu.Unlock()
	return tok, nil
}

// internal answers 500 without details and logs the error.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// entry returns the run with its controller, from the cache if fresh.
func (s *Server) entry(ctx context.Context, projectID, runID int64) (*runEntry, error) {
	s.runMu.Lock()
	e := s.runs[runID]
	s.runMu.Unlock()
	if e != nil && e.run.ProjectID == projectID && time.Since(time.Unix(0, e.loaded.Load())) < s.opts.Refresh {
		return e, nil
	}
	r, err := s.st.GetRun(ctx, projectID, runID)
	if err != nil {
		return nil, err
	}
	if e != nil && e.run.ProjectID == projectID && e.run.Version == r.Version {
		e.loaded.Store(time.Now().UnixNano())
		return e, nil
	}
	return s.remember(r)
}

// remember builds the controller of r and caches it, unless a newer
// version is cached already.
func (s *Server) remember(r store.Run) (*runEntry, error) {
	c, err := buildController(r)
	if err != nil {
		return nil, err
	}
	e := newRunEntry(r, c)
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if old := s.runs[r.ID]; old != nil && old.run.Version > r.Version {
		return old, nil
	}
	s.runs[r.ID] = e
	return e, nil
}

// buildController parses a run's spec and restores its state.
func buildController(r store.Run) (control.Controller, error) {
	c, err := control.Parse(r.Spec)
	if err != nil {
		return nil, fmt.Errorf("run %d: stored spec: %w", r.ID, err)
	}
	if len(r.ControllerState) > 0 {
		if err := c.Restore(r.ControllerState); err != nil {
			return nil, fmt.Errorf("run %d: restore controller: %w", r.ID, err)
		}
	}
	return c, nil
}
