package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lrkit/lrkit/plot"
)

// Report is the files a study's report consists of, by name.
type Report struct {
	Files map[string][]byte
	// Recommendation is one sentence: which schedule lrkit recommends and
	// by how much it beats the baseline.
	Recommendation string
}

// BuildReport renders a scored study: report.md and index.html with the
// same tables, the plots as SVG files (which index.html also holds
// inline), and results.csv with one row per trial.
func BuildReport(sum *Summary, out *Outcome, when time.Time) (*Report, error) {
	rep := &Report{Files: map[string][]byte{}}
	figs := []struct{ file, title string }{}
	addFig := func(file, title string, data []byte) {
		rep.Files[file] = data
		figs = append(figs, struct{ file, title string }{file, title})
	}
	if b, err := scheduleChart(sum, out); err != nil {
		return nil, err
	} else if b != nil {
		addFig("schedules.svg", "Learning rate of each schedule's first evaluation run (grid mode) or best trial of the first study", b)
	}
	for _, w := range sum.Study.Workloads {
		b, err := curveChart(sum, out, w)
		if err != nil {
			return nil, err
		}
		if b != nil {
			addFig("curves-"+w+".svg", "Validation curves on "+w, b)
		}
	}
	if b, err := profileChart(sum); err != nil {
		return nil, err
	} else {
		addFig("profile.svg", "Performance profiles", b)
	}
	if b, err := ratioHeatmap(sum); err != nil {
		return nil, err
	} else if b != nil {
		addFig("ratios.svg", "Performance ratio by schedule and budget", b)
	}

	rep.Recommendation = sum.Headline
	tables := reportTables(sum)
	var md bytes.Buffer
	fmt.Fprintf(&md, "# lrkit benchmark: %s\n\n", sum.Study.Name)
	fmt.Fprintf(&md, "Produced by `lrkit bench` on %s. %s\n\n", when.UTC().Format("2006-01-02 15:04 UTC"), trialCount(sum, out))
	fmt.Fprintf(&md, "**%s**\n\n", rep.Recommendation)
	for _, n := range headNotes(sum) {
		md.WriteString(n + "\n\n")
	}
	for _, t := range tables {
		fmt.Fprintf(&md, "## %s\n\n%s\n", t.title, t.note)
		md.WriteString(markdownTable(t.head, t.rows))
		md.WriteString("\n")
	}
	md.WriteString("## Figures\n\n")
	for _, f := range figs {
		fmt.Fprintf(&md, "![%s](%s)\n\n", f.title, f.file)
	}
	if len(out.Failed) > 0 {
		md.WriteString("## Failed trials\n\n")
		keys := sortedKeys(out.Failed)
		for _, k := range keys {
			fmt.Fprintf(&md, "- `%s`: %s\n", k, out.Failed[k])
		}
		md.WriteString("\n")
	}
	rep.Files["report.md"] = md.Bytes()

	var h bytes.Buffer
	fmt.Fprintf(&h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lrkit benchmark: %s</title>\n", html.EscapeString(sum.Study.Name))
	h.WriteString(`<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}figure{margin:2em 0}figure svg{max-width:100%;height:auto}
code{font-size:90%}.holds{color:#070}.fails{color:#a00}</style></head><body>` + "\n")
	fmt.Fprintf(&h, "<h1>lrkit benchmark: %s</h1>\n<p>Produced by <code>lrkit bench</code> on %s. %s</p>\n",
		html.EscapeString(sum.Study.Name), when.UTC().Format("2006-01-02 15:04 UTC"), html.EscapeString(trialCount(sum, out)))
	fmt.Fprintf(&h, "<p><strong>%s</strong></p>\n", html.EscapeString(rep.Recommendation))
	for _, n := range headNotes(sum) {
		fmt.Fprintf(&h, "<p>%s</p>\n", inlineHTML(n))
	}
	for _, t := range tables {
		fmt.Fprintf(&h, "<h2>%s</h2>\n<p>%s</p>\n", html.EscapeString(t.title), inlineHTML(strings.TrimSpace(t.note)))
		h.WriteString(htmlTable(t.head, t.rows))
	}
	h.WriteString("<h2>Figures</h2>\n")
	for _, f := range figs {
		fmt.Fprintf(&h, "<figure id=\"%s\">%s<figcaption>%s</figcaption></figure>\n", html.EscapeString(f.file), svgBody(rep.Files[f.file]), html.EscapeString(f.title))
	}
	h.WriteString("</body></html>\n")
	rep.Files["index.html"] = h.Bytes()

	csvData, err := resultsCSV(sum, out)
	if err != nil {
		return nil, err
	}
	rep.Files["results.csv"] = csvData
	js, err := summaryJSON(sum, when)
	if err != nil {
		return nil, err
	}
	rep.Files["results.json"] = js
	return rep, nil
}

// Write writes the report's files into dir, creating it.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: report directory: %w", err)
	}
	for name, data := range r.Files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("bench: write report: %w", err)
		}
	}
	return nil
}

type table struct {
	title, note string
	head        []string
	rows        [][]string
}

