package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newPlanCmd) }

func newPlanCmd() *cobra.Command {
	var (
		lawPath, format, plotPath string
		steps, warmup, knots      int
		peak, floor               float64
	)
	cmd := &cobra.Command{
		Use:   "plan --law law.json --steps N [--peak P] [--floor F] [--warmup W] [--plot out.svg]",
		Short: "Find the schedule that minimises a fitted law's predicted final loss",
		Long: `Find the non-increasing schedule (after a linear warm-up of W steps to
the peak) that minimises the predicted loss at step N under the law
written by lrkit fit. It prints the optimum as a table(...) spec, the
nearest WSD schedule (decay fraction and shape fitted) with its distance
(RMS of the rate difference over post-warm-up steps, in units of the
peak), and the predicted final losses of cosine, linear, REX, WSD and the
optimum side by side. --floor defaults to a tenth of the peak.`,
		Example: `  lrkit plan --law law.json --steps 24000 --warmup 2160 --peak 3e-4 --floor 3e-5
  lrkit plan --law law.json --steps 50000 --peak 1e-3 --plot plan.svg --format json`,
		Args: cobra.NoArgs,
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
			if !cmd.Flags().Changed("floor") {
				floor = peak / 10
			}
			res, err := losscurve.Plan(context.Background(), law, losscurve.PlanOptions{Steps: steps, Warmup: warmup, Peak: peak, Floor: floor, Knots: knots})
			if err != nil {
				return badInput(err)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			if format == "json" {
				if err := lcJSON(w, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "optimum: %s\n", res.Optimum.Spec)
				fmt.Fprintf(w, "nearest named schedule: %s (distance %.4f of peak)\n", res.Nearest.Spec, res.Distance)
				fmt.Fprintf(w, "\n%-18s %12s  %s\n", "schedule", "final loss", "spec")
				rows := append([]losscurve.Candidate{res.Optimum, {Name: "nearest " + res.Nearest.Name, Spec: res.Nearest.Spec, Final: res.Nearest.Final}}, res.Compare...)
				for _, c := range rows {
					spec := c.Spec
					if c.Name == "optimum" {
						spec = "(above)"
					}
					fmt.Fprintf(w, "%-18s %12.6f  %s\n", c.Name, c.Final, spec)
				}
			}
			if plotPath != "" {
				var series []plot.Series
				curves := []losscurve.Candidate{res.Optimum, res.Nearest}
				for _, c := range res.Compare {
					if c.Name == "cosine" {
						curves = append(curves, c)
					}
				}
				for _, c := range curves {
					lrs := res.LRs
					if c.Name != "optimum" {
						s, err := schedule.Parse(c.Spec)
						if err != nil {
							return err
						}
						lrs = make([]float64, steps)
						for i := range lrs {
							lrs[i] = s.LR(int64(i))
						}
					}
					pred := law.Predict(lrs)
					stride := max(1, steps/2000)
					var xs, ys []float64
					for i := warmup; i < steps; i += stride {
						xs, ys = append(xs, float64(i)), append(ys, pred[i])
					}
					series = append(series, plot.Series{Name: c.Name, X: xs, Y: ys})
				}
				return lcWritePlot(plotPath, "predicted loss under the "+law.Name()+" law", "loss", series)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lawPath, "law", "", "law JSON written by lrkit fit")
	cmd.Flags().IntVar(&steps, "steps", 0, "step budget N")
	cmd.Flags().IntVar(&warmup, "warmup", 0, "linear warm-up steps")
	cmd.Flags().Float64Var(&peak, "peak", 3e-4, "peak learning rate")
	cmd.Flags().Float64Var(&floor, "floor", 0, "lowest learning rate (default peak/10)")
	cmd.Flags().IntVar(&knots, "knots", 32, "free knots of the planned decay")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&plotPath, "plot", "", "draw the predicted loss of the optimum, the nearest WSD and cosine to this .svg or .png")
	return cmd
}
