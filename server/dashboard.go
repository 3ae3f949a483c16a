package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/store"
)

// The dashboard authenticates with the same API tokens, kept in an
// HttpOnly, SameSite=Strict cookie set by POST /login, Secure when the
// browser reached the server over TLS (Server.secure). Failed sign-ins
// are limited per client (authlimit.go).
//
// Every form that changes something (sign-in, sign-out, the run actions)
// is checked twice against cross-site request forgery: the browser's
// Sec-Fetch-Site header, or failing that its Origin header, must say the
// form came from this origin (http.CrossOriginProtection: SameSite
// cookies alone let a page on another port of the same host post the
// forms), and the form must carry its CSRF token. Signed in, the token is
// derived from the session's API token (csrfToken), which a page of
// another origin cannot read; the sign-in form's token is a random value
// also set in a short-lived cookie (double submit), so a page of another
// origin cannot sign a browser in to its own token either.
const (
	cookieName      = "lrkit_token"
	loginCookieName = "lrkit_login"
	// flashCookieName carries the message of a dashboard action to the
	// run page it goes back to, which shows it once.
	flashCookieName = "lrkit_msg"
)

// csrfToken is the CSRF token of the forms of a session signed in with
// the API token text.
func csrfToken(text string) string {
	sum := sha256.Sum256([]byte("lrkit-csrf\x00" + text))
	return hex.EncodeToString(sum[:16])
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) dashboardRoutes() {
	s.cop = http.NewCrossOriginProtection()
	s.handle("GET /{$}", s.page(s.runsPage))
	s.handle("GET /runs/{run}", s.page(s.runPage))
	s.handle("GET /login", s.loginPage)
	s.handle("POST /login", s.login)
	s.handle("POST /logout", s.logout)
	s.handle("POST /runs/{run}/{action}", s.page(s.runAction))
}

type pageFunc func(w http.ResponseWriter, r *http.Request, sess session) error

// session is a signed-in browser: its token and its forms' CSRF token.
type session struct {
	store.Token
	csrf string
}

// forbidden answers a form refused by the CSRF checks.
func forbidden(w http.ResponseWriter, msg string) {
	render(w, http.StatusForbidden, "error", map[string]any{"Title": "Forbidden", "Code": http.StatusForbidden, "Msg": msg})
}

// page wraps a dashboard handler with cookie authentication (redirect to
// /login), the CSRF checks of forms, and error pages.
func (s *Server) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		var tok store.Token
		if err == nil {
			if retry, msg, refused := s.refused(r, "failed sign-ins"); refused {
				w.Header().Set("Retry-After", retry)
				render(w, http.StatusTooManyRequests, "error", map[string]any{"Title": "Error", "Code": http.StatusTooManyRequests, "Msg": msg})
				return
			}
			tok, err = s.lookupToken(r.Context(), c.Value)
		}
		if err != nil {
			if c != nil && !errors.Is(err, store.ErrNotFound) {
				s.errorPage(w, r, err)
				return
			}
			if c != nil {
				// A session whose token is not one (revoked, or made up)
				// counts as a failed sign-in, and ends.
				s.authFailed(r)
				s.setCookie(w, r, cookieName, "", "/", -1)
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		sess := session{Token: tok, csrf: csrfToken(c.Value)}
		if r.Method == http.MethodPost {
			if err := s.cop.Check(r); err != nil {
				forbidden(w, "cross-origin form refused: "+err.Error())
				return
			}
			if err := r.ParseForm(); err != nil {
				s.errorPage(w, r, badRequest("bad form: %v", err))
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
				forbidden(w, "the form's CSRF token is missing or wrong: reload the page and try again")
				return
			}
		}
		if err := h(w, r, sess); err != nil {
			s.errorPage(w, r, err)
		}
	}
}