// trialCount says how many runs the study took.
func trialCount(sum *Summary, out *Outcome) string {
	tune, probe, eval := 0, 0, 0
	for _, tr := range out.Trials {
		switch tr.Role {
		case "tune":
			tune++
		case "probe":
			probe++
		default:
			eval++
		}
	}
	s := sum.Study
	txt := fmt.Sprintf("%d trials: %d problems (workload × budget) × %d schedules", len(out.Trials), len(sum.Problems), len(sum.Entries))
	if s.Tuning.Mode == "grid" {
		txt += fmt.Sprintf("; %d selection runs on the peak grids (seeds %s) and %d evaluation runs at the chosen peaks (seeds %s)",
			tune, seedList(s.Tuning.Seeds), eval, seedList(s.Seeds))
		if probe > 0 {
			txt += fmt.Sprintf("; %d pruning probes", probe)
		}
	} else {
		txt += fmt.Sprintf(" × %d studies (AlgoPerf's %s-tuning ruleset)", len(s.Seeds), s.Tuning.Mode)
	}
	if len(out.Failed) > 0 || sum.Missing > 0 {
		txt += fmt.Sprintf("; %d failed, %d scored runs without a result", len(out.Failed), sum.Missing)
	}
	return txt + "."
}

func seedList(seeds []int64) string {
	parts := make([]string, len(seeds))
	for i, x := range seeds {
		parts[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(parts, ", ")
}

// headNotes are the paragraphs under the headline: the protocol in brief,
// the excluded problems and the cells tuned at an edge.
func headNotes(sum *Summary) []string {
	s := sum.Study
	var notes []string
	if s.Tuning.Mode == "grid" {
		warm := fmt.Sprintf("%g%% of the budget", 100*s.Tuning.Warmup)
		if s.Tuning.WarmupSteps > 0 {
			warm = fmt.Sprintf("%d steps", s.Tuning.WarmupSteps)
		}
		notes = append(notes, fmt.Sprintf("Protocol: every schedule's peak learning rate is tuned per workload and budget on a grid of %d log-spaced peaks (extended by up to %d log steps past an edge while the best peak sits there), "+
			"chosen by the best final validation metric on the selection seeds (mean over them; a diverged run is the worst; ties go to the lower validation loss), then trained afresh on the evaluation seeds, which are never selection seeds. "+
			"The warm-up is fixed at %s, not searched. Each problem's target is the median over the tuned baseline's (%s) selection runs of their final validation metric (the quality a tuned baseline ends the budget at), unless the study pins it.",
			s.Tuning.Grid.Points, *s.Tuning.Grid.Extend, warm, s.Baseline))
	} else {
		notes = append(notes, fmt.Sprintf("Protocol: AlgoPerf's %s-tuning ruleset; each study (seed) is scored by its fastest trial, against each workload's own target. The runs that choose the hyperparameters are the runs that are scored.", s.Tuning.Mode))
	}
	if len(sum.NoResults) > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d schedules have no successful evaluation run and are in no verdict, claim or recommendation: %s (see Failed trials).",
			len(sum.NoResults), len(sum.Entries), strings.Join(sum.NoResults, ", ")))
	}
	if len(sum.NoPeak) > 0 {
		var cs []string
		for _, c := range sum.NoPeak {
			txt := fmt.Sprintf("%s on %s", c.Entry, c.Problem())
			if c.ReusedFrom != 0 {
				txt += fmt.Sprintf(" (reusing budget %g)", c.ReusedFrom)
			}
			cs = append(cs, txt)
		}
		notes = append(notes, fmt.Sprintf("%d %s (a schedule on a problem) %s no peak: every selection run failed (diverged or could not run), so none was chosen and no evaluation run was trained: %s. "+
			"A schedule is in no comparison on a problem where it has no peak, and counts there as not reaching the target in the scores (see Tuned peaks).",
			len(cs), plural(len(cs), "cell", "cells"), plural(len(cs), "has", "have"), strings.Join(cs, "; ")))
	}
	if len(sum.Excluded) > 0 {
		var ps []string
		for _, x := range sum.Excluded {
			ps = append(ps, x.Problem.String())
		}
		notes = append(notes, fmt.Sprintf("%d of %d problems do not discriminate and are left out of every score and verdict: %s (see Problems and targets).",
			len(sum.Excluded), len(sum.Problems), strings.Join(ps, ", ")))
	}
	if len(sum.AtEdge) > 0 {
		var cs []string
		for _, c := range sum.AtEdge {
			cs = append(cs, fmt.Sprintf("%s on %s (%s edge)", c.Entry, c.Problem(), c.Edge))
		}
		notes = append(notes, fmt.Sprintf("%d tuned peaks stayed at an edge of the grid after every extension, so the optimum may lie beyond: %s.", len(cs), strings.Join(cs, "; ")))
	}
	return notes
}

func reportTables(sum *Summary) []table {
	var ts []table
	if t, ok := recommendedTable(sum); ok {
		ts = append(ts, t)
	}
	ts = append(ts, comparisonTable(sum), problemTable(sum))
	if sum.Study.Tuning.Mode == "grid" {
		ts = append(ts, tuningTable(sum))
	}
	ts = append(ts, stepsTable(sum), finalTable(sum), claimTable(sum))
	if len(sum.Pruning) > 0 {
		ts = append(ts, livePruneTable(sum))
	}
	if len(sum.PruneReplay) > 0 {
		ts = append(ts, replayPruneTable(sum))
	}
	return ts
}

