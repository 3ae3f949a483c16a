package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newFitCmd) }

const fitLong = `Fit a loss-curve law to the losses of one or more run logs (.csv, .jsonl or
TensorBoard event files) and write it as JSON, with its bootstrap refits
(lrkit predict uses them for prediction intervals).

Laws: mpl, the multi-power law (Luo et al., ICLR 2025; --variant paper, the
default, whose parameters transfer across warm-ups, or repo, the released
code's convention); annealing, the LR-annealing law (Tissue et al. 2024;
--variant b, the default, or a, for the warm-up handling); power, a
schedule-blind power law in steps (the baseline).

Recipes: lrkit (default) minimises a Huber loss (δ = 1e-3) on log loss
with a weak prior on the multi-power law's exponents, and refits 8
block-bootstrap resamples for the intervals; converged drops the prior;
released reproduces the multi-power law paper's released fitting code
(grid start, 200 AdamW steps with patience 20) for users who must match
the paper. Predicting runs 2 to 3.3 times longer than every fit run
(docs/accuracy.md, horizon test splits), released followed the curves
more closely than lrkit (mean PredE 0.219% against 0.333%) but missed
their final losses by more (0.646% against 0.383%); it does not recover a
known law from its own noise-free curves (lrkit's recovery checks), which
is why it is not the default. --prior-candidates makes the multi-power law
fit choose its prior's weight among the given ones: each is fitted without
the last third of every fit run and scored there (on the held-out EPFL
validation runs of docs/accuracy.md this was worse than the default's
fixed weight, 0.313% against 0.293% PredE, and better than no prior,
0.329%). --prior-centre moves the prior's centre (C, β, γ), for example
to a law fitted on your other runs. The fit is deterministic. Parameters
that end at a bound of the search box, and fit runs whose rate never
decays, are reported.

The learning rate at every step comes from the log's lr values (linearly
interpolated, with a warning, where the log has them only at some steps)
or from --schedule: give it once per log, in the order of the logs.
--tags maps TensorBoard tags to fields.`

const fitExample = `  lrkit fit --law mpl constant.csv cosine.csv -o law.json
  lrkit fit --law annealing run.jsonl --schedule 'wsd(peak=3e-4, steps=24000, warmup=2160, decay=0.2)' -o law.json
  lrkit fit --law mpl a.csv b.csv --schedule 'constant(peak=1e-3)' --schedule 'cosine(peak=1e-3, steps=5000)' -o law.json
  lrkit fit --law mpl events.out.tfevents.123 --tags loss=train/loss,lr=train/lr -o law.json`

// fitFlags are lrkit fit's flags.
type fitFlags struct {
	law, variant, recipe, tags, out string
	maxSteps                        int
	specs                           []string
	bootstrap                       int
	seed                            uint64
	priorCandidates                 []float64
	priorCentre                     []float64
}

func newFitCmd() *cobra.Command {
	var f fitFlags
	cmd := &cobra.Command{
		Use:     "fit --law mpl|annealing|power LOG... [--schedule SPEC]... [--recipe lrkit|converged|released] -o law.json",
		Short:   "Fit a loss-curve law to one or more run logs",
		Long:    fitLong,
		Example: fitExample,
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runFit(cmd, args, f) },
	}
	cmd.Flags().StringVar(&f.law, "law", "", "law to fit: mpl, annealing or power")
	cmd.Flags().StringVar(&f.variant, "variant", "", "mpl: paper (default) or repo; annealing: b (default) or a")
	cmd.Flags().StringVar(&f.recipe, "recipe", losscurve.RecipeDefault, "fitting recipe: lrkit, converged or released")
	cmd.Flags().StringArrayVar(&f.specs, "schedule", nil, "schedule SPEC giving a log's learning rate at every step; once per log, in order")
	cmd.Flags().StringVar(&f.tags, "tags", "", "TensorBoard tag map, e.g. loss=train/loss,lr=lr")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the law JSON here (default: standard output)")
	cmd.Flags().IntVar(&f.bootstrap, "bootstrap", 0, "bootstrap refits for prediction intervals (0: the recipe's default, -1: none)")
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "seed of the bootstrap resampling")
	cmd.Flags().Float64SliceVar(&f.priorCandidates, "prior-candidates", nil, "mpl: choose the prior's weight among these (0: none) by holding out the last third of each fit run, e.g. 0,1e-7,1e-6,1e-5")
	cmd.Flags().Float64SliceVar(&f.priorCentre, "prior-centre", nil, "mpl, lrkit recipe: centre the prior on C,beta,gamma (e.g. a law fitted to your other runs; unset: "+
		strings.ReplaceAll(strings.Trim(fmt.Sprint(losscurve.DefaultPriorCentre()), "[]"), " ", ",")+")")
	maxStepsFlag(cmd, &f.maxSteps)
	return cmd
}