// errorPage answers err as an HTML page: a client error with its status,
// a missing run 404, the database away 503, anything else 500.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		code, msg = ae.code, ae.msg
	case errors.Is(err, store.ErrNotFound):
		code, msg = http.StatusNotFound, "run not found"
	case errors.Is(err, store.ErrDamaged):
		code, msg = http.StatusServiceUnavailable, "database damaged: see the server log"
		s.log.Error("dashboard", "path", r.URL.Path, "err", err)
	case unavailable(err):
		code, msg = http.StatusServiceUnavailable, "database unavailable: try again"
		s.log.Error("dashboard", "path", r.URL.Path, "err", err)
	default:
		s.log.Error("dashboard", "path", r.URL.Path, "err", err)
	}
	render(w, code, "error", map[string]any{"Title": "Error", "Code": code, "Msg": msg})
}

// safeNext returns next if it is a path on this site to go to after
// signing in, else "/": it must start with one "/" (not "//", which a
// browser reads as another host, nor "/\", which some read the same way),
// hold no control characters, spaces or backslashes (browsers drop tabs
// and newlines, so "/\t/host" becomes "//host"), and parse as a bare path
// that decodes to none of these either (so "/%2F%2Fhost" is refused too).
func safeNext(next string) string {
	bad := func(p string) bool {
		if len(p) < 1 || p[0] != '/' || (len(p) > 1 && (p[1] == '/' || p[1] == '\\')) {
			return true
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; c <= ' ' || c == 0x7f || c == '\\' {
				return true
			}
		}
		return false
	}
	if len(next) > 2000 || bad(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || bad(u.Path) {
		return "/"
	}
	return next
}

// loginPage shows the sign-in form, with a fresh token for its double
// submit. A token in the address is refused: it would land in the
// browser's history and the server's logs.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("token") {
		render(w, http.StatusBadRequest, "error", map[string]any{"Title": "Sign in", "Code": http.StatusBadRequest,
			"Msg": "a token in the address is not accepted (it would stay in browser history and logs): sign in with the form at /login"})
		return
	}
	s.renderLogin(w, r, http.StatusOK, safeNext(q.Get("next")), "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, next, msg string) {
	nonce := randomHex(16)
	s.setCookie(w, r, loginCookieName, nonce, "/login", 3600)
	render(w, code, "login", map[string]any{"Title": "Sign in", "Msg": msg, "Next": next, "LoginCSRF": nonce})
}

// login signs a browser in with the token of the form.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.cop.Check(r); err != nil {
		forbidden(w, "cross-origin sign-in refused: "+err.Error())
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, badRequest("bad form: %v", err))
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(loginCookieName)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("login_csrf"))) != 1 {
		s.renderLogin(w, r, http.StatusForbidden, next, "the sign-in form expired or came from elsewhere: sign in again")
		return
	}
	if retry, msg, refused := s.refused(r, "failed sign-ins"); refused {
		w.Header().Set("Retry-After", retry)
		s.renderLogin(w, r, http.StatusTooManyRequests, next, msg)
		return
	}
	text := r.PostForm.Get("token")
	if _, err := s.lookupToken(r.Context(), text); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.errorPage(w, r, err)
			return
		}
		s.authFailed(r)
		s.renderLogin(w, r, http.StatusUnauthorized, next, "invalid API token")
		return
	}
	s.setCookie(w, r, loginCookieName, "", "/login", -1)
	s.setCookie(w, r, cookieName, text, "/", 30*24*3600)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout signs the browser out (a form of a signed-in page, with its CSRF
// token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.cop.Check(r); err != nil {
		forbidden(w, "cross-origin sign-out refused: "+err.Error())
		return
	}
	if c, err := r.Cookie(cookieName); err == nil {
		if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(csrfToken(c.Value))) != 1 {
			forbidden(w, "the form's CSRF token is missing or wrong: reload the page and try again")
			return
		}
	}
	s.setCookie(w, r, cookieName, "", "/", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, sess session) error {
	runs, err := s.st.ListRuns(r.Context(), sess.ProjectID)
	if err != nil {
		return err
	}
	type row struct {
		store.Run
		LR float64
	}
	var rows []row
	for _, run := range runs {
		lr := math.NaN()
		if e, err := s.entryFor(run); err == nil {
			lr = e.box.lr(run.LastStep + 1)
		}
		rows = append(rows, row{run, lr})
	}
	ranks, err := s.earlyRanking(r.Context(), sess.ProjectID, runs)
	if err != nil {
		return err
	}
	render(w, http.StatusOK, "runs", map[string]any{"Title": "Runs", "Runs": rows, "Ranks": ranks, "CSRF": sess.csrf})
	return nil
}

