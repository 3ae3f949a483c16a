package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lrkit/lrkit/store"
)

// The limiter's buckets on a clock the test moves: burst failures at once,
// then one every every; a failure made while refused (requests in flight
// together) lengthens the wait; clients do not share a bucket.
func TestFailureLimiter(t *testing.T) {
	const every = 10 * time.Second
	type op struct {
		after time.Duration // the clock moves on this much first
		fail  bool          // a failure (else: the wait is asked)
		addr  string
		want  time.Duration // the wait after the failure, or asked
	}
	for _, c := range []struct {
		name string
		ops  []op
	}{
		{"burst then refused", []op{
			{0, false, "a", 0},
			{0, true, "a", 0}, {0, true, "a", 0}, {0, true, "a", every},
			{0, false, "a", every},
			{4 * time.Second, false, "a", 6 * time.Second},
		}},
		{"one more every interval", []op{
			{0, true, "a", 0}, {0, true, "a", 0}, {0, true, "a", every},
			{every, false, "a", 0},
			{0, true, "a", every},
			{every, true, "a", every},
		}},
		{"failures in flight together add up", []op{
			{0, true, "a", 0}, {0, true, "a", 0}, {0, true, "a", every},
			{0, true, "a", 2 * every}, {0, true, "a", 3 * every},
			{every, false, "a", 2 * every},
		}},
		{"clients apart", []op{
			{0, true, "a", 0}, {0, true, "a", 0}, {0, true, "a", every},
			{0, false, "b", 0},
			{0, true, "b", 0},
			{0, false, "a", every},
		}},
		{"successes are not counted", []op{
			{0, true, "a", 0}, {0, true, "a", 0},
			{0, false, "a", 0}, {0, false, "a", 0}, {0, false, "a", 0},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newFailureLimiter(3, every, 100)
			now := time.Unix(1_000_000, 0)
			l.now = func() time.Time { return now }
			for i, o := range c.ops {
				now = now.Add(o.after)
				var got time.Duration
				if o.fail {
					got = l.fail(o.addr)
				} else {
					got = l.wait(o.addr)
				}
				if d := got - o.want; d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("op %d (%+v): wait %v, want %v", i, o, got, o.want)
				}
				if got > 0 && !l.mayRefuse(now.UnixNano()) {
					t.Errorf("op %d: a client waits, but mayRefuse says none does (the rate route would answer it)", i)
				}
			}
		})
	}
}

// The limiter remembers at most its capacity of clients, forgetting the
// oldest failures first, and forgets a client whose bucket has filled up
// again as soon as another one fails.
func TestFailureLimiterBounded(t *testing.T) {
	const every = time.Second
	for _, c := range []struct {
		name      string
		capacity  int
		clients   int           // each fails burst times
		pause     time.Duration // then the clock moves on
		then      string        // and this client fails once
		remembers int
		refused   string // a client still refused at the end ("": none)
		forgotten string // a client forgotten at the end ("": none)
	}{
		{"capped", 4, 10, 0, "new", 4, "c9", "c5"},
		{"under the cap", 100, 10, 0, "new", 11, "c0", ""},
		{"refilled buckets forgotten", 100, 10, 3 * every, "new", 1, "", "c9"},
		{"half refilled kept", 100, 10, every, "new", 11, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			const burst = 3
			l := newFailureLimiter(burst, every, c.capacity)
			now := time.Unix(1_000_000, 0)
			l.now = func() time.Time { return now }
			for i := range c.clients {
				for range burst {
					l.fail(fmt.Sprintf("c%d", i))
				}
			}
			now = now.Add(c.pause)
			l.fail(c.then)
			if n := len(l.clients); n != c.remembers || l.lru.Len() != n {
				t.Errorf("remembers %d clients (list %d), want %d", n, l.lru.Len(), c.remembers)
			}
			if c.refused != "" && l.wait(c.refused) == 0 {
				t.Errorf("client %s not refused", c.refused)
			}
			if _, ok := l.clients[c.forgotten]; c.forgotten != "" && ok {
				t.Errorf("client %s remembered", c.forgotten)
			}
		})
	}
}

// limitRig is a server whose clients may fail 3 times, then wait an hour.
type limitRig struct {
	f   *fixture
	run int64
}

func newLimitRig(t *testing.T, behindProxy bool) *limitRig {
	f := newFixtureWith(t, store.Options{}, Options{AuthFailures: 3, AuthFailureEvery: time.Hour, BehindProxy: behindProxy})
	run := f.createRun(f.tokA, "r", "constant(peak=0.1)", 100)
	f.lr(f.tokA, run.ID, 1) // the token is cached: rates take serveLR's fast path
	return &limitRig{f: f, run: run.ID}
}

// serve sends req to the server from the client at addr (RemoteAddr),
// with the headers hdr.
func (g *limitRig) serve(req *http.Request, addr string, hdr map[string]string) *httptest.ResponseRecorder {
	req.RemoteAddr = addr
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	g.f.h.ServeHTTP(w, req)
	return w
}

