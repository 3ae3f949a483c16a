// Package server is lrkit's learning-rate control plane: an HTTP/JSON API
// (under /v1/, described by /openapi.json) through which training jobs in
// any language ask for their learning rate and report their metrics, a
// server-rendered dashboard at /, /healthz and Prometheus metrics at
// /metrics. Everything persists through package store (SQLite or
// PostgreSQL); controller state and the controller's decisions change in
// the same transaction as the metrics that change them, so replicas
// sharing PostgreSQL lose no update.
//
// Rates are answered from an in-memory cache of runs (cache.go), so the
// rate route does no database work and keeps answering while the
// database is away; metric batches are stored through the store's group
// commit; the loss-curve forecast is fitted off the request path
// (predict.go).
package server

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// MaxEvents is the most events one events request returns, and the
	// default: a page of events is at most a few MB, and a client reading
	// from the first event (the Python client's created_spec looks for
	// the first action that rewrote the spec) gets the first 10,000 in
	// one request, as before for any run with fewer. A run whose
	// controller logs a decision per batch can have far more; the answer
	// says "more" and the next page is after the last ID.
	MaxEvents = 10000
	// DefaultMaxSteps is the default of Options.MaxSteps.
	DefaultMaxSteps = int64(1_000_000_000)
)

//go:embed openapi.json
var openAPIDoc []byte

// Options configure a Server. The zero value is usable.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Refresh is how often the cached runs are compared with the database,
	// so that rates follow updates made by other replicas within about
	// this time (default 1s). This replica's own updates are seen at once.
	Refresh time.Duration
	// TokenTTL is how long a looked-up API token is trusted before it is
	// looked up again, so a revoked token stops working within it
	// (default 10s).
	TokenTTL time.Duration
	// TokenGrace is how long past TokenTTL a cached token is still
	// accepted while the database cannot be asked (default 10m): rates
	// keep being served through a database outage.
	TokenGrace time.Duration
	// MaxSteps bounds every step and budget the server accepts or
	// produces: metric steps, rate queries, run budgets and the budgets
	// actions make (default DefaultMaxSteps, 10^9).
	MaxSteps int64
	// PredictEvery is the least time between two fits of one run's loss
	// curve: a prediction younger than this is served even if metrics
	// arrived since (default 2s).
	PredictEvery time.Duration
	// IngestWorkers is the number of ingest workers (default
	// DefaultIngestWorkers) of a store opened with
	// store.Options.BackgroundNice: they decode metric batches on threads
	// of their own at the store's nice value (see ingest.go), so that
	// batches leave the processors to the rate route when all are busy.
	IngestWorkers int
	// IngestShare is the largest share of the time the metrics committer
	// works while the rate route is answering requests (default
	// DefaultIngestShare; 1 lifts the limit): after each group commit it
	// rests in proportion, so that a burst of batches does not make rate
	// requests queue behind it (store.Store.ShareProcessor). An
	// ingest-only load, and ingest that falls behind, keep full speed.
	IngestShare float64
	// BehindProxy says that clients reach the server through a reverse
	// proxy that the operator trusts, which terminates their TLS and sets
	// X-Forwarded-Proto and X-Forwarded-For: the dashboard's cookies are
	// then Secure when X-Forwarded-Proto is https, and failed
	// authentications are counted against the last address of
	// X-Forwarded-For (proxy.go). Without it both headers are ignored,
	// since any client can send them: cookies are Secure when the server
	// itself served TLS, and the client is the connection's peer (behind
	// a proxy, then, every client is the proxy).
	BehindProxy bool
	// AuthFailures is how many failed authentications (a sign-in, a
	// dashboard session or an API request with a token that is not one)
	// a client address may make in a row before it is refused with 429
	// (default DefaultAuthFailures); it may fail once more every
	// AuthFailureEvery (default DefaultAuthFailureEvery) after that.
	// Successful authentications are not counted (authlimit.go).
	AuthFailures     int
	AuthFailureEvery time.Duration
}

// DefaultIngestShare is the default of Options.IngestShare.
const DefaultIngestShare = 1.0 / 3

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

	tokens  sync.Map     // token text -> *cachedToken
	ntokens atomic.Int64 // tokens cached (an upper bound: the cache is cleared past 100,000)
	runs    sync.Map     // run ID -> *runEntry (cache.go)
	clock   atomic.Int64 // UnixNano, advanced every clockTick (ticker)
	lrSeen  atomic.Int64 // the clock when flushLR last found rate answers counted

	pred *predictor
	cop  *http.CrossOriginProtection // the dashboard forms' origin check

	authLimit *failureLimiter // failed authentications per client (authlimit.go)

	lrRoute http.HandlerFunc // the rate route's general path (serveLR), matched before the router
	lrStats *routeMetrics    // the rate route's series
	lrOK    stripedCounter   // rate answers of serveLR's fast path, not yet added to lrOKs
	lrOKs   prometheus.Counter

	ingest chan ingestJob // to the ingest workers (nil: none; ingest.go)

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type cachedToken struct {
	tok     store.Token
	checked int64 // the coarse clock when the database last confirmed it
}

