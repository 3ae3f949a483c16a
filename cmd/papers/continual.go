package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload"
)

// Sizes of the continual study: MNIST for switchAt steps, then
// Fashion-MNIST for as many; evaluation on both every contEvery steps.
const (
	switchAt  = 300
	contTotal = 600
	contEvery = 50
	contWarm  = 30
)

// arm is one continual strategy: its schedule shape (peak 1) over the
// whole run, the replay fraction after the switch, and whether it starts
// on the mixture from step 0 (retraining from scratch).
type arm struct {
	name    string
	shape   func() schedule.Schedule
	replay  float64
	scratch bool
	tuneAs  string // the arm whose tuned peak it uses ("": itself)
}

func contArms() []arm {
	cosA := func() schedule.Schedule {
		return schedule.Warmup{Base: schedule.Cosine{Peak: 1, Floor: 0.1, Steps: switchAt - contWarm}, Steps: contWarm, Prefix: true}
	}
	rewarm := func() schedule.Schedule {
		return schedule.Join{Parts: []schedule.Schedule{cosA(),
			schedule.Warmup{Base: schedule.Cosine{Peak: 1, Floor: 0.1, Steps: contTotal - switchAt - contWarm}, Steps: contWarm, Start: 0.1, Prefix: true}}, At: []int64{switchAt}}
	}
	constLow := func() schedule.Schedule {
		return schedule.Join{Parts: []schedule.Schedule{cosA(), schedule.Constant{Peak: 0.1}}, At: []int64{switchAt}}
	}
	infinite := func() schedule.Schedule {
		return schedule.Infinite{Peak: 1, Level: 0.3, Floor: 0.01, Steps: contTotal, Warmup: schedule.Steps(contWarm),
			Cooldown: schedule.Steps(120), Anneal: schedule.Steps(60), Shape: "cosine", Alpha: 10}
	}
	wsd := func() schedule.Schedule {
		return schedule.WSD{Peak: 1, Steps: contTotal, Warmup: schedule.Steps(contWarm), Decay: schedule.Steps(60), Shape: "linear"}
	}
	scratch := func() schedule.Schedule {
		return schedule.Warmup{Base: schedule.Cosine{Peak: 1, Floor: 0.1, Steps: contTotal - contWarm}, Steps: contWarm, Prefix: true}
	}
	return []arm{
		{"rewarm-cosine", rewarm, 0, false, ""},
		{"constant-low", constLow, 0, false, ""},
		{"infinite", infinite, 0, false, ""},
		{"wsd-continue", wsd, 0, false, ""},
		{"rewarm-cosine+replay", rewarm, 0.25, false, "rewarm-cosine"},
		{"constant-low+replay", constLow, 0.25, false, "constant-low"},
		{"infinite+replay", infinite, 0.25, false, "infinite"},
		{"wsd-continue+replay", wsd, 0.25, false, "wsd-continue"},
		{"scratch-mixture", scratch, 0.5, true, ""},
	}
}

// evalRow is both tasks' validation at one step.
type evalRow struct {
	step                             int64
	oldLoss, oldAcc, newLoss, newAcc float64
}

var contPeaks = []float64{3e-4, 1e-3, 3e-3}

// contPair is a continual workload of the study: its names, metric and
// builder, and where its section goes.
type contPair struct {
	key, old, new, metric string
	lower                 bool // the metric is a loss
	peaks                 []float64
	build                 func(o workload.ContinualOptions) (*workload.Workload, error)
	doc, prefix, heading  string
}

var contPairs = []contPair{
	{"mnist-fashion", "MNIST", "Fashion-MNIST", "accuracy", false, contPeaks, workload.ContinualMNISTFashion,
		"continual.md", "continual", "## 2. Continual training across a data shift"},
	{"kjv", "Old Testament", "New Testament", "loss (nats/char)", true, []float64{1e-3, 3e-3, 1e-2},
		func(o workload.ContinualOptions) (*workload.Workload, error) {
			return workload.ContinualKJV(o, workload.GPTConfig{Context: 64, Dim: 48, Heads: 4, Layers: 2, FFN: 192}, 16)
		}, "continual-kjv.md", "continual-kjv", "### The same strategies on kjv-gpt, Old Testament then New"},
}

const contSelectSeed = 100