// signIn posts the sign-in form with tok, with the form's CSRF token and
// cookie from a GET of /login.
func (g *limitRig) signIn(tok, addr string, hdr map[string]string) *httptest.ResponseRecorder {
	page := g.serve(httptest.NewRequest("GET", "/login", nil), addr, hdr)
	form := url.Values{"token": {tok}, "next": {"/"}, "login_csrf": {formValue(page.Body.String(), "login_csrf")}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range page.Result().Cookies() {
		req.AddCookie(c)
	}
	return g.serve(req, addr, hdr)
}

// authWays are the ways a client presents a token, each with the status
// of a wrong token and of a right one.
var authWays = []struct {
	name            string
	wrongCode, code int
	try             func(g *limitRig, tok, addr string, hdr map[string]string) *httptest.ResponseRecorder
}{
	{"sign-in form", 401, 303, func(g *limitRig, tok, addr string, hdr map[string]string) *httptest.ResponseRecorder {
		return g.signIn(tok, addr, hdr)
	}},
	{"dashboard session cookie", 303, 200, func(g *limitRig, tok, addr string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: cookieName, Value: tok})
		return g.serve(req, addr, hdr)
	}},
	{"API", 401, 200, func(g *limitRig, tok, addr string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/v1/project", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return g.serve(req, addr, hdr)
	}},
	{"API rate route", 401, 200, func(g *limitRig, tok, addr string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/runs/%d/lr?step=3", g.run), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return g.serve(req, addr, hdr)
	}},
}

// Failed authentications are limited per client address, whichever way
// the token comes: after 3 failures the client is refused (429, a
// Retry-After of about the hour it must wait, and a message saying so)
// whether its next token is wrong or right, while other clients, and the
// same client's successes before, are not limited.
func TestAuthFailuresLimited(t *testing.T) {
	for _, way := range authWays {
		t.Run(way.name, func(t *testing.T) {
			g := newLimitRig(t, false)
			const attacker, other = "192.0.2.7:40000", "198.51.100.3:50000"
			for i := range 10 {
				if w := way.try(g, g.f.tokA, attacker, nil); w.Code != way.code {
					t.Fatalf("success %d: %d %s, want %d", i, w.Code, w.Body, way.code)
				}
			}
			for i := range 3 {
				if w := way.try(g, "lrk_guess"+strconv.Itoa(i), attacker, nil); w.Code != way.wrongCode {
					t.Fatalf("failure %d: %d %s, want %d", i, w.Code, w.Body, way.wrongCode)
				}
			}
			for _, tok := range []string{"lrk_guess9", g.f.tokA} {
				w := way.try(g, tok, "192.0.2.7:40001", nil) // another port: the same client
				secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
				if w.Code != http.StatusTooManyRequests || err != nil || secs < 3590 || secs > 3600 {
					t.Errorf("token %s after 3 failures: %d, Retry-After %q, want 429 and about 3600", tok, w.Code, w.Header().Get("Retry-After"))
				}
				if body := w.Body.String(); !strings.Contains(body, "too many") || !strings.Contains(body, "from 192.0.2.7: try again in ") {
					t.Errorf("token %s after 3 failures: message %q", tok, body)
				}
			}
			if w := way.try(g, g.f.tokA, other, nil); w.Code != way.code {
				t.Errorf("another client: %d %s, want %d", w.Code, w.Body, way.code)
			}
			// Not behind a proxy, X-Forwarded-For is anyone's to send: it
			// does not make the client another one.
			if w := way.try(g, g.f.tokA, attacker, map[string]string{"X-Forwarded-For": "203.0.113.9"}); w.Code != http.StatusTooManyRequests {
				t.Errorf("the refused client claiming another address: %d, want 429", w.Code)
			}
		})
	}
}

// Behind a proxy (Options.BehindProxy), the client is the last address of
// X-Forwarded-For: clients of one proxy are limited apart, and an address
// a client put first in the header does not change which it is.
func TestAuthFailuresLimitedBehindProxy(t *testing.T) {
	for _, way := range authWays {
		t.Run(way.name, func(t *testing.T) {
			g := newLimitRig(t, true)
			const proxy = "10.0.0.1:40000"
			bad := map[string]string{"X-Forwarded-For": "192.0.2.7"}
			for i := range 3 {
				if w := way.try(g, "lrk_guess"+strconv.Itoa(i), proxy, bad); w.Code != way.wrongCode {
					t.Fatalf("failure %d: %d %s, want %d", i, w.Code, w.Body, way.wrongCode)
				}
			}
			for _, c := range []struct {
				xff  string
				want int
			}{
				{"192.0.2.7", http.StatusTooManyRequests},
				{"203.0.113.9, 192.0.2.7", http.StatusTooManyRequests},
				{"192.0.2.7, 203.0.113.9", way.code},
				{"198.51.100.3", way.code},
				{"", way.code}, // the proxy itself
			} {
				hdr := map[string]string{}
				if c.xff != "" {
					hdr["X-Forwarded-For"] = c.xff
				}
				if w := way.try(g, g.f.tokA, proxy, hdr); w.Code != c.want {
					t.Errorf("X-Forwarded-For %q: %d %s, want %d", c.xff, w.Code, w.Body, c.want)
				}
			}
		})
	}
}