// New returns a Server over st. Close stops its background work.
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
	if opts.TokenGrace <= 0 {
		opts.TokenGrace = 10 * time.Minute
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.PredictEvery <= 0 {
		opts.PredictEvery = 2 * time.Second
	}
	if !(opts.IngestShare > 0) {
		opts.IngestShare = DefaultIngestShare
	}
	opts.IngestShare = min(opts.IngestShare, 1)
	if opts.AuthFailures <= 0 {
		opts.AuthFailures = DefaultAuthFailures
	}
	if opts.AuthFailureEvery <= 0 {
		opts.AuthFailureEvery = DefaultAuthFailureEvery
	}
	s := &Server{st: st, log: opts.Logger, opts: opts, mux: http.NewServeMux(), reg: prometheus.NewRegistry(),
		done: make(chan struct{}), authLimit: newFailureLimiter(opts.AuthFailures, opts.AuthFailureEvery, maxClients)}
	s.clock.Store(time.Now().UnixNano())
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lrkit_http_requests_total",
		Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lrkit_http_request_seconds",
		Help: "HTTP request latency by route pattern (the rate route: one request in 16).", Buckets: []float64{.0001, .0005, .001, .002, .005, .01, .05, .1, .5, 1, 5}}, []string{"route"})
	s.stored = prometheus.NewCounter(prometheus.CounterOpts{Name: "lrkit_metrics_stored_total", Help: "Metric records stored (new steps)."})
	s.dupes = prometheus.NewCounter(prometheus.CounterOpts{Name: "lrkit_metric_batches_duplicate_total", Help: "Metric batches received again (retries) and not stored twice."})
	commits := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lrkit_store_commits_total",
		Help: "Group transactions that stored metric batches."}, func() float64 { g, _ := st.CommitStats(); return float64(g) })
	batches := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lrkit_store_committed_batches_total",
		Help: "Metric batches stored by group transactions (over lrkit_store_commits_total: batches per commit)."}, func() float64 { _, b := st.CommitStats(); return float64(b) })
	rested := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lrkit_store_commit_rest_seconds_total",
		Help: "Time the metrics committers rested, leaving the processors to the rate route (Options.IngestShare)."}, func() float64 { _, d := st.RestStats(); return d.Seconds() })
	s.reg.MustRegister(s.requests, s.latency, s.stored, s.dupes, commits, batches, rested,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.pred = newPredictor(s)
	s.lrOKs = s.requests.WithLabelValues(lrPattern, strconv.Itoa(http.StatusOK))
	s.routes()
	s.wg.Add(2)
	go s.ticker()
	go s.refresher()
	s.startIngest()
	// The share is within (0, 1]: ShareProcessor cannot fail.
	st.ShareProcessor(opts.IngestShare, s.ratesServed)
	return s
}

// Close stops the server's background work (the run cache's refresher and
// the forecast worker). It does not close the store.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		// The clock stopped: ratesServed would stay as it is.
		s.st.ShareProcessor(1, nil)
	})
	return nil
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
		h := s.handle(rt.pattern, func(w http.ResponseWriter, req *http.Request) {
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
		if rt.pattern == lrPattern {
			s.lrRoute = h
		}
	}
	s.handle("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDoc)
	})
	s.handle("GET /healthz", s.healthz)
	prom := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s.flushLR()
		prom.ServeHTTP(w, r)
	})
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

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// routeMetrics are one route's Prometheus series, resolved once.
type routeMetrics struct {
	n     atomic.Uint32 // requests, for sampling the latency
	lat   prometheus.Observer
	mu    sync.RWMutex
	codes map[int]prometheus.Counter
}

func (m *routeMetrics) count(s *Server, pattern string, code int) {
	m.mu.RLock()
	c := m.codes[code]
	m.mu.RUnlock()
	if c == nil {
		c = s.requests.WithLabelValues(pattern, strconv.Itoa(code))
		m.mu.Lock()
		m.codes[code] = c
		m.mu.Unlock()
	}
	c.Inc()
}