// recommendedTable lists the recommended entry's spec per workload and
// budget, ready to paste.
func recommendedTable(sum *Summary) (table, bool) {
	e := sum.Recommended
	t := table{title: "Recommended schedule: " + e,
		note: "The schedule at its tuned peak, per workload and budget (peaks are tuned per workload and budget); paste the spec into `lrkit train --schedule`.\n",
		head: []string{"workload", "budget", "steps", "peak", "spec"}}
	for _, p := range sum.Problems {
		c := sum.Cells[e][p]
		if c == nil || c.Spec == "" {
			continue
		}
		spec := "`" + c.Spec + "`"
		if sum.entry(e).Refine != "" {
			spec = "refine (lrkit refine) a first run of `" + c.Spec + "`"
		}
		t.rows = append(t.rows, []string{p.Workload, fmt.Sprintf("%g", p.Budget), strconv.FormatInt(c.Steps, 10), fmt.Sprintf("%.3g", c.Peak), spec})
	}
	return t, len(t.rows) > 0
}

func (sum *Summary) entry(name string) Entry {
	for _, e := range sum.Study.Schedules {
		if e.Name == name {
			return e
		}
	}
	return Entry{}
}

func comparisonTable(sum *Summary) table {
	base := sum.Study.Baseline
	m := sum.Study.Margin()
	t := table{title: "Schedules against " + orDash(base),
		note: fmt.Sprintf("Over the %d problems that discriminate. Speedup: geometric mean over problems (each the mean over evaluation seeds) of %s's compute to reach the target over the schedule's, paired by seed; a run that never reaches the target counts at %g× its budget, and a refined schedule's first run counts in its compute. "+
			"Intervals: %.0f%% percentile intervals of a two-stage bootstrap (problems, then seeds within each problem; %d resamples, seeded). "+
			"Verdict: faster or slower when the interval excludes 1; the same when it lies within the margin of ±%.0f%% (one evaluation interval, the resolution of steps to target); inconclusive otherwise. "+
			"With several schedules compared, about one in %d intervals misses by chance. Final metric: mean relative difference in the final validation metric, positive when the schedule is better. "+
			"LR area: mean of lr/peak over the budget (a schedule with more area trains longer near its peak). Compute: training steps per scored step. Score: AlgoPerf's benchmark score (area under the performance profile up to ratio 4) over the same problems.\n",
			len(sum.Scored), orDash(base), Censor, 100*Level, Resamples, 100*m, int(math.Round(1/(1-Level)))),
		head: []string{"schedule", "speedup over " + orDash(base), fmt.Sprintf("%.0f%% interval", 100*Level), "verdict", "final metric", "LR area", "compute", "selection runs", "score"}}
	if n := len(sum.Scored); n > 0 && n < 10 {
		t.note = strings.TrimSuffix(t.note, "\n") + fmt.Sprintf(" With only %d problems the bootstrap intervals are approximate and on the narrow side (a percentile bootstrap over few clusters understates their spread).\n", n)
	}
	for _, e := range sum.Entries {
		row := []string{e}
		if c := sum.Compare[e]; c != nil && c.Pairs > 0 {
			row = append(row, speedupText(c.Speedup), fmt.Sprintf("%.2f–%.2f×", c.Low, c.High), c.Verdict,
				fmt.Sprintf("%+.2f%% [%+.2f, %+.2f]", 100*c.FinalDiff, 100*c.FinalLow, 100*c.FinalHigh))
		} else if !sum.hasResults(e) {
			row = append(row, "—", "", sum.noResultsVerdict(e), "")
		} else if e == base {
			row = append(row, "1 (baseline)", "", "", "")
		} else {
			row = append(row, "—", "", "no pairs", "")
		}
		score := fmt.Sprintf("%.3f", sum.Score[e])
		if !sum.hasResults(e) {
			score = "—" // a score of 0 would be drawn from no data
		}
		row = append(row, areaText(sum.Area[e]), fmt.Sprintf("%.1f×", sum.Compute[e]), strconv.Itoa(sum.TuningRuns[e]), score)
		t.rows = append(t.rows, row)
	}
	return t
}

// noResultsVerdict is the verdict of an entry without a successful
// scored run.
func (sum *Summary) noResultsVerdict(e string) string {
	if sum.noPeakAnywhere(e) {
		return noPeakText
	}
	return "no successful runs"
}

func areaText(a float64) string {
	if math.IsNaN(a) {
		return "—"
	}
	return fmt.Sprintf("%.2f", a)
}

