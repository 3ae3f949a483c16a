package main

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newPredictCmd) }

// lcCurveMetrics is one log's row of `lrkit predict --format json`.
type lcCurveMetrics struct {
	File string `json:"file"`
	losscurve.Metrics
}

func newPredictCmd() *cobra.Command {
	var (
		lawPath, specText, tags, format, plotPath string
		steps, every                              int
	)
	cmd := &cobra.Command{
		Use:   "predict --law law.json (LOG... | --schedule SPEC --steps N) [--format table|json] [--plot out.svg]",
		Short: "Score a fitted law against run logs, or predict the loss curve of a schedule",
		Long: `With run logs, predict each log's loss curve from its learning rates (or
from --schedule SPEC) with the law written by lrkit fit, and print R², MAE,
RMSE, PredE (mean relative error) and WorstE (worst relative error) per log
and their mean, as the multi-power law paper defines them. Points before
the end of warm-up are not scored.

Without logs, print the predicted loss of --schedule SPEC at steps
0..N-1 as step,loss CSV (--every K prints every K-th step and the last).

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
			if plotPath != "" {
				if _, err := plot.FormatOf(plotPath); err != nil {
					return badInput(err)
				}
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			if len(args) == 0 {
				if specText == "" || steps <= 0 {
					return badInput(fmt.Errorf("give run logs to score, or --schedule SPEC and --steps N > 0 to predict a curve"))
				}
				if every <= 0 {
					return badInput(fmt.Errorf("--every must be > 0, got %d", every))
				}
				s, err := schedule.Parse(specText)
				if err != nil {
					return badInput(fmt.Errorf("--schedule: %w", err))
				}
				lrs := make([]float64, steps)
				for i := range lrs {
					lrs[i] = s.LR(int64(i))
				}
				pred := law.Predict(lrs)
				fmt.Fprintln(w, "step,loss")
				var xs, ys []float64
				w0 := losscurve.DetectWarmup(lrs) // the plot starts after warm-up
				for i, v := range pred {
					if i%every == 0 || i == len(pred)-1 {
						fmt.Fprintf(w, "%d,%s\n", i, strconv.FormatFloat(v, 'g', -1, 64))
						if i >= w0 {
							xs, ys = append(xs, float64(i)), append(ys, v)
						}
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
			runs, err := lcReadRuns(args, specText, tags, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var rows []lcCurveMetrics
			var ms []losscurve.Metrics
			var series []plot.Series
			for _, r := range runs {
				m, err := losscurve.Evaluate(law, r)
				if err != nil {
					return badInput(err)
				}
				rows = append(rows, lcCurveMetrics{File: r.Name, Metrics: m})
				ms = append(ms, m)
				if plotPath != "" {
					// Draw from the end of warm-up on, the range that is scored.
					pred := law.Predict(r.LRs)
					w0 := losscurve.DetectWarmup(r.LRs)
					var ox, oy, px, py []float64
					for _, p := range r.Points {
						if p.Step >= w0 {
							ox, oy = append(ox, float64(p.Step)), append(oy, p.Loss)
						}
					}
					stride := max(1, len(pred)/2000)
					for i := w0; i < len(pred); i += stride {
						px, py = append(px, float64(i)), append(py, pred[i])
					}
					base := filepath.Base(r.Name)
					series = append(series, plot.Series{Name: base + " observed", X: ox, Y: oy}, plot.Series{Name: base + " predicted", X: px, Y: py})
				}
			}
			mean := losscurve.MeanMetrics(ms)
			if format == "json" {
				if err := lcJSON(w, struct {
					Curves []lcCurveMetrics  `json:"curves"`
					Mean   losscurve.Metrics `json:"mean"`
				}{rows, mean}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "%-40s %9s %9s %9s %9s %9s\n", "file", "R2", "MAE", "RMSE", "PredE", "WorstE")
				for _, r := range rows {
					fmt.Fprintf(w, "%-40s %9.5f %9.5f %9.5f %9.5f %9.5f\n", r.File, r.R2, r.MAE, r.RMSE, r.PredE, r.WorstE)
				}
				fmt.Fprintf(w, "%-40s %9.5f %9.5f %9.5f %9.5f %9.5f\n", "mean", mean.R2, mean.MAE, mean.RMSE, mean.PredE, mean.WorstE)
			}
			if plotPath != "" {
				return lcWritePlot(plotPath, "observed vs predicted ("+law.Name()+")", "loss", series)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lawPath, "law", "", "law JSON written by lrkit fit")
	cmd.Flags().StringVar(&specText, "schedule", "", "schedule SPEC: the rates of the logs, or the schedule to predict")
	cmd.Flags().IntVar(&steps, "steps", 0, "number of steps to predict (with --schedule and no logs)")
	cmd.Flags().IntVar(&every, "every", 1, "print every K-th step of a predicted curve")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&tags, "tags", "", "TensorBoard tag map, e.g. loss=train/loss,lr=lr")
	cmd.Flags().StringVar(&plotPath, "plot", "", "draw observed and predicted curves to this .svg or .png")
	return cmd
}