// The client address failures are counted against.
func TestClientAddr(t *testing.T) {
	for _, c := range []struct {
		behindProxy bool
		remote, xff string
		want        string
	}{
		{false, "192.0.2.7:1234", "", "192.0.2.7"},
		{false, "192.0.2.7:1234", "203.0.113.9", "192.0.2.7"},
		{true, "10.0.0.1:1234", "203.0.113.9", "203.0.113.9"},
		{true, "10.0.0.1:1234", "198.51.100.3, 203.0.113.9", "203.0.113.9"},
		{true, "10.0.0.1:1234", " 203.0.113.9:5555 ", "203.0.113.9"},
		{true, "10.0.0.1:1234", "unknown", "10.0.0.1"},
		{true, "10.0.0.1:1234", "", "10.0.0.1"},
		{false, "[2001:db8:1:2:3:4:5:6]:1234", "", "2001:db8:1:2::/64"},
		{true, "10.0.0.1:1234", "2001:db8:1:2:3:4:5:7", "2001:db8:1:2::/64"},
		{true, "10.0.0.1:1234", "[2001:db8:1:2::9]:80", "2001:db8:1:2::/64"},
		{false, "[::ffff:192.0.2.7]:1234", "", "192.0.2.7"},
		{false, "@", "", "@"},
	} {
		s := &Server{opts: Options{BehindProxy: c.behindProxy}}
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.remote
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := s.clientAddr(req); got != c.want {
			t.Errorf("behind proxy %v, RemoteAddr %q, X-Forwarded-For %q: %q, want %q", c.behindProxy, c.remote, c.xff, got, c.want)
		}
	}
}

// The dashboard's cookies are Secure when the browser reached the server
// over TLS: served over TLS, or, behind a proxy (Options.BehindProxy), when
// the proxy says so with X-Forwarded-Proto: https. Without BehindProxy
// that header is ignored.
func TestCookiesSecure(t *testing.T) {
	for _, c := range []struct {
		name        string
		behindProxy bool
		tls         bool
		proto       string
		want        bool
	}{
		{"plain HTTP", false, false, "", false},
		{"TLS", false, true, "", true},
		{"proto https not behind a proxy", false, false, "https", false},
		{"behind a proxy, https", true, false, "https", true},
		{"behind a proxy, HTTPS", true, false, "HTTPS", true},
		{"behind a proxy, appended https", true, false, "http, https", true},
		{"behind a proxy, http", true, false, "http", false},
		{"behind a proxy, no header", true, false, "", false},
		{"behind a proxy, TLS", true, true, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newLimitRig(t, c.behindProxy)
			hdr := map[string]string{}
			if c.proto != "" {
				hdr["X-Forwarded-Proto"] = c.proto
			}
			scheme := "http"
			if c.tls {
				scheme = "https" // httptest.NewRequest sets TLS
			}
			page := g.serve(httptest.NewRequest("GET", scheme+"://lrkit.test/login", nil), "192.0.2.7:1", hdr)
			form := url.Values{"token": {g.f.tokA}, "next": {"/"}, "login_csrf": {formValue(page.Body.String(), "login_csrf")}}
			req := httptest.NewRequest("POST", scheme+"://lrkit.test/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range page.Result().Cookies() {
				req.AddCookie(ck)
			}
			signedIn := g.serve(req, "192.0.2.7:1", hdr)
			if signedIn.Code != http.StatusSeeOther {
				t.Fatalf("sign-in: %d %s", signedIn.Code, signedIn.Body)
			}
			var session *http.Cookie
			cookies := append(page.Result().Cookies(), signedIn.Result().Cookies()...)
			for _, ck := range cookies {
				if ck.Secure != c.want || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie %s: Secure %v HttpOnly %v SameSite %v, want Secure %v, HttpOnly, Strict", ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite, c.want)
				}
				if ck.Name == cookieName {
					session = ck
				}
			}
			if session == nil || session.Value != g.f.tokA {
				t.Fatalf("no session cookie in %v", cookies)
			}
			// Signing out deletes the cookie with the same attributes.
			out := httptest.NewRequest("POST", scheme+"://lrkit.test/logout", strings.NewReader(url.Values{"csrf": {csrfToken(g.f.tokA)}}.Encode()))
			out.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			out.AddCookie(session)
			w := g.serve(out, "192.0.2.7:1", hdr)
			if ck := w.Result().Cookies(); w.Code != http.StatusSeeOther || len(ck) != 1 || ck[0].MaxAge >= 0 || ck[0].Secure != c.want {
				t.Errorf("sign-out: %d, cookies %v", w.Code, ck)
			}
		})
	}
}
