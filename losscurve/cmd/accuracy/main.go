// Command accuracy writes docs/accuracy.md: how well each loss-curve law,
// fitted on two runs, predicts the other runs of the 124M group of the
// EPFL collection (shared/data/losscurves/epfml, group schaipp2025-124m).
//
// For every peak learning rate it fits each law on the constant run
// (T = 50000) and the cosine-to-10% run at T = 25000, then predicts the
// validation curve of every other schedule and horizon at that peak (the
// diverged cos0 lr=5e-3 run is at a peak of its own and is excluded) and
// reports R², MAE, RMSE, PredE and WorstE per law and peak, and their
// means. Per-step learning rates come from the closed forms of the
// collection's README (see losscurve/internal/epfl).
//
// Usage: go run ./losscurve/cmd/accuracy [-data DIR] [-o docs/accuracy.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/losscurve/internal/epfl"
)

const group = "schaipp2025-124m"

// excluded is the run the README says diverged.
const excluded = "schaipp2025-124m__slimpj_124M_L12E768__cos0_lr0.005_T50000"

type lawSpec struct {
	label, kind, variant string
}

var laws = []lawSpec{
	{"MPL (paper convention)", losscurve.KindMPL, string(losscurve.ConventionPaper)},
	{"MPL (repo convention)", losscurve.KindMPL, string(losscurve.ConventionRepo)},
	{"LR-annealing (variant b, λ=0.999)", losscurve.KindAnnealing, string(losscurve.WarmupB)},
	{"LR-annealing (variant a, λ=0.999)", losscurve.KindAnnealing, string(losscurve.WarmupA)},
	{"power law in steps (baseline)", losscurve.KindPower, ""},
}

type result struct {
	peak    float64
	law     lawSpec
	params  map[string]float64
	fitTime time.Duration
	curves  []curveResult
	mean    losscurve.Metrics
}

type curveResult struct {
	id string
	m  losscurve.Metrics
}

func main() {
	dir := flag.String("data", "", "EPFL collection folder (default: found above the working directory)")
	out := flag.String("o", "docs/accuracy.md", "output Markdown file ('-' for stdout)")
	flag.Parse()
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "accuracy:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	var err error
	if dir == "" {
		if dir, err = epfl.Dir(); err != nil {
			return err
		}
	}
	curves, err := epfl.ReadIndex(dir)
	if err != nil {
		return err
	}
	byPeak := map[float64][]epfl.Curve{}
	for _, c := range curves {
		if c.Group == group && c.ID != excluded {
			byPeak[c.Peak] = append(byPeak[c.Peak], c)
		}
	}
	var peaks []float64
	for p := range byPeak {
		peaks = append(peaks, p)
	}
	sort.Float64s(peaks)
	var results []result
	for _, p := range peaks {
		var train, test []losscurve.Run
		var trainIDs []string
		for _, c := range byPeak[p] {
			r, err := epfl.Run(dir, c)
			if err != nil {
				return err
			}
			isTrain := (c.Sched == "const" || strings.Contains(c.ID, "__const_")) && c.T == 50000 ||
				strings.Contains(c.ID, "__cos10_") && c.T == 25000
			if isTrain {
				train = append(train, r)
				trainIDs = append(trainIDs, c.ID)
			} else {
				test = append(test, r)
			}
		}
		if len(train) != 2 {
			return fmt.Errorf("peak %g: found %d training runs %v, want the constant T=50000 and cos10 T=25000 runs", p, len(train), trainIDs)
		}
		for _, l := range laws {
			if f := os.Getenv("ACCURACY_LAWS"); f != "" && !strings.Contains(l.label, f) {
				continue
			}
			start := time.Now()
			law, _, err := losscurve.Fit(context.Background(), l.kind, train, losscurve.FitOptions{Variant: l.variant})
			if err != nil {
				return fmt.Errorf("peak %g, %s: %w", p, l.label, err)
			}
			res := result{peak: p, law: l, params: law.Params(), fitTime: time.Since(start)}
			var ms []losscurve.Metrics
			for _, r := range test {
				m, err := losscurve.Evaluate(law, r)
				if err != nil {
					return err
				}
				res.curves = append(res.curves, curveResult{r.Name, m})
				ms = append(ms, m)
			}
			res.mean = losscurve.MeanMetrics(ms)
			results = append(results, res)
			if os.Getenv("ACCURACY_VERBOSE") != "" {
				for _, c := range res.curves {
					fmt.Fprintf(os.Stderr, "   %-70s R2 %.4f PredE %.5f WorstE %.4f\n", strings.TrimPrefix(c.id, group+"__slimpj_124M_L12E768__"), c.m.R2, c.m.PredE, c.m.WorstE)
				}
			}
			fmt.Fprintf(os.Stderr, "peak %g %-36s fit %6.2fs  held-out %2d  R2 %.5f PredE %.5f\n", p, l.label, res.fitTime.Seconds(), len(test), res.mean.R2, res.mean.PredE)
		}
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return report(w, peaks, results)
}

func report(w io.Writer, peaks []float64, results []result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "TODO\n")
	_ = peaks
	for _, r := range results {
		fmt.Fprintf(&b, "%g %s %+v %v\n", r.peak, r.law.label, r.mean, r.params)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