// svgChart draws series with package plot on the axis ax (its y values
// already scaled for it) and returns the SVG for inlining. A chart that
// cannot be drawn gives a line saying so, never a failed page.
func (s *Server) svgChart(title string, ax axis, series ...plot.Series) (out template.HTML) {
	var nonEmpty []plot.Series
	for _, sr := range series {
		if len(sr.X) > 0 {
			nonEmpty = append(nonEmpty, sr)
		}
	}
	if len(nonEmpty) == 0 {
		return template.HTML("<p class=muted>no data yet</p>")
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("chart", "title", title, "panic", p)
			out = template.HTML("<p class=muted>this chart could not be drawn</p>")
		}
	}()
	var b bytes.Buffer
	c := plot.Chart{Title: title, XLabel: "step", YLabel: ax.label, LogY: ax.logY, YRange: ax.yrange, Width: 760, Height: 380}
	if err := c.Lines(&b, "svg", nonEmpty...); err != nil {
		return template.HTML("<p class=muted>" + template.HTMLEscapeString(err.Error()) + "</p>")
	}
	svg := b.String()
	if i := strings.Index(svg, "<svg"); i > 0 {
		svg = svg[i:]
	}
	return template.HTML(svg) // generated by package plot from numbers, no user text
}

// axis is how a chart draws its y values.
type axis struct {
	logY   bool
	scale  func(float64) float64 // applied to every y value drawn
	label  string
	yrange [2]float64 // fixed y range (zero: from all the series drawn)
}

// chooseAxis picks a y axis that can draw the values vs (finite, as the
// API accepts them): a log scale if wanted and the values are positive
// within a range a log axis draws well; log10 of the values on a linear
// axis if they are positive but span more (1e-300 beside 3, say); a
// linear axis otherwise, in units of a power of ten when the values are
// near the ends of float64's range (1e308).
func chooseAxis(label string, vs []float64, wantLog bool) axis {
	id := func(v float64) float64 { return v }
	if len(vs) == 0 {
		return axis{scale: id, label: label}
	}
	lo, hi := slices.Min(vs), slices.Max(vs)
	if wantLog && lo > 0 {
		if lo >= 1e-100 && hi <= 1e100 && hi/lo <= 1e12 {
			return axis{logY: true, scale: id, label: label + " (log scale)"}
		}
		return axis{scale: math.Log10, label: "log10 " + label}
	}
	m := max(math.Abs(lo), math.Abs(hi))
	if m > 1e100 || (m > 0 && m < 1e-100) {
		k := math.Floor(math.Log10(m))
		f := math.Pow(10, -k)
		return axis{scale: func(v float64) float64 { return v * f }, label: fmt.Sprintf("%s (×1e%d)", label, int(k))}
	}
	return axis{scale: id, label: label}
}

// apply returns sr with its y values scaled for ax, without the points
// the axis cannot draw (not finite, or not positive on a log axis).
func (ax axis) apply(sr plot.Series) plot.Series {
	out := plot.Series{Name: sr.Name, Style: sr.Style}
	for i, v := range sr.Y {
		y := ax.scale(v)
		if math.IsNaN(y) || math.IsInf(y, 0) || ax.logY && y <= 0 {
			continue
		}
		out.X, out.Y = append(out.X, sr.X[i]), append(out.Y, y)
	}
	return out
}

