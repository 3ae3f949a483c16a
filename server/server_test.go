package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/store"
)

// fixture is a server over a fresh SQLite database with two projects and
// a token for each.
type fixture struct {
	t          *testing.T
	st         *store.Store
	srv        *httptest.Server
	h          *Server
	tokA, tokB string
	dbPath     string // the SQLite file
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureNice(t, 0)
}

// newFixtureNice is newFixture with metric ingest at nice value nice
// (store.Options.BackgroundNice; 0: the usual
// priority).
func newFixtureNice(t *testing.T, nice int) *fixture {
	t.Helper()
	return newFixtureWith(t, store.Options{BackgroundNice: nice}, Options{})
}

// newFixtureWith is newFixture with the store opened with sopts and the
// server made with opts.
func newFixtureWith(t *testing.T, sopts store.Options, opts Options) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lrkit.db")
	st, err := store.OpenWith(ctx, path, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, dbPath: path}
	for i, name := range []string{"alpha", "beta"} {
		p, err := st.CreateProject(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := st.CreateToken(ctx, p.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.tokA = text
		} else {
			f.tokB = text
		}
	}
	srv := New(st, opts)
	t.Cleanup(func() { srv.Close() })
	f.h, f.srv = srv, httptest.NewServer(srv)
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request with token tok (none if "") and returns the status
// and body.
func (f *fixture) do(tok, method, path, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ok sends a request that must succeed and decodes its JSON into out.
func (f *fixture) ok(tok, method, path, body string, out any) {
	f.t.Helper()
	code, b := f.do(tok, method, path, body)
	if code/100 != 2 {
		f.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			f.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func (f *fixture) createRun(tok, name, spec string, budget int64) RunJSON {
	f.t.Helper()
	var r RunJSON
	f.ok(tok, "POST", "/v1/runs", fmt.Sprintf(`{"name":%q,"spec":%q,"budget":%d}`, name, spec, budget), &r)
	return r
}

func (f *fixture) lr(tok string, run, step int64) float64 {
	f.t.Helper()
	var r LRResponse
	f.ok(tok, "GET", fmt.Sprintf("/v1/runs/%d/lr?step=%d", run, step), "", &r)
	return *r.LR
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	n := 0
	for _, r := range Routes() {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", r)
		}
		n++
	}
	for _, p := range []string{"/healthz", "/metrics", "/openapi.json"} {
		if _, ok := doc.Paths[p]["get"]; !ok {
			t.Errorf("GET %s is not in openapi.json", p)
		}
	}
	if n < 13 {
		t.Errorf("only %d routes", n)
	}
	f := newFixture(t)
	code, body := f.do("", "GET", "/openapi.json", "")
	if code != 200 || !json.Valid([]byte(body)) {
		t.Errorf("GET /openapi.json: %d", code)
	}
}

// TestOpenAPIPredictionFields checks that the prediction's schema names
// every JSON field of Prediction and of its alternatives.
func TestOpenAPIPredictionFields(t *testing.T) {
	type schema struct {
		Properties map[string]struct {
			Items *schema `json:"items"`
		} `json:"properties"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema schema `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	pred := doc.Paths["/v1/runs/{run}/prediction"]["get"].Responses["200"].Content["application/json"].Schema
	check := func(what string, typ reflect.Type, props map[string]struct {
		Items *schema `json:"items"`
	}) {
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if _, ok := props[name]; !ok {
				t.Errorf("%s field %q is not in openapi.json", what, name)
			}
		}
	}
	check("Prediction", reflect.TypeFor[Prediction](), pred.Properties)
	alt := pred.Properties["alternatives"].Items
	if alt == nil {
		t.Fatal("openapi.json: alternatives has no items")
	}
	check("Alternative", reflect.TypeFor[Alternative](), alt.Properties)
}

func TestAuthAndIsolation(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "secret-run", "cosine(peak=0.1, steps=100)", 100)
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), `{"batch_id":"b","metrics":[{"step":0,"loss":3.25}]}`, nil)
	paths := []struct{ method, path, body string }{
		{"GET", "/v1/runs/%d", ""},
		{"GET", "/v1/runs/%d/lr?step=3", ""},
		{"GET", "/v1/runs/%d/lr?from=0&to=10", ""},
		{"GET", "/v1/runs/%d/metrics", ""},
		{"GET", "/v1/runs/%d/events", ""},
		{"GET", "/v1/runs/%d/prediction", ""},
		{"POST", "/v1/runs/%d/metrics", `{"batch_id":"x","metrics":[{"step":1,"loss":1}]}`},
		{"POST", "/v1/runs/%d/actions/decay", `{"steps":10}`},
		{"POST", "/v1/runs/%d/actions/extend", `{"budget":1000}`},
		{"POST", "/v1/runs/%d/actions/pause", ``},
		{"POST", "/v1/runs/%d/actions/resume", ``},
	}
	for _, p := range paths {
		path := fmt.Sprintf(p.path, run.ID)
		for _, c := range []struct {
			name, tok string
			want      int
		}{
			{"no token", "", 401},
			{"wrong token", "lrk_wrong", 401},
			{"other project", f.tokB, 404},
		} {
			code, body := f.do(c.tok, p.method, path, p.body)
			if code != c.want {
				t.Errorf("%s %s with %s: %d %s, want %d", p.method, path, c.name, code, body, c.want)
			}
			for _, leak := range []string{"secret-run", "cosine", "3.25", "0.1"} {
				if strings.Contains(body, leak) {
					t.Errorf("%s %s with %s: body %s reveals %q", p.method, path, c.name, body, leak)
				}
			}
		}
	}
	var list struct{ Runs []RunJSON }
	f.ok(f.tokB, "GET", "/v1/runs", "", &list)
	if len(list.Runs) != 0 {
		t.Errorf("project beta sees %d runs of alpha", len(list.Runs))
	}
	// Nothing changed for the owner.
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Budget != 100 || got.Status != "running" || got.LastStep != 0 || got.Version != 2 {
		t.Errorf("run after other project's attempts: %+v", got)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.01)", 100)
	m := fmt.Sprintf("/v1/runs/%d/metrics", run.ID)
	lr := fmt.Sprintf("/v1/runs/%d/lr", run.ID)
	huge := `{"batch_id":"h","metrics":[` + strings.Repeat(`{"step":1,"loss":1},`, 60000) + `{"step":1,"loss":1}]}`
	cases := []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"malformed json", "POST", m, `{"batch_id":"a","metrics":[`, 400, "body ends early"},
		{"syntax", "POST", m, `{"batch_id":"a" "metrics":[]}`, 400, "invalid JSON at byte"},
		{"empty body", "POST", m, ``, 400, "empty request body"},
		{"not an object", "POST", m, `[1,2]`, 400, "must be a JSON object"},
		{"unknown field", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"los":1}]}`, 400, `unknown field "los"`},
		{"trailing value", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":1}]} {}`, 400, "more than one value"},
		{"huge body", "POST", m, huge, 413, "larger than 1048576 bytes"},
		{"negative step", "POST", m, `{"batch_id":"a","metrics":[{"step":-1,"loss":1}]}`, 400, "metrics[0]: step -1 is negative"},
		{"absurd step", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":1},{"step":99999999999999,"loss":1}]}`, 400, "metrics[1]: step 99999999999999 is absurd"},
		{"NaN", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":NaN}]}`, 400, "NaN is not a number"},
		{"Infinity", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":Infinity}]}`, 400, "Infinity is not a number"},
		{"overflow", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":1e999}]}`, 400, `field "metrics.loss": number 1e999 does not fit`},
		{"negative grad norm", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"grad_norm":-2}]}`, 400, "metrics[0].grad_norm: value -2 is negative"},
		{"no metric", "POST", m, `{"batch_id":"a","metrics":[{"step":1}]}`, 400, "no metric reported"},
		{"no batch id", "POST", m, `{"metrics":[{"step":1,"loss":1}]}`, 400, "batch_id"},
		{"empty batch", "POST", m, `{"batch_id":"a","metrics":[]}`, 400, "empty batch"},
		{"string step", "POST", m, `{"batch_id":"a","metrics":[{"step":"1","loss":1}]}`, 400, `field "metrics.step"`},
		{"unknown spec", "POST", "/v1/runs", `{"name":"x","spec":"cosin(peak=1, steps=10)","budget":10}`, 400, `spec:1:1: unknown schedule or controller "cosin" (did you mean "cosine"?)`},
		{"bad parameter", "POST", "/v1/runs", `{"name":"x","spec":"plateau(base=constant(), factr=0.5)","budget":10}`, 400, `unknown parameter "factr"`},
		{"zero budget", "POST", "/v1/runs", `{"name":"x","spec":"constant()","budget":0}`, 400, "budget: 0 steps"},
		{"duplicate name", "POST", "/v1/runs", `{"name":"r","spec":"constant()","budget":10}`, 409, "already exists"},
		{"lr no step", "GET", lr, ``, 400, "give step=N"},
		{"lr negative step", "GET", lr + "?step=-5", ``, 400, "step -5 is negative"},
		{"lr absurd", "GET", lr + "?step=9223372036854775807", ``, 400, "is absurd"},
		{"lr not int", "GET", lr + "?step=1.5", ``, 400, `step="1.5" is not an integer`},
		{"lr long range", "GET", lr + "?from=0&to=1000001", ``, 400, "too long"},
		{"lr empty range", "GET", lr + "?from=5&to=5", ``, 400, "must be greater than"},
		{"lr both", "GET", lr + "?step=1&from=0&to=3", ``, 400, "not both"},
		{"bad run id", "GET", "/v1/runs/abc", ``, 404, "not found"},
		{"missing run", "GET", "/v1/runs/999", ``, 404, "run 999 not found"},
		{"decay bad shape", "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":10,"shape":"zigzag"}`, 400, `shape: "zigzag"`},
		{"decay no steps", "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{}`, 400, "steps: 0"},
		{"decay floor above", "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":10,"floor":1}`, 400, "above the current rate"},
		{"extend smaller", "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), `{"budget":50}`, 400, "want more than the current 100"},
		{"extend bad mode", "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), `{"budget":500,"mode":"x"}`, 400, `mode: "x"`},
		{"prediction bad law", "GET", fmt.Sprintf("/v1/runs/%d/prediction?law=x", run.ID), ``, 400, `law="x"`},
		{"prediction too few", "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), ``, 422, "cannot fit"},
		{"no route", "GET", "/v1/nothing", ``, 404, "no route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := f.do(f.tokA, c.method, c.path, c.body)
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("body %s is not a JSON error", body)
			}
			if code != c.code || !strings.Contains(e.Error, c.msg) {
				t.Errorf("%d %s, want %d with %q", code, e.Error, c.code, c.msg)
			}
		})
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.LastStep != -1 || got.Version != 1 || got.Spec != "constant(peak=0.01)" {
		t.Errorf("rejected requests changed the run: %+v", got)
	}
}

func TestLRMatchesSpec(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "c", "cosine(peak=0.1, floor=0.01, steps=1000)", 1000)
	for _, st := range []int64{0, 250, 500, 1000, 5000} {
		want := 0.01 + 0.09*(1+math.Cos(math.Pi*float64(min(st, 1000))/1000))/2
		if got := f.lr(f.tokA, run.ID, st); math.Abs(got-want) > 1e-15 {
			t.Errorf("lr(%d) = %v, want %v", st, got, want)
		}
	}
	var r LRResponse
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/lr?from=10&to=20", run.ID), "", &r)
	if len(r.LRs) != 10 || *r.From != 10 {
		t.Fatalf("range: %+v", r)
	}
	for i, v := range r.LRs {
		if v != f.lr(f.tokA, run.ID, int64(10+i)) {
			t.Errorf("range[%d] = %v differs from the single-step rate", i, v)
		}
	}
}

func postBatch(f *fixture, run int64, id string, from, n int, loss func(int) float64) MetricsResponse {
	f.t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"batch_id":%q,"metrics":[`, id)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"step":%d,"loss":%v}`, from+i, loss(from+i))
	}
	b.WriteString("]}")
	var r MetricsResponse
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/metrics", run), b.String(), &r)
	return r
}

func TestMetricsIdempotentAndControllerObserves(t *testing.T) {
	for _, nice := range []int{0, store.MaxBackgroundNice} {
		t.Run(fmt.Sprintf("nice=%d", nice), func(t *testing.T) { testMetricsIdempotent(t, newFixtureNice(t, nice)) })
	}
}

func testMetricsIdempotent(t *testing.T, f *fixture) {
	run := f.createRun(f.tokA, "p", "plateau(base=constant(peak=0.1), metric=loss, factor=0.5, patience=2)", 1000)
	flat := func(int) float64 { return 2 }
	r := postBatch(f, run.ID, "b1", 0, 3, flat)
	if r.Inserted != 3 || r.Duplicate || r.LastStep != 2 || r.NextLR != 0.1 {
		t.Fatalf("first batch: %+v", r)
	}
	r = postBatch(f, run.ID, "b1", 0, 3, flat)
	if !r.Duplicate || r.Inserted != 0 || r.Version != 2 {
		t.Fatalf("retried batch: %+v", r)
	}
	// Step 3 is the third evaluation without improvement: the rate halves.
	r = postBatch(f, run.ID, "b2", 2, 2, flat)
	if r.Inserted != 1 || r.Skipped != 1 || r.NextLR != 0.05 {
		t.Fatalf("plateau batch: %+v", r)
	}
	if got := f.lr(f.tokA, run.ID, 4); got != 0.05 {
		t.Errorf("lr after plateau = %v, want 0.05", got)
	}
	var ev struct{ Events []EventJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events", run.ID), "", &ev)
	if len(ev.Events) != 1 || ev.Events[0].Kind != "controller" || !strings.Contains(string(ev.Events[0].Detail), `"to_lr":0.05`) {
		t.Errorf("events: %+v", ev.Events)
	}
	// Paused: metrics are stored, the controller does not observe them.
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/pause", run.ID), "", nil)
	r = postBatch(f, run.ID, "b3", 4, 10, flat)
	if r.Inserted != 10 || r.NextLR != 0.05 {
		t.Errorf("paused: %+v", r)
	}
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/resume", run.ID), "", nil)
	r = postBatch(f, run.ID, "b4", 14, 3, flat)
	if r.NextLR != 0.025 {
		t.Errorf("resumed: next lr %v, want 0.025", r.NextLR)
	}
	var ms struct{ Metrics []MetricJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), "", &ms)
	if len(ms.Metrics) != 17 {
		t.Errorf("%d metrics stored, want 17", len(ms.Metrics))
	}
	for i, m := range ms.Metrics {
		if m.Step == nil || *m.Step != int64(i) || m.Loss == nil || *m.Loss != 2 || m.GradNorm != nil {
			t.Errorf("metric %d: %+v", i, m)
		}
	}
}

func TestDecayAndExtend(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "d", "warmup(constant(peak=0.1), steps=10)", 100000)
	postBatch(f, run.ID, "b", 0, 50, func(i int) float64 { return 3 - float64(i)/100 })
	var got RunJSON
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":100,"floor":0.001}`, &got)
	if got.Budget != 150 || !strings.HasPrefix(got.Spec, "join([warmup(constant(peak=0.1), steps=10), wsd(") {
		t.Fatalf("after decay: %+v", got)
	}
	for _, c := range []struct {
		step int64
		want float64
	}{{5, 0.05}, {49, 0.1}, {50, 0.1}, {100, 0.0505}, {150, 0.001}, {1000, 0.001}} {
		if v := f.lr(f.tokA, run.ID, c.step); math.Abs(v-c.want) > 1e-12 {
			t.Errorf("after decay: lr(%d) = %v, want %v", c.step, v, c.want)
		}
	}
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), `{"budget":1050,"mode":"rewarm","shape":"linear","peak":0.1}`, &got)
	if got.Budget != 1050 {
		t.Fatalf("after extend: %+v", got)
	}
	for _, c := range []struct {
		step int64
		want float64
	}{{49, 0.1}, {50, 0.1}, {550, 0.05}, {1050, 0}} {
		if v := f.lr(f.tokA, run.ID, c.step); math.Abs(v-c.want) > 1e-12 {
			t.Errorf("after extend: lr(%d) = %v, want %v", c.step, v, c.want)
		}
	}
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), `{"budget":2000,"mode":"continue"}`, &got)
	if got.Budget != 2000 || !strings.Contains(got.Spec, "linear(peak=0.1, steps=1000)") {
		t.Errorf("after continue: %+v", got)
	}
	var ev struct{ Events []EventJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events", run.ID), "", &ev)
	kinds := []string{}
	for _, e := range ev.Events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "decay,extend,extend" {
		t.Errorf("events %v", kinds)
	}
}