func problemTable(sum *Summary) table {
	t := table{title: "Problems and targets",
		note: fmt.Sprintf("A problem is a workload at a budget (a fraction of its step hint). %d of %d discriminate; a problem that no schedule reaches on any evaluation seed, or that every schedule reaches at the first evaluation on every seed, cannot tell schedules apart and is left out. Source: baseline (the tuned %s's selection runs at its chosen peak), study (pinned) or workload (its default target).\n",
			len(sum.Scored), len(sum.Problems), orDash(sum.Study.Baseline)),
		head: []string{"problem", "steps", "target", "source", "scored"}}
	reason := map[Problem]string{}
	for _, x := range sum.Excluded {
		reason[x.Problem] = "no: " + x.Reason
	}
	for _, p := range sum.Problems {
		tg := sum.Targets[p]
		steps := ""
		for _, e := range sum.Entries {
			if c := sum.Cells[e][p]; c != nil {
				steps = strconv.FormatInt(c.Steps, 10)
				break
			}
		}
		scored := "yes"
		if r, ok := reason[p]; ok {
			scored = r
		}
		src := tg.Source
		if tg.Runs > 0 {
			src += fmt.Sprintf(" (%d runs)", tg.Runs)
		}
		t.rows = append(t.rows, []string{p.String(), steps, fmt.Sprintf("%.4g", tg.Value), src, scored})
	}
	return t
}

