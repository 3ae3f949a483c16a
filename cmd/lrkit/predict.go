package main

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newPredictCmd) }

const predictLong = `With run logs, predict each log's loss curve from its learning rates (or
from --schedule, once per log) with the law written by lrkit fit, and print
R², MAE, RMSE, PredE (mean relative error), WorstE (worst relative error),
the bias (mean signed relative error: negative when the law predicts too
low a loss), the final loss's relative error and the share of points
inside the prediction interval, per log, and their mean. Points before the end of
warm-up are not scored.

Without logs, print the predicted loss of --schedule SPEC with its
prediction interval (--level, default 0.9) as step,loss,lo,hi CSV, from
the first step where the law is defined (the schedule's warm-up end, and
not before the first step the law was fitted on) to N-1. --every K prints
every K-th step and the last.

--plot draws observed against predicted curves (or the predicted curve).

A log or schedule that reaches beyond %g times the steps the law was
fitted on gets a note on stderr: a long extrapolation in time, where
docs/accuracy.md measures the laws' errors growing. There the default
fit's predictions were too low on average, the more so the further they
reached; --horizon-bias corrects them (and their intervals) past the last
fitted step for the bias measured on held-out runs: on runs up to 3.3
times longer than the fit runs it lowered the mean PredE from 0.33%% to
0.22%%, and on the multi-power law paper's split from 0.118/0.133/0.209%%
to 0.131/0.111/0.158%% (25M/100M/400M: worse at 25M). It was measured on
the default recipe's multi-power law fits of language-model runs whose
rate decays after the fit's last step (cosine, WSD); on a long run at a
constant rate it over-corrects (the paper's constant_72000: 0.100%% to
0.391%% at 25M).`

const predictExample = `  lrkit predict --law law.json wsd.csv cosine_long.csv
  lrkit predict --law law.json wsd.csv --format json
  lrkit predict --law law.json --schedule 'cosine(peak=3e-4, steps=24000)' --steps 24000 --every 1000`

// predictFlags are lrkit predict's flags.
type predictFlags struct {
	law, tags, format, plot string
	specs                   []string
	steps, every, maxSteps  int
	level                   float64
	horizonBias             bool
}

func newPredictCmd() *cobra.Command {
	var f predictFlags
	cmd := &cobra.Command{
		Use:     "predict --law law.json (LOG... | --schedule SPEC --steps N) [--level 0.9] [--format text|json] [--plot out.svg]",
		Short:   "Score a fitted law against run logs, or predict the loss curve of a schedule",
		Long:    fmt.Sprintf(predictLong, losscurve.LongHorizon),
		Example: predictExample,
		RunE:    func(cmd *cobra.Command, args []string) error { return runPredict(cmd, args, f) },
	}
	cmd.Flags().StringVar(&f.law, "law", "", "law JSON written by lrkit fit")
	cmd.Flags().StringArrayVar(&f.specs, "schedule", nil, "schedule SPEC: a log's rates (once per log, in order), or the schedule to predict")
	cmd.Flags().IntVar(&f.steps, "steps", 0, "number of steps to predict (with --schedule and no logs)")
	maxStepsFlag(cmd, &f.maxSteps)
	cmd.Flags().IntVar(&f.every, "every", 1, "print every K-th step of a predicted curve")
	cmd.Flags().Float64Var(&f.level, "level", 0.9, "level of the prediction intervals")
	cmd.Flags().StringVar(&f.format, "format", "text", "text or json")
	cmd.Flags().StringVar(&f.tags, "tags", "", "TensorBoard tag map, e.g. loss=train/loss,lr=lr")
	cmd.Flags().StringVar(&f.plot, "plot", "", "draw observed and predicted curves to this .svg or .png")
	horizonBiasFlag(cmd, &f.horizonBias)
	return cmd
}

func runPredict(cmd *cobra.Command, args []string, f predictFlags) error {
	if err := checkMaxSteps(f.maxSteps); err != nil {
		return err
	}
	law, err := loadPredictingLaw(cmd, f.law, f.horizonBias)
	if err != nil {
		return err
	}
	switch {
	case f.format != "text" && f.format != "json":
		return badInput(fmt.Errorf("--format must be text or json, got %q", f.format))
	case !(f.level > 0 && f.level < 1):
		return badInput(fmt.Errorf("--level must be in (0, 1), got %v", f.level))
	}
	if f.plot != "" {
		if _, err := plot.FormatOf(f.plot); err != nil {
			return badInput(err)
		}
	}
	w := bufio.NewWriter(cmd.OutOrStdout())
	defer w.Flush()
	if len(args) == 0 {
		if f.format != "text" {
			return badInput(fmt.Errorf("--format %s is for scoring run logs; a predicted curve prints as step,loss,lo,hi CSV", f.format))
		}
		return predictCurve(w, cmd.ErrOrStderr(), law, f)
	}
	if cmd.Flags().Changed("steps") {
		return badInput(fmt.Errorf("--steps goes with --schedule and no logs; with logs the horizon is each log's last step"))
	}
	if cmd.Flags().Changed("every") {
		return badInput(fmt.Errorf("--every goes with --schedule and no logs; with logs every point of each log is scored"))
	}
	runs, err := lcReadRuns(cmd, args, f.specs, f.tags, f.maxSteps)
	if err != nil {
		return err
	}
	sc, err := losscurve.ScoreRuns(law, runs, f.level)
	if err != nil {
		return badInput(err)
	}
	for _, r := range runs {
		noteHorizon(cmd.ErrOrStderr(), law, r.Name, len(r.LRs))
	}
	if f.format == "json" {
		err = lcJSON(w, sc)
	} else {
		err = printScores(w, sc)
	}
	if err != nil || f.plot == "" {
		return err
	}
	return lcWritePlot(f.plot, "observed vs predicted ("+law.Name()+")", "loss", predictedSeries(law, runs, f.level))
}

