package bench

import (
	"context"
	"encoding/xml"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrkit/lrkit/store"
)

// tinyStudy runs in seconds: logistic regression on iris, two schedules
// tuned on a grid of five peaks (one extension per edge) with one
// selection seed, then two evaluation seeds at the chosen peak.
const tinyStudy = `name: tiny
workloads: [logreg-iris]
budgets: [0.5]
seeds: [0, 1]
tuning:
  mode: grid
  seeds: [100]
  warmup: 0.05
  grid: {points: 5, range: [0.03, 0.3], extend: 1}
eval: {count: 10}
schedules:
  - name: cosine
    spec: warmup(cosine(peak=${peak}, steps=${steps}), steps=${warmup})
  - name: linear
    spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})
`

// roles counts a plan's trials by role.
func roles(trials []Trial) map[string]int {
	n := map[string]int{}
	for _, tr := range trials {
		n[tr.Role]++
	}
	return n
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// cancelAfter cancels a study after n finished trials, as an interrupt
// would.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	seen   int
}

func (c *cancelAfter) Start(int, int) {}
func (c *cancelAfter) Finish()        {}
func (c *cancelAfter) Update(int, int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen++
	if c.seen == c.n {
		c.cancel()
	}
}

func TestRunInterruptAndResume(t *testing.T) {
	s, err := ParseStudy("tiny.yaml", []byte(tinyStudy))
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = Run(ctx, s, tinyStudy, RunOptions{Store: db, Workers: 1, Progress: &cancelAfter{n: 3, cancel: cancel}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
	st, err := db.StudyByName(context.Background(), "tiny")
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Trials(context.Background(), st.ID, store.TrialDone)
	if err != nil {
		t.Fatal(err)
	}
	doneBefore := len(before)
	if doneBefore < 3 || doneBefore >= 10 {
		t.Fatalf("after the interrupt %d trials are done, want 3 to 9 of the first round's 10", doneBefore)
	}

	out, err := Run(context.Background(), s, tinyStudy, RunOptions{Store: db, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	total := len(out.Trials)
	r := roles(out.Trials)
	// 2 schedules × (5 grid points + at most 2 extensions) × 1 selection
	// seed, then 2 schedules × 2 evaluation seeds.
	if r["tune"] < 10 || r["tune"] > 14 || r["eval"] != 4 || total != r["tune"]+r["eval"] {
		t.Fatalf("finished study plans %v", r)
	}
	if out.Ran != total-doneBefore {
		t.Errorf("the resumed run ran %d trials, want %d (the ones not done)", out.Ran, total-doneBefore)
	}
	if len(out.Results) != total || len(out.Failed) != 0 {
		t.Fatalf("%d results and %d failures, want %d and 0", len(out.Results), len(out.Failed), total)
	}
	// Trials finished before the interrupt keep their stored result.
	after, err := db.Trials(context.Background(), st.ID, store.TrialDone)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]string{}
	for _, tr := range after {
		byKey[tr.Key] = string(tr.Result)
	}
	for _, tr := range before {
		if byKey[tr.Key] != string(tr.Result) {
			t.Errorf("trial %s: result changed by the resume", tr.Key)
		}
	}
	// A third run has nothing to do.
	again, err := Run(context.Background(), s, tinyStudy, RunOptions{Store: db, Workers: 1})
	if err != nil || again.Ran != 0 || len(again.Results) != total {
		t.Fatalf("third run: ran %d, %d results, %v", again.Ran, len(again.Results), err)
	}

	// The same trials run without interruption give the same results:
	// training is deterministic for a seed.
	fresh, err := Run(context.Background(), s, tinyStudy, RunOptions{Store: openStore(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Trials) != total {
		t.Errorf("uninterrupted study planned %d trials, resumed %d", len(fresh.Trials), total)
	}
	for k, r := range fresh.Results {
		o, ok := out.Results[k]
		if !ok {
			t.Errorf("trial %s only in the uninterrupted study", k)
		}
		if !sameMetric(float64(r.FinalMetric), float64(o.FinalMetric)) || len(r.Evals) != len(o.Evals) {
			t.Errorf("trial %s: final %v (%d evals) uninterrupted, %v (%d) resumed", k, r.FinalMetric, len(r.Evals), o.FinalMetric, len(o.Evals))
		}
	}

	// Report from the resumed study: every file, parseable SVG.
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(sum, out, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "report.md", "results.csv", "results.json", "schedules.svg", "curves-logreg-iris.svg", "profile.svg", "ratios.svg"} {
		data, ok := rep.Files[f]
		if !ok || len(data) == 0 {
			t.Errorf("report has no %s", f)
			continue
		}
		if strings.HasSuffix(f, ".svg") {
			if err := xml.Unmarshal(data, new(struct{})); err != nil {
				t.Errorf("%s is not well-formed XML: %v", f, err)
			}
		}
	}
	if n := strings.Count(string(rep.Files["results.csv"]), "\n"); n != total+1 {
		t.Errorf("results.csv has %d lines, want a header and %d trials", n, total)
	}
	// Load rebuilds the same plan from the stored results.
	_, loaded, err := Load(context.Background(), db, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Trials) != total || len(loaded.Results) != total {
		t.Errorf("Load: %d trials, %d results, want %d", len(loaded.Trials), len(loaded.Results), total)
	}
	for i, c := range loaded.Plan.Cells {
		o := out.Plan.Cells[i]
		if !c.Tuned || c.Chosen != o.Chosen || c.Peak != o.Peak || c.Lo != o.Lo || c.Hi != o.Hi {
			t.Errorf("Load: cell %s/%s tuned %v at %d [%d, %d], Run chose %d [%d, %d]", c.Problem(), c.Entry, c.Tuned, c.Chosen, c.Lo, c.Hi, o.Chosen, o.Lo, o.Hi)
		}
	}
	if !strings.Contains(string(rep.Files["report.md"]), "Linear decay matches or beats cosine") {
		t.Error("report.md lacks the claims table")
	}
}

func sameMetric(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestReportInChromium opens a report in Debian's headless chromium and
// checks that the browser renders every figure as an SVG element with a
// size, as a person opening index.html would see it.
func TestReportInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (scripts/setup.sh test installs it)")
		}
		t.Skip("chromium is not installed; `apt-get install chromium` runs this test")
	}
	s, err := ParseStudy("tiny.yaml", []byte(tinyStudy))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), s, tinyStudy, RunOptions{Store: openStore(t), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Summarize(s, out)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(sum, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	// The page measures its own figures after layout and writes the
	// result into the DOM, which --dump-dom prints.
	probe := `<script>window.addEventListener('load',()=>{const r=[...document.querySelectorAll('figure svg')].map(s=>{const b=s.getBoundingClientRect();return Math.round(b.width)+'x'+Math.round(b.height)});const p=document.createElement('pre');p.id='probe';p.textContent='FIGURES '+r.join(' ');document.body.appendChild(p)});</script>`
	page := strings.Replace(string(rep.Files["index.html"]), "</body>", probe+"</body>", 1)
	path := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	const mark = `<pre id="probe">FIGURES `
	i := strings.Index(string(dom), mark)
	if i < 0 {
		t.Fatalf("the page's probe did not run; DOM starts %.300s", dom)
	}
	line := string(dom[i+len(mark):])
	line = line[:strings.IndexAny(line, "<\n")]
	sizes := strings.Fields(line)
	if len(sizes) != 4 {
		t.Fatalf("chromium laid out %d figures (%q), want 4", len(sizes), line)
	}
	for _, sz := range sizes {
		if strings.HasPrefix(sz, "0x") || strings.HasSuffix(sz, "x0") {
			t.Errorf("a figure has no size: %s", sz)
		}
	}
}

// A study that grows runs only its new trials; one that changes a trial
// it already ran is refused.
func TestRunGrowAndRefine(t *testing.T) {
	db := openStore(t)
	s, err := ParseStudy("tiny.yaml", []byte(tinyStudy))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Run(context.Background(), s, tinyStudy, RunOptions{Store: db, Workers: 2})
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if first.Ran != len(first.Trials) {
		t.Fatalf("first run ran %d of %d trials", first.Ran, len(first.Trials))
	}
	grown := tinyStudy + "  - name: refined\n    refine: linear\n"
	g, err := ParseStudy("tiny.yaml", []byte(grown))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), g, grown, RunOptions{Store: db, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	refined := 0
	for _, tr := range out.Trials {
		if tr.Entry == "refined" {
			refined++
		}
	}
	if refined < 7 || out.Ran != refined || len(out.Results) != len(first.Trials)+refined {
		t.Fatalf("grown study ran %d trials and has %d results, want the %d refined ones new and %d in all", out.Ran, len(out.Results), refined, len(first.Trials)+refined)
	}
	for _, tr := range out.Trials {
		r := out.Results[tr.Key]
		if tr.Entry != "refined" {
			continue
		}
		if !tr.Refine || r.ExtraSteps != tr.Steps || r.Steps != tr.Steps {
			t.Errorf("%s: refine %v, extra steps %d, steps %d; want the first run's %d steps as extra", tr.Key, tr.Refine, r.ExtraSteps, r.Steps, tr.Steps)
		}
		// The refined schedule starts low (warmup emerges) and ends at 0.
		if len(r.LR) < 2 || r.LR[len(r.LR)-1] > 1e-3*tr.Params["peak"] || r.RefinedAboveHalf <= 0 || r.RefinedAboveHalf >= 1 {
			t.Errorf("%s: refined schedule ends at %v (peak %v), %v of steps above half", tr.Key, r.LR[len(r.LR)-1], tr.Params["peak"], r.RefinedAboveHalf)
		}
	}
	sum, err := Summarize(g, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sum.Claims {
		if strings.HasPrefix(c.Text, "Refinement") && (len(c.Comparisons) != 1 || c.Comparisons[0].Pairs != 2) {
			t.Errorf("refinement claim: %+v, want one comparison of 2 pairs (1 problem × 2 seeds)", c)
		}
	}
	if f := sum.Compute["refined"]; f != 2 {
		t.Errorf("refined compute factor %v, want 2 (two runs per trial)", f)
	}
	changed := strings.Replace(grown, "range: [0.03, 0.3]", "range: [0.02, 0.3]", 1)
	c, err := ParseStudy("tiny.yaml", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), c, changed, RunOptions{Store: db, Workers: 1}); err == nil || !strings.Contains(err.Error(), "changed trial") {
		t.Errorf("changed search space: err %v, want a changed-trial error", err)
	}
}

// A study that shrinks after an interrupt (a schedule removed while some of
// its trials were still pending) runs only the trials it still has and
// reports only those; the removed schedule's pending trials must not make
// it wait for results that will never come.
func TestRunShrunkAfterInterrupt(t *testing.T) {
	db := openStore(t)
	s, err := ParseStudy("tiny.yaml", []byte(tinyStudy))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Run(ctx, s, tinyStudy, RunOptions{Store: db, Workers: 1, Progress: &cancelAfter{n: 2, cancel: cancel}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err %v, want context.Canceled", err)
	}
	shrunk := strings.Replace(tinyStudy, "  - name: linear\n    spec: warmup(linear(peak=${peak}, steps=${steps}), steps=${warmup})\n", "", 1)
	if shrunk == tinyStudy {
		t.Fatal("test study has no linear entry to remove")
	}
	sh, err := ParseStudy("tiny.yaml", []byte(shrunk))
	if err != nil {
		t.Fatal(err)
	}
	tctx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()
	out, err := Run(tctx, sh, shrunk, RunOptions{Store: db, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r := roles(out.Trials); r["eval"] != 2 || r["tune"] < 5 || len(out.Results) != len(out.Trials) {
		t.Fatalf("shrunk study: trials %v, %d results, want 2 evaluation runs and a result each", r, len(out.Results))
	}
	for key := range out.Results {
		if strings.Contains(key, "/linear/") {
			t.Errorf("result of removed schedule reported: %s", key)
		}
	}
}

// TestTextProgressThrottles: off a terminal a study writes a line per 5%
// of its trials (or per 30 s), not a line per trial, and always the last.
func TestTextProgressThrottles(t *testing.T) {
	var b strings.Builder
	p := NewTextProgress(&b)
	p.Start(271, 0)
	for done := 1; done <= 271; done++ {
		p.Update(done, 271, 0, 271-done)
	}
	lines := strings.Count(b.String(), "\n")
	// The start line, one per 14 trials (5% of 271, rounded up), the last.
	if lines < 15 || lines > 23 {
		t.Fatalf("%d lines for 271 trials, want about 21:\n%s", lines, b.String())
	}
	if !strings.Contains(b.String(), "trials 271/271 done") {
		t.Errorf("no line for the last trial:\n%s", b.String())
	}
}
