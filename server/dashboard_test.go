package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/internal/browsertest"
)

// formValue returns the value of the hidden input name in page.
func formValue(page, name string) string {
	m := regexp.MustCompile(`name=` + name + ` value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// signIn loads the sign-in form with c and posts it with tok; it returns
// the answer's status and body.
func (f *fixture) signIn(c *http.Client, tok, next string) (int, string) {
	f.t.Helper()
	_, page := get(f.t, c, f.srv.URL+"/login")
	resp, err := c.PostForm(f.srv.URL+"/login", url.Values{"token": {tok}, "next": {next}, "login_csrf": {formValue(page, "login_csrf")}})
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// browser returns an HTTP client with a cookie jar, signed in with tok.
func (f *fixture) browser(tok string) *http.Client {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if code, body := f.signIn(c, tok, "/"); code != 200 {
		f.t.Fatalf("sign in: %d %s", code, body)
	}
	return c
}

// postForm posts an action form of the run page at path, with the page's
// CSRF token and idempotency key for the form id, and returns the answer.
func postForm(t *testing.T, c *http.Client, base, pagePath, action, form string, vals url.Values) (int, string) {
	t.Helper()
	_, page := get(t, c, base+pagePath)
	vals.Set("csrf", formValue(page, "csrf"))
	m := regexp.MustCompile(`id=` + form + ` [^>]*>\s*<input type=hidden name=csrf value="[^"]*"><input type=hidden name=idem value="([^"]*)">`).FindStringSubmatch(page)
	if m != nil {
		vals.Set("idem", m[1])
	}
	resp, err := c.PostForm(base+action, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// seedRun creates a run with 300 steps of a power-law loss.
func seedRun(f *fixture) RunJSON {
	run := f.createRun(f.tokA, "dash-run", "warmup(cosine(peak=0.01, steps=1000), steps=50)", 1000)
	postBatch(f, run.ID, "b", 0, 300, func(i int) float64 { return 2 + 5*math.Pow(float64(i+1), -0.5) })
	return run
}

func TestDashboard(t *testing.T) {
	f := newFixture(t)
	run := seedRun(f)
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _ := get(t, anon, f.srv.URL+"/"); code != http.StatusSeeOther {
		t.Errorf("/ without a cookie: %d, want a redirect to /login", code)
	}
	if code, body := f.signIn(&http.Client{Jar: must(cookiejar.New(nil))}, "lrk_bad", "/"); code != 401 || !strings.Contains(body, "invalid API token") {
		t.Errorf("login with a wrong token: %d", code)
	}
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), "", nil) // fitted before the page loads
	a := f.browser(f.tokA)
	code, body := get(t, a, f.srv.URL+"/")
	if code != 200 || !strings.Contains(body, ">dash-run</a>") {
		t.Fatalf("runs page: %d %s", code, body)
	}
	code, body = get(t, a, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	// 300 of 1000 steps logged: the forecast says it extrapolates far.
	for _, want := range []string{"<svg", "learning rate", "predicted (mpl)", `id=prediction`, "current spec", "data-confirm", `action="/runs/1/decay"`, "(90% interval)", "Note: the prediction reaches step 999, 3.3x the steps the law was fitted on (to step 299)"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("run page lacks %q (%d)", want, code)
		}
	}
	// An action through the form.
	runPath := fmt.Sprintf("/runs/%d", run.ID)
	if code, b := postForm(t, a, f.srv.URL, runPath, runPath+"/decay", "decay", url.Values{"steps": {"100"}, "floor": {"0"}, "shape": {"cosine"}}); !strings.Contains(b, "decay started") {
		t.Errorf("decay form: %d %s", code, b)
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Budget != 400 || !strings.Contains(got.Spec, "shape=cosine") {
		t.Errorf("after the decay form: %+v", got)
	}
	if _, b := postForm(t, a, f.srv.URL, runPath, runPath+"/extend", "extend", url.Values{"budget": {"10"}}); !strings.Contains(b, "not done: budget: 10, want more than the current 400") {
		t.Errorf("bad extend form: %s", b)
	}
	// Another project's run is a 404 page revealing nothing.
	bb := f.browser(f.tokB)
	code, body = get(t, bb, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	if code != 404 || strings.Contains(body, "dash-run") || strings.Contains(body, "cosine") {
		t.Errorf("other project's run page: %d", code)
	}
	code, _ = postForm(t, bb, f.srv.URL, "/", runPath+"/pause", "pause", url.Values{})
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if code != 404 || got.Status != "running" {
		t.Errorf("other project's pause: %d, status %s", code, got.Status)
	}
}

// chromiumSite serves the fixture's server with a test page on the same
// origin: /test-signin?next=P signs the browser in through the real
// sign-in form (fetched, filled with the token, posted by script: a
// headless chromium that navigates by a form POST stalls its virtual
// clock) and shows page P as the sign-in answered it.
func chromiumSite(t *testing.T, f *fixture, tok string) string {
	mux := http.NewServeMux()
	mux.Handle("/", f.h)
	mux.HandleFunc("GET /test-signin", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body><script>
fetch('/login').then(function(r){return r.text()}).then(function(t){
var src=new DOMParser().parseFromString(t,'text/html').getElementById('login');
var body=new URLSearchParams({login_csrf: src.querySelector('[name=login_csrf]').value, token: %q, next: %q});
return fetch(src.getAttribute('action'), {method: 'POST', body: body, credentials: 'same-origin'});
}).then(function(r){return r.text()}).then(function(html){
document.open(); document.write(html); document.close();});
</script></body>`, tok, r.URL.Query().Get("next"))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

// chromium runs Debian's headless chromium with args (and a virtual time
// budget for the pages' scripts) and returns its output; it skips the
// test without chromium.
func chromium(t *testing.T, extra ...string) string {
	t.Helper()
	return browsertest.Chromium(t)(append([]string{"--virtual-time-budget=15000"}, extra...)...)
}

// TestDashboardChromium signs in through the form in Debian's headless
// chromium, loads the dashboard and checks the rendered DOM; it writes a
// screenshot to $LRKIT_SCREENSHOT if set.
func TestDashboardChromium(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium not installed (Debian package: chromium)")
	}
	f := newFixture(t)
	run := seedRun(f)
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d/prediction", run.ID), "", nil) // fitted before the page loads
	site := chromiumSite(t, f, f.tokA)
	page := fmt.Sprintf("%s/test-signin?next=/runs/%d", site, run.ID)
	dom := chromium(t, "--dump-dom", page)
	for _, want := range []string{"<svg", "dash-run", `id="prediction"`, "current spec", "cosine:", "Decay now", `data-confirm="Start the decay now?`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	list := chromium(t, "--dump-dom", site+"/test-signin?next=/")
	if !strings.Contains(list, `<a href="/runs/1">dash-run</a>`) {
		t.Errorf("runs list DOM: %s", list)
	}
	if shot := os.Getenv("LRKIT_SCREENSHOT"); shot != "" {
		abs, _ := filepath.Abs(shot)
		chromium(t, "--screenshot="+abs, "--window-size=1600,1400", page)
		if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
			t.Errorf("no screenshot: %v", err)
		}
	}
}

// A page on another port of the same host (same site, another origin)
// posts the pause form to a signed-in browser's dashboard: chromium sends
// the session cookie with it (SameSite=Strict lets same-site requests
// through), and the server refuses it (Sec-Fetch-Site: same-site, and no
// CSRF token); the run keeps running.
func TestDashboardCrossOriginFormChromium(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skip("chromium not installed (Debian package: chromium)")
	}
	f := newFixture(t)
	run := seedRun(f)
	site := chromiumSite(t, f, f.tokA)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body><p id=x>sending</p><script>
fetch(%q, {method: 'POST', mode: 'no-cors', credentials: 'include', body: new URLSearchParams({x: '1'})})
.then(function(){document.getElementById('x').textContent='sent';}, function(e){document.getElementById('x').textContent='failed '+e;});
</script></body>`, fmt.Sprintf("%s/runs/%d/pause", site, run.ID))
	}))
	defer evil.Close()
	// One browser profile: signed in by the first run, it keeps the
	// session cookie for the second (a navigation from one origin to the
	// other stalls headless chromium's virtual clock).
	profile := "--user-data-dir=" + t.TempDir()
	if dom := chromium(t, profile, "--dump-dom", site+"/test-signin?next=/"); !strings.Contains(dom, ">dash-run</a>") {
		t.Fatalf("sign-in: %s", dom)
	}
	dom := chromium(t, profile, "--dump-dom", evil.URL)
	if !strings.Contains(dom, `<p id="x">sent</p>`) {
		t.Fatalf("the other origin's page did not send its form: %s", dom)
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Status != "running" {
		t.Errorf("a page of another origin paused the run: %+v", got)
	}
	_, metrics := f.do("", "GET", "/metrics", "")
	if !strings.Contains(metrics, `lrkit_http_requests_total{code="403",route="POST /runs/{run}/{action}"} 1`) {
		t.Errorf("the forged form did not reach the server and get its 403:\n%s", metrics)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
