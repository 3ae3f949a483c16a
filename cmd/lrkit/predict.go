package main

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newPredictCmd) }

// lcCurveScore is one log's row of `lrkit predict --format json`.
type lcCurveScore struct {
	File string `json:"file"`
	losscurve.Scored
	// Coverage is the fraction of points inside the prediction interval
	// (laws written by lrkit fit only).
	Coverage *float64 `json:"coverage,omitempty"`
}

func newPredictCmd() *cobra.Command {
	var (
		lawPath, tags, format, plotPath string
		specs                           []string
		steps, every                    int
		level                           float64
	)
	cmd := &cobra.Command{
		Use:   "predict --law law.json (LOG... | --schedule SPEC --steps N) [--level 0.9] [--format table|json] [--plot out.svg]",
		Short: "Score a fitted law against run logs, or predict the loss curve of a schedule",
		Long: `With run logs, predict each log's loss curve from its learning rates (or
from --schedule, once per log) with the law written by lrkit fit, and print
R², MAE, RMSE, PredE (mean relative error), WorstE (worst relative error),
the final loss's relative error and the share of points inside the
prediction interval, per log, and their mean. Points before the end of
warm-up are not scored.

Without logs, print the predicted loss of --schedule SPEC with its
prediction interval (--level, default 0.9) as step,loss,lo,hi CSV, from
the first step where the law is defined (the schedule's warm-up end, and
not before the first step the law was fitted on) to N-1. --every K prints
every K-th step and the last.

--plot draws observed against predicted curves (or the predicted curve).`,
		Example: `  lrkit predict --law law.json wsd.csv cosine_long.csv
  lrkit predict --law law.json wsd.csv --format json
  lrkit predict --law law.json --schedule 'cosine(peak=3e-4, steps=24000)' --steps 24000 --every 1000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			law, err := lcLoadLaw(lawPath)
			if err != nil {
				return err
			}
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format must be table or json, got %q", format))
			}
			if !(level > 0 && level < 1) {
				return badInput(fmt.Errorf("--level must be in (0, 1), got %v", level))
			}
			if plotPath != "" {
				if _, err := plot.FormatOf(plotPath); err != nil {
					return badInput(err)
				}
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			if len(args) == 0 {
				if len(specs) != 1 || steps <= 0 {
					return badInput(fmt.Errorf("give run logs to score, or one --schedule SPEC and --steps N > 0 to predict a curve"))
				}
				if every <= 0 {
					return badInput(fmt.Errorf("--every must be > 0, got %d", every))
				}
				s, err := schedule.Parse(specs[0])
				if err != nil {
					return badInput(fmt.Errorf("--schedule: %w", err))
				}
				lrs := make([]float64, steps)
				for i := range lrs {
					lrs[i] = s.LR(int64(i))
				}
				from, mid, lo, hi := losscurve.Curve(law, lrs, level)
				fmt.Fprintln(w, "step,loss,lo,hi")
				var xs, ys []float64
				for k, v := range mid {
					i := from + k
					if (i-from)%every == 0 || k == len(mid)-1 {
						fmt.Fprintf(w, "%d,%s,%s,%s\n", i, ff(v), ff(lo[k]), ff(hi[k]))
						xs, ys = append(xs, float64(i)), append(ys, v)
					}
				}
				if plotPath != "" {
					return lcWritePlot(plotPath, "predicted loss ("+law.Name()+")", "loss", []plot.Series{{Name: "predicted", X: xs, Y: ys}})
				}
				return nil
			}
			if cmd.Flags().Changed("steps") {
				return badInput(fmt.Errorf("--steps goes with --schedule and no logs; with logs the horizon is each log's last step"))
			}
			files, tagMap, err := lcRunFiles(args, specs, tags)
			if err != nil {
				return err
			}
			runs, warns, err := losscurve.ReadRunFiles(files, tagMap)
			if err != nil {
				return badInput(err)
			}
			for _, wn := range warns {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", wn)
			}
			_, fitted := law.(*losscurve.Fitted)
			var rows []lcCurveScore
			var ms []losscurve.Metrics
			var series []plot.Series
			covered, total := 0, 0
			for _, r := range runs {
				sc, err := losscurve.EvaluateFrom(law, r, 0, level)
				if err != nil {
					return badInput(err)
				}
				row := lcCurveScore{File: r.Name, Scored: sc}
				if fitted {
					c := float64(sc.Covered) / float64(sc.Points)
					row.Coverage = &c
					covered += sc.Covered
					total += sc.Points
				}
				rows = append(rows, row)
				ms = append(ms, sc.Metrics)
				if plotPath != "" {
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
					series = append(series, plot.Series{Name: base + " observed", X: ox, Y: oy}, plot.Series{Name: base + " predicted", X: px, Y: py})
				}
			}
			mean := losscurve.MeanMetrics(ms)
			if format == "json" {
				out := struct {
					Curves   []lcCurveScore    `json:"curves"`
					Mean     losscurve.Metrics `json:"mean"`
					Level    float64           `json:"level"`
					Coverage *float64          `json:"coverage,omitempty"`
				}{Curves: rows, Mean: mean, Level: level}
				if total > 0 {
					c := float64(covered) / float64(total)
					out.Coverage = &c
				}
				if err := lcJSON(w, out); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "file\tpoints\tR2\tMAE\tRMSE\tPredE\tWorstE\tfinal err\tin %g%% interval\t\n", 100*level)
				for _, r := range rows {
					cov := "-"
					if r.Coverage != nil {
						cov = fmt.Sprintf("%.3f", *r.Coverage)
					}
					fmt.Fprintf(tw, "%s\t%d\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%s\t\n", r.File, r.Points, r.R2, r.MAE, r.RMSE, r.PredE, r.WorstE, r.FinalError, cov)
				}
				cov := "-"
				if total > 0 {
					cov = fmt.Sprintf("%.3f", float64(covered)/float64(total))
				}
				points, fin := 0, 0.0
				for _, r := range rows {
					points += r.Points
					fin += r.FinalError / float64(len(rows))
				}
				fmt.Fprintf(tw, "mean\t%d\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%s\t\n", points, mean.R2, mean.MAE, mean.RMSE, mean.PredE, mean.WorstE, fin, cov)
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if plotPath != "" {
				return lcWritePlot(plotPath, "observed vs predicted ("+law.Name()+")", "loss", series)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lawPath, "law", "", "law JSON written by lrkit fit")
	cmd.Flags().StringArrayVar(&specs, "schedule", nil, "schedule SPEC: a log's rates (once per log, in order), or the schedule to predict")
	cmd.Flags().IntVar(&steps, "steps", 0, "number of steps to predict (with --schedule and no logs)")
	cmd.Flags().IntVar(&every, "every", 1, "print every K-th step of a predicted curve")
	cmd.Flags().Float64Var(&level, "level", 0.9, "level of the prediction intervals")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&tags, "tags", "", "TensorBoard tag map, e.g. loss=train/loss,lr=lr")
	cmd.Flags().StringVar(&plotPath, "plot", "", "draw observed and predicted curves to this .svg or .png")
	return cmd
}

// ff formats a float in its shortest exact form.
func ff(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