// handle registers h for pattern with request metrics, 4xx/5xx logs and
// the body size limit, and returns the handler registered.
func (s *Server) handle(pattern string, h http.HandlerFunc) http.HandlerFunc {
	m := &routeMetrics{lat: s.latency.WithLabelValues(pattern), codes: map[int]prometheus.Counter{}}
	if pattern == lrPattern {
		s.lrStats = m
	}
	// The rate route times one request in lrSample: reading the clock
	// twice costs a tenth of that route's own work on a virtual machine.
	sample := uint32(1)
	if pattern == lrPattern {
		sample = lrSample
	}
	wrapped := func(w http.ResponseWriter, r *http.Request) {
		timed := sample == 1 || m.n.Add(1)%sample == 0
		var start time.Time
		if timed {
			start = time.Now()
		}
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.code = w, http.StatusOK
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		h(sw, r)
		code := sw.code
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
		var d time.Duration
		if timed {
			d = time.Since(start)
			m.lat.Observe(d.Seconds())
		}
		m.count(s, pattern, code)
		if code >= 500 {
			s.log.Error("request", "method", r.Method, "path", r.URL.Path, "code", code, "dur", d)
		} else if code >= 400 {
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "code", code, "dur", d)
		}
	}
	s.mux.HandleFunc(pattern, wrapped)
	return wrapped
}

// lrSample: the rate route's latency histogram holds one request in
// lrSample (the request counter counts them all).
const lrSample = 16

const lrPattern = "GET /v1/runs/{run}/lr"

// ServeHTTP serves the API, the dashboard, /healthz and /metrics. The rate
// route, the one asked most often, is matched here before the router:
// the router's match allocates its path values.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && isLRPath(r.URL.Path) {
		s.serveLR(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// serveLR answers the rate route. Nearly every rate request asks for one
// step of a cached run with a token confirmed less than TokenTTL ago:
// those are answered here without what handle does per request for the
// other routes (a wrapped ResponseWriter from a pool, a read lock to find
// the counter of the status code, a shared request count for the latency
// sample), which cost about as much as the answer itself under load
// (atomic writes to words both processors write). Their count goes to a
// striped counter that the ticker and /metrics add to the route's
// lrkit_http_requests_total, and one in lrSample, picked at random, is
// timed. Every other request (a token or run to look up, a range, an
// error of any kind) takes the route's general path, s.lrRoute, which
// answers it as every route is answered.
func (s *Server) serveLR(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.freshToken(bearer(r))
	if !ok || (s.authLimit.mayRefuse(s.clock.Load()) && s.authLimit.wait(s.clientAddr(r)) > 0) {
		// A client refused for its failures is refused whatever token it
		// sends (the general path answers 429): answering a right one
		// would tell a guesser it had found it.
		s.lrRoute(w, r)
		return
	}
	path := r.URL.Path
	id, err := strconv.ParseInt(path[len("/v1/runs/"):len(path)-len("/lr")], 10, 64)
	e := s.cached(id)
	if err != nil || e == nil || e.run.ProjectID != tok.ProjectID {
		s.lrRoute(w, r)
		return
	}
	q, err := parseLRQuery(r.URL.RawQuery)
	if err != nil || !q.hasStep || q.check(s.opts.MaxSteps) != nil {
		s.lrRoute(w, r)
		return
	}
	timed := rand.Uint32()%lrSample == 0
	var start time.Time
	if timed {
		start = time.Now()
	}
	v := e.box.lr(q.step)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.lrRoute(w, r) // answers 500 and logs it
		return
	}
	s.touch(e)
	writeRate(w, q.step, v, e.tail)
	s.lrOK.inc()
	if timed {
		s.lrStats.lat.Observe(time.Since(start).Seconds())
	}
}

// flushLR adds the rate answers counted by serveLR to the route's
// requests counter.
func (s *Server) flushLR() {
	if n := s.lrOK.take(); n > 0 {
		s.lrOKs.Add(float64(n))
		s.lrSeen.Store(s.clock.Load())
	}
}

// markRates records that the rate route's general path answered now (the
// fast path's answers are found by flushLR).
func (s *Server) markRates() {
	if now := s.clock.Load(); s.lrSeen.Load() != now {
		s.lrSeen.Store(now)
	}
}

// ratesServed reports whether the rate route answered a request in the
// last two ticks of the coarse clock: whether the metrics committer should
// share the processors (Options.IngestShare).
func (s *Server) ratesServed() bool {
	return s.clock.Load()-s.lrSeen.Load() <= int64(2*clockTick)
}

// stripedCounter counts events from many goroutines without a word that
// all of them write: each event goes to one of its stripes, chosen at
// random (math/rand/v2's generator is per thread), each on a cache line
// of its own.
type stripedCounter struct {
	stripes [8]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *stripedCounter) inc() { c.stripes[rand.Uint32()%uint32(len(c.stripes))].n.Add(1) }

// take returns the events counted since the last take.
func (c *stripedCounter) take() uint64 {
	var n uint64
	for i := range c.stripes {
		n += c.stripes[i].n.Swap(0)
	}
	return n
}