// lossChart returns the loss chart's axis and series. The y range comes
// from the observed losses (loss and val_loss) alone; the predicted curve
// is drawn where it is defined (finite, and positive on a log axis), and
// its points beyond the range are marked on its edge, so a prediction
// that starts at 1e36 under a warm-up from rate 0 cannot squash the
// observed curve.
func lossChart(loss, val, pred plot.Series) (axis, []plot.Series) {
	obs := append(slices.Clone(loss.Y), val.Y...)
	ax := chooseAxis("loss", obs, true)
	if len(obs) == 0 {
		return ax, nil
	}
	loss.Style, val.Style, pred.Style = plot.Solid, plot.Dots, plot.Dashed
	l, v := ax.apply(loss), ax.apply(val)
	ax.yrange = plot.RangeOf(ax.logY, l, v)
	return ax, []plot.Series{l, v, ax.apply(pred)}
}

// runCharts are the two charts of a run's page: their axes and series.
type runCharts struct {
	lrAxis, lossAxis axis
	lr, loss         []plot.Series
}

// chartsOf builds a run page's charts: the rates of the current spec over
// the budget and the reported rates; the observed losses and the
// prediction pr (nil: none yet) of law.
func chartsOf(box *ctrlBox, run store.Run, recs []runlog.Record, pr *Prediction, law string) runCharts {
	end := max(run.Budget, run.LastStep+1)
	sched := plot.Series{Name: "schedule (current spec)"}
	for k := range int64(400) {
		st := k * (end - 1) / 399
		if k > 0 && st == int64(sched.X[len(sched.X)-1]) {
			continue
		}
		sched.X = append(sched.X, float64(st))
		sched.Y = append(sched.Y, box.lr(st))
	}
	used := plot.Series{Name: "reported lr"}
	loss := plot.Series{Name: "loss"}
	val := plot.Series{Name: "val_loss"}
	for _, rec := range recs {
		if rec.Has(runlog.FieldLR) {
			used.X, used.Y = append(used.X, float64(rec.Step)), append(used.Y, rec.LR)
		}
		if rec.Has(runlog.FieldLoss) {
			loss.X, loss.Y = append(loss.X, float64(rec.Step)), append(loss.Y, rec.Loss)
		}
		if rec.Has(runlog.FieldValLoss) {
			val.X, val.Y = append(val.X, float64(rec.Step)), append(val.Y, rec.ValLoss)
		}
	}
	pred := plot.Series{Name: "predicted (" + law + ")"}
	if pr != nil {
		for i, st := range pr.CurveSteps {
			pred.X, pred.Y = append(pred.X, float64(st)), append(pred.Y, pr.CurveLoss[i])
		}
	}
	var c runCharts
	c.lrAxis = chooseAxis("lr", append(slices.Clone(sched.Y), used.Y...), false)
	c.lr = []plot.Series{c.lrAxis.apply(sched), c.lrAxis.apply(used)}
	c.lossAxis, c.loss = lossChart(loss, val, pred)
	return c
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := s.runID(r)
	if err != nil {
		return err
	}
	// The page's one read of the database: the run, its thinned metrics
	// and its newest events at one moment.
	v, err := s.st.View(r.Context(), sess.ProjectID, id, 1000, 50)
	if err != nil {
		return err
	}
	run := v.Run
	e, err := s.entryFor(run)
	if err != nil {
		return err
	}
	law := r.URL.Query().Get("law")
	if !slices.Contains(losscurve.Kinds(), law) {
		law = losscurve.KindMPL
	}
	var p *Prediction
	predErr := ""
	if pr, err := s.pred.get(r.Context(), sess.ProjectID, id, law, false); err == nil {
		p = &pr
	} else {
		var ae *apiError
		if errors.As(err, &ae) {
			predErr = ae.msg
		} else {
			s.log.Error("prediction", "run", id, "err", err)
			predErr = "prediction failed"
		}
	}
	ch := chartsOf(e.box, run, v.Metrics, p, law)
	msg := ""
	if c, err := r.Cookie(flashCookieName); err == nil {
		msg, _ = url.QueryUnescape(c.Value)
		s.setCookie(w, r, flashCookieName, "", fmt.Sprintf("/runs/%d", id), -1)
	}
	idem := map[string]string{}
	for _, k := range []string{"decay", "extend", "pause", "resume"} {
		idem[k] = randomHex(12)
	}
	render(w, http.StatusOK, "run", map[string]any{
		"Title": run.Name, "Run": run, "NextLR": e.box.lr(run.LastStep + 1), "Law": law, "Metrics": v.Count,
		"LRChart":   s.svgChart("learning rate", ch.lrAxis, ch.lr...),
		"LossChart": s.svgChart("loss", ch.lossAxis, ch.loss...),
		"Pred":      p, "PredErr": predErr, "Events": v.Events, "Msg": msg,
		"CSRF": sess.csrf, "Idem": idem,
	})
	return nil
}