// predictCurve prints (and plots) the predicted curve of one schedule.
func predictCurve(w, stderr io.Writer, law losscurve.Law, f predictFlags) error {
	if len(f.specs) != 1 || f.steps <= 0 {
		return badInput(fmt.Errorf("give run logs to score, or one --schedule SPEC and --steps N > 0 to predict a curve"))
	}
	if f.steps > f.maxSteps {
		return badInput(fmt.Errorf("--steps %d is past the limit of %d steps (raise it with --max-steps)", f.steps, f.maxSteps))
	}
	if f.every <= 0 {
		return badInput(fmt.Errorf("--every must be > 0, got %d", f.every))
	}
	s, err := parseSpec(f.specs[0], "")
	if err != nil {
		return badInput(fmt.Errorf("--schedule: %w", errorsUnwrapUsage(err)))
	}
	lrs := make([]float64, f.steps)
	for i := range lrs {
		lrs[i] = s.LR(int64(i))
	}
	from, mid, lo, hi := losscurve.Curve(law, lrs, f.level)
	if len(mid) == 0 {
		return badInput(fmt.Errorf("--steps %d ends before step %d, where the law's prediction starts (the schedule's warm-up end, and the first step the law was fitted on): predict more steps", f.steps, from))
	}
	noteHorizon(stderr, law, "--schedule", f.steps)
	fmt.Fprintln(w, "step,loss,lo,hi")
	var xs, ys []float64
	for k, v := range mid {
		if k%f.every == 0 || k == len(mid)-1 {
			fmt.Fprintf(w, "%d,%s,%s,%s\n", from+k, ff(v), ff(lo[k]), ff(hi[k]))
			xs, ys = append(xs, float64(from+k)), append(ys, v)
		}
	}
	if f.plot == "" {
		return nil
	}
	return lcWritePlot(f.plot, "predicted loss ("+law.Name()+")", "loss", []plot.Series{{Name: "predicted", X: xs, Y: ys}})
}

// printScores prints ScoreRuns' result as an aligned table.
func printScores(w io.Writer, sc losscurve.Scores) error {
	cov := func(c *float64) string {
		if c == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *c)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\tpoints\tR2\tMAE\tRMSE\tPredE\tWorstE\tbias\tfinal err\tin %g%% interval\t\n", 100*sc.Level)
	for _, r := range sc.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%+.5f\t%.5f\t%s\t\n", r.Run, r.Points, r.R2, r.MAE, r.RMSE, r.PredE, r.WorstE, r.Bias, r.FinalError, cov(r.Coverage))
	}
	m := sc.Mean
	fmt.Fprintf(tw, "mean\t%d\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%+.5f\t%.5f\t%s\t\n", sc.Points, m.R2, m.MAE, m.RMSE, m.PredE, m.WorstE, m.Bias, sc.FinalError, cov(sc.Coverage))
	return tw.Flush()
}

// predictedSeries returns each run's observed and predicted curves from
// where the law is defined.
func predictedSeries(law losscurve.Law, runs []losscurve.Run, level float64) []plot.Series {
	var series []plot.Series
	for _, r := range runs {
		from, mid, _, _ := losscurve.Curve(law, r.LRs, level)
		var ox, oy, px, py []float64
		for _, p := range r.Points {
			if p.Step >= from {
				ox, oy = append(ox, float64(p.Step)), append(oy, p.Loss)
			}
		}
		stride := max(1, len(mid)/2000)
		for k := 0; k < len(mid); k += stride {
			px, py = append(px, float64(from+k)), append(py, mid[k])
		}
		base := filepath.Base(r.Name)
		series = append(series, plot.Series{Name: base + " observed", X: ox, Y: oy, Style: plot.Dots}, plot.Series{Name: base + " predicted", X: px, Y: py, Style: plot.Dashed})
	}
	return series
}

// noteHorizon prints losscurve.HorizonNote for a prediction of n steps
// of what (a log, the schedule or the budget) on stderr, if there is one.
func noteHorizon(stderr io.Writer, law losscurve.Law, what string, n int) {
	if note := losscurve.HorizonNote(law, n); note != "" {
		fmt.Fprintf(stderr, "note: %s: %s\n", what, note)
	}
}

// ff formats a float in its shortest exact form.
func ff(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
