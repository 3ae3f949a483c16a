package fed

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lrkit/lrkit/internal/safefile"
	"github.com/lrkit/lrkit/plot"
)

// Report is a study's report: report.md, the SVG figures it shows and
// claims.csv, by file name.
type Report struct {
	Files  map[string][]byte
	Claims []ClaimResult
}

// ClaimResult is one paper claim tested on one data set.
type ClaimResult struct {
	Claim   string // the paper's claim, with its source
	Dataset string
	Test    string // what was compared, and how
	Metric  string // "speed-up" (×, geometric mean) or "Δ accuracy (pp)"
	Pairs   int    // evaluation seeds compared
	Effect  float64
	Lo, Hi  float64 // 95% interval of Effect
	Note    string  // censoring and other caveats
	Verdict string  // holds, does not hold, inconclusive, or why not tested
}

// Write writes the report's files into dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range sortedFiles(r.Files) {
		if err := safefile.WriteAtomic(filepath.Join(dir, name), r.Files[name]); err != nil {
			return err
		}
	}
	return nil
}

func sortedFiles(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// reporter holds what the tables and figures share.
type reporter struct {
	oc *Outcome
	s  *Study
}

// evalRuns returns the evaluation histories of a method on a data set at
// a rule and rate, in the order of the evaluation seeds (nil entries for
// missing runs).
func (rp *reporter) evalRuns(dataset string, m Method, rule string, lr float64) []*History {
	out := make([]*History, len(rp.s.Seeds.Eval))
	for i, seed := range rp.s.Seeds.Eval {
		if r := rp.oc.Records[newJob(rp.s, PhaseEval, dataset, m, rule, lr, seed).key]; r != nil {
			out[i] = r.History
		}
	}
	return out
}

func (rp *reporter) method(algorithm string) (Method, bool) {
	i := slices.IndexFunc(rp.s.Methods, func(m Method) bool { return m.Algorithm == algorithm })
	if i < 0 {
		return Method{}, false
	}
	return rp.s.Methods[i], true
}

func (rp *reporter) methodNamed(name string) Method {
	return rp.s.Methods[slices.IndexFunc(rp.s.Methods, func(m Method) bool { return m.Name == name })]
}

// BuildReport renders a finished study. command is the command line that
// produced it, quoted in the report.
func BuildReport(oc *Outcome, command string, when time.Time) (*Report, error) {
	rp := &reporter{oc: oc, s: oc.Study}
	s := rp.s
	rep := &Report{Files: map[string][]byte{}}
	var figs []string
	addFig := func(name, title string, b []byte) {
		rep.Files[name] = b
		figs = append(figs, fmt.Sprintf("![%s](%s)", title, name))
	}
	for _, d := range s.Datasets {
		for _, f := range []struct {
			file, title, xlabel string
			byTime              bool
		}{
			{d + "-time.svg", "Accuracy against virtual time on " + d + " (each method at its tuned rate, mean of the evaluation seeds)", "virtual time (s)", true},
			{d + "-rounds.svg", "Accuracy against client rounds on " + d + " (client updates ÷ clients; mean of the evaluation seeds)", "client rounds (updates ÷ clients)", false},
		} {
			var series []plot.Series
			for _, m := range s.Methods {
				hs := rp.evalRuns(d, m, RuleNone, oc.Choices[d][m.Name].LR)
				if sr, ok := meanCurve(m.Name, hs, f.byTime, s.Budget, float64(s.Clients)); ok {
					series = append(series, sr)
				}
			}
			if b, err := chart(f.title, f.xlabel, series); err != nil {
				return nil, err
			} else if b != nil {
				addFig(f.file, f.title, b)
			}
		}
		if h := s.FedHyper; h != nil {
			base := rp.methodNamed(h.Baseline)
			good, poor := s.hyperRates(oc.Choices[d])
			for _, v := range []struct {
				name string
				lr   float64
			}{{"good", good}, {"poor", poor}} {
				for _, byTime := range []bool{false, true} {
					series := []plot.Series{}
					if sr, ok := meanCurve(fmt.Sprintf("fedavg (η=%g)", v.lr), rp.evalRuns(d, base, RuleNone, v.lr), byTime, s.Budget, float64(s.Clients)); ok {
						series = append(series, sr)
					}
					for _, r := range h.Rules {
						if sr, ok := meanCurve(r, rp.evalRuns(d, base, r, v.lr), byTime, s.Budget, float64(s.Clients)); ok {
							series = append(series, sr)
						}
					}
					axis, xlabel, file := "rounds", "rounds", fmt.Sprintf("%s-fedhyper-%s.svg", d, v.name)
					if byTime {
						axis, xlabel, file = "virtual time", "virtual time (s)", fmt.Sprintf("%s-fedhyper-%s-time.svg", d, v.name)
					}
					title := fmt.Sprintf("FedHyper on %s at the %s initial rate %g: accuracy against %s (mean of the evaluation seeds)", d, v.name, v.lr, axis)
					if b, err := chart(title, xlabel, series); err != nil {
						return nil, err
					} else if b != nil {
						addFig(file, title, b)
					}
				}
			}
		}
	}
	rep.Claims = rp.claims()

	var md bytes.Buffer
	fmt.Fprintf(&md, "# Federated study: %s\n\n", s.Name)
	nsel, neval := 0, 0
	for _, r := range oc.Records {
		if r.Phase == PhaseSelect {
			nsel++
		} else {
			neval++
		}
	}
	fmt.Fprintf(&md, "Produced by `%s` on %s: %d runs (%d selection, %d evaluation). Accuracy is on %s of the test set; times are virtual seconds of the simulated devices, not this machine's.\n\n",
		command, when.UTC().Format("2006-01-02 15:04 UTC"), nsel+neval, nsel, neval, evalSetText(s))
	md.WriteString("## Setup\n\n")
	md.WriteString(markdownTable([]string{"knob", "value"}, rp.setupRows()))
	md.WriteString("\n## Claims\n\n")
	md.WriteString("Each row pairs runs by evaluation seed (same partition, initial model, device speeds and data order). A speed-up is the geometric mean over seeds of the baseline's time (or rounds) to the target divided by the favoured method's, with a 95% t-interval on the log scale; an accuracy gain is the mean paired difference of final accuracy in percentage points with a 95% t-interval. The verdict is *holds* when the interval lies on the claimed side of no effect, *does not hold* when it lies on the other side, and *inconclusive* otherwise. A run that never reached the target counts with the whole budget, which only bounds its time; a verdict that would rest on such a bound is *inconclusive*.\n\n")
	var rows [][]string
	for _, c := range rep.Claims {
		rows = append(rows, []string{c.Claim, c.Dataset, c.Test, c.Metric, fmt.Sprint(c.Pairs), effectText(c), c.Verdict, c.Note})
	}
	md.WriteString(markdownTable([]string{"claim", "data set", "comparison", "metric", "pairs", "effect [95% CI]", "verdict", "note"}, rows))
	md.WriteString("\n## Methods at their tuned rates\n\n")
	md.WriteString("Evaluation seeds only. Time and rounds to the target are means over the seeds that reached it.\n\n")
	md.WriteString(markdownTable([]string{"data set", "method", "rate", "final accuracy [95% CI]", "reached target", "virtual time to target", "client rounds to target", "aggregations", "mean staleness"}, rp.methodRows()))
	if s.FedHyper != nil {
		md.WriteString("\n## FedHyper against FedAvg\n\n")
		md.WriteString(markdownTable([]string{"data set", "rule", "initial rate", "final accuracy [95% CI]", "reached target", "rounds to target", "final a", "final client rate"}, rp.hyperRows()))
	}
	md.WriteString("\n## Rate selection\n\n")
	md.WriteString("Selection seeds only: the mean virtual time to the target (the budget when not reached) and the mean final accuracy of each rate; the chosen rate is the fastest (ties: the more accurate). *edge* marks a choice at the end of the grid.\n\n")
	md.WriteString(markdownTable([]string{"data set", "method", "rate", "time to target", "reached", "final accuracy", "chosen"}, rp.selectionRows()))
	md.WriteString("\n## Figures\n\n")
	for _, f := range figs {
		md.WriteString(f + "\n\n")
	}
	rep.Files["report.md"] = md.Bytes()

	var csv bytes.Buffer
	csv.WriteString("claim,dataset,test,metric,pairs,effect,lo,hi,verdict,note\n")
	for _, c := range rep.Claims {
		fmt.Fprintf(&csv, "%q,%s,%q,%q,%d,%g,%g,%g,%q,%q\n", c.Claim, c.Dataset, c.Test, c.Metric, c.Pairs, c.Effect, c.Lo, c.Hi, c.Verdict, c.Note)
	}
	rep.Files["claims.csv"] = csv.Bytes()
	return rep, nil
}

func evalText(s *Study) string {
	t := fmt.Sprintf("every %g virtual s", s.Eval.Every)
	switch {
	case s.Eval.Rounds == 1:
		t += " and after every FedAvg round"
	case s.Eval.Rounds > 1:
		t += fmt.Sprintf(" and every %d FedAvg rounds", s.Eval.Rounds)
	}
	return t + ", on " + evalSetText(s) + " of the test set"
}

func evalSetText(s *Study) string {
	if s.Eval.Examples > 0 {
		return fmt.Sprintf("a fixed random %d examples", s.Eval.Examples)
	}
	return "all"
}

func (rp *reporter) setupRows() [][]string {
	s := rp.s
	sp := s.Speeds
	speeds := sp.Dist + fmt.Sprintf(" mean %g", sp.Mean)
	switch sp.Dist {
	case "lognormal":
		speeds += fmt.Sprintf(", σ %g", sp.Sigma)
	case "uniform":
		speeds = fmt.Sprintf("uniform [%g, %g]", sp.Min, sp.Max)
	}
	speeds += fmt.Sprintf(" virtual s per step; per-round jitter %g", sp.Jitter)
	rows := [][]string{
		{"data sets (targets)", func() string {
			var p []string
			for _, d := range s.Datasets {
				p = append(p, fmt.Sprintf("%s (%g)", d, s.Targets[d]))
			}
			return strings.Join(p, ", ")
		}()},
		{"clients, partition", fmt.Sprintf("%d, Dirichlet α = %g (at least %d examples each)", s.Clients, s.Dirichlet, s.MinShard)},
		{"model, local optimizer, batch", fmt.Sprintf("%s, %s (fresh each round), %d", s.Model, s.Optimizer, s.Batch)},
		{"local steps", fmt.Sprint(s.LocalSteps)},
		{"client weights", s.Weights},
		{"device speeds", speeds},
		{"budget", fmt.Sprintf("%g virtual s per run", s.Budget)},
		{"evaluation", evalText(s)},
		{"selection seeds", fmt.Sprint(s.Seeds.Select)},
		{"evaluation seeds", fmt.Sprint(s.Seeds.Eval)},
	}
	for _, m := range s.Methods {
		var knobs string
		switch m.Algorithm {
		case FedAvg:
			knobs = "synchronous; server rate 1"
			if m.Fraction > 0 && m.Fraction < 1 {
				knobs += fmt.Sprintf("; fraction %g", m.Fraction)
			}
		case FedAsync:
			knobs = fmt.Sprintf("α %g, staleness %s", m.Alpha, m.Staleness)
		case FedBuff:
			knobs = fmt.Sprintf("α %g, staleness %s, buffer K = %d", m.Alpha, m.Staleness, m.Buffer)
		case FedCompass:
			knobs = fmt.Sprintf("α %g, staleness %s, Q_min %d, Q_max %d, λ %g, speed momentum %g", m.Alpha, m.Staleness, m.QMin, s.LocalSteps, m.Lambda, m.SpeedMomentum)
		}
		rows = append(rows, []string{"method " + m.Name, fmt.Sprintf("%s: %s; rates searched %v", m.Algorithm, knobs, m.LRs)})
	}
	if h := s.FedHyper; h != nil {
		rows = append(rows, []string{"FedHyper", fmt.Sprintf("%s on %s at its tuned rate (good) and ×%g (poor)", strings.Join(h.Rules, ", "), h.Baseline, h.Poor)})
	}
	return rows
}

// summary returns the seeds' final accuracies and times and rounds to the
// target of the histories present.
type summary struct {
	acc            []float64
	times, rounds  []float64 // of the runs that reached the target
	n, reached     int
	aggs, staleSum float64
	finalA, lrSum  float64
}

func summarize(hs []*History, target, clients float64) summary {
	var sm summary
	for _, h := range hs {
		if h == nil {
			continue
		}
		sm.n++
		f := h.Final()
		sm.acc = append(sm.acc, f.Accuracy)
		sm.aggs += float64(h.Aggregations)
		sm.staleSum += h.MeanStaleness
		sm.finalA += f.A
		sm.lrSum += f.ClientLR
		for _, p := range h.Points {
			if p.Accuracy >= target {
				sm.reached++
				sm.times = append(sm.times, p.Time)
				sm.rounds = append(sm.rounds, float64(p.Updates)/clients)
				break
			}
		}
	}
	return sm
}

func accText(xs []float64) string {
	m, lo, hi := tInterval(xs)
	if math.IsNaN(m) {
		return "–"
	}
	if math.IsNaN(lo) {
		return fmt.Sprintf("%.2f%%", 100*m)
	}
	return fmt.Sprintf("%.2f%% [%.2f, %.2f]", 100*m, 100*lo, 100*hi)
}

func meanText(xs []float64, format string) string {
	if len(xs) == 0 {
		return "–"
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return fmt.Sprintf(format, s/float64(len(xs)))
}

func (rp *reporter) methodRows() [][]string {
	var rows [][]string
	s := rp.s
	for _, d := range s.Datasets {
		for _, m := range s.Methods {
			ch := rp.oc.Choices[d][m.Name]
			sm := summarize(rp.evalRuns(d, m, RuleNone, ch.LR), s.Targets[d], float64(s.Clients))
			rate := fmt.Sprintf("%g", ch.LR)
			if ch.Edge {
				rate += " (edge)"
			}
			rows = append(rows, []string{d, m.Name, rate, accText(sm.acc), fmt.Sprintf("%d/%d", sm.reached, sm.n),
				meanText(sm.times, "%.0f s"), meanText(sm.rounds, "%.1f"), fmt.Sprintf("%.0f", sm.aggs/float64(max(1, sm.n))),
				fmt.Sprintf("%.2f", sm.staleSum/float64(max(1, sm.n)))})
		}
	}
	return rows
}

func (rp *reporter) hyperRows() [][]string {
	var rows [][]string
	s := rp.s
	h := s.FedHyper
	base := rp.methodNamed(h.Baseline)
	for _, d := range s.Datasets {
		good, poor := s.hyperRates(rp.oc.Choices[d])
		for _, v := range []struct {
			name string
			lr   float64
		}{{"good", good}, {"poor", poor}} {
			for _, r := range append([]string{RuleNone}, h.Rules...) {
				name := r
				if r == RuleNone {
					name = "fedavg"
				}
				hs := rp.evalRuns(d, base, r, v.lr)
				sm := summarize(hs, s.Targets[d], 1)
				var rounds []float64
				for _, hh := range hs {
					if hh == nil {
						continue
					}
					if k, ok := roundsToTarget(hh, s.Targets[d]); ok {
						rounds = append(rounds, k)
					}
				}
				n := float64(max(1, sm.n))
				a := "–"
				if r != RuleNone && r != RuleCL {
					a = fmt.Sprintf("%.3f", sm.finalA/n)
				}
				rows = append(rows, []string{d, name, fmt.Sprintf("%g (%s)", v.lr, v.name), accText(sm.acc),
					fmt.Sprintf("%d/%d", sm.reached, sm.n), meanText(rounds, "%.1f"), a, fmt.Sprintf("%.4g", sm.lrSum/n)})
			}
		}
	}
	return rows
}

func (rp *reporter) selectionRows() [][]string {
	var rows [][]string
	for _, d := range rp.s.Datasets {
		for _, m := range rp.s.Methods {
			ch := rp.oc.Choices[d][m.Name]
			for _, sc := range ch.Scores {
				mark := ""
				if sc.LR == ch.LR {
					mark = "✓"
					if ch.Edge {
						mark += " (edge)"
					}
				}
				rows = append(rows, []string{d, m.Name, fmt.Sprintf("%g", sc.LR), fmt.Sprintf("%.0f s", sc.Time),
					fmt.Sprintf("%d/%d", sc.Reached, sc.Seeds), fmt.Sprintf("%.2f%%", 100*sc.Accuracy), mark})
			}
		}
	}
	return rows
}

func effectText(c ClaimResult) string {
	if c.Pairs == 0 || math.IsNaN(c.Effect) {
		return "–"
	}
	if c.Metric == metricSpeedup {
		if math.IsNaN(c.Lo) {
			return fmt.Sprintf("%.2f×", c.Effect)
		}
		return fmt.Sprintf("%.2f× [%.2f, %.2f]", c.Effect, c.Lo, c.Hi)
	}
	if math.IsNaN(c.Lo) {
		return fmt.Sprintf("%+.2f", c.Effect)
	}
	return fmt.Sprintf("%+.2f [%+.2f, %+.2f]", c.Effect, c.Lo, c.Hi)
}

// meanCurve averages step-function accuracy curves of the runs present on
// a common grid of 101 points, by virtual time (to budget) or by client
// rounds (updates ÷ clients, to the smallest final count among the runs).
func meanCurve(name string, hs []*History, byTime bool, budget, clients float64) (plot.Series, bool) {
	var runs []*History
	for _, h := range hs {
		if h != nil {
			runs = append(runs, h)
		}
	}
	if len(runs) == 0 {
		return plot.Series{}, false
	}
	x := func(p Point) float64 {
		if byTime {
			return p.Time
		}
		return float64(p.Updates) / clients
	}
	end := budget
	if !byTime {
		end = math.Inf(1)
		for _, h := range runs {
			end = math.Min(end, x(h.Final()))
		}
	}
	if !(end > 0) {
		return plot.Series{}, false
	}
	const n = 101
	sr := plot.Series{Name: name, X: make([]float64, n), Y: make([]float64, n)}
	for k := range n {
		t := end * float64(k) / (n - 1)
		sr.X[k] = t
		var sum float64
		for _, h := range runs {
			acc := h.Points[0].Accuracy
			for _, p := range h.Points {
				if x(p) > t {
					break
				}
				acc = p.Accuracy
			}
			sum += acc
		}
		sr.Y[k] = 100 * sum / float64(len(runs))
	}
	return sr, true
}

func chart(title, xlabel string, series []plot.Series) ([]byte, error) {
	if len(series) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := (plot.Chart{Title: title, XLabel: xlabel, YLabel: "test accuracy (%)"}).Lines(&b, "svg", series...); err != nil {
		return nil, fmt.Errorf("fed report: %s: %w", title, err)
	}
	return b.Bytes(), nil
}

func markdownTable(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}