// The events of a run come a page at a time: at most limit (default and
// maximum MaxEvents), oldest first, with "more" while there are more
// after the last; a client reading from the first event, as the Python
// client's created_spec does to find the first action that rewrote the
// spec, finds it in the first page.
func TestEventsLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000)
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":10}`, nil)
	tok, err := f.st.LookupToken(ctx, f.tokA)
	if err != nil {
		t.Fatal(err)
	}
	// A controller's decision per batch, MaxEvents of them.
	if _, err := f.st.UpdateRun(ctx, tok.ProjectID, run.ID, func(c *store.Change) error {
		for i := range MaxEvents {
			c.AddEvent(int64(i), "controller", nil)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Events []EventJSON
		More   bool
	}
	get := func(query string) page {
		t.Helper()
		var p page
		f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events%s", run.ID, query), "", &p)
		return p
	}
	p := get("")
	if len(p.Events) != MaxEvents || !p.More || p.Events[0].Kind != "decay" || !strings.Contains(string(p.Events[0].Detail), `"from_spec"`) {
		t.Fatalf("default page: %d events, more %v, first %+v; want %d from the decay, and more", len(p.Events), p.More, p.Events[0], MaxEvents)
	}
	last := p.Events[len(p.Events)-1]
	if p := get(fmt.Sprintf("?after=%d", last.ID)); len(p.Events) != 1 || p.More || p.Events[0].ID <= last.ID || p.Events[0].Step != MaxEvents-1 {
		t.Errorf("the page after the first: %+v; want the last controller event alone", p)
	}
	var ids []int64
	after := int64(0)
	for range 3 {
		p := get(fmt.Sprintf("?after=%d&limit=3", after))
		if len(p.Events) != 3 || !p.More {
			t.Fatalf("limit=3: %d events, more %v", len(p.Events), p.More)
		}
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
		after = p.Events[2].ID
	}
	if p := get(fmt.Sprintf("?limit=%d", MaxEvents)); len(p.Events) != MaxEvents {
		t.Errorf("limit=%d: %d events", MaxEvents, len(p.Events))
	}
	for i, e := range get("?limit=9").Events {
		if e.ID != ids[i] {
			t.Fatalf("pages of 3 give IDs %v; one of 9 has %d at #%d", ids, e.ID, i)
		}
	}
	for _, q := range []string{"?limit=0", fmt.Sprintf("?limit=%d", MaxEvents+1), "?limit=-1", "?limit=x"} {
		if code, body := f.do(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events%s", run.ID, q), ""); code != 400 || !strings.Contains(body, "limit") {
			t.Errorf("%s: %d %s; want 400 naming limit", q, code, body)
		}
	}
}

func TestPredictionRecoversPowerLaw(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "pl", "constant(peak=0.01)", 2000)
	loss := func(i int) float64 { return 2 + 5*math.Pow(float64(i+1), -0.5) }
	postBatch(f, run.ID, "b", 0, 500, loss)
	var p Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction?law=power", run.ID), "", &p)
	if math.Abs(p.Params["L0"]-2) > 1e-6 || math.Abs(p.Params["alpha"]-0.5) > 1e-6 {
		t.Errorf("params %v, want L0=2 A=5 alpha=0.5", p.Params)
	}
	if want := loss(1999); math.Abs(p.FinalLoss-want) > 1e-6 || p.FinalStep != 1999 || p.AtStep != 500 {
		t.Errorf("final loss %v at %d, want %v at 1999", p.FinalLoss, p.FinalStep, want)
	}
	if len(p.Alternatives) != 3 || len(p.CurveSteps) != 200 {
		t.Errorf("alternatives %v, curve %d", p.Alternatives, len(p.CurveSteps))
	}
	var q Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction?law=mpl", run.ID), "", &q)
	for _, a := range q.Alternatives {
		if !(a.FinalLoss > 0) {
			t.Errorf("mpl alternative %+v", a)
		}
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	f := newFixture(t)
	if code, body := f.do("", "GET", "/healthz", ""); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}
	f.do("", "GET", "/v1/runs", "")
	code, body := f.do("", "GET", "/metrics", "")
	if code != 200 || !strings.Contains(body, `lrkit_http_requests_total{code="401",route="GET /v1/runs"} 1`) {
		t.Errorf("metrics: %d %s", code, body)
	}
}

