// Command accuracy writes docs/accuracy.md: how well the loss-curve laws,
// fitted on two runs, predict the other runs of the EPFL collection
// (shared/data/losscurves/epfml), scored only where each held-out run has
// left the fit runs' schedules, with settings chosen on validation runs
// kept apart from the test runs. With -paper DIR it instead writes the
// comparison on the multi-power law paper's own curves and split (see
// paper.go).
//
// Usage:
//
//	go run ./cmd/accuracy [-data DIR] [-o docs/accuracy.md] [-figures docs/accuracy]
//	go run ./cmd/accuracy -splits validation -figures '' -o /tmp/validation.md
//	go run ./cmd/accuracy -paper DIR [-o docs/accuracy-paper.md]
//
// -splits validation fits and scores the validation splits only: the
// settings of the default fit are chosen from that report alone.
//
// The report states its protocol; report.go writes it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/epfl"
)

// level is the prediction intervals' level.
const level = 0.9

// method is one way to predict the held-out runs.
type method struct {
	key, label string
	kind       string
	opts       losscurve.FitOptions
	copy       bool     // the copy-the-constant-run baseline
	roles      []string // splits it runs on
	sweep      bool     // a validation-sweep candidate, not a main row
	candidate  bool     // a validation candidate of its own (not a sweep variant): a row of the choosing table, not a main row
	// variants, if set, are the ways to predict from one fit (a sweep
	// fit): each is scored as a method of its own.
	variants []variant
	// horizonBias is the fitted law's HorizonBias (its prediction
	// corrected past the fit).
	horizonBias float64
	// from, if set, is the key of the method whose fit this one predicts
	// with (its own horizonBias set): it is scored from that method's
	// fit, not fitted again.
	from string
}

// variant predicts with the first members bootstrap refits of a fit,
// combined by agg (losscurve.Aggregate*).
type variant struct {
	key, label string
	prior      float64
	resample   string
	members    int
	agg        string
}

// priorSweep are the prior weights compared on the validation splits,
// resampleSweep the bootstrap's resampling schemes, membersSweep the
// numbers of bootstrap refits and aggSweep the aggregations: every
// combination is scored from one fit per weight and scheme (the first n
// refits of a fit with more are the refits of an n-refit fit). Weights
// above 1e-6 bias the fit of noise-free synthetic curves beyond the
// package's recovery tests (TestFitRecoversLaws); weights below 1e-7 were
// worse on the validation splits before bagging (docs/accuracy.md at
// d419f2e), their fits sit at the corner of the search box, and
// predicting with such refits at every step of 50000-step runs is slow.
var (
	priorSweep    = []float64{1e-7, 1e-6}
	resampleSweep = losscurve.Resamplings()
	membersSweep  = []int{losscurve.DefaultBootstrap}
	aggSweep      = losscurve.Aggregates()
)

// priorCandidates are the prior weights a fit chooses among by forward
// validation on its own fit runs (losscurve.FitOptions.PriorCandidates):
// a candidate of the choosing table (validation splits only).
var priorCandidates = []float64{0, 1e-7, 1e-6, 1e-5}

// centreSweep lists the prior centres (C, β, γ) compared on the
// validation splits: every combination of a grid around the released
// code's start values (1, 0.5, 0.5). Each is a candidate of the choosing
// table at the default prior weight, fitted without refits (its PredE and
// final-loss error are the point fit's, as the default's are).
func centreSweep() [][]float64 {
	var out [][]float64
	for _, c := range centreGridC {
		for _, b := range centreGridBG {
			for _, g := range centreGridBG {
				out = append(out, []float64{c, b, g})
			}
		}
	}
	return out
}

// The grid of centreSweep: C, and β and γ alike.
var (
	centreGridC  = []float64{0.5, 1, 2, 4}
	centreGridBG = []float64{0.35, 0.5, 0.7}
)

