package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newPlanCmd) }

const planLong = `Find the non-increasing schedule (after a linear warm-up of W steps to
the peak) that minimises the predicted loss at step N under the law
written by lrkit fit. It prints the optimum as a table(...) spec, the
nearest WSD schedule (decay fraction and shape fitted) with its distance
(RMS of the rate difference over post-warm-up steps, in units of the
peak), and the predicted final losses of cosine, linear, REX, WSD and the
optimum side by side. The optimum is never worse under the law than any
schedule listed.

--peak defaults to the peak rate the law was fitted at (recorded by lrkit
fit): a law says little about rates it has not seen. --warmup defaults to
the law's fit runs' warm-up and --floor to a tenth of the peak.

--horizon-bias corrects the predicted losses past the law's last fitted
step for the bias measured on held-out runs (see lrkit predict --help); it
moves every schedule's loss at step N by the same factor, so the optimum
and the ranking do not change.`

const planExample = `  lrkit plan --law law.json --steps 24000
  lrkit plan --law law.json --steps 24000 --warmup 2160 --peak 3e-4 --floor 3e-5
  lrkit plan --law law.json --steps 50000 --plot plan.svg --format json`

// planFlags are lrkit plan's flags.
type planFlags struct {
	law, format, plot    string
	steps, warmup, knots int
	maxSteps             int
	peak, floor          float64
	horizonBias          bool
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:     "plan --law law.json --steps N [--peak P] [--floor F] [--warmup W] [--plot out.svg]",
		Short:   "Find the schedule that minimises a fitted law's predicted final loss",
		Long:    planLong,
		Example: planExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runPlan(cmd, f) },
	}
	cmd.Flags().StringVar(&f.law, "law", "", "law JSON written by lrkit fit")
	cmd.Flags().IntVar(&f.steps, "steps", 0, "step budget N")
	maxStepsFlag(cmd, &f.maxSteps)
	cmd.Flags().IntVar(&f.warmup, "warmup", 0, "linear warm-up steps (default: the law's fit runs' warm-up)")
	cmd.Flags().Float64Var(&f.peak, "peak", 0, "peak learning rate (default: the peak the law was fitted at)")
	cmd.Flags().Float64Var(&f.floor, "floor", 0, "lowest learning rate (default peak/10)")
	cmd.Flags().IntVar(&f.knots, "knots", 32, "free knots of the planned decay")
	cmd.Flags().StringVar(&f.format, "format", "text", "text or json")
	cmd.Flags().StringVar(&f.plot, "plot", "", "draw the predicted loss of the optimum, the nearest WSD and cosine to this .svg or .png")
	horizonBiasFlag(cmd, &f.horizonBias)
	return cmd
}

func runPlan(cmd *cobra.Command, f planFlags) error {
	if err := checkMaxSteps(f.maxSteps); err != nil {
		return err
	}
	law, err := loadPredictingLaw(cmd, f.law, f.horizonBias)
	if err != nil {
		return err
	}
	if f.format != "text" && f.format != "json" {
		return badInput(fmt.Errorf("--format must be text or json, got %q", f.format))
	}
	if !cmd.Flags().Changed("steps") {
		return badInput(fmt.Errorf("--steps N is required: the step budget to plan for"))
	}
	if f.knots < 2 { // the package reads 0 as its default
		return badInput(fmt.Errorf("--knots must be at least 2, got %d", f.knots))
	}
	if f.plot != "" {
		if _, err := plot.FormatOf(f.plot); err != nil {
			return badInput(err)
		}
	}
	// Defaults from what the law was fitted to.
	fitted, _ := law.(*losscurve.Fitted)
	if !cmd.Flags().Changed("peak") {
		if fitted == nil || fitted.Info.Peak <= 0 {
			return badInput(fmt.Errorf("--peak is required: %s does not record the peak rate it was fitted at", f.law))
		}
		f.peak = fitted.Info.Peak
	}
	if !cmd.Flags().Changed("warmup") && fitted != nil {
		f.warmup = fitted.Info.Warmup
	}
	if !cmd.Flags().Changed("floor") {
		f.floor, _ = strconv.ParseFloat(strconv.FormatFloat(f.peak/10, 'g', 12, 64), 64) // 3e-05, not 2.9999999999999997e-05
	}
	res, err := losscurve.Plan(context.Background(), law, losscurve.PlanOptions{Steps: f.steps, MaxSteps: f.maxSteps, Warmup: f.warmup, Peak: f.peak, Floor: f.floor, Knots: f.knots})
	if err != nil {
		return badInput(err)
	}
	noteHorizon(cmd.ErrOrStderr(), law, "--steps", f.steps) // after Plan checked the flags: a bad one gets one line
	w := bufio.NewWriter(cmd.OutOrStdout())
	defer w.Flush()
	if f.format == "json" {
		err = lcJSON(w, res)
	} else {
		err = printPlan(w, res, f)
	}
	if err != nil || f.plot == "" {
		return err
	}
	series, err := planSeries(law, res, f.steps)
	if err != nil {
		return err
	}
	return lcWritePlot(f.plot, "predicted loss under the "+law.Name()+" law", "loss", series)
}

// printPlan prints a plan as text with an aligned table.
func printPlan(w io.Writer, res losscurve.PlanResult, f planFlags) error {
	fmt.Fprintf(w, "peak %g, floor %g, warmup %d, %d steps\n", f.peak, f.floor, f.warmup, f.steps)
	fmt.Fprintf(w, "optimum: %s\n", res.Optimum.Spec)
	if res.Note != "" {
		fmt.Fprintf(w, "note: %s\n", res.Note)
	}
	fmt.Fprintf(w, "nearest named schedule: %s (distance %.4f of peak)\n\n", res.Nearest.Spec, res.Distance)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "schedule\tfinal loss\tspec")
	rows := append([]losscurve.Candidate{res.Optimum, {Name: "nearest " + res.Nearest.Name, Spec: res.Nearest.Spec, Final: res.Nearest.Final}}, res.Compare...)
	for _, c := range rows {
		spec := c.Spec
		if c.Name == "optimum" {
			spec = "(above)"
		}
		fmt.Fprintf(tw, "%s\t%.6f\t%s\n", c.Name, c.Final, spec)
	}
	return tw.Flush()
}

// planSeries returns the predicted curves of the optimum, the nearest WSD
// and cosine, from where the law is defined.
func planSeries(law losscurve.Law, res losscurve.PlanResult, steps int) ([]plot.Series, error) {
	curves := []losscurve.Candidate{res.Optimum, res.Nearest}
	for _, c := range res.Compare {
		if c.Name == "cosine" {
			curves = append(curves, c)
		}
	}
	var series []plot.Series
	for _, c := range curves {
		lrs := res.LRs
		if c.Name != "optimum" {
			s, err := schedule.Parse(c.Spec)
			if err != nil {
				return nil, err
			}
			lrs = make([]float64, steps)
			for i := range lrs {
				lrs[i] = s.LR(int64(i))
			}
		}
		from, mid, _, _ := losscurve.Curve(law, lrs, 0.9)
		stride := max(1, steps/2000)
		var xs, ys []float64
		for k := 0; k < len(mid); k += stride {
			xs, ys = append(xs, float64(from+k)), append(ys, mid[k])
		}
		series = append(series, plot.Series{Name: c.Name, X: xs, Y: ys})
	}
	return series, nil
}
