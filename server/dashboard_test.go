package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browser returns an HTTP client with a cookie jar, signed in with tok.
func (f *fixture) browser(tok string) *http.Client {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(f.srv.URL + "/login?token=" + url.QueryEscape(tok))
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return c
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
	if code, body := get(t, anon, f.srv.URL+"/login?token=lrk_bad"); code != 401 || !strings.Contains(body, "invalid API token") {
		t.Errorf("login with a wrong token: %d", code)
	}
	a := f.browser(f.tokA)
	code, body := get(t, a, f.srv.URL+"/")
	if code != 200 || !strings.Contains(body, ">dash-run</a>") {
		t.Fatalf("runs page: %d %s", code, body)
	}
	code, body = get(t, a, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	for _, want := range []string{"<svg", "learning rate", "predicted (mpl)", `id=prediction`, "current spec", "data-confirm", `action="/runs/1/decay"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("run page lacks %q (%d)", want, code)
		}
	}
	// An action through the form.
	resp, err := a.PostForm(fmt.Sprintf("%s/runs/%d/decay", f.srv.URL, run.ID), url.Values{"steps": {"100"}, "floor": {"0"}, "shape": {"cosine"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "decay started") {
		t.Errorf("decay form: %d %s", resp.StatusCode, b)
	}
	var got RunJSON
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if got.Budget != 400 || !strings.Contains(got.Spec, "shape=cosine") {
		t.Errorf("after the decay form: %+v", got)
	}
	resp, _ = a.PostForm(fmt.Sprintf("%s/runs/%d/extend", f.srv.URL, run.ID), url.Values{"budget": {"10"}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "not done: budget: 10, want more than the current 400") {
		t.Errorf("bad extend form: %s", b)
	}
	// Another project's run is a 404 page revealing nothing.
	bb := f.browser(f.tokB)
	code, body = get(t, bb, fmt.Sprintf("%s/runs/%d", f.srv.URL, run.ID))
	if code != 404 || strings.Contains(body, "dash-run") || strings.Contains(body, "cosine") {
		t.Errorf("other project's run page: %d", code)
	}
	resp, _ = bb.PostForm(fmt.Sprintf("%s/runs/%d/pause", f.srv.URL, run.ID), nil)
	resp.Body.Close()
	f.ok(f.tokA, "GET", fmt.Sprintf("/v1/runs/%d", run.ID), "", &got)
	if resp.StatusCode != 404 || got.Status != "running" {
		t.Errorf("other project's pause: %d, status %s", resp.StatusCode, got.Status)
	}
}

// TestDashboardChromium loads the dashboard in Debian's headless
// chromium and checks the rendered DOM; it writes a screenshot to
// $LRKIT_SCREENSHOT if set.
func TestDashboardChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package: chromium)")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	f := newFixture(t)
	run := seedRun(f)
	chrome := func(extra ...string) string {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir()}, extra...)
		cmd := exec.Command(bin, args...)
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.Output(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("chromium timed out")
		}
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		return string(out)
	}
	page := fmt.Sprintf("%s/login?token=%s&next=/runs/%d", f.srv.URL, url.QueryEscape(f.tokA), run.ID)
	dom := chrome("--dump-dom", page)
	for _, want := range []string{"<svg", "dash-run", `id="prediction"`, "current spec", "cosine:", "Decay now", `data-confirm="Start the decay now?`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	list := chrome("--dump-dom", fmt.Sprintf("%s/login?token=%s", f.srv.URL, url.QueryEscape(f.tokA)))
	if !strings.Contains(list, `<a href="/runs/1">dash-run</a>`) {
		t.Errorf("runs list DOM: %s", list)
	}
	if shot := os.Getenv("LRKIT_SCREENSHOT"); shot != "" {
		abs, _ := filepath.Abs(shot)
		chrome("--screenshot="+abs, "--window-size=1600,1400", page)
		if st, err := os.Stat(abs); err != nil || st.Size() == 0 {
			t.Errorf("no screenshot: %v", err)
		}
	}
}