func runContinual(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("continual", flag.ContinueOnError)
	out := fs.String("out", "out/papers/continual", "run logs")
	doc := fs.String("doc", "docs/papers", "where continual.md and the figures go")
	seeds := fs.Int("seeds", 5, "evaluation seeds (1..n)")
	pairKey := fs.String("pair", "mnist-fashion", "mnist-fashion or kjv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var pair contPair
	for _, p := range contPairs {
		if p.key == *pairKey {
			pair = p
		}
	}
	if pair.build == nil {
		return fmt.Errorf("-pair %q: want mnist-fashion or kjv", *pairKey)
	}
	sign := 1.0
	if pair.lower {
		sign = -1
	}
	tuned := map[string]float64{}
	sel := map[string][][2]float64{}
	for _, a := range contArms() {
		if a.tuneAs != "" {
			continue
		}
		best, tried, err := tunePeak(pair.peaks, 3, func(p float64) (float64, error) {
			rows, err := contRun(ctx, pair, a, p, contSelectSeed, *out)
			if err != nil {
				return 0, err
			}
			last := rows[len(rows)-1]
			return sign * (last.oldAcc + last.newAcc) / 2, nil
		})
		if err != nil {
			return err
		}
		tuned[a.name], sel[a.name] = best, tried
	}
	results := map[string][][]evalRow{}
	for _, a := range contArms() {
		p := tuned[a.name]
		if a.tuneAs != "" {
			p = tuned[a.tuneAs]
		}
		for s := 1; s <= *seeds; s++ {
			rows, err := contRun(ctx, pair, a, p, uint64(s), *out)
			if err != nil {
				return err
			}
			results[a.name] = append(results[a.name], rows)
		}
	}
	return contReport(*doc, pair, tuned, sel, results)
}

// contRun trains one arm at one peak and seed (or reads its evaluations).
func contRun(ctx context.Context, pair contPair, a arm, peak float64, seed uint64, out string) ([]evalRow, error) {
	sw := int64(switchAt)
	if a.scratch {
		sw = 0
	}
	w, err := pair.build(workload.ContinualOptions{SwitchAt: sw, Replay: a.replay})
	if err != nil {
		return nil, err
	}
	base := filepath.Join(out, a.name, fmt.Sprintf("p%s-s%d", peakName(peak), seed))
	evalPath := base + ".eval.csv"
	var rows []evalRow
	j := job{w: w, shape: a.shape(), peak: peak, steps: contTotal, seed: seed, every: contEvery, log: base + ".csv",
		config: func(cfg *train.Config, s *workload.Setup) error {
			ph := s.Data.(*workload.Phases)
			cfg.Validate = func(ctx context.Context, m nn.Layer) (float64, float64, error) {
				ol, oa, err := ph.Validators[0](ctx, m)
				if err != nil {
					return 0, 0, err
				}
				nl, na, err := ph.Validators[1](ctx, m)
				if err != nil {
					return 0, 0, err
				}
				rows = append(rows, evalRow{int64(len(rows)+1) * contEvery, ol, oa, nl, na})
				return nl, na, nil
			}
			return nil
		},
		after: func() error { return writeEval(evalPath, rows) },
	}
	if _, err := j.run(ctx); err != nil {
		return nil, err
	}
	return readEval(evalPath)
}

func writeEval(path string, rows []evalRow) error {
	out := [][]string{{"step", "old_loss", "old_acc", "new_loss", "new_acc"}}
	for _, r := range rows {
		out = append(out, []string{strconv.FormatInt(r.step, 10), fmt.Sprint(r.oldLoss), fmt.Sprint(r.oldAcc), fmt.Sprint(r.newLoss), fmt.Sprint(r.newAcc)})
	}
	return writeCSV(path, out)
}

func readEval(path string) ([]evalRow, error) {
	var rows []evalRow
	err := readFloatCSV(path, []int{0, 1, 2, 3, 4}, func(v []float64, _ []string) {
		rows = append(rows, evalRow{int64(v[0]), v[1], v[2], v[3], v[4]})
	})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no evaluations", path)
	}
	return rows, nil
}

// tInterval returns the mean of xs and its 95% t interval.
func tInterval(xs []float64) (float64, [2]float64) {
	n := float64(len(xs))
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= n
	if len(xs) < 2 {
		return m, [2]float64{math.NaN(), math.NaN()}
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	h := tQuantile975(len(xs)-1) * math.Sqrt(ss/(n-1)/n)
	return m, [2]float64{m - h, m + h}
}

// tQuantile975 is Student's t 97.5% quantile for df degrees of freedom.
func tQuantile975(df int) float64 {
	table := []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228}
	if df < len(table) {
		return table[df]
	}
	return 1.96 + 2.4/float64(df)
}

func verdict(ci [2]float64) string {
	switch {
	case ci[0] > 0:
		return "higher"
	case ci[1] < 0:
		return "lower"
	}
	return "inconclusive"
}