func runFit(cmd *cobra.Command, args []string, f fitFlags) error {
	if f.law == "" {
		return badInput(fmt.Errorf("--law is required: one of %s", strings.Join(losscurve.Kinds(), ", ")))
	}
	if !slices.Contains(losscurve.Kinds(), f.law) { // before the logs are read and their warnings printed
		return badInput(fmt.Errorf("--law: unknown law %q (want one of %s)", f.law, strings.Join(losscurve.Kinds(), ", ")))
	}
	if err := checkMaxSteps(f.maxSteps); err != nil {
		return err
	}
	if f.bootstrap < -1 {
		return badInput(fmt.Errorf("--bootstrap must be -1 (none), 0 (the recipe's default) or a number of refits, got %d", f.bootstrap))
	}
	if f.priorCentre != nil && f.recipe != losscurve.RecipeDefault {
		return badInput(fmt.Errorf("--prior-centre needs the lrkit recipe's prior; --recipe %s fits without one", f.recipe))
	}
	runs, err := lcReadRuns(cmd, args, f.specs, f.tags, f.maxSteps)
	if err != nil {
		return err
	}
	start := time.Now()
	law, rep, err := losscurve.Fit(context.Background(), f.law, runs, losscurve.FitOptions{Recipe: f.recipe, Variant: f.variant, Bootstrap: f.bootstrap, Seed: f.seed, PriorCandidates: f.priorCandidates, PriorCentre: f.priorCentre})
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := losscurve.Save(&buf, law); err != nil {
		return err
	}
	info := cmd.OutOrStdout()
	if f.out == "" || f.out == "-" {
		if _, err := info.Write(buf.Bytes()); err != nil {
			return err
		}
		info = cmd.ErrOrStderr()
	} else if err := os.WriteFile(f.out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(info, "fitted %s law (recipe %s) to %d points of %d runs in %.2fs (%d evaluations, %d bootstrap refits, objective %.4g)\n",
		f.law, rep.Recipe, rep.Points, len(runs), time.Since(start).Seconds(), rep.Evaluations, rep.Bootstrap, rep.Objective)
	if err := printFit(info, law, rep, runs); err != nil {
		return err
	}
	if f.out != "" && f.out != "-" {
		fmt.Fprintf(info, "wrote %s\n", f.out)
	}
	return nil
}

// printFit prints a fit's parameters, warnings and in-sample metrics.
func printFit(w io.Writer, law *losscurve.Fitted, rep losscurve.FitReport, runs []losscurve.Run) error {
	fmt.Fprintf(w, "parameters: %s\n", lcParamText(law))
	fmt.Fprintf(w, "fitted on steps %d..%d at peak %g; residual scale %.3g (log loss)\n", law.Info.From, law.Info.To, law.Info.Peak, law.Sigma)
	if rep.Repeated > 0 {
		fmt.Fprintf(w, "%d points repeat an earlier log's (same step, loss and rates: a run resumed from its checkpoint) and were fitted once\n", rep.Repeated)
	}
	if c := rep.Prior; c != nil {
		if c.Fallback != "" {
			fmt.Fprintf(w, "prior weight %g (the default: %s)\n", c.Weight, c.Fallback)
		} else {
			keys := slices.Sorted(maps.Keys(c.Scores))
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s: %.4f%%", k, 100*c.Scores[k]))
			}
			fmt.Fprintf(w, "prior weight %g, chosen on the last third of each fit run (%d points; held-out PredE %s)\n", c.Weight, c.Held, strings.Join(parts, ", "))
		}
	}
	for _, m := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
	if law.Name() != losscurve.KindPower && law.Info.Decay < 0.1 {
		fmt.Fprintf(w, "warning: the fit runs' rate falls at most %.0f%% below its peak after warm-up: the law's response to a decay is not identified, so its predictions for decayed schedules mean little\n", 100*law.Info.Decay)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tR2\tMAE\tRMSE\tPredE\tWorstE\tbias\t")
	for _, r := range runs {
		m := rep.Runs[r.Name]
		fmt.Fprintf(tw, "%s\t%.5f\t%.5f\t%.5f\t%.5f\t%.5f\t%+.5f\t\n", r.Name, m.R2, m.MAE, m.RMSE, m.PredE, m.WorstE, m.Bias)
	}
	return tw.Flush()
}

// lcParamText formats a law's parameters in a stable order.
func lcParamText(law losscurve.Law) string {
	p := law.Params()
	var parts []string
	for _, n := range []string{"L0", "A", "alpha", "B", "C", "beta", "gamma", "lambda"} {
		if v, ok := p[n]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.6g", n, v))
		}
	}
	return strings.Join(parts, " ")
}