// centreKey is the method key of a prior centre.
func centreKey(c []float64) string { return fmt.Sprintf("centre %g/%g/%g", c[0], c[1], c[2]) }

// sweepVariants lists every combination of the sweep, in report order.
func sweepVariants() []variant {
	var out []variant
	for _, w := range priorSweep {
		label := fmt.Sprintf("prior %g", w)
		for _, rs := range resampleSweep {
			for _, n := range membersSweep {
				for _, a := range aggSweep {
					out = append(out, variant{key: fmt.Sprintf("sweep %s, %s, %d refits, %s", label, rs, n, a), label: label, prior: w, resample: rs, members: n, agg: a})
				}
			}
		}
	}
	return out
}

// horizonLabel names the row of the default recipe's fit corrected past
// the fit (losscurve.MeasuredHorizonBias).
const horizonLabel = "MPL, lrkit fit, corrected past the fit"

// lrkitLabel names the default recipe's row.
func lrkitLabel() string {
	if losscurve.DefaultAggregate == losscurve.AggregatePoint {
		return "MPL, lrkit fit (prior, bootstrap)"
	}
	return fmt.Sprintf("MPL, lrkit fit (prior, bootstrap %s)", losscurve.DefaultAggregate)
}

func methods() []method {
	all := roleOrder
	out := []method{
		{key: "lrkit", label: lrkitLabel(), kind: losscurve.KindMPL, opts: losscurve.FitOptions{}, roles: all},
		{key: "horizon", label: horizonLabel, kind: losscurve.KindMPL, opts: losscurve.FitOptions{}, roles: all, horizonBias: losscurve.MeasuredHorizonBias, from: "lrkit"},
		{key: "select", label: "MPL, prior chosen per fit (forward validation)", kind: losscurve.KindMPL, opts: losscurve.FitOptions{PriorCandidates: priorCandidates}, roles: []string{roleValidation}, candidate: true},
		{key: "converged", label: "MPL, converged fit (no prior)", kind: losscurve.KindMPL, opts: losscurve.FitOptions{Recipe: losscurve.RecipeConverged}, roles: all},
		{key: "released", label: "MPL, released recipe", kind: losscurve.KindMPL, opts: losscurve.FitOptions{Recipe: losscurve.RecipeReleased}, roles: all},
		{key: "annealing", label: "LR-annealing law (variant b), lrkit fit", kind: losscurve.KindAnnealing, opts: losscurve.FitOptions{}, roles: all},
		{key: "power", label: "power law in steps (baseline)", kind: losscurve.KindPower, opts: losscurve.FitOptions{Bootstrap: -1}, roles: all},
		{key: "copy", label: "copy the constant run (baseline)", copy: true, roles: all},
	}
	for _, c := range centreSweep() {
		if slices.Equal(c, losscurve.DefaultPriorCentre()) {
			continue // the sweep's prior rows are fitted around the default centre
		}
		out = append(out, method{key: centreKey(c), label: fmt.Sprintf("prior %g, centre C %g, β %g, γ %g", losscurve.DefaultPrior, c[0], c[1], c[2]), kind: losscurve.KindMPL,
			opts: losscurve.FitOptions{PriorCentre: c, Bootstrap: -1}, roles: []string{roleValidation}, candidate: true})
	}
	vs := sweepVariants()
	for _, w := range priorSweep {
		for _, rs := range resampleSweep {
			var mine []variant
			for _, v := range vs {
				if v.prior == w && v.resample == rs {
					mine = append(mine, v)
				}
			}
			out = append(out, method{key: "sweep fit " + mine[0].label + ", " + rs, label: mine[0].label + ", " + rs, kind: losscurve.KindMPL,
				opts:  losscurve.FitOptions{Prior: w, Resample: rs, Bootstrap: slices.Max(membersSweep)},
				roles: []string{roleValidation}, sweep: true, variants: mine})
		}
	}
	return out
}

