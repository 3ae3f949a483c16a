package bench

import (
	"bytes"
	"encoding/csv"
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
		addFig("schedules.svg", "Learning rate of each schedule's best trial", b)
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

	rep.Recommendation = recommendation(sum)
	tables := reportTables(sum)
	var md bytes.Buffer
	fmt.Fprintf(&md, "# lrkit benchmark: %s\n\n", sum.Study.Name)
	fmt.Fprintf(&md, "Produced by `lrkit bench` on %s. %d trials", when.UTC().Format("2006-01-02 15:04 UTC"), len(out.Trials))
	fmt.Fprintf(&md, " (%d workloads × %d budgets × %d schedules × %d studies × tuning points)", len(sum.Study.Workloads), len(sum.Study.Budgets), len(sum.Entries), len(sum.Study.Seeds))
	if len(out.Failed) > 0 || sum.Missing > 0 {
		fmt.Fprintf(&md, "; %d failed, %d without a result", len(out.Failed), sum.Missing)
	}
	fmt.Fprintf(&md, ".\n\n**%s**\n\n", rep.Recommendation)
	md.WriteString(scoringNote)
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
.holds{color:#070}.fails{color:#a00}</style></head><body>` + "\n")
	fmt.Fprintf(&h, "<h1>lrkit benchmark: %s</h1>\n<p>Produced by <code>lrkit bench</code> on %s; %d trials.</p>\n",
		html.EscapeString(sum.Study.Name), when.UTC().Format("2006-01-02 15:04 UTC"), len(out.Trials))
	fmt.Fprintf(&h, "<p><strong>%s</strong></p>\n<p>%s</p>\n", html.EscapeString(rep.Recommendation), html.EscapeString(strings.TrimSpace(scoringNote)))
	for _, t := range tables {
		fmt.Fprintf(&h, "<h2>%s</h2>\n<p>%s</p>\n", html.EscapeString(t.title), html.EscapeString(strings.TrimSpace(t.note)))
		h.WriteString(htmlTable(t.head, t.rows))
	}
	h.WriteString("<h2>Figures</h2>\n")
	for _, f := range figs {
		fmt.Fprintf(&h, "<figure id=\"%s\">%s<figcaption>%s</figcaption></figure>\n", html.EscapeString(f.file), svgBody(rep.Files[f.file]), html.EscapeString(f.title))
	}
	h.WriteString("</body></html>\n")
	rep.Files["index.html"] = h.Bytes()

	csvData, err := resultsCSV(out)
	if err != nil {
		return nil, err
	}
	rep.Files["results.csv"] = csvData
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

const scoringNote = `Scoring follows AlgoPerf: a trial's time to target is the number of training steps at its first evaluation that reaches the workload's target; per problem (workload × budget) a schedule's time is the median over studies (seeds) of its fastest tuning trial; the performance ratio divides by the best schedule's time (∞ when not reached or more than 4× slower); the benchmark score is the area under the performance profile up to ratio 4, in [0, 1].

`

type table struct {
	title, note string
	head        []string
	rows        [][]string
}

func reportTables(sum *Summary) []table {
	var ts []table
	// Scores.
	t := table{title: "Benchmark score", note: fmt.Sprintf("Over %d problems. Speedup: geometric mean over the problems both reached of the baseline's (%s) steps to target divided by the schedule's. Compute: training steps spent per scored step (a refined schedule needs a first run whose gradient norms it is refined from; its steps to target do not count that run).\n", len(sum.Problems), sum.Study.Baseline),
		head: []string{"schedule", "score", "speedup over " + orDash(sum.Study.Baseline), "problems compared", "problems reached", "compute"}}
	order := append([]string(nil), sum.Entries...)
	sort.SliceStable(order, func(i, j int) bool { return sum.Score[order[i]] > sum.Score[order[j]] })
	for _, e := range order {
		reached := 0
		for _, p := range sum.Problems {
			if c := sum.Cells[e][p]; c != nil && !math.IsInf(c.Steps, 1) {
				reached++
			}
		}
		t.rows = append(t.rows, []string{e, fmt.Sprintf("%.3f", sum.Score[e]), speedupText(sum.Speedup[e]), strconv.Itoa(sum.SpeedupCounted[e]),
			fmt.Sprintf("%d/%d", reached, len(sum.Problems)), fmt.Sprintf("%.1f×", sum.Compute[e])})
	}
	ts = append(ts, t)
	// Steps to target.
	t = table{title: "Steps to target", note: "Median over studies of the best trial's steps to the target, and the performance ratio in brackets; — means not reached within the budget.\n",
		head: append([]string{"problem"}, sum.Entries...)}
	for _, p := range sum.Problems {
		row := []string{p.String()}
		for _, e := range sum.Entries {
			c := sum.Cells[e][p]
			switch {
			case c == nil:
				row = append(row, "n/a")
			case math.IsInf(c.Steps, 1):
				row = append(row, "—")
			default:
				row = append(row, fmt.Sprintf("%.0f (%s)", c.Steps, ratioText(c.Ratio)))
			}
		}
		t.rows = append(t.rows, row)
	}
	ts = append(ts, t)
	// Final metric.
	t = table{title: "Final validation metric", note: "Median over studies of the best trial's metric at the end of its budget (accuracy: higher is better; loss: lower is better). Bold: best on the problem.\n",
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
			case c == nil:
				row = append(row, "n/a")
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
	ts = append(ts, t)
	// Claims.
	t = table{title: "Reproduction of claims from the papers", note: "Effect: mean relative difference in the best final validation metric per problem and seed, positive when the claim's favoured schedule is better, ± its standard deviation; won/lost: the shares of pairs it won and lost (the rest tied). \"Matches or beats\" holds when the mean effect is not below minus one standard error; \"beats\" needs a positive mean and more pairs won than lost.\n",
		head: []string{"claim", "compared", "pairs", "effect", "won/lost", "verdict"}}
	for _, c := range sum.Claims {
		eff, wins := "—", "—"
		if c.Pairs > 0 {
			eff = fmt.Sprintf("%+.2f%% ± %.2f%%", 100*c.Effect, 100*c.Spread)
			wins = fmt.Sprintf("%.0f%%/%.0f%%", 100*c.Wins, 100*c.Losses)
		}
		t.rows = append(t.rows, []string{c.Text, c.Test, strconv.Itoa(c.Pairs), eff, wins, c.Verdict})
	}
	ts = append(ts, t)
	return ts
}

func recommendation(sum *Summary) string {
	best := sum.Best()
	if best == "" {
		return "No schedule has results yet."
	}
	base := sum.Study.Baseline
	s := fmt.Sprintf("lrkit recommends %s: benchmark score %.3f", best, sum.Score[best])
	if base != "" && best != base {
		s += fmt.Sprintf(" against %.3f for %s", sum.Score[base], base)
		if n := sum.SpeedupCounted[best]; n > 0 {
			s += fmt.Sprintf(", reaching the targets %s as fast as %s (geometric mean over %d problems)", speedupText(sum.Speedup[best]), base, n)
		}
	} else if best == base {
		s += fmt.Sprintf("; the baseline %s itself scored best", base)
	}
	s += "."
	if base != "" && best != base && sum.Score[best]-sum.Score[base] < 0.02 {
		s += " The margin is under 0.02 in score: within this study's resolution, the schedules tie."
	}
	return s
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
			case strings.HasPrefix(c, "holds"):
				cls = ` class="holds"`
			case strings.HasPrefix(c, "does not hold"):
				cls = ` class="fails"`
			}
			cell := html.EscapeString(c)
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

// bestTrial returns, for an entry on a problem, the trial of the first
// study with the best final metric, and its result.
func bestTrial(sum *Summary, out *Outcome, entry string, p Problem) (Trial, TrialResult, bool) {
	var bt Trial
	var br TrialResult
	bestG := math.Inf(-1)
	found := false
	for _, tr := range out.Trials {
		if tr.Entry != entry || tr.Workload != p.Workload || tr.Budget != p.Budget || tr.Study != 0 || tr.Role == "tune" {
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

func largestBudget(s *Study) float64 {
	b := 0.0
	for _, x := range s.Budgets {
		b = math.Max(b, x)
	}
	return b
}

func scheduleChart(sum *Summary, out *Outcome) ([]byte, error) {
	p := Problem{sum.Study.Workloads[0], largestBudget(sum.Study)}
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
	c := plot.Chart{Title: "Schedules (best trial on " + p.String() + ")", XLabel: "step", YLabel: "learning rate"}
	if err := c.Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("bench: schedule chart: %w", err)
	}
	return b.Bytes(), nil
}

func curveChart(sum *Summary, out *Outcome, w string) ([]byte, error) {
	p := Problem{w, largestBudget(sum.Study)}
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
	c := plot.Chart{Title: "Validation on " + p.String() + " (best trial of the first study)", XLabel: "step", YLabel: metric}
	if err := c.Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("bench: curve chart: %w", err)
	}
	return b.Bytes(), nil
}

func profileChart(sum *Summary) ([]byte, error) {
	var series []plot.Series
	const n = 121
	for _, e := range sum.Entries {
		ratios := make([]float64, 0, len(sum.Problems))
		for _, p := range sum.Problems {
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
			s.Y = append(s.Y, Profile(ratios, len(sum.Problems), tau))
		}
		series = append(series, s)
	}
	var b bytes.Buffer
	c := plot.Chart{Title: "Performance profiles", XLabel: "performance ratio τ", YLabel: "fraction of problems with ratio ≤ τ"}
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
	for _, b := range sum.Study.Budgets {
		g.Cols = append(g.Cols, fmt.Sprintf("budget %g", b))
	}
	for _, e := range sum.Entries {
		row := make([]float64, len(sum.Study.Budgets))
		for j, b := range sum.Study.Budgets {
			lsum, n := 0.0, 0
			for _, w := range sum.Study.Workloads {
				if c := sum.Cells[e][Problem{w, b}]; c != nil && !math.IsInf(c.Ratio, 1) {
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

func resultsCSV(out *Outcome) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"key", "workload", "schedule", "spec", "budget", "steps", "seed", "study", "point", "peak", "warmup",
		"final_metric", "steps_to_target", "seconds_to_target", "train_seconds", "diverged", "status"})
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
		row := []string{tr.Key, tr.Workload, tr.Entry, tr.Spec, f(tr.Budget), strconv.FormatInt(tr.Steps, 10), strconv.FormatInt(tr.Seed, 10),
			strconv.Itoa(tr.Study), strconv.Itoa(tr.Point), f(tr.Params["peak"]), f(tr.Params["warmup"])}
		if ok {
			row = append(row, f(float64(r.FinalMetric)), f(r.StepsToTarget(tr.Target, tr.Higher)), f(r.SecondsToTarget(tr.Target, tr.Higher)),
				f(r.TrainSeconds), strconv.FormatBool(r.Diverged), status)
		} else {
			row = append(row, "", "", "", "", "", status)
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