// lcReadRuns reads the logs with their --schedule specs (none, or one per
// log) and the tag map, printing the readers' warnings.
func lcReadRuns(cmd *cobra.Command, paths, specs []string, tags string, maxSteps int) ([]losscurve.Run, error) {
	if len(specs) > 0 && len(specs) != len(paths) {
		return nil, badInput(fmt.Errorf("%d --schedule specs for %d logs: give one spec per log, in the order of the logs", len(specs), len(paths)))
	}
	var tm runlog.TagMap
	if tags != "" {
		var err error
		if tm, err = runlog.ParseTagMap(tags); err != nil {
			return nil, badInput(fmt.Errorf("--tags: %w", err))
		}
	}
	files := make([]losscurve.RunFile, len(paths))
	for i, p := range paths {
		files[i].Path = p
		if len(specs) > 0 {
			s, err := parseSpec(specs[i], "")
			if err != nil {
				return nil, badInput(fmt.Errorf("--schedule %d (for %s): %w", i+1, p, errorsUnwrapUsage(err)))
			}
			files[i].Schedule = s
		}
	}
	runs, warns, err := losscurve.ReadRunFiles(files, losscurve.FileOptions{Tags: tm, MaxSteps: maxSteps})
	if err != nil {
		return nil, badInput(err)
	}
	for _, w := range warns {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
	}
	return runs, nil
}

// maxStepsFlag adds --max-steps, the longest run the loss-curve commands
// accept (a run holds a rate per step).
func maxStepsFlag(cmd *cobra.Command, p *int) {
	cmd.Flags().IntVar(p, "max-steps", losscurve.DefaultMaxSteps, "refuse runs and budgets longer than this many steps")
}

// checkMaxSteps rejects a --max-steps that is not positive (the package
// would read 0 and below as its default).
func checkMaxSteps(n int) error {
	if n <= 0 {
		return badInput(fmt.Errorf("--max-steps must be a positive number of steps, got %d", n))
	}
	return nil
}

// lcLoadLaw reads a law JSON file.
func lcLoadLaw(path string) (losscurve.Law, error) {
	if path == "" {
		return nil, badInput(fmt.Errorf("--law law.json is required (write one with lrkit fit)"))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badInput(err)
	}
	defer f.Close()
	law, err := losscurve.Load(f)
	if err != nil {
		return nil, badInput(fmt.Errorf("%s: %w", path, err))
	}
	return law, nil
}

// horizonBiasFlag adds --horizon-bias to a command that predicts with a
// law.
func horizonBiasFlag(cmd *cobra.Command, on *bool) {
	cmd.Flags().BoolVar(on, "horizon-bias", false, fmt.Sprintf("past the law's last fitted step To, multiply the prediction and its interval by 1 + %g·ln((t+1)/(To+1)), the bias measured on held-out runs (docs/accuracy.md)", losscurve.MeasuredHorizonBias))
}

// loadPredictingLaw reads the law of path for predict and plan, with the
// measured horizon bias when horizonBias is set.
func loadPredictingLaw(cmd *cobra.Command, path string, horizonBias bool) (losscurve.Law, error) {
	law, err := lcLoadLaw(path)
	if err != nil || !horizonBias {
		return law, err
	}
	return withHorizonBias(cmd.ErrOrStderr(), law, path)
}

// withHorizonBias returns the law of path with its HorizonBias set to the
// measured one (losscurve.MeasuredHorizonBias). A law that does not record
// the steps it was fitted on cannot be corrected; one the correction was
// not measured for (another law or recipe) gets a note on stderr.
func withHorizonBias(stderr io.Writer, law losscurve.Law, path string) (losscurve.Law, error) {
	f, ok := law.(*losscurve.Fitted)
	if !ok || f.Info.To <= 0 {
		return nil, badInput(fmt.Errorf("--horizon-bias: %s does not record the steps it was fitted on (write it with lrkit fit)", path))
	}
	g := *f
	g.HorizonBias = losscurve.MeasuredHorizonBias
	if recipe := cmp.Or(g.Info.Recipe, losscurve.RecipeDefault); g.Name() != losscurve.KindMPL || recipe != losscurve.RecipeDefault {
		fmt.Fprintf(stderr, "note: --horizon-bias was measured on the default recipe's multi-power law fits; %s is a %s fit of the %s recipe\n", path, g.Name(), recipe)
	}
	return &g, nil
}

// lcWritePlot draws series to path (.svg or .png).
func lcWritePlot(path, title, ylabel string, series []plot.Series) error {
	format, err := plot.FormatOf(path)
	if err != nil {
		return badInput(err)
	}
	var buf bytes.Buffer
	if err := plot.Lines(&buf, format, title, "step", ylabel, series...); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// lcJSON writes v as indented JSON.
func lcJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