func tuningTable(sum *Summary) table {
	t := table{title: "Tuned peaks",
		note: "The peak each schedule's selection runs chose, and the grid searched (lowest to highest peak tried). \"edge\": the choice stayed at that edge of the grid after every extension; \"from b\": reused from budget b (tune_budget); " +
			"\"no peak\": every selection run on the grid, extensions included, diverged or failed, so no peak was chosen and the schedule trained no evaluation run on the problem.\n",
		head: append([]string{"problem"}, sum.Entries...)}
	for _, p := range sum.Problems {
		row := []string{p.String()}
		for _, e := range sum.Entries {
			c := sum.Cells[e][p]
			if np := sum.noPeakCell(e, p); np != nil {
				txt := fmt.Sprintf("%s [%.3g, %.3g]", noPeakText, np.PeakAt(np.Lo), np.PeakAt(np.Hi))
				if np.ReusedFrom != 0 {
					txt = fmt.Sprintf("%s (from %g)", noPeakText, np.ReusedFrom)
				}
				row = append(row, txt)
				continue
			}
			if c == nil || c.Tuning == nil || !c.Tuning.Tuned {
				row = append(row, "—")
				continue
			}
			ts := c.Tuning
			txt := fmt.Sprintf("%.3g [%.3g, %.3g]", ts.Peak, ts.PeakAt(ts.Lo), ts.PeakAt(ts.Hi))
			if ts.ReusedFrom != 0 {
				txt = fmt.Sprintf("%.3g (from %g)", ts.Peak, ts.ReusedFrom)
			}
			if ts.AtEdge {
				txt += " " + ts.Edge + " edge"
			}
			if noSelection(ts) {
				// The choice is the grid's default, not a measurement.
				txt += " (every grid point had a selection run diverge or fail: chosen by default)"
			}
			row = append(row, txt)
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// noSelection reports whether every point of a tuned cell's grid had a
// selection run that diverged or failed, so that no point has a mean
// final metric and its chosen peak is the grid's default (when every
// selection run diverged or failed, the cell has no peak: NoPeak).
func noSelection(c *CellState) bool {
	if c.ReusedFrom != 0 || len(c.Grid) == 0 {
		return false
	}
	for _, g := range c.Grid {
		if !math.IsNaN(g.Metric) {
			return false
		}
	}
	return true
}

func stepsTable(sum *Summary) table {
	t := table{title: "Steps to target",
		note: "Median over evaluation seeds of the steps to the problem's target, the seeds that reached it, and the performance ratio to the fastest schedule in brackets; — means the median run did not reach it; problems left out of the score are marked.\n",
		head: append([]string{"problem"}, sum.Entries...)}
	for _, p := range sum.Problems {
		name := p.String()
		if !sum.isScored(p) {
			name += " (not scored)"
		}
		row := []string{name}
		for _, e := range sum.Entries {
			c := sum.Cells[e][p]
			switch {
			case c == nil && sum.noPeakCell(e, p) != nil:
				row = append(row, "no peak")
			case c == nil:
				row = append(row, "n/a")
			case math.IsInf(c.Median, 1):
				row = append(row, fmt.Sprintf("— %d/%d", c.Reached, okRuns(c)))
			case math.IsNaN(c.Ratio):
				row = append(row, fmt.Sprintf("%.0f %d/%d", c.Median, c.Reached, okRuns(c)))
			default:
				row = append(row, fmt.Sprintf("%.0f %d/%d (%s)", c.Median, c.Reached, okRuns(c), ratioText(c.Ratio)))
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func okRuns(c *Cell) int {
	n := 0
	for _, r := range c.Runs {
		if r.OK {
			n++
		}
	}
	return n
}

func finalTable(sum *Summary) table {
	t := table{title: "Final validation metric",
		note: "Median over evaluation seeds of the metric at the end of the budget (accuracy: higher is better; loss: lower is better). Bold: best on the problem.\n",
		head: append([]string{"problem"}, sum.Entries...)}
	for _, p := range sum.Problems {
		row := []string{p.String()}
		best := ""
		bestG := math.Inf(-1)
		for _, e := range sum.Entries {
			if c := sum.Cells[e][p]; c != nil {
				if g := goodness(c.Final, sum.Higher[p.Workload]); g > bestG {
					bestG, best = g, e
				}
			}
		}
		for _, e := range sum.Entries {
			c := sum.Cells[e][p]
			switch {
			case c == nil && sum.noPeakCell(e, p) != nil:
				row = append(row, "no peak")
			case c == nil:
				row = append(row, "n/a")
			case okRuns(c) == 0:
				row = append(row, "no results") // not "diverged": nothing ran
			case math.IsNaN(c.Final):
				row = append(row, "diverged")
			case e == best:
				row = append(row, fmt.Sprintf("**%.4f**", c.Final))
			default:
				row = append(row, fmt.Sprintf("%.4f", c.Final))
			}
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func claimTable(sum *Summary) table {
	t := table{title: "Reproduction of claims from the papers",
		note: "Each claim is tested on the speedup in steps to target (as in the table above, over the problems that discriminate), with its " + fmt.Sprintf("%.0f%%", 100*Level) + " interval; the final-metric difference is shown beside it. " + ClaimRule(sum.Study.Margin()) + "\n",
		head: []string{"claim", "compared", "pairs", "speedup [interval]", "final metric", "answer"}}
	for _, c := range sum.Claims {
		var sp, fd []string
		pairs := 0
		for _, cmp := range c.Comparisons {
			label := ""
			if len(c.Comparisons) > 1 {
				label = "vs " + cmp.Against + ": "
			}
			sp = append(sp, fmt.Sprintf("%s%.2f× [%.2f, %.2f]", label, cmp.Speedup, cmp.Low, cmp.High))
			fd = append(fd, fmt.Sprintf("%s%+.2f%%", label, 100*cmp.FinalDiff))
			pairs += cmp.Pairs
		}
		verdict := c.Verdict
		if c.Note != "" && len(c.Comparisons) > 0 {
			verdict += " (" + c.Note + ")"
		}
		t.rows = append(t.rows, []string{c.Text, c.Test, strconv.Itoa(pairs), orDash(strings.Join(sp, "; ")), orDash(strings.Join(fd, "; ")), verdict})
	}
	return t
}

// inlineHTML escapes text for HTML and turns `code` spans into <code>.
func inlineHTML(s string) string {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + html.EscapeString(p) + "</code>")
			continue
		}
		if i%2 == 1 {
			b.WriteString("`")
		}
		b.WriteString(html.EscapeString(p))
	}
	return b.String()
}

func speedupText(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

func ratioText(r float64) string {
	if math.IsInf(r, 1) {
		return ">4"
	}
	return fmt.Sprintf("%.2f", r)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func markdownTable(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		esc := make([]string, len(r))
		for i, c := range r {
			esc[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(esc, " | ") + " |\n")
	}
	return b.String()
}

func htmlTable(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("<table><tr>")
	for _, h := range head {
		b.WriteString("<th>" + html.EscapeString(h) + "</th>")
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for _, c := range r {
			cls := ""
			switch {
			case strings.HasPrefix(c, Holds), c == VerdictFaster:
				cls = ` class="holds"`
			case strings.HasPrefix(c, DoesNotHold), c == VerdictSlower:
				cls = ` class="fails"`
			}
			cell := inlineHTML(c)
			if strings.HasPrefix(c, "**") && strings.HasSuffix(c, "**") {
				cell = "<b>" + html.EscapeString(strings.Trim(c, "*")) + "</b>"
			}
			b.WriteString("<td" + cls + ">" + cell + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
	return b.String()
}

// svgBody strips the XML declaration so the SVG can sit inside HTML.
func svgBody(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s
}

// bestTrial returns, for an entry on a problem, the scored trial of the
// first evaluation seed (grid mode: there is one; external and self mode:
// the first study's trial with the best final metric), and its result.
func bestTrial(sum *Summary, out *Outcome, entry string, p Problem) (Trial, TrialResult, bool) {
	var bt Trial
	var br TrialResult
	bestG := math.Inf(-1)
	found := false
	for _, tr := range out.Trials {
		if tr.Entry != entry || tr.Workload != p.Workload || tr.Budget != p.Budget || tr.Study != 0 || tr.selection() {
			continue
		}
		r, ok := out.Results[tr.Key]
		if !ok {
			continue
		}
		g := goodness(float64(r.FinalMetric), tr.Higher)
		if !found || g > bestG {
			bt, br, bestG, found = tr, r, g, true
		}
	}
	return bt, br, found
}

// largestBudget is a workload's largest budget.
func largestBudget(s *Study, w string) float64 {
	b := 0.0
	for _, x := range s.budgetsOf(w) {
		b = math.Max(b, x)
	}
	return b
}

func scheduleChart(sum *Summary, out *Outcome) ([]byte, error) {
	p := Problem{sum.Study.Workloads[0], largestBudget(sum.Study, sum.Study.Workloads[0])}
	var series []plot.Series
	for _, e := range sum.Entries {
		_, r, ok := bestTrial(sum, out, e, p)
		if !ok || len(r.LR) == 0 {
			continue
		}
		s := plot.Series{Name: e}
		for i, st := range r.LRSteps {
			s.X = append(s.X, float64(st))
			s.Y = append(s.Y, r.LR[i])
		}
		series = append(series, s)
	}
	if len(series) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	c := plot.Chart{Title: "Schedules on " + p.String() + " (first evaluation seed)", XLabel: "step", YLabel: "learning rate"}
	if err := c.Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("bench: schedule chart: %w", err)
	}
	return b.Bytes(), nil
}

func curveChart(sum *Summary, out *Outcome, w string) ([]byte, error) {
	p := Problem{w, largestBudget(sum.Study, w)}
	var series []plot.Series
	metric := "validation metric"
	for _, e := range sum.Entries {
		_, r, ok := bestTrial(sum, out, e, p)
		if !ok {
			continue
		}
		s := plot.Series{Name: e}
		for _, ev := range r.Evals {
			if math.IsNaN(float64(ev.Metric)) || math.IsInf(float64(ev.Metric), 0) {
				continue
			}
			s.X = append(s.X, float64(ev.Step))
			s.Y = append(s.Y, float64(ev.Metric))
		}
		if len(s.X) > 0 {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	c := plot.Chart{Title: "Validation on " + p.String() + " (first evaluation seed)", XLabel: "step", YLabel: metric}
	if err := c.Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("bench: curve chart: %w", err)
	}
	return b.Bytes(), nil
}

func profileChart(sum *Summary) ([]byte, error) {
	var series []plot.Series
	const n = 121
	for _, e := range sum.Entries {
		ratios := make([]float64, 0, len(sum.Scored))
		for _, p := range sum.Scored {
			r := math.Inf(1)
			if c := sum.Cells[e][p]; c != nil {
				r = c.Ratio
			}
			ratios = append(ratios, r)
		}
		s := plot.Series{Name: e}
		for i := 0; i < n; i++ {
			tau := 1 + (RatioMax-1)*float64(i)/float64(n-1)
			s.X = append(s.X, tau)
			s.Y = append(s.Y, Profile(ratios, len(sum.Scored), tau))
		}
		series = append(series, s)
	}
	var b bytes.Buffer
	c := plot.Chart{Title: "Performance profiles (problems that discriminate)", XLabel: "performance ratio τ", YLabel: "fraction of problems with ratio ≤ τ"}
	if err := c.Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("bench: profile chart: %w", err)
	}
	return b.Bytes(), nil
}

// ratioHeatmap shows, per schedule and budget, the geometric mean over
// workloads of the performance ratio, among workloads the schedule reached
// (grey: none reached).
func ratioHeatmap(sum *Summary) ([]byte, error) {
	g := plot.Grid{Rows: sum.Entries}
	budgets := sum.Study.AllBudgets()
	for _, b := range budgets {
		g.Cols = append(g.Cols, fmt.Sprintf("budget %g", b))
	}
	for _, e := range sum.Entries {
		row := make([]float64, len(budgets))
		for j, b := range budgets {
			lsum, n := 0.0, 0
			for _, w := range sum.Study.Workloads {
				if c := sum.Cells[e][Problem{w, b}]; c != nil && !math.IsInf(c.Ratio, 1) && !math.IsNaN(c.Ratio) {
					lsum += math.Log(c.Ratio)
					n++
				}
			}
			row[j] = math.NaN()
			if n > 0 {
				row[j] = math.Exp(lsum / float64(n))
			}
		}
		g.Values = append(g.Values, row)
	}
	var buf bytes.Buffer
	c := plot.Chart{Title: "Performance ratio (geometric mean over workloads reached; 1 = fastest)", XLabel: "budget (fraction of step hint)", YLabel: "schedule"}
	if err := c.Heatmap(&buf, "svg", g); err != nil {
		return nil, fmt.Errorf("bench: ratio heat map: %w", err)
	}
	return buf.Bytes(), nil
}

// resultsCSV writes one row per trial, with its problem's target and
// whether the problem was scored.
func resultsCSV(sum *Summary, out *Outcome) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"key", "workload", "schedule", "spec", "budget", "steps", "seed", "role", "study", "point", "grid", "peak", "warmup",
		"target", "target_source", "scored", "final_metric", "steps_to_target", "seconds_to_target", "train_seconds", "extra_steps", "diverged", "status"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, tr := range out.Trials {
		r, ok := out.Results[tr.Key]
		status := "done"
		if !ok {
			status = "missing"
			if _, failed := out.Failed[tr.Key]; failed {
				status = "failed"
			}
		}
		p := Problem{tr.Workload, tr.Budget}
		tg, hasTarget := sum.Targets[p]
		if !hasTarget {
			tg = Target{Value: tr.Target, Source: "workload"}
		}
		role := tr.Role
		if role == "" {
			role = "study"
		}
		row := []string{tr.Key, tr.Workload, tr.Entry, tr.Spec, f(tr.Budget), strconv.FormatInt(tr.Steps, 10), strconv.FormatInt(tr.Seed, 10), role,
			strconv.Itoa(tr.Study), strconv.Itoa(tr.Point), strconv.Itoa(tr.Grid), f(tr.Params["peak"]), f(tr.Params["warmup"]),
			f(tg.Value), tg.Source, strconv.FormatBool(sum.isScored(p))}
		if ok {
			row = append(row, f(float64(r.FinalMetric)), f(r.StepsToTarget(tg.Value, tr.Higher)), f(r.SecondsToTarget(tg.Value, tr.Higher)),
				f(r.TrainSeconds), strconv.FormatInt(r.ExtraSteps, 10), strconv.FormatBool(r.Diverged), status)
		} else {
			row = append(row, "", "", "", "", "", "", status)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// jsonNum is a float for results.json: NaN and infinities as null.
type jsonNum float64

func (n jsonNum) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// summaryJSON is the summary as data: the headline and recommendation,
// each problem's target and whether it was scored, each entry's
// comparison with the baseline and its chosen peaks, and the claims.
func summaryJSON(sum *Summary, when time.Time) ([]byte, error) {
	type problemJS struct {
		Problem      string  `json:"problem"`
		Workload     string  `json:"workload"`
		Budget       float64 `json:"budget"`
		Target       jsonNum `json:"target"`
		TargetSource string  `json:"target_source"`
		Scored       bool    `json:"scored"`
		Excluded     string  `json:"excluded,omitempty"`
		Higher       bool    `json:"higher_is_better"`
	}
	type cellJS struct {
		Problem    string    `json:"problem"`
		Peak       jsonNum   `json:"peak,omitempty"`
		Spec       string    `json:"spec,omitempty"`
		AtEdge     string    `json:"at_edge,omitempty"`
		NoPeak     string    `json:"no_peak,omitempty"` // why the tuning chose no peak
		ReusedFrom float64   `json:"reused_from,omitempty"`
		Steps      []jsonNum `json:"steps_to_target"`
		Final      []jsonNum `json:"final_metric"`
		Area       jsonNum   `json:"lr_area"`
	}
	type entryJS struct {
		Name      string   `json:"name"`
		Speedup   jsonNum  `json:"speedup,omitempty"`
		Low       jsonNum  `json:"speedup_low,omitempty"`
		High      jsonNum  `json:"speedup_high,omitempty"`
		Verdict   string   `json:"verdict,omitempty"`
		FinalDiff jsonNum  `json:"final_diff,omitempty"`
		Area      jsonNum  `json:"lr_area"`
		Compute   jsonNum  `json:"compute"`
		Score     jsonNum  `json:"score"`
		Cells     []cellJS `json:"cells"`
	}
	type claimJS struct {
		Claim   string `json:"claim"`
		Test    string `json:"test"`
		Verdict string `json:"answer"`
	}
	doc := struct {
		Study       string      `json:"study"`
		Produced    string      `json:"produced"`
		Headline    string      `json:"headline"`
		Recommended string      `json:"recommended"`
		Baseline    string      `json:"baseline"`
		Level       float64     `json:"level"`
		Margin      float64     `json:"margin"`
		Censor      float64     `json:"censor"`
		Problems    []problemJS `json:"problems"`
		Entries     []entryJS   `json:"entries"`
		Claims      []claimJS   `json:"claims"`
		// The pruner's figures: live (tuning.prune) and replayed.
		Pruning     []pruneJS `json:"pruning,omitempty"`
		PruneReplay []pruneJS `json:"prune_replay,omitempty"`
	}{Study: sum.Study.Name, Produced: when.UTC().Format(time.RFC3339), Headline: sum.Headline, Recommended: sum.Recommended,
		Baseline: sum.Study.Baseline, Level: Level, Margin: sum.Study.Margin(), Censor: Censor}
	reason := map[Problem]string{}
	for _, x := range sum.Excluded {
		reason[x.Problem] = x.Reason
	}
	for _, p := range sum.Problems {
		tg := sum.Targets[p]
		doc.Problems = append(doc.Problems, problemJS{p.String(), p.Workload, p.Budget, jsonNum(tg.Value), tg.Source, sum.isScored(p), reason[p], sum.Higher[p.Workload]})
	}
	for _, e := range sum.Entries {
		ej := entryJS{Name: e, Area: jsonNum(sum.Area[e]), Compute: jsonNum(sum.Compute[e]), Score: jsonNum(sum.Score[e])}
		if c := sum.Compare[e]; c != nil {
			ej.Speedup, ej.Low, ej.High, ej.Verdict, ej.FinalDiff = jsonNum(c.Speedup), jsonNum(c.Low), jsonNum(c.High), c.Verdict, jsonNum(c.FinalDiff)
		}
		if !sum.hasResults(e) {
			nan := jsonNum(math.NaN())
			ej.Speedup, ej.Low, ej.High, ej.FinalDiff, ej.Score = nan, nan, nan, nan, nan
			ej.Verdict = sum.noResultsVerdict(e)
		}
		for _, p := range sum.Problems {
			c := sum.Cells[e][p]
			if np := sum.noPeakCell(e, p); c == nil && np != nil {
				ej.Cells = append(ej.Cells, cellJS{Problem: p.String(), NoPeak: "every selection run failed", ReusedFrom: np.ReusedFrom, Area: jsonNum(math.NaN())})
				continue
			}
			if c == nil {
				continue
			}
			cj := cellJS{Problem: p.String(), Peak: jsonNum(c.Peak), Spec: c.Spec, Area: jsonNum(c.Area)}
			if c.Tuning != nil {
				cj.ReusedFrom = c.Tuning.ReusedFrom
				if c.Tuning.AtEdge {
					cj.AtEdge = c.Tuning.Edge
				}
			}
			for _, r := range c.Runs {
				if r.OK {
					cj.Steps = append(cj.Steps, jsonNum(r.Steps))
					cj.Final = append(cj.Final, jsonNum(r.Final))
				}
			}
			ej.Cells = append(ej.Cells, cj)
		}
		doc.Entries = append(doc.Entries, ej)
	}
	for _, c := range sum.Claims {
		doc.Claims = append(doc.Claims, claimJS{c.Text, c.Test, c.Verdict})
	}
	toJS := func(rows []PruneRow) []pruneJS {
		var out []pruneJS
		for _, r := range rows {
			out = append(out, pruneJS{r.Workload, r.Cells, r.Points, r.Pruned, r.StepsRun, r.StepsFull, jsonNum(r.Saved), r.WinnerStopped, r.Near, jsonNum(r.Regret)})
		}
		return out
	}
	doc.Pruning, doc.PruneReplay = toJS(sum.Pruning), toJS(sum.PruneReplay)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bench: results.json: %w", err)
	}
	return append(b, '\n'), nil
}

// pruneJS is a PruneRow in results.json.
type pruneJS struct {
	Workload      string  `json:"workload"`
	Groups        int     `json:"groups"`
	Points        int     `json:"points"`
	Pruned        int     `json:"pruned"`
	StepsRun      int64   `json:"steps_run"`
	StepsFull     int64   `json:"steps_full"`
	Saved         jsonNum `json:"saved"`
	WinnerStopped int     `json:"winner_stopped"`
	Near          int     `json:"near_best_stopped"`
	Regret        jsonNum `json:"regret"`
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// livePruneTable is the pruner's selection compute in a pruned study.
func livePruneTable(sum *Summary) table {
	pol, _ := sum.Study.Tuning.Prune.policy()
	t := table{title: "Pruning",
		note: fmt.Sprintf("The grid's points trained probes (the first %g%% of the budget); the pruner (rule %s, checkpoints %v, z = %g, keep %d) "+
			"stopped the points listed as pruned, and only the others were trained to the end. \"steps\" are the selection runs' training steps, "+
			"probes included, against every point's full runs. Whether a stopped point would have won cannot be known from this study: "+
			"its full run was never trained; the replay on an unpruned study measures that (docs/papers.md §1).\n",
			100*sum.Study.pruneFraction(), pol.Rule.Name, pol.Checkpoints, pol.Z, pol.Keep),
		head: []string{"workload", "cells", "grid points", "pruned", "cells not judged", "steps", "steps without pruning", "saved"}}
	var notes []string
	for _, r := range sum.Pruning {
		t.rows = append(t.rows, []string{r.Workload, strconv.Itoa(r.Cells), strconv.Itoa(r.Points), strconv.Itoa(r.Pruned), strconv.Itoa(r.Unjudged),
			strconv.FormatInt(r.StepsRun, 10), strconv.FormatInt(r.StepsFull, 10), fmt.Sprintf("%.0f%%", 100*r.Saved)})
		notes = append(notes, r.Notes...)
	}
	if len(notes) > 0 {
		t.note = strings.TrimSuffix(t.note, "\n") + " Cells the pruner could not judge (every point trained): " + strings.Join(notes, "; ") + ".\n"
	}
	return t
}

// replayPruneTable is the default pruner replayed on the finished
// selection runs.
func replayPruneTable(sum *Summary) table {
	t := table{title: "Pruning, replayed on the selection runs",
		note: fmt.Sprintf("What the default pruner (early.DefaultPolicy: rank by the training loss averaged over the 5%% of the budget before 10%%, 20%% and 30%% "+
			"of it, stop a point more than 2 standard errors behind the best, keep the best) would have done to each grid (one group per cell and selection seed), "+
			"replayed on the full runs as if they ran in lockstep. \"chosen peak stopped\": groups where the point the tuning chose "+
			"(with one selection seed, the group's best final metric) would have been stopped; \"near-best stopped\": stopped points within %g of the best final metric; "+
			"regret: the mean loss of final metric from picking the best survivor instead (metric units, positive is worse). Pruning is off by default "+
			"(tuning.prune turns it on).\n", PruneTol),
		head: []string{"workload", "groups", "grid points", "would stop", "compute saved", "chosen peak stopped", "near-best stopped", "regret"}}
	for _, r := range sum.PruneReplay {
		t.rows = append(t.rows, []string{r.Workload, strconv.Itoa(r.Cells), strconv.Itoa(r.Points), strconv.Itoa(r.Pruned),
			fmt.Sprintf("%.0f%%", 100*r.Saved), fmt.Sprintf("%d of %d", r.WinnerStopped, r.Cells), strconv.Itoa(r.Near), fmt.Sprintf("%.4f", r.Regret)})
	}
	return t
}
