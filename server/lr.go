package server

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/lrkit/lrkit/store"
)

// The rate route, GET /v1/runs/{run}/lr, is the one every training step
// may call: it reads its query without building a url.Values, takes the
// run from the cache (cache.go) and writes its answer into a pooled
// buffer, so that it allocates nothing of its own beyond the answer's
// bytes (BenchmarkLRHandler reports allocations).

// The header values of JSON answers, shared by every answer (the server
// only reads them).
var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
)

var lrBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// lrQuery is a parsed rate query: one step, or the steps from..to-1.
type lrQuery struct {
	step, from, to          int64
	hasStep, hasFrom, hasTo bool
	seen                    [3]bool // step, from, to: the first occurrence counts, as with url.Values.Get
}

// parseLRQuery reads step, from and to from a raw query string (the first
// of each; other parameters are ignored), with the errors of queryInt.
func parseLRQuery(raw string) (lrQuery, error) {
	var q lrQuery
	if strings.ContainsAny(raw, "%+;") {
		// Escapes: take the general path.
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return q, badRequest("query: %v", err)
		}
		for _, name := range []string{"step", "from", "to"} {
			if err := q.set(name, vals.Get(name)); err != nil {
				return q, err
			}
		}
		return q, nil
	}
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "step", "from", "to":
			if err := q.set(k, v); err != nil {
				return q, err
			}
		}
	}
	return q, nil
}

// set reads the value v of parameter name unless an earlier one was read;
// an empty value counts as absent, as with url.Values.Get.
func (q *lrQuery) set(name, v string) error {
	var dst *int64
	var has, seen *bool
	switch name {
	case "step":
		dst, has, seen = &q.step, &q.hasStep, &q.seen[0]
	case "from":
		dst, has, seen = &q.from, &q.hasFrom, &q.seen[1]
	default:
		dst, has, seen = &q.to, &q.hasTo, &q.seen[2]
	}
	if *seen {
		return nil
	}
	*seen = true
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return badRequest("query parameter %s=%q is not an integer", name, v)
	}
	*dst, *has = n, true
	return nil
}

// check validates the query against the step limit.
func (q lrQuery) check(maxSteps int64) error {
	switch {
	case q.hasStep && (q.hasFrom || q.hasTo):
		return badRequest("give either step or from and to, not both")
	case q.hasStep:
		return checkStep("query parameter step", q.step, maxSteps)
	case !(q.hasFrom && q.hasTo):
		return badRequest("give step=N, or from=A and to=B for the rates of steps A..B-1")
	}
	if err := checkStep("query parameter from", q.from, maxSteps); err != nil {
		return err
	}
	if err := checkStep("query parameter to", q.to, maxSteps); err != nil {
		return err
	}
	if q.to <= q.from {
		return badRequest("to=%d must be greater than from=%d", q.to, q.from)
	}
	if q.to-q.from > MaxRange {
		return badRequest("range of %d steps is too long (at most %d per request)", q.to-q.from, MaxRange)
	}
	return nil
}

// appendJSONFloat appends v as encoding/json writes a float64.
func appendJSONFloat(b []byte, v float64) []byte {
	abs := math.Abs(v)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		n := len(b)
		b = strconv.AppendFloat(b, v, 'e', -1, 64)
		// e-07 -> e-7, as encoding/json writes it.
		if m := len(b); m-n >= 4 && b[m-4] == 'e' && b[m-3] == '-' && b[m-2] == '0' {
			b[m-2] = b[m-1]
			b = b[:m-1]
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func (s *Server) getLR(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	q, err := parseLRQuery(r.URL.RawQuery)
	if err == nil {
		err = q.check(s.opts.MaxSteps)
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
	if q.hasStep {
		v := e.box.lr(q.step)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.internal(w, r, errNotFinite(id, q.step, v))
			return
		}
		writeRate(w, q.step, v, e.tail)
		s.markRates()
		return
	}
	lrs := make([]float64, q.to-q.from)
	e.box.lrs(q.from, lrs)
	bp := lrBufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"from":`...)
	b = strconv.AppendInt(b, q.from, 10)
	b = append(b, `,"lrs":[`...)
	for i, v := range lrs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			lrBufs.Put(bp)
			s.internal(w, r, errNotFinite(id, q.from+int64(i), v))
			return
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(b, v)
	}
	b = append(b, ']')
	writeLRAnswer(w, bp, b, e.tail)
	s.markRates()
}

// writeRate writes the answer of one step's rate v; tail ends it (the
// run entry's).
func writeRate(w http.ResponseWriter, step int64, v float64, tail []byte) {
	bp := lrBufs.Get().(*[]byte)
	b := append((*bp)[:0], `{"step":`...)
	b = strconv.AppendInt(b, step, 10)
	b = append(b, `,"lr":`...)
	b = appendJSONFloat(b, v)
	writeLRAnswer(w, bp, b, tail)
}

// writeLRAnswer ends the rate answer b with tail, writes it and returns
// its buffer (bp) to the pool.
func writeLRAnswer(w http.ResponseWriter, bp *[]byte, b, tail []byte) {
	b = append(b, tail...)
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		lrBufs.Put(bp)
	}
}

func errNotFinite(id, step int64, v float64) error {
	return &notFiniteError{id: id, step: step, v: v}
}

type notFiniteError struct {
	id, step int64
	v        float64
}

func (e *notFiniteError) Error() string {
	return "run " + strconv.FormatInt(e.id, 10) + ": the rate of step " + strconv.FormatInt(e.step, 10) +
		" is " + strconv.FormatFloat(e.v, 'g', -1, 64)
}