// isLRPath reports whether path is /v1/runs/<digits>/lr.
func isLRPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/runs/")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, "/lr")
	if !ok || id == "" || len(id) > 19 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// HealthJSON is the answer of GET /healthz.
type HealthJSON struct {
	Status   string       `json:"status"` // ok, unavailable or damaged
	Database DatabaseJSON `json:"database"`
}

// DatabaseJSON is the database part of /healthz.
type DatabaseJSON struct {
	Kind      string     `json:"kind"`   // sqlite or postgres
	Schema    int        `json:"schema"` // schema version
	Integrity string     `json:"integrity"`
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	Reachable bool       `json:"reachable"`
	Error     string     `json:"error,omitempty"`
}

// healthz reports the database's state: 200 when it answers, 503 when it
// does not or was found damaged.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.st.Health()
	out := HealthJSON{Status: "ok", Database: DatabaseJSON{Kind: h.Kind, Schema: h.Schema, Integrity: h.Integrity, Reachable: true}}
	if !h.CheckedAt.IsZero() {
		t := h.CheckedAt.UTC()
		out.Database.CheckedAt = &t
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	code := http.StatusOK
	if err := s.st.Ping(ctx); err != nil {
		s.log.Error("healthz", "err", err)
		code = http.StatusServiceUnavailable
		out.Status, out.Database.Reachable, out.Database.Error = "unavailable", false, "database unavailable"
		if errors.Is(err, store.ErrDamaged) {
			out.Status, out.Database.Reachable, out.Database.Error = "damaged", true, "database damaged: see the server log"
			out.Database.Integrity = "damaged"
		}
	}
	writeJSON(w, code, out)
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header["Authorization"]
	if len(h) != 1 {
		return ""
	}
	const p = "Bearer "
	if len(h[0]) > len(p) && (h[0][:len(p)] == p || h[0][:len(p)] == "bearer ") {
		return h[0][len(p):]
	}
	return ""
}

// auth checks the request's API token; on failure it has answered 401,
// or 429 if the client failed too often (authlimit.go).
func (s *Server) auth(w http.ResponseWriter, r *http.Request) (store.Token, bool) {
	text := bearer(r)
	if text == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lrkit"`)
		writeError(w, http.StatusUnauthorized, "missing API token (send Authorization: Bearer <token>)")
		return store.Token{}, false
	}
	if retry, msg, refused := s.refused(r, "requests with an invalid API token"); refused {
		w.Header().Set("Retry-After", retry)
		writeError(w, http.StatusTooManyRequests, msg)
		return store.Token{}, false
	}
	tok, err := s.lookupToken(r.Context(), text)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.authFailed(r)
			w.Header().Set("WWW-Authenticate", `Bearer realm="lrkit", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid API token")
		} else {
			s.fail(w, r, err)
		}
		return store.Token{}, false
	}
	return tok, true
}

// lookupToken returns the token whose text is text: from the cache if the
// database confirmed it less than TokenTTL ago, else from the database. If
// the database cannot be asked, a token it confirmed less than TokenTTL +
// TokenGrace ago is still accepted.
func (s *Server) lookupToken(ctx context.Context, text string) (store.Token, error) {
	if tok, ok := s.freshToken(text); ok {
		return tok, nil
	}
	now := s.clock.Load()
	var c *cachedToken
	if v, ok := s.tokens.Load(text); ok {
		c = v.(*cachedToken)
	}
	tok, err := s.st.LookupToken(ctx, text)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if c != nil {
				s.tokens.CompareAndDelete(text, c)
			}
			return store.Token{}, err
		}
		if c != nil && time.Duration(now-c.checked) < s.opts.TokenTTL+s.opts.TokenGrace {
			s.log.Warn("token lookup failed; using the cached token", "err", err)
			return c.tok, nil
		}
		return store.Token{}, err
	}
	if s.ntokens.Add(1) > 100000 {
		s.tokens.Clear()
		s.ntokens.Store(1)
	}
	s.tokens.Store(text, &cachedToken{tok: tok, checked: s.clock.Load()})
	return tok, nil
}

// freshToken returns the cached token whose text is text if the database
// confirmed it less than TokenTTL ago.
func (s *Server) freshToken(text string) (store.Token, bool) {
	if text == "" {
		return store.Token{}, false
	}
	v, ok := s.tokens.Load(text)
	if !ok {
		return store.Token{}, false
	}
	c := v.(*cachedToken)
	if time.Duration(s.clock.Load()-c.checked) >= s.opts.TokenTTL {
		return store.Token{}, false
	}
	return c.tok, true
}

// internal answers 500 without details and logs the error.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