// schedule_version stays while a fixed schedule takes metrics (version, the
// row's, moves on), changes when an action changes the spec, and changes
// with the state of a controller that learns; the LR route reports the
// same value as the metrics route.
func TestScheduleVersion(t *testing.T) {
	f := newFixture(t)
	lrVersion := func(run int64) string {
		var r LRResponse
		f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/lr?step=0", run), "", &r)
		return r.ScheduleVersion
	}
	fixed := f.createRun(f.tokA, "fixed", "cosine(peak=0.1, steps=1000)", 1000)
	v0 := lrVersion(fixed.ID)
	if v0 == "" || v0 != fixed.ScheduleVersion {
		t.Fatalf("new run: schedule_version %q from lr, %q from create", v0, fixed.ScheduleVersion)
	}
	a := postBatch(f, fixed.ID, "a", 0, 5, func(int) float64 { return 2 })
	b := postBatch(f, fixed.ID, "b", 5, 5, func(int) float64 { return 2 })
	if a.ScheduleVersion != v0 || b.ScheduleVersion != v0 || b.Version == a.Version {
		t.Errorf("fixed schedule after metrics: schedule_version %q, %q (want %q); version %d then %d (want a change)",
			a.ScheduleVersion, b.ScheduleVersion, v0, a.Version, b.Version)
	}
	var got RunJSON
	f.ok(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", fixed.ID), `{"steps":100}`, &got)
	if got.ScheduleVersion == v0 || lrVersion(fixed.ID) != got.ScheduleVersion {
		t.Errorf("after decay: schedule_version %q (before %q), lr route %q", got.ScheduleVersion, v0, lrVersion(fixed.ID))
	}

	pl := f.createRun(f.tokA, "pl", "plateau(base=constant(peak=0.1), metric=loss, factor=0.5, patience=2)", 1000)
	p := postBatch(f, pl.ID, "a", 0, 4, func(int) float64 { return 2 }) // the rate halves at step 3
	if p.NextLR != 0.05 || p.ScheduleVersion == pl.ScheduleVersion {
		t.Errorf("plateau: next lr %v, schedule_version %q (created with %q): want 0.05 and a change", p.NextLR, p.ScheduleVersion, pl.ScheduleVersion)
	}
}

// A rate request for a cached run with a fresh token takes no lock and
// writes no word shared with other requests (serveLR): it is answered
// while the route's metrics lock is held, which the general path of every
// route takes to count its status code. The answers are counted all the
// same, and a request the fast path does not serve (another project's run)
// still gets its general answer.
func TestRateFastPath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.st.CreateProject(ctx, "gamma")
	if err != nil {
		t.Fatal(err)
	}
	run, _ := f.st.CreateRun(ctx, 1, "r", "constant(peak=0.5)", 100, nil)
	other, _ := f.st.CreateRun(ctx, p.ID, "r", "constant(peak=0.5)", 100, nil)
	path := fmt.Sprintf("/v1/runs/%d/lr?step=3", run.ID)
	want := f.getBody(f.tokA, path) // the general path caches the token and the run
	f.h.lrStats.mu.Lock()
	done := make(chan string, 1)
	go func() {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokA)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		done <- fmt.Sprint(w.Code, " ", w.Body.String())
	}()
	select {
	case got := <-done:
		if got != "200 "+want {
			t.Errorf("fast path answered %q, the general path %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Error("a rate request for a cached run waited for the route's metrics lock")
		f.h.lrStats.mu.Unlock()
		<-done
		f.h.lrStats.mu.Lock()
	}
	f.h.lrStats.mu.Unlock()
	if code, body := f.do(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/lr?step=3", other.ID), ""); code != 404 {
		t.Errorf("another project's run: %d %s", code, body)
	}
	_, metrics := f.do("", "GET", "/metrics", "")
	if !strings.Contains(metrics, `lrkit_http_requests_total{code="200",route="GET /v1/runs/{run}/lr"} 2`) ||
		!strings.Contains(metrics, `lrkit_http_requests_total{code="404",route="GET /v1/runs/{run}/lr"} 1`) {
		t.Errorf("metrics after two answers and a 404:\n%s", metrics)
	}
}

// getBody GETs path with tok and returns the body of a 200 answer.
func (f *fixture) getBody(tok, path string) string {
	f.t.Helper()
	code, body := f.do(tok, "GET", path, "")
	if code != 200 {
		f.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}
