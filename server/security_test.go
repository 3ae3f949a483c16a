package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/store"
)

// A spec that names a file is refused with a 400 that holds nothing of the
// file (the server parses every spec it receives in the untrusted mode);
// a stored spec that names one (from before) gives a 500 that reveals
// nothing either.
func TestSpecNeverReadsFiles(t *testing.T) {
	f := newFixture(t)
	secret := filepath.Join(t.TempDir(), "secret.csv")
	os.WriteFile(secret, []byte("step,lr\n0,0.123456789\n10,0.987654321\n"), 0o644)
	env, _ := os.ReadFile("/proc/self/environ")
	for _, spec := range []string{
		`table(file="/proc/self/environ")`,
		`table(file="` + secret + `")`,
		`warmup(table(file="` + secret + `"), steps=10)`,
		`plateau(base=table(file="/proc/self/environ"))`,
	} {
		code, body := f.do(f.tokA, "POST", "/v1/runs", fmt.Sprintf(`{"name":"x","spec":%q,"budget":100}`, spec))
		if code != 400 || !strings.Contains(body, "file") {
			t.Errorf("%s: %d %s, want a 400 refusing the file", spec, code, body)
		}
		for _, leak := range []string{"0.123456789", "PATH=", "HOME=", "LRKIT"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: the answer reveals %q: %s", spec, leak, body)
			}
		}
		if len(env) > 40 && strings.Contains(body, string(env[:40])) {
			t.Errorf("%s: the answer holds the environment", spec)
		}
	}
	// A run stored with a file spec before the server refused them.
	p, _ := f.st.ProjectByName(context.Background(), "alpha")
	run, err := f.st.CreateRun(context.Background(), p.ID, "old", `table(file="`+secret+`")`, 100, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	code, body := f.do(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/lr?step=0", run.ID), "")
	if code != 500 || strings.Contains(body, "0.123456789") || strings.Contains(body, secret) {
		t.Errorf("a stored file spec: %d %s", code, body)
	}
}

// The API accepts any finite value, and the dashboard draws every one of
// them: huge, tiny, zero and negative losses, a huge reported rate. No
// page panics or comes back empty.
func TestDashboardExtremeValues(t *testing.T) {
	f := newFixture(t)
	b := f.browser(f.tokA)
	cases := []struct {
		name   string
		values []float64
	}{
		{"huge", []float64{3, 1e308, 2}},
		{"tiny", []float64{3, 1e-300, 2}},
		{"both", []float64{1e-300, 1e308}},
		{"max", []float64{math.MaxFloat64, math.SmallestNonzeroFloat64}},
		{"signed", []float64{-1e308, 1e308, 0}},
		{"zero", []float64{0, 0, 0}},
		{"constant", []float64{1e308, 1e308}},
	}
	for _, c := range cases {
		run := f.createRun(f.tokA, c.name, "warmup(cosine(peak=0.01, steps=1000), steps=100)", 1000)
		var body strings.Builder
		body.WriteString(`{"batch_id":"b","metrics":[`)
		for i, v := range c.values {
			if i > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"step":%d,"loss":%v,"val_loss":%v,"lr":%v}`, i, v, v, math.Abs(v))
		}
		body.WriteString("]}")
		if code, resp := f.do(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), body.String()); code != 200 {
			t.Errorf("%s: metrics %d %s", c.name, code, resp)
			continue
		}
		code, page := get(t, b, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
		if code != 200 || strings.Count(page, "<svg") != 2 || strings.Contains(page, "could not be drawn") {
			t.Errorf("%s: run page %d with %d charts", c.name, code, strings.Count(page, "<svg"))
		}
	}
	if code, page := get(t, b, f.srv.URL+"/"); code != 200 || !strings.Contains(page, ">signed</a>") {
		t.Errorf("runs page: %d", code)
	}
}

// The loss chart's y range comes from the observed losses: a run warmed up
// from rate 0 (whose fitted law may predict huge losses at its start) and
// a predicted curve that starts at 1e36 leave the range within a few
// times the observed losses.
func TestLossChartRange(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "warm", "warmup(cosine(peak=0.01, steps=1000), steps=100)", 1000)
	loss := func(i int) float64 { return 2 + 3*math.Pow(float64(i+1), -0.4) }
	postBatch(f, run.ID, "b", 0, 400, loss)
	var pr Prediction
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), "", &pr)
	lo, hi := loss(399), loss(0)
	ctx := context.Background()
	p, _ := f.st.ProjectByName(ctx, "alpha")
	v, err := f.st.View(ctx, p.ID, run.ID, 1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.h.entryFor(v.Run)
	if err != nil {
		t.Fatal(err)
	}
	// The real prediction, and one that starts at 1e36.
	huge := pr
	huge.CurveLoss = append([]float64{1e36, 1e20, math.Inf(1), math.NaN(), -1}, pr.CurveLoss[5:]...)
	for name, p := range map[string]*Prediction{"fitted": &pr, "starting at 1e36": &huge} {
		c := chartsOf(e.box, v.Run, v.Metrics, p, "mpl")
		r := c.lossAxis.yrange
		if !c.lossAxis.logY || r[0] < lo/3 || r[1] > 3*hi || r[0] > lo || r[1] < hi {
			t.Errorf("%s: loss axis %+v, range %v; want a log axis within [%v/3, 3·%v] holding [%v, %v]", name, c.lossAxis.label, r, lo, hi, lo, hi)
		}
		if n := len(c.loss[2].X); n < 190 {
			t.Errorf("%s: %d predicted points drawn (off-scale ones on the edge), want about 200", name, n)
		}
	}
	// The range does not come from the prediction at all: the same losses
	// with no prediction give the same range.
	a := chartsOf(e.box, v.Run, v.Metrics, &huge, "mpl").lossAxis.yrange
	b := chartsOf(e.box, v.Run, v.Metrics, nil, "mpl").lossAxis.yrange
	if a != b {
		t.Errorf("range %v with the prediction, %v without", a, b)
	}
	// And the page draws it.
	code, page := get(t, f.browser(f.tokA), fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	if code != 200 || !strings.Contains(page, "predicted (mpl)") {
		t.Errorf("run page: %d", code)
	}
}

// chooseAxis keeps a log axis for ordinary losses and falls back where a
// log axis cannot draw the values.
func TestChooseAxis(t *testing.T) {
	for _, c := range []struct {
		vs    []float64
		log   bool
		label string
	}{
		{[]float64{2, 3.5}, true, "loss (log scale)"},
		{[]float64{1e-300, 3}, false, "log10 loss"},
		{[]float64{3, 1e308}, false, "log10 loss"},
		{[]float64{-1, 2}, false, "loss"},
		{[]float64{-1e308, 0}, false, "loss (×1e308)"},
		{[]float64{0, 0}, false, "loss"},
	} {
		ax := chooseAxis("loss", c.vs, true)
		if ax.logY != c.log || ax.label != c.label {
			t.Errorf("%v: log %v %q, want %v %q", c.vs, ax.logY, ax.label, c.log, c.label)
		}
		drawn := ax.apply(plot.Series{X: []float64{0, 1}, Y: c.vs})
		for _, y := range drawn.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) || math.Abs(y) > 1e100 {
				t.Errorf("%v: drawn as %v", c.vs, drawn.Y)
			}
		}
	}
}

// Metrics records need their step; steps and budgets stay within
// --max-steps, for runs, metrics, rates and the budgets actions make.
func TestStepsAndBudgetsBounded(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _ := st.CreateProject(ctx, "p")
	tok, _, _ := st.CreateToken(ctx, p.ID, "t")
	srv := New(st, Options{MaxSteps: 100000})
	defer srv.Close()
	f := &fixture{t: t, st: st, h: srv, tokA: tok}
	f.srv = newTestServer(t, srv)
	run := f.createRun(tok, "r", "constant(peak=0.1)", 1000)
	postBatch(f, run.ID, "b", 0, 10, func(int) float64 { return 2 })
	m := fmt.Sprintf("/v1/runs/%d/metrics", run.ID)
	for _, c := range []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"no step", "POST", m, `{"batch_id":"a","metrics":[{"loss":1}]}`, 400, "metrics[0].step: missing"},
		{"no step later", "POST", m, `{"batch_id":"a","metrics":[{"step":1,"loss":1},{"loss":1}]}`, 400, "metrics[1].step: missing"},
		{"step 2^40", "POST", m, `{"batch_id":"a","metrics":[{"step":1099511627776,"loss":1}]}`, 400, "metrics[0]: step 1099511627776 is absurd (the limit is 100000"},
		{"rate past the limit", "GET", fmt.Sprintf("/v1/runs/%d/lr?step=100001", run.ID), "", 400, "step 100001 is absurd"},
		{"budget", "POST", "/v1/runs", `{"name":"x","spec":"constant()","budget":100001}`, 400, "budget: 100001 steps, want 1 to 100000"},
		{"horizon", "POST", "/v1/runs", `{"name":"x","spec":"cosine(steps=1000000)","budget":1000}`, 400, "spec: the schedule runs to step 1000000, past the limit 100000"},
		{"decay past the limit", "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":99995}`, 400, "steps: 99995 from step 10 ends at step 100005, past the limit 100000"},
		{"decay at past the limit", "POST", fmt.Sprintf("/v1/runs/%d/actions/decay", run.ID), `{"steps":5,"at":200000}`, 400, "at: step 200000 is absurd"},
		{"extend past the limit", "POST", fmt.Sprintf("/v1/runs/%d/actions/extend", run.ID), `{"budget":100001}`, 400, "budget: 100001, want more than the current 1000 (and at most 100000"},
	} {
		code, body := f.do(tok, c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.name, code, body, c.code, c.msg)
		}
	}
	var got RunJSON
	f.ok(tok, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Budget != 1000 || got.LastStep != 9 || got.Spec != "constant(peak=0.1)" {
		t.Errorf("refused requests changed the run: %+v", got)
	}
	// A budget past the schedule's horizon is accepted, with a warning.
	var warm RunJSON
	f.ok(tok, "POST", "/v1/runs", `{"name":"long","spec":"cosine(peak=0.1, steps=100)","budget":1000}`, &warm)
	if !strings.Contains(warm.Warning, "the run has 1000 steps but the schedule cosine(peak=0.1, steps=100) ends at step 100") {
		t.Errorf("warning %q", warm.Warning)
	}
}

