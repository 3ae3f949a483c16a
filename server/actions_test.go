package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/control"
)

// A run takes any number of actions: each one flattens the join it
// branches from instead of nesting it (the 33rd used to fail "spec nested
// too deeply"), and the rates before each branch point stay what they
// were.
func TestManyActionsFlatten(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "long", "warmup(constant(peak=0.1), steps=10)", 1000)
	type point struct {
		step int64
		lr   float64
	}
	var past []point
	step := 0
	for i := range 60 {
		postBatch(f, run.ID, fmt.Sprint("b", i), step, 5, func(int) float64 { return 2 })
		step += 5
		// The rate of the last reported step, frozen from now on.
		past = append(past, point{int64(step - 1), f.lr(f.tokA, run.ID, int64(step-1))})
		var got RunJSON
		if i%2 == 0 {
			f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":1000,"floor":0.001,"shape":"cosine"}`, &got)
		} else {
			f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), fmt.Sprintf(`{"budget":%d,"warmup":5}`, int64(step)+3000), &got)
		}
		if n := strings.Count(got.Spec, "join("); n != 1 {
			t.Fatalf("action %d: %d joins in %s", i+1, n, got.Spec)
		}
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	c, err := control.ParseUntrusted(got.Spec)
	if err != nil {
		t.Fatalf("the spec after 60 actions does not parse: %v", err)
	}
	if parts := strings.Count(got.Spec, "wsd(") + strings.Count(got.Spec, "cosine(peak="); parts != 60 {
		t.Errorf("%d action parts in the flat join, want 60: %s", parts, got.Spec)
	}
	for _, p := range past {
		if v := c.LR(p.step); math.Abs(v-p.lr) > 1e-15 {
			t.Errorf("lr(%d) = %v after all actions, was %v when the step was reported", p.step, v, p.lr)
		}
	}
}

// An action sent again with its Idempotency-Key (a client retrying after a
// lost reply) is applied once; the key with another request is a 409.
func TestActionIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000)
	postBatch(f, run.ID, "b", 0, 10, func(int) float64 { return 2 })
	decay := func(key, body string) (int, string) {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/runs/%d/actions/decay", f.srv.URL, run.ID), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tokA)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var first, second RunJSON
	code, body := decay("k-1", `{"steps":100}`)
	if code != 200 {
		t.Fatalf("decay: %d %s", code, body)
	}
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &first)
	code, _ = decay("k-1", `{"steps":100}`)
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &second)
	if code != 200 || second.Version != first.Version || second.Spec != first.Spec || second.Budget != 110 {
		t.Errorf("retried decay: %d, run %+v then %+v", code, first, second)
	}
	if code, body := decay("k-1", `{"steps":50}`); code != 409 || !strings.Contains(body, "Idempotency-Key") {
		t.Errorf("the key with another request: %d %s", code, body)
	}
	if code, _ := decay("k-2", `{"steps":50}`); code != 200 {
		t.Errorf("a new key: %d", code)
	}
	if code, body := decay(strings.Repeat("k", 201), `{"steps":50}`); code != 400 || !strings.Contains(body, "Idempotency-Key: 201 characters") {
		t.Errorf("an overlong key: %d %s", code, body)
	}
	var ev struct{ Events []EventJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events", run.ID), "", &ev)
	if len(ev.Events) != 2 || !strings.Contains(string(ev.Events[0].Detail), `"idempotency_key":"k-1"`) {
		t.Errorf("events %+v: want two decays, the first with its key", ev.Events)
	}
}

// With the database gone, rates are still answered from the cache (token
// and run), and every request that needs the database is a 503.
func TestRatesServedWithoutDatabase(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "cosine(peak=0.1, steps=1000)", 1000)
	want := f.lr(f.tokA, run.ID, 250)
	f.h.opts.TokenTTL = time.Millisecond // every request asks the database
	f.st.Close()
	time.Sleep(5 * time.Millisecond)
	if got := f.lr(f.tokA, run.ID, 250); got != want {
		t.Errorf("lr without a database: %v, want %v", got, want)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), `{"batch_id":"b","metrics":[{"step":0,"loss":1}]}`},
		{"GET", fmt.Sprintf("/v1/runs/%d", run.ID), ""},
		{"GET", "/healthz", ""},
	} {
		if code, body := f.do(f.tokA, c.method, c.path, c.body); code != 503 {
			t.Errorf("%s %s without a database: %d %s", c.method, c.path, code, body)
		}
	}
	// A token the cache never saw cannot be checked: 503, not 401.
	if code, _ := f.do(f.tokB, "GET", fmt.Sprintf("/v1/runs/%d/lr?step=1", run.ID), ""); code != 503 {
		t.Errorf("an unchecked token without a database: %d", code)
	}
}

// The dashboard never waits for a fit: a run page before the first fit
// says the law is being fitted and shows the prediction once it is done;
// the API waits for it.
func TestForecastOffRequestPath(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	b := f.browser(f.tokA)
	_, page := get(t, b, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	if !strings.Contains(page, "fitting the law") && !strings.Contains(page, "current spec") {
		t.Errorf("first page: neither fitting nor fitted")
	}
	var p Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), "", &p)
	if p.Version != 2 || p.Points == 0 {
		t.Errorf("prediction %+v", p)
	}
	_, page = get(t, b, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	if !strings.Contains(page, "current spec") || !strings.Contains(page, "predicted (mpl)") {
		t.Errorf("page after the fit lacks the prediction")
	}
	// New metrics: the fit is younger than PredictEvery, so it is served
	// as it is (its version says which run version it fits).
	postBatch(f, run.ID, "more", 300, 10, func(i int) float64 { return 2 + 5*math.Pow(float64(i+1), -0.5) })
	var q Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), "", &q)
	if q.Version != p.Version {
		t.Errorf("a fit younger than PredictEvery was redone: version %d then %d", p.Version, q.Version)
	}
}