// runAction performs a dashboard form's action and redirects back to the
// run's page with a message. The form's idem field is the action's
// idempotency key: a form sent twice applies once.
func (s *Server) runAction(w http.ResponseWriter, r *http.Request, sess session) error {
	id, err := s.runID(r)
	if err != nil {
		return err
	}
	num := func(name string) (float64, error) {
		v := strings.TrimSpace(r.PostForm.Get(name))
		if v == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, badRequest("%s: %q is not a number", name, v)
		}
		return f, nil
	}
	integer := func(name string) (int64, error) {
		v := strings.TrimSpace(r.PostForm.Get(name))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, badRequest("%s: %q is not an integer", name, v)
		}
		return n, nil
	}
	ctx, key, tok := r.Context(), r.PostForm.Get("idem"), sess.Token
	var msg string
	switch action := r.PathValue("action"); action {
	case "decay":
		var req DecayRequest
		if req.Steps, err = integer("steps"); err == nil {
			req.Floor, err = num("floor")
		}
		req.Shape = r.PostForm.Get("shape")
		if err == nil {
			_, err = s.decay(ctx, tok, id, key, req)
		}
		msg = "decay started"
	case "extend":
		var req ExtendRequest
		if req.Budget, err = integer("budget"); err == nil {
			req.Warmup, err = integer("warmup")
		}
		req.Mode = r.PostForm.Get("mode")
		if err == nil {
			_, err = s.extend(ctx, tok, id, key, req)
		}
		msg = "budget extended"
	case "pause":
		_, err = s.setStatusOf(ctx, tok, id, key, "pause", store.RunPaused)
		msg = "controller paused"
	case "resume":
		_, err = s.setStatusOf(ctx, tok, id, key, "resume", store.RunRunning)
		msg = "controller resumed"
	default:
		return &apiError{code: http.StatusNotFound, msg: fmt.Sprintf("no action %q", action)}
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.code == http.StatusBadRequest:
		msg, err = "not done: "+ae.msg, nil
	case errors.Is(err, store.ErrKeyReused):
		msg, err = "not done: this form was already used for another action; reload the page", nil
	}
	if err != nil {
		return err
	}
	// The message goes to the run's page in a cookie it reads once, not in
	// its address: the page showed a message from its address (?msg=) as
	// its own notice, any text, to whoever followed a link with one.
	page := fmt.Sprintf("/runs/%d", id)
	s.setCookie(w, r, flashCookieName, url.QueryEscape(msg), page, 60)
	http.Redirect(w, r, page, http.StatusSeeOther)
	return nil
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"g":    func(v float64) string { return strconv.FormatFloat(v, 'g', 5, 64) },
	"pct":  func(f float64) string { return strconv.FormatFloat(100*f, 'g', 3, 64) + "%" },
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
}).Parse(`
{{define "head"}}<!doctype html><html lang=en><head><meta charset=utf-8><title>{{.Title}} · lrkit</title>
<meta name=viewport content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#23395b;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px;max-width:1600px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}
code{font-size:12px;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{max-width:100%;height:auto;border:1px solid #eee}
.muted{color:#888}.msg{background:#fff4c2;padding:6px 10px;display:inline-block}
form.act{display:inline-block;border:1px solid #ccc;padding:8px;margin:4px;border-radius:4px}
input[type=number]{width:90px}
</style></head><body><header><a href="/">lrkit</a><span>{{.Title}}</span>
{{with .CSRF}}<form method=post action="/logout" style="margin-left:auto"><input type=hidden name=csrf value="{{.}}"><button>sign out</button></form>{{end}}</header><main>{{end}}
{{define "foot"}}</main>
<script>
// Live refresh: reload the #live part of the page every 5 s.
setInterval(function(){var l=document.getElementById('live');if(!l)return;
fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.text()}).then(function(t){
var d=new DOMParser().parseFromString(t,'text/html').getElementById('live');if(d)l.innerHTML=d.innerHTML;})},5000);
// Actions ask for confirmation.
document.querySelectorAll('form[data-confirm]').forEach(function(f){f.addEventListener('submit',function(e){
if(!confirm(f.getAttribute('data-confirm')))e.preventDefault();});});
</script></body></html>{{end}}

{{define "login"}}{{template "head" .}}
<h1>Sign in</h1>{{with .Msg}}<p class=msg>{{.}}</p>{{end}}
<form method=post action="/login" id=login><input type=hidden name=login_csrf value="{{.LoginCSRF}}"><input type=hidden name=next value="{{.Next}}">
<label>API token <input name=token type=password size=50 autofocus autocomplete=off></label> <button>Sign in</button></form>
<p class=muted>Get a token with <code>lrkit serve token --project NAME</code>.</p>
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}<h1>{{.Code}}</h1><p>{{.Msg}}</p><p><a href="/">runs</a></p>{{template "foot" .}}{{end}}

{{define "runs"}}{{template "head" .}}
<div id=live><h1>Runs</h1>
{{if .Runs}}<table id=runs><tr><th>run</th><th>status</th><th>step</th><th>budget</th><th>next lr</th><th>spec</th><th>updated</th></tr>
{{range .Runs}}<tr><td><a href="/runs/{{.ID}}">{{.Name}}</a></td><td>{{.Status}}</td><td>{{.LastStep}}</td><td>{{.Budget}}</td><td>{{g .LR}}</td><td><code>{{.Spec}}</code></td><td>{{time .Updated}}</td></tr>
{{end}}</table>{{else}}<p class=muted>No runs yet: create one with POST /v1/runs.</p>{{end}}
{{with .Ranks}}<h2>Early ranking</h2>
<p class=muted>Runs that share a budget, ranked by their training loss averaged over the 5% of the budget before the checkpoint (lower is better). The score is the log of that loss, ± its standard error over five blocks of the window. A hint from early training, validated only at small scale (docs/papers.md), not a verdict.</p>
{{range .}}<table class=ranking><tr><th colspan=5>budget {{.Budget}}: at step {{.Step}} ({{pct .Fraction}} of the budget)</th></tr>
<tr><th>rank</th><th>run</th><th>early loss</th><th>score ± SE</th><th>gradient norm</th></tr>
{{range .Scores}}<tr><td>{{.Rank}}</td><td><a href="/runs/{{.ID}}">{{.Name}}</a></td><td>{{g .Loss}}</td><td>{{g .Value}} ± {{g .SE}}</td><td>{{g .GradNorm}}</td></tr>{{end}}</table>{{end}}{{end}}</div>
{{template "foot" .}}{{end}}

{{define "run"}}{{template "head" .}}
{{with .Msg}}<p class=msg id=msg>{{.}}</p>{{end}}
<div id=live>
<h1>{{.Run.Name}} <small class=muted>{{.Run.Status}}</small></h1>
<p>step <b id=step>{{.Run.LastStep}}</b> of <b id=budget>{{.Run.Budget}}</b> · next lr <b id=nextlr>{{g .NextLR}}</b> · {{.Metrics}} metric records · version {{.Run.Version}}</p>
<p>spec <code id=spec>{{.Run.Spec}}</code></p>
<div class=charts><div id=lrchart>{{.LRChart}}</div><div id=losschart>{{.LossChart}}</div></div>
<h2>Prediction</h2>
{{with .Pred}}{{if not .Identifiable}}<p class=msg id=predreason>{{.Reason}}</p>{{end}}
<table id=prediction><tr><th>schedule from step {{.AtStep}}</th><th>predicted loss at step {{.FinalStep}} ({{pct .Level}} interval)</th></tr>
<tr><td>current spec</td><td>{{if .FinalDefined}}{{g .FinalLoss}} ({{g .FinalLo}} to {{g .FinalHi}}){{else}}not defined there{{end}}</td></tr>
{{range .Alternatives}}<tr><td>{{.Name}}: <code>{{.Tail}}</code></td><td>{{g .FinalLoss}} ({{g .FinalLo}} to {{g .FinalHi}})</td></tr>{{end}}</table>
<p class=muted>{{.Law}} law fitted to {{.Points}} losses.{{with .Note}} Note: {{.}}.{{end}}{{range .Warnings}} {{.}}.{{end}}</p>{{else}}<p class=muted id=prediction>{{.PredErr}}</p>{{end}}
<h2>Decisions and actions</h2>
{{if .Events}}<table id=events><tr><th>time</th><th>step</th><th>kind</th><th>detail</th></tr>
{{range .Events}}<tr><td>{{time .Created}}</td><td>{{.Step}}</td><td>{{.Kind}}</td><td><code>{{printf "%s" .Detail}}</code></td></tr>{{end}}</table>
{{else}}<p class=muted>none yet</p>{{end}}
</div>
<h2>Actions</h2>
<form class=act id=decay method=post action="/runs/{{.Run.ID}}/decay" data-confirm="Start the decay now? The schedule changes for the running job.">
<input type=hidden name=csrf value="{{.CSRF}}"><input type=hidden name=idem value="{{.Idem.decay}}">
<b>Decay now</b> over <input type=number name=steps min=1 required> steps to <input name=floor value=0 size=6>
<select name=shape><option>linear</option><option>cosine</option><option>1-sqrt</option><option>square</option></select> <button>decay</button></form>
<form class=act id=extend method=post action="/runs/{{.Run.ID}}/extend" data-confirm="Extend the budget? The schedule changes for the running job.">
<input type=hidden name=csrf value="{{.CSRF}}"><input type=hidden name=idem value="{{.Idem.extend}}">
<b>Extend budget</b> to <input type=number name=budget min=1 required> <select name=mode><option>rewarm</option><option>continue</option></select>
warm-up <input type=number name=warmup value=0 min=0> <button>extend</button></form>
{{if eq (printf "%s" .Run.Status) "paused"}}<form class=act id=resume method=post action="/runs/{{.Run.ID}}/resume" data-confirm="Resume the controller?"><input type=hidden name=csrf value="{{.CSRF}}"><input type=hidden name=idem value="{{.Idem.resume}}"><button>resume controller</button></form>
{{else}}<form class=act id=pause method=post action="/runs/{{.Run.ID}}/pause" data-confirm="Pause the controller? Metrics are still stored."><input type=hidden name=csrf value="{{.CSRF}}"><input type=hidden name=idem value="{{.Idem.pause}}"><button>pause controller</button></form>{{end}}
{{template "foot" .}}{{end}}
`))

// scriptSource is the script-src of the pages' Content-Security-Policy:
// the hash of the one inline script every page ends with (as html/template
// writes it, without its comments), so that no other script runs, such as
// one injected into a page ('unsafe-inline' let any inline script run).
var scriptSource = func() string {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "foot", nil); err != nil {
		panic(err)
	}
	foot := b.String()
	i, j := strings.Index(foot, "<script>"), strings.Index(foot, "</script>")
	if i < 0 || j < i || strings.Count(foot, "<script") != 1 {
		panic("server: the dashboard's script not found in its pages' foot")
	}
	sum := sha256.Sum256([]byte(foot[i+len("<script>") : j]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// render answers the page name with data and status code.
func render(w http.ResponseWriter, code int, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src "+scriptSource+"; style-src 'unsafe-inline'; img-src 'self' data:; font-src data:; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