func contReport(doc string, pair contPair, tuned map[string]float64, sel map[string][][2]float64, res map[string][][]evalRow) error {
	if err := os.MkdirAll(doc, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(doc, pair.doc))
	if err != nil {
		return err
	}
	defer f.Close()
	contIntro(f, pair, len(res["rewarm-cosine"]))
	// forgot is how much worse the old task got from the switch to the
	// end: a drop in accuracy, a rise in loss.
	sign := 1.0
	if pair.lower {
		sign = -1
	}
	losses := fmt.Sprintf(" final %s loss | final %s loss |", pair.new, pair.old)
	if pair.lower {
		losses = "" // the metric is the loss
	}
	fmt.Fprintf(f, "| strategy | peak | selection score per peak | final %s %s (adaptation) | final %s %s (retention) | forgetting: %s %s worsening from the switch to the end |%s\n|---|---|---|---|---|---|%s\n",
		pair.new, pair.metric, pair.old, pair.metric, pair.old, pair.metric, losses, strings.Repeat("---|", strings.Count(losses, "|")))
	forgot := 0
	for _, a := range contArms() {
		p := tuned[a.name]
		if a.tuneAs != "" {
			p = tuned[a.tuneAs]
		}
		col := func(get func([]evalRow) float64) string {
			var xs []float64
			for _, rows := range res[a.name] {
				xs = append(xs, get(rows))
			}
			m, ci := tInterval(xs)
			return fmt.Sprintf("%.4f [%.4f, %.4f]", m, ci[0], ci[1])
		}
		last := func(rows []evalRow) evalRow { return rows[len(rows)-1] }
		atSwitch := func(rows []evalRow) evalRow { return rows[switchAt/contEvery-1] }
		lossCols := ""
		if !pair.lower {
			lossCols = fmt.Sprintf(" %s | %s |", col(func(r []evalRow) float64 { return last(r).newLoss }), col(func(r []evalRow) float64 { return last(r).oldLoss }))
		}
		fmt.Fprintf(f, "| %s | %s | %s | %s | %s | %s |%s\n", a.name, peakCell(p, sel[a.tuneAsOrName()]), fmtScores(sel[a.name]),
			col(func(r []evalRow) float64 { return last(r).newAcc }), col(func(r []evalRow) float64 { return last(r).oldAcc }),
			col(func(r []evalRow) float64 { return sign * (atSwitch(r).oldAcc - last(r).oldAcc) }), lossCols)
		for _, rows := range res[a.name] {
			if sign*(atSwitch(rows).oldAcc-last(rows).oldAcc) > 0 {
				forgot++
			}
		}
	}
	if forgot == 0 {
		fmt.Fprintf(f, "\nNo run forgot: on every strategy and seed the %s %s was better at the end than at the switch, so training on the new data still improved the old; this pair does not test forgetting at this scale.\n", pair.old, pair.metric)
	}
	contDiffs(f, pair, res)
	fmt.Fprintf(f, "What this scale cannot test: the continual pre-training claims concern language models over hundreds of billions of tokens, where the old and new distributions share most structure; here the runs last %d steps, and a few evaluation seeds give wide intervals. All strategies train the same total number of steps; in practice the first-phase model already exists, so a continual strategy pays only the second phase while retraining from scratch pays both, which is what scratch-mixture's advantage costs. \"Forgetting\" for infinite and wsd-continue is measured from an un-annealed model at the switch, so compare their final values rather than their forgetting column. The replay fraction (25%%) and the infinite schedule's level (0.3·peak) were fixed beforehand, not tuned.\n\n", contTotal)
	return contFigures(f, doc, pair, res)
}

// tuneAsOrName is the arm whose peak selection applies to a.
func (a arm) tuneAsOrName() string {
	if a.tuneAs != "" {
		return a.tuneAs
	}
	return a.name
}

// peakCell prints the chosen peak, marked when it is the largest or the
// smallest peak tried (the grid's extensions ran out).
func peakCell(p float64, tried [][2]float64) string {
	if len(tried) > 0 && (p == tried[0][0] || p == tried[len(tried)-1][0]) {
		return fmt.Sprintf("%.0e (edge of the grid tried)", p)
	}
	return fmt.Sprintf("%.0e", p)
}