// choosable reports whether m is a row of the validation choosing table:
// a sweep fit's variants, a candidate of its own, or one of the other
// recipes a user can pick (converged, released), held to the same rule.
func (m method) choosable() bool {
	return len(m.variants) > 0 || m.candidate || m.key == "converged" || m.key == "released"
}

// methodKeys lists the keys of methods() (sweep fits excluded).
func methodKeys() []string {
	var out []string
	for _, m := range methods() {
		if !m.sweep {
			out = append(out, m.key)
		}
	}
	return out
}

// summary writes, per role and method, the mean held-out PredE, and the
// difference from the converged fit with its interval when both ran.
func summary(w io.Writer, splits []split, results []fitResult) error {
	var b strings.Builder
	b.WriteString("| role | method | curves | PredE | final | minus converged [95% interval] |\n|---|---|---|---|---|---|\n")
	converged := slices.ContainsFunc(results, func(x fitResult) bool { return x.m.key == "converged" })
	for _, role := range roleOrder {
		seen := map[string]bool{}
		for _, r := range results {
			if splits[r.split].role != role || seen[r.m.key] {
				continue
			}
			seen[r.m.key] = true
			pl := pool(splits, results, r.m.key, role, "")
			diff := "—"
			if converged && r.m.key != "converged" {
				mean, lo, hi, n := diffCI(splits, results, r.m.key, "converged", role)
				if n > 0 {
					diff = fmt.Sprintf("%+.3f [%+.3f, %+.3f] (%d runs)", 100*mean, 100*lo, 100*hi, n)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", role, r.m.label, pl.curves, pct(pl.m.PredE), pct(pl.final), diff)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// curveResult is one held-out run's score under one method.
type curveResult struct {
	held      heldRun
	sc        losscurve.Scored
	intervals bool
}

// fitResult is one method on one split.
type fitResult struct {
	m        method
	split    int
	params   map[string]float64
	warnings []string
	seconds  float64
	curves   []curveResult
	fitted   *losscurve.Fitted
	err      error
}

// copyLaw predicts the constant run's observed loss at every step
// (linear between its points, held past its ends): the baseline that
// ignores the schedule entirely.
type copyLaw struct{ run losscurve.Run }

func (c copyLaw) Name() string               { return "copy" }
func (c copyLaw) Params() map[string]float64 { return nil }
func (c copyLaw) Predict(lrs []float64) []float64 {
	out := make([]float64, len(lrs))
	pts := c.run.Points
	j := 0
	for i := range out {
		for j+1 < len(pts) && pts[j+1].Step <= i {
			j++
		}
		switch {
		case i <= pts[0].Step:
			out[i] = pts[0].Loss
		case j+1 >= len(pts):
			out[i] = pts[len(pts)-1].Loss
		default:
			f := float64(i-pts[j].Step) / float64(pts[j+1].Step-pts[j].Step)
			out[i] = pts[j].Loss + (pts[j+1].Loss-pts[j].Loss)*f
		}
	}
	return out
}

// evaluate runs method m on split s: one result, or one per variant of a
// sweep fit.
func evaluate(ctx context.Context, m method, s split) []fitResult {
	res := fitResult{m: m}
	start := time.Now()
	var law losscurve.Law
	if m.copy {
		law = copyLaw{s.constant}
	} else {
		f, rep, err := losscurve.Fit(ctx, m.kind, s.fit, m.opts)
		if err != nil {
			res.err = err
			return []fitResult{res}
		}
		f.HorizonBias = m.horizonBias
		law, res.fitted = f, f
		res.params = losscurve.Base(f).Params()
		res.warnings = rep.Warnings
	}
	res.seconds = time.Since(start).Seconds()
	if len(m.variants) == 0 {
		out := []fitResult{score(res, law, s)}
		for _, d := range derivedFrom(m.key) {
			if res.fitted == nil {
				continue
			}
			g := *res.fitted
			g.HorizonBias = d.horizonBias
			r := res
			r.m, r.fitted = d, &g
			out = append(out, score(r, &g, s))
		}
		return out
	}
	// Every variant predicts from the same point fit and refits: predict
	// each held-out run with them once and score the variants on those
	// predictions.
	f := res.fitted
	out := make([]fitResult, len(m.variants))
	for i, v := range m.variants {
		out[i] = res
		out[i].m = method{key: v.key, label: v.label, kind: m.kind, roles: m.roles, sweep: true}
	}
	for _, h := range s.held {
		point := fixedLaw(f.Law.Predict(h.run.LRs))
		members := make([]losscurve.Law, len(f.Members))
		for j, mb := range f.Members {
			members[j] = fixedLaw(mb.Predict(h.run.LRs))
		}
		for i, v := range m.variants {
			g := &losscurve.Fitted{Law: point, Members: members[:min(v.members, len(members))], Aggregate: v.agg, Sigma: f.Sigma, Info: f.Info}
			sc, err := losscurve.EvaluateFrom(g, h.run, h.from, level)
			if err != nil {
				out[i].err = err
				continue
			}
			out[i].curves = append(out[i].curves, curveResult{held: h, sc: sc, intervals: true})
		}
	}
	return out
}

// derivedFrom returns the methods that predict with the fit of the
// method with key (method.from).
func derivedFrom(key string) []method {
	var out []method
	for _, m := range methods() {
		if m.from == key {
			out = append(out, m)
		}
	}
	return out
}

// fixedLaw is one law's prediction for one held-out run's rates, computed
// once: its Predict ignores the rates it is given.
type fixedLaw []float64

func (p fixedLaw) Name() string                    { return "fixed" }
func (p fixedLaw) Params() map[string]float64      { return nil }
func (p fixedLaw) Predict(lrs []float64) []float64 { return append([]float64(nil), p...) }

// score scores law on the held-out runs of s into res.
func score(res fitResult, law losscurve.Law, s split) fitResult {
	_, hasIntervals := law.(*losscurve.Fitted)
	for _, h := range s.held {
		sc, err := losscurve.EvaluateFrom(law, h.run, h.from, level)
		if err != nil {
			res.err = err
			return res
		}
		res.curves = append(res.curves, curveResult{held: h, sc: sc, intervals: hasIntervals})
	}
	return res
}

func main() {
	dir := flag.String("data", "", "EPFL collection folder (default: found above the working directory)")
	paper := flag.String("paper", "", "folder of the multi-power law paper's curves (csv_25, csv_100, csv_400): write the paper-split comparison instead")
	out := flag.String("o", "", "output Markdown file ('-' for stdout; default docs/accuracy.md, or docs/accuracy-paper.md with -paper)")
	figs := flag.String("figures", "docs/accuracy", "folder for the report's figures ('' for none)")
	workers := flag.Int("workers", 2, "fits run in parallel")
	only := flag.String("splits", "", "comma-separated roles of the splits to run (validation, test, horizon, secondary); default all")
	keys := flag.String("methods", "", "comma-separated method keys to run ("+strings.Join(methodKeys(), ", ")+"): print a summary table instead of the report")
	flag.Parse()
	var roles []string
	if *only != "" {
		for _, r := range strings.Split(*only, ",") {
			switch r = strings.TrimSpace(r); r {
			case roleValidation, roleTest:
				roles = append(roles, r)
			case "secondary":
				roles = append(roles, roleSecondary)
			case "horizon":
				roles = append(roles, roleHorizon)
			default:
				fmt.Fprintf(os.Stderr, "accuracy: -splits %q: want validation, test, horizon or secondary\n", r)
				os.Exit(2)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *paper != "" {
		if *out == "" {
			*out = "docs/accuracy-paper.md"
		}
		err = runPaper(ctx, *paper, *out, *workers)
	} else {
		if *out == "" {
			*out = "docs/accuracy.md"
		}
		var picked []string
		if *keys != "" {
			known := methodKeys()
			for _, k := range strings.Split(*keys, ",") {
				if k = strings.TrimSpace(k); !slices.Contains(known, k) {
					fmt.Fprintf(os.Stderr, "accuracy: -methods %q: want one of %s\n", k, strings.Join(known, ", "))
					os.Exit(2)
				}
				picked = append(picked, k)
			}
		}
		err = runEPFL(ctx, *dir, *out, *figs, *workers, roles, picked)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "accuracy:", err)
		os.Exit(1)
	}
}

// runEPFL evaluates every method on every split (only the splits of the
// given roles, if any) and writes the report.
//
// With picked method keys, only those methods run and a summary table
// (mean held-out PredE per role, and each method minus the converged fit
// when both ran) goes to standard output instead of the report.
func runEPFL(ctx context.Context, dir, out, figs string, workers int, roles, picked []string) error {
	var err error
	if dir == "" {
		if dir, err = epfl.Dir(); err != nil {
			return err
		}
	}
	splits, err := buildSplits(dir)
	if err != nil {
		return err
	}
	if len(roles) > 0 {
		splits = slices.DeleteFunc(splits, func(s split) bool { return !slices.Contains(roles, s.role) })
	}
	type job struct {
		m method
		s int
	}
	var jobs []job
	for _, m := range methods() {
		if m.from != "" {
			continue // scored from its source's fit (evaluate)
		}
		if len(picked) > 0 && !slices.Contains(picked, m.key) && !slices.ContainsFunc(derivedFrom(m.key), func(d method) bool { return slices.Contains(picked, d.key) }) {
			continue
		}
		for si, s := range splits {
			for _, r := range m.roles {
				if r == s.role {
					jobs = append(jobs, job{m, si})
				}
			}
		}
	}
	perJob := make([][]fitResult, len(jobs))
	var mu sync.Mutex
	done := 0
	err = forEach(ctx, len(jobs), workers, func(i int) {
		rs := evaluate(ctx, jobs[i].m, splits[jobs[i].s])
		status := "ok"
		for k := range rs {
			rs[k].split = jobs[i].s
			if rs[k].err != nil {
				status = rs[k].err.Error()
			}
		}
		perJob[i] = rs
		mu.Lock()
		done++
		fmt.Fprintf(os.Stderr, "[%d/%d] %-22s %-28s %6.1fs %s\n", done, len(jobs), splits[jobs[i].s].name, jobs[i].m.label, rs[0].seconds, status)
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	var results []fitResult
	for _, rs := range perJob {
		results = append(results, rs...)
	}
	for _, r := range results {
		if r.err != nil {
			return fmt.Errorf("%s on %s: %w", r.m.label, splits[r.split].name, r.err)
		}
	}
	if len(picked) > 0 {
		return summary(os.Stdout, splits, results)
	}
	// The recovery checks of every sweep candidate (synthetic.go).
	synth, live := map[string]float64{}, map[string]float64{}
	for _, m := range methods() {
		if !m.choosable() || !slices.Contains(m.roles, roleValidation) || !slices.ContainsFunc(splits, func(s split) bool { return s.role == roleValidation }) {
			continue
		}
		pe, err := synthRecovery(ctx, m)
		if err != nil {
			return fmt.Errorf("%s on synthetic curves: %w", m.label, err)
		}
		for k, v := range pe {
			synth[k] = v
		}
		le, err := synthLive(ctx, m)
		if err != nil {
			return fmt.Errorf("%s on a synthetic live run: %w", m.label, err)
		}
		for k, v := range le {
			live[k] = v
		}
	}
	var figures []string
	if figs != "" {
		if figures, err = writeFigures(figs, out, splits, results); err != nil {
			return err
		}
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return report(w, splits, results, figures, synth, live)
}
