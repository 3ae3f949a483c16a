package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newRefineCmd) }

const refineLong = `Read the per-step gradient norms of the run log LOG (.csv, .jsonl or a
TensorBoard event file) and compute the refined schedule of Defazio,
Cutkosky, Mehta and Mishchenko (arXiv 2310.07831) for the same horizon:
the released median-filter smoothing, weights G^-2 (--rule l2, the
grad_norm column, for SGD-type optimizers) or G^-1 (--rule l1, the
grad_norm_l1 column, for Adam-type optimizers), normalised to a peak of 1
and scaled by --peak.

The schedule is written as step,lr CSV, one row per step from 0 to the
log's last step (to -o, or to standard output). With -o, lrkit prints the
spec that follows it and where warmup and annealing emerged: the peak's
position and the share of steps at or above half the peak. Refine the
same optimizer and horizon that produced the log, and re-tune the peak.`

func newRefineCmd() *cobra.Command {
	var o refineOptions
	cmd := &cobra.Command{
		Use:   "refine LOG [--rule l2|l1] [--peak P] [-o refined.csv] [--plot out.svg]",
		Short: "Refine a schedule from the gradient norms of a previous run (Defazio et al. 2023)",
		Long:  refineLong,
		Example: `  lrkit refine run.csv --rule l1 --peak 3e-3 -o refined.csv --plot refined.svg
  lrkit train --workload mnist-mlp --schedule 'table(file=refined.csv, peak=3e-3)' --steps 2000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRefine(cmd, args[0], o) },
	}
	cmd.Flags().StringVar(&o.rule, "rule", "l2", "l2 (SGD-type; grad_norm) or l1 (Adam-type; grad_norm_l1)")
	cmd.Flags().Float64Var(&o.peak, "peak", 1, "peak learning rate of the refined schedule")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "write the step,lr CSV here instead of standard output")
	cmd.Flags().StringVar(&o.plotPath, "plot", "", "also draw the norms and the schedule (.svg or .png)")
	cmd.Flags().BoolVar(&o.noSmooth, "no-smooth", false, "skip the median-filter smoothing")
	cmd.Flags().Int64Var(&o.maxSteps, "max-steps", control.DefaultMaxRefineSteps, "refuse a log whose last step is this or more (the table has one row per step)")
	return cmd
}

// refineOptions are the flags of lrkit refine.
type refineOptions struct {
	rule, out, plotPath string
	peak                float64
	noSmooth            bool
	maxSteps            int64
}

// runRefine performs lrkit refine on the run log at path.
func runRefine(cmd *cobra.Command, path string, o refineOptions) error {
	r, err := control.ParseRule(o.rule)
	if err != nil {
		return badInput(err)
	}
	if !(o.peak > 0) || math.IsInf(o.peak, 1) {
		return badInput(fmt.Errorf("--peak must be a finite number > 0, got %g", o.peak))
	}
	if o.maxSteps <= 0 {
		return badInput(fmt.Errorf("--max-steps must be a positive number of steps, got %d", o.maxSteps))
	}
	if o.plotPath != "" {
		if _, err := plot.FormatOf(o.plotPath); err != nil {
			return badInput(err)
		}
	}
	// RefineFile's errors name the file and, for a bad norm, its line.
	ref, err := control.RefineFile(path, runlog.ReadOptions{}, r, control.RefineOptions{NoSmooth: o.noSmooth, MaxSteps: o.maxSteps})
	if err != nil {
		return badInput(err)
	}
	steps, lrs := ref.Table(o.peak)
	info := cmd.OutOrStdout()
	if o.out == "" {
		info = cmd.ErrOrStderr() // keep standard output pure CSV
		if err := schedule.WriteStepLR(cmd.OutOrStdout(), steps, lrs); err != nil {
			return err
		}
	} else if err := writeFile(o.out, func(w io.Writer) error { return schedule.WriteStepLR(w, steps, lrs) }); err != nil {
		return err
	}
	if o.plotPath != "" {
		if err := writeRefinePlot(o.plotPath, ref, o.peak); err != nil {
			return err
		}
	}
	printRefinement(info, path, ref, r, o.noSmooth, o.out, o.peak)
	if o.plotPath != "" {
		fmt.Fprintf(info, "plot: %s\n", o.plotPath)
	}
	return nil
}

// printRefinement says how the schedule was refined, the spec that
// follows it, and where warmup and annealing emerged.
func printRefinement(info io.Writer, log string, ref control.Refinement, r control.Rule, noSmooth bool, out string, peak float64) {
	fmt.Fprintf(info, "refined %d steps from %s (%s, rule %s", len(ref.LRs), log, ref.Column, r)
	if noSmooth {
		fmt.Fprintf(info, ", unsmoothed)\n")
	} else {
		fmt.Fprintf(info, ", median window %d of %d samples)\n", 2*int(control.RefineTau*control.RefineSamples/2)+1, control.RefineSamples)
	}
	if n := len(ref.Dropped); n > 0 {
		fmt.Fprintf(info, "dropped %d infinite gradient norm(s), from step %d: the smoothing interpolates over them\n", n, ref.Dropped[0])
	}
	if out != "" {
		fmt.Fprintf(info, "spec: %s\n", schedule.Table{File: out, Peak: peak, Scale: 1})
		fmt.Fprintf(info, "wrote %s\n", out)
	}
	s := ref.Summary
	fmt.Fprintf(info, "peak at step %d (%.1f%% of the run)", s.PeakStep, 100*s.PeakFrac)
	if s.PeakStep > 0 {
		fmt.Fprintf(info, ": warmup emerged, rate %.3g×peak at step 0", ref.LRs[0])
	}
	fmt.Fprintln(info)
	fmt.Fprintf(info, "at or above half the peak: %.1f%% of steps (steps %d to %d); anneal to 0 at step %d\n",
		100*s.AboveHalfFrac, s.FirstHalf, s.LastHalf, len(ref.LRs)-1)
}

// writeRefinePlot draws the gradient norms (scaled to peak 1) and the
// refined schedule against the step.
func writeRefinePlot(path string, ref control.Refinement, peak float64) error {
	norms, lrs, col := ref.Norms, ref.LRs, ref.Column
	format, err := plot.FormatOf(path)
	if err != nil {
		return err
	}
	xs := make([]float64, len(lrs))
	ys := make([]float64, len(lrs))
	gs := make([]float64, len(norms))
	mx := 0.0
	for _, g := range norms {
		mx = max(mx, g)
	}
	for i := range lrs {
		xs[i] = float64(i)
		ys[i] = lrs[i] * peak
	}
	for i, g := range norms {
		gs[i] = g / mx * peak
	}
	var buf bytes.Buffer
	err = plot.Lines(&buf, format, "refined schedule", "step", "learning rate",
		plot.Series{Name: "refined lr", X: xs, Y: ys},
		plot.Series{Name: col + " (scaled to peak)", X: xs[:len(gs)], Y: gs})
	if err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