// newTestServer serves h for the test.
func newTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// A batch ID sent again with the same records is a retry; with other
// records it is a 409 naming the batch, and nothing is stored.
func TestReusedBatchID(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 1000)
	first := postBatch(f, run.ID, "b-7", 0, 5, func(i int) float64 { return float64(i) })
	again := postBatch(f, run.ID, "b-7", 0, 5, func(i int) float64 { return float64(i) })
	if first.Inserted != 5 || !again.Duplicate || again.Version != first.Version {
		t.Errorf("retry: %+v then %+v", first, again)
	}
	code, body := f.do(f.tokA, "POST", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), `{"batch_id":"b-7","metrics":[{"step":5,"loss":1}]}`)
	if code != 409 || !strings.Contains(body, `batch_id \"b-7\": already stored for this run with other records`) {
		t.Errorf("reused batch ID: %d %s", code, body)
	}
	var ms struct{ Metrics []MetricJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), "", &ms)
	if len(ms.Metrics) != 5 {
		t.Errorf("%d metrics stored, want 5", len(ms.Metrics))
	}
}

// Every form of the dashboard is refused without its CSRF token, or when
// the browser says it came from another origin (Sec-Fetch-Site, Origin);
// a token in the sign-in address is refused; sign-in needs its form's
// token.
func TestDashboardCSRF(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	b := f.browser(f.tokA)
	runPath := fmt.Sprintf("/runs/%d", run.ID)
	_, page := get(t, b, f.srv.URL+runPath)
	csrf := formValue(page, "csrf")
	if csrf == "" || csrf != csrfToken(f.tokA) {
		t.Fatalf("page CSRF token %q", csrf)
	}
	for _, form := range []string{"decay", "extend", "pause"} {
		if !strings.Contains(page, `id=`+form+` method=post`) || !strings.Contains(page, `action="/runs/1/`+form+`" data-confirm`) {
			t.Errorf("no %s form", form)
		}
	}
	if n := strings.Count(page, `name=csrf value="`+csrf+`"`); n != 4 { // decay, extend, pause, sign out
		t.Errorf("%d forms carry the CSRF token, want 4", n)
	}
	post := func(path string, vals url.Values, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		noRedirect := *b
		noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	other := "http://127.0.0.1:1"
	for _, c := range []struct {
		name string
		vals url.Values
		hdr  map[string]string
		code int
		msg  string
	}{
		{"no token", url.Values{}, nil, 403, "CSRF token is missing or wrong"},
		{"wrong token", url.Values{"csrf": {csrfToken("lrk_other")}}, nil, 403, "CSRF token is missing or wrong"},
		{"same site, other origin", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-site"}, 403, "cross-origin form refused"},
		{"cross site", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin form refused"},
		{"other origin", url.Values{"csrf": {csrf}}, map[string]string{"Origin": other}, 403, "cross-origin form refused"},
		{"same origin", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.srv.URL}, 303, ""},
	} {
		code, body := post(runPath+"/pause", c.vals, c.hdr)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("pause form, %s: %d %s", c.name, code, body)
		}
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Status != "paused" {
		t.Errorf("after the one good form the run is %s", got.Status)
	}
	var ev struct{ Events []EventJSON }
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/events", run.ID), "", &ev)
	if len(ev.Events) != 1 {
		t.Errorf("%d events: refused forms changed the run", len(ev.Events))
	}
	if code, _ := post("/logout", url.Values{}, nil); code != 403 {
		t.Errorf("sign-out without its token: %d", code)
	}
	if code, _ := post("/logout", url.Values{"csrf": {csrf}}, map[string]string{"Origin": other}); code != 403 {
		t.Errorf("sign-out from another origin: %d", code)
	}
	// Sign-in: a token in the address signs nobody in.
	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar}
	code, body := get(t, anon, f.srv.URL+"/login?token="+url.QueryEscape(f.tokA)+"&next=/")
	u, _ := url.Parse(f.srv.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == cookieName {
			t.Errorf("GET /login?token= set the session cookie")
		}
	}
	if code != 400 || !strings.Contains(body, "a token in the address is not accepted") {
		t.Errorf("GET /login?token=: %d", code)
	}
	// Sign-in without the form's token, with a wrong one, from another
	// origin.
	_, login := get(t, anon, f.srv.URL+"/login")
	nonce := formValue(login, "login_csrf")
	for _, c := range []struct {
		name  string
		nonce string
		hdr   map[string]string
		code  int
	}{
		{"no form token", "", nil, 403},
		{"wrong form token", "x" + nonce, nil, 403},
		{"other origin", nonce, map[string]string{"Origin": other}, 403},
		{"good", "", nil, 303},
	} {
		if c.name == "good" {
			// Every sign-in page (a refused attempt gives one) has a new
			// form token: take the last.
			_, login := get(t, anon, f.srv.URL+"/login")
			c.nonce = formValue(login, "login_csrf")
		}
		req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader(url.Values{"token": {f.tokA}, "login_csrf": {c.nonce}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		c2 := *anon
		c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("sign-in, %s: %d, want %d", c.name, resp.StatusCode, c.code)
		}
	}
}

// After signing in, the browser goes to next only if it is a path of this
// site: //other.host and every spelling a browser reads as another host
// go to / instead.
func TestSignInRedirect(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ next, want string }{
		{"/runs/1", "/runs/1"},
		{"/runs/1?law=power", "/runs/1?law=power"},
		{"/%2F%2Fother.host", "/"},
		{"//other.host", "/"},
		{"//other.host/runs/1", "/"},
		{"/\\other.host", "/"},
		{"\\\\other.host", "/"},
		{"/\t/other.host", "/"},
		{"/\n/other.host", "/"},
		{" //other.host", "/"},
		{"https://other.host", "/"},
		{"http:other.host", "/"},
		{"javascript:alert(1)", "/"},
		{"other.host", "/"},
		{"", "/"},
		{"///other.host", "/"},
		{"/%09/other.host", "/"},
		{"/%5Cother.host", "/"},
	} {
		jar, _ := cookiejar.New(nil)
		cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		_, page := get(t, cl, f.srv.URL+"/login")
		form := url.Values{"token": {f.tokA}, "login_csrf": {formValue(page, "login_csrf")}, "next": {c.next}}
		resp, err := cl.PostForm(f.srv.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != c.want {
			t.Errorf("next=%q: %d to %q, want %q", c.next, resp.StatusCode, loc, c.want)
		}
	}
	// The encoded forms arrive decoded: next=%2F%2Fother.host in the form
	// body is //other.host, refused above; in the sign-in page's address
	// it ends in the form's hidden field as /.
	_, page := get(t, http.DefaultClient, f.srv.URL+"/login?next=%2F%2Fother.host")
	if v := formValue(page, "next"); v != "/" {
		t.Errorf("sign-in page for next=%%2F%%2Fother.host carries next %q", v)
	}
}

// A revoked token stops working within the token cache's time, and works
// until then from the cache.
func TestRevokedTokenDropped(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _ := st.CreateProject(ctx, "p")
	text, tok, _ := st.CreateToken(ctx, p.ID, "t")
	const ttl = 300 * time.Millisecond
	srv := New(st, Options{TokenTTL: ttl})
	defer srv.Close()
	ts := newTestServer(t, srv)
	f := &fixture{t: t, st: st, h: srv, srv: ts}
	f.ok(text, "GET", "/v1/project", "", nil)
	if err := st.RevokeToken(ctx, p.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		code, _ := f.do(text, "GET", "/v1/project", "")
		if code == 401 {
			break
		}
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		if time.Since(revoked) > ttl+time.Second {
			t.Fatalf("the revoked token still works %v after its revocation (token TTL %v)", time.Since(revoked), ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(revoked); d > ttl+500*time.Millisecond {
		t.Errorf("the revoked token was dropped after %v, later than its TTL %v", d, ttl)
	}
	// The dashboard session of a revoked token is signed out too.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: text})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("dashboard with a revoked token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// PostgreSQL refuses a NUL character or invalid UTF-8 in text, and the
// server answered a run name, batch ID or idempotency key holding one
// with a 500 there (an SQLite file stored them): each is a 400 naming the
// field, on either database, and changes nothing.
func TestTextTheDatabaseCannotStore(t *testing.T) {
	f := newFixture(t)
	run := f.createRun(f.tokA, "r", "constant(peak=0.01)", 100)
	cases := []struct {
		name, path, body, key, msg string
	}{
		{"NUL in a run name", "/v1/runs", `{"name":"a\u0000b","spec":"constant()","budget":10}`, "", "name: holds a NUL character (U+0000)"},
		{"NUL in a batch ID", fmt.Sprintf("/v1/runs/%d/metrics", run.ID), `{"batch_id":"b\u0000","metrics":[{"step":1,"loss":1}]}`, "", "batch_id: holds a NUL character (U+0000)"},
		{"invalid UTF-8 in an idempotency key", fmt.Sprintf("/v1/runs/%d/actions/pause", run.ID), "", "k\xff", "Idempotency-Key: not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", f.srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+f.tokA)
			if c.key != "" {
				req.Header.Set("Idempotency-Key", c.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || !strings.Contains(e.Error, c.msg) {
				t.Errorf("%d %q, want 400 with %q", resp.StatusCode, e.Error, c.msg)
			}
		})
	}
	// The dashboard's forms send their idempotency key as a form field.
	b := f.browser(f.tokA)
	page := fmt.Sprintf("/runs/%d", run.ID)
	_, html := get(t, b, f.srv.URL+page)
	code, html := postFormRaw(t, b, f.srv.URL+page+"/pause", url.Values{"csrf": {formValue(html, "csrf")}, "idem": {"k\xff"}})
	if want := "not done: Idempotency-Key: not valid UTF-8"; code != 200 || !strings.Contains(html, want) {
		t.Errorf("dashboard pause with a bad key: %d, page without %q", code, want)
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Version != 1 || got.LastStep != -1 || got.Status != "running" {
		t.Errorf("refused requests changed the run: %+v", got)
	}
	var list struct{ Runs []RunJSON }
	f.ok(f.tokA, "GET", "/v1/runs", "", &list)
	if len(list.Runs) != 1 {
		t.Errorf("%d runs, want 1", len(list.Runs))
	}
}

// postFormRaw posts vals to u with c and returns the answer (after its
// redirects).
func postFormRaw(t *testing.T, c *http.Client, u string, vals url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The pages' Content-Security-Policy lets only the script the pages carry
// run, by its hash ('unsafe-inline' let any inline script run, one
// injected into a page included), and lets the charts load the font they
// embed as a data: URL (default-src 'self' refused it).
func TestDashboardCSP(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	b := f.browser(f.tokA)
	scriptRE := regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	for _, path := range []string{"/", fmt.Sprintf("/runs/%d", run.ID), "/login", "/runs/999"} {
		t.Run(path, func(t *testing.T) {
			resp, err := b.Get(f.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			csp := map[string][]string{}
			for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
				if fs := strings.Fields(d); len(fs) > 0 {
					csp[fs[0]] = fs[1:]
				}
			}
			script := csp["script-src"]
			if len(script) == 0 || slices.Contains(script, "'unsafe-inline'") {
				t.Errorf("script-src %q: want the pages' script by its hash, not 'unsafe-inline'", script)
			}
			scripts := scriptRE.FindAllSubmatch(body, -1)
			if len(scripts) == 0 {
				t.Fatalf("no script in the page")
			}
			for _, m := range scripts {
				sum := sha256.Sum256(m[1])
				if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !slices.Contains(script, h) {
					t.Errorf("the page's script (%s) is not allowed by script-src %q", h, script)
				}
			}
			if strings.Contains(string(body), "url(\"data:font/") && !slices.Contains(csp["font-src"], "data:") {
				t.Errorf("the page embeds a font, font-src %q refuses it", csp["font-src"])
			}
		})
	}
}

// A run page's notice is the message of the action just done there (in a
// cookie the page reads once), never text from its address: the page
// showed /runs/1?msg=... as its own notice, any text, to whoever followed
// a link with one.
func TestRunPageNoticeNotFromAddress(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	b := f.browser(f.tokA)
	page := fmt.Sprintf("/runs/%d", run.ID)
	spoof := "Your API token was revoked: sign in again at https://evil.example/login"
	if _, html := get(t, b, f.srv.URL+page+"?msg="+url.QueryEscape(spoof)); strings.Contains(html, "evil.example") {
		t.Errorf("the page shows text from its address as its notice")
	}
	code, html := postForm(t, b, f.srv.URL, page, page+"/pause", "pause", url.Values{})
	if want := "<p class=msg id=msg>controller paused</p>"; code != 200 || !strings.Contains(html, want) {
		t.Errorf("pause: %d, page without %q", code, want)
	}
	if _, html := get(t, b, f.srv.URL+page); strings.Contains(html, "id=msg") {
		t.Errorf("the action's message is shown again on the next load")
	}
}
