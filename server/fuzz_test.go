package server

import (
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzMetricsRequest: any body either decodes into records that are all
// valid (finite, steps in range, something reported) or gives a client
// error with a message; never a panic. The hand-written decoder
// (decodeMetrics) agrees with encoding/json (decodeJSON): the same
// request, or the same error.
func FuzzMetricsRequest(f *testing.F) {
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":2.5,"grad_norm":0.3}]}`))
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":-1,"loss":NaN}]}`))
	f.Add([]byte(` {"metrics":[{"step":0,"lr":1e-3,"loss":-0.5,"grad_norm":0,"grad_norm_l1":1E+2,"val_loss":2.5e-1,"val_metric":-0},{"step":1,"loss":3}],"batch_id":"b-1"} `))
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":1,"step":2,"loss":1}]}`))
	f.Add([]byte(`{"batch_id":"a","metrics":[{"Step":1,"LOSS":1}]}`))
	f.Add([]byte(`{"batch_id":"a\u0041","metrics":[{"step":1.0,"loss":1e400}]}`))
	f.Add([]byte(`{"batch_id":"a","metrics":[{"step":1,"loss":null}],"metrics":[]} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req, ref MetricsRequest
		err := decodeMetrics(data, &req)
		errRef := decodeJSON(data, &ref)
		if (err == nil) != (errRef == nil) || (err != nil && err.Error() != errRef.Error()) {
			t.Fatalf("decodeMetrics: %v; encoding/json: %v", err, errRef)
		}
		if err == nil && !reflect.DeepEqual(req, ref) {
			t.Fatalf("decodeMetrics: %+v; encoding/json: %+v", req, ref)
		}
		if err == nil {
			rs, err2 := records(req, DefaultMaxSteps)
			err = err2
			for _, r := range rs {
				if r.Step < 0 || r.Step > DefaultMaxSteps || r.Present == 0 {
					t.Fatalf("accepted record %+v", r)
				}
				for _, v := range []float64{r.Loss, r.LR, r.GradNorm, r.GradNormL1, r.ValLoss, r.ValMetric} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("accepted non-finite value in %+v", r)
					}
				}
			}
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.msg == "" || ae.code/100 != 4) {
			t.Fatalf("error %v is not a client error with a message", err)
		}
	})
}

// FuzzCreateRunRequest: a body decodes and validates, or is a 4xx with a
// message; an accepted request re-encodes to an equal request.
func FuzzCreateRunRequest(f *testing.F) {
	f.Add([]byte(`{"name":"r","spec":"cosine(peak=1, steps=10)","budget":10}`))
	f.Add([]byte(`{"name":"","spec":"x","budget":-1,"extra":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req CreateRunRequest
		err := decodeJSON(data, &req)
		if err == nil {
			err = validateCreate(req, DefaultMaxSteps)
			if err == nil {
				b, _ := json.Marshal(req)
				var back CreateRunRequest
				if e := decodeJSON(b, &back); e != nil || back != req {
					t.Fatalf("round trip %+v -> %s -> %+v (%v)", req, b, back, e)
				}
			}
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.msg == "" || ae.code/100 != 4) {
			t.Fatalf("error %v is not a client error with a message", err)
		}
	})
}

// FuzzLRQuery: the rate route's query parser reads step, from and to as
// url.Values would, and either accepts a query whose numbers are in
// range or gives a 4xx with a message; never a panic.
func FuzzLRQuery(f *testing.F) {
	for _, q := range []string{"step=12", "from=0&to=512", "step=1&step=2", "from=%31&to=9", "step=-1", "step=1.5", "to=5&from=5", "x=1&step=3", "step=", "&&=&step=7"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseLRQuery(raw)
		if err == nil {
			err = q.check(DefaultMaxSteps)
			if err == nil {
				if q.hasStep && (q.step < 0 || q.step > DefaultMaxSteps) {
					t.Fatalf("accepted step %d", q.step)
				}
				if !q.hasStep && (q.from < 0 || q.to > DefaultMaxSteps || q.to <= q.from || q.to-q.from > MaxRange) {
					t.Fatalf("accepted range %d..%d", q.from, q.to)
				}
				// What url.Values reads, when it reads the query.
				if vals, perr := url.ParseQuery(raw); perr == nil {
					if v := vals.Get("step"); q.hasStep && v != strconv.FormatInt(q.step, 10) {
						if n, _ := strconv.ParseInt(v, 10, 64); n != q.step {
							t.Fatalf("step %d, url.Values reads %q", q.step, v)
						}
					}
				}
			}
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.msg == "" || ae.code/100 != 4) {
			t.Fatalf("error %v is not a client error with a message", err)
		}
	})
}

// FuzzSafeNext: the page a sign-in goes to is "/" or a path that a browser
// resolves on this host (the same host and scheme as the sign-in page,
// with browsers' removal of tabs and newlines applied first).
func FuzzSafeNext(f *testing.F) {
	for _, n := range []string{"/runs/1", "//other.host", "/\\other.host", "/\t/other.host", "https://x", "/%2F%2Fx", "/a?b=//c#//d", "", "/"} {
		f.Add(n)
	}
	base, _ := url.Parse("http://lrkit.test/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither / nor next", next, got)
		}
		browser := strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, strings.ReplaceAll(got, "\\", "/"))
		u, err := base.Parse(browser)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", next, got, err)
		}
		if u.Host != "lrkit.test" || u.Scheme != "http" || u.User != nil {
			t.Fatalf("safeNext(%q) = %q leads to %s", next, got, u)
		}
	})
}