// contIntro describes the workload and the strategies.
func contIntro(w io.Writer, pair contPair, seeds int) {
	what := fmt.Sprintf("Workload `mnist-then-fashion`: the 784-256-256-10 MLP (AdamW) trains %d steps on MNIST, then %d on Fashion-MNIST (the two share only the image format); both tasks are validated every %d steps on 2,000 test images.", switchAt, contTotal-switchAt, contEvery)
	score := "the mean of the two final accuracies"
	if pair.key == "kjv" {
		what = fmt.Sprintf("Workload `kjv-ot-then-nt`: a character-level transformer (width 48, 2 layers, context 64, batch 16, AdamW, clip 1) trains %d steps on the Old Testament, then %d on the New (one vocabulary; the same language and style, new names and vocabulary mix); both are validated every %d steps on 64 windows of each testament's held-out chunks.", switchAt, contTotal-switchAt, contEvery)
		score = "minus the mean of the two final losses"
	}
	fmt.Fprintf(w, "%s\n\nProduced by `scripts/papers-continual.sh` (`papers continual -pair %s`, from `cmd/papers`). %s Strategies (rate shapes over the whole run; floor 0.1 of the peak): **rewarm-cosine** (warmup %d + cosine on the old data, re-warm from 0.1 and re-decay on the new), **constant-low** (the same first phase, then a constant 0.1·peak), **infinite** (warmup, cosine cooldown over 120 steps to 0.3·peak, constant through the switch, anneal to 0.01·peak over the last 60 steps), **wsd-continue** (warmup, constant peak through the switch, linear decay over the last 60 steps); each also with 25%% of every post-switch batch replayed from the old data; and **scratch-mixture**, retraining from scratch on an even mixture of both for the same %d steps. Peaks were tuned per strategy (grid %v, extended by 3x past an edge that won) on seed %d by %s; the replay variants use their base strategy's peak; results are over seeds 1–%d (95%% t intervals).\n\n",
		pair.heading, pair.key, what, contWarm, contTotal, pair.peaks, contSelectSeed, score, seeds)
}

func fmtScores(xs [][2]float64) string {
	if len(xs) == 0 {
		return "(base's)"
	}
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.0e: %.3f", x[0], x[1])
	}
	return s
}

// contDiffs compares each strategy with rewarm-cosine, paired by seed.
func contDiffs(w io.Writer, pair contPair, res map[string][][]evalRow) {
	better := "higher is better"
	if pair.lower {
		better = "lower is better"
	}
	fmt.Fprintf(w, "\n**Against rewarm-cosine, paired by seed** (difference of the final %s, strategy − rewarm-cosine, %s; 95%% t interval; \"inconclusive\" when the interval holds 0):\n\n| strategy | %s diff | verdict | %s diff | verdict |\n|---|---|---|---|---|\n", pair.metric, better, pair.new, pair.old)
	ref := res["rewarm-cosine"]
	for _, a := range contArms()[1:] {
		var dn, do []float64
		for s, rows := range res[a.name] {
			l, r := rows[len(rows)-1], ref[s][len(ref[s])-1]
			dn, do = append(dn, l.newAcc-r.newAcc), append(do, l.oldAcc-r.oldAcc)
		}
		mn, cn := tInterval(dn)
		mo, co := tInterval(do)
		fmt.Fprintf(w, "| %s | %+.4f [%+.4f, %+.4f] | %s | %+.4f [%+.4f, %+.4f] | %s |\n", a.name, mn, cn[0], cn[1], verdict(cn), mo, co[0], co[1], verdict(co))
	}
	fmt.Fprintln(w)
}

// contFigures draws the old and new task's metric (mean over seeds)
// against the step for every strategy (replay variants dashed).
func contFigures(w io.Writer, doc string, pair contPair, res map[string][][]evalRow) error {
	for _, fig := range []struct {
		file, title string
		get         func(evalRow) float64
	}{
		{pair.prefix + "-old.svg", fmt.Sprintf("%s (old data) %s; new data from step %d", pair.old, pair.metric, switchAt), func(r evalRow) float64 { return r.oldAcc }},
		{pair.prefix + "-new.svg", fmt.Sprintf("%s (new data) %s", pair.new, pair.metric), func(r evalRow) float64 { return r.newAcc }},
	} {
		var series []plot.Series
		for _, a := range contArms() {
			runs := res[a.name]
			s := plot.Series{Name: a.name}
			if len(runs) == 0 {
				continue
			}
			if a.tuneAs != "" {
				s.Style = plot.Dashed
			}
			for i := range runs[0] {
				var xs []float64
				for _, rows := range runs {
					xs = append(xs, fig.get(rows[i]))
				}
				m, _ := tInterval(xs)
				s.X, s.Y = append(s.X, float64(runs[0][i].step)), append(s.Y, m)
			}
			series = append(series, s)
		}
		if err := writeChart(filepath.Join(doc, fig.file), plot.Chart{Title: fig.title, XLabel: "step", YLabel: pair.metric + " (mean over seeds)"}, series); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "![old data](papers/%s-old.svg)\n\n![new data](papers/%s-new.svg)\n\n", pair.prefix, pair.prefix)
	return nil
}
