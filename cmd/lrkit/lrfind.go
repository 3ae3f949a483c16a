package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newLRFindCmd) }

type lrfindOptions struct {
	workload  string
	optimizer string
	minLR     float64
	maxLR     float64
	steps     int
	batch     int
	seed      uint64
	limit     int
	plotPath  string
}

func newLRFindCmd() *cobra.Command {
	o := lrfindOptions{}
	cmd := &cobra.Command{
		Use:   "lrfind --workload W [--min 1e-6] [--max 10] [--steps 100] [--plot out.svg]",
		Short: "LR range test: sweep the learning rate exponentially and suggest a peak",
		Long: `Train workload W from its initialisation for --steps steps with the
learning rate rising exponentially from --min to --max (Smith 2017;
fastai's lr_find), smooth the loss with a bias-corrected moving average
(beta 0.98), stop once the smoothed loss exceeds 4 times its best, and
suggest a peak rate, naming the rule that chose it: the steepest descent
of the smoothed loss against log(rate) before its minimum, or a tenth of
the rate at the minimum when the loss never fell.

Prints step,lr,loss,smoothed CSV, then the suggestion on standard error.
The model is trained only for the sweep; nothing is saved.`,
		Example: `  lrkit lrfind --workload mnist-mlp --plot lrfind.svg
  lrkit lrfind --workload kjv-gpt --optimizer adamw --min 1e-5 --max 1 --steps 60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLRFind(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.workload, "workload", "", "workload to train (lrkit workloads lists them)")
	f.StringVar(&o.optimizer, "optimizer", "", "optimizer (default: the workload's)")
	f.Float64Var(&o.minLR, "min", 1e-6, "first learning rate of the sweep")
	f.Float64Var(&o.maxLR, "max", 10, "last learning rate of the sweep")
	f.IntVar(&o.steps, "steps", 100, "steps of the sweep")
	f.IntVar(&o.batch, "batch", 0, "batch size (default: the workload's)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the model and data order")
	f.IntVar(&o.limit, "limit", 0, "cap the examples read (0: all; for quick tries)")
	f.StringVar(&o.plotPath, "plot", "", "draw loss against log10(rate) (.svg or .png)")
	return cmd
}

func runLRFind(ctx context.Context, o lrfindOptions, out, errOut io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case o.workload == "":
		return badInput(errors.New("--workload is required (`lrkit workloads` lists them)"))
	case !(o.minLR > 0) || !(o.maxLR > o.minLR) || math.IsInf(o.maxLR, 0):
		return badInput(fmt.Errorf("--min and --max must satisfy 0 < min < max, got %g and %g", o.minLR, o.maxLR))
	case o.steps < 5:
		return badInput(fmt.Errorf("--steps must be at least 5, got %d", o.steps))
	case o.batch < 0 || o.limit < 0:
		return badInput(errors.New("--batch and --limit must not be negative"))
	}
	if o.plotPath != "" {
		if _, err := plot.FormatOf(o.plotPath); err != nil {
			return badInput(err)
		}
	}
	w, err := workload.Lookup(o.workload)
	if err != nil {
		return badInput(err)
	}
	if o.optimizer != "" && !slices.Contains(workload.Optimizers, o.optimizer) {
		return badInput(fmt.Errorf("--optimizer: unknown optimizer %q (have %s)", o.optimizer, strings.Join(workload.Optimizers, ", ")))
	}
	cfg, setup, err := w.TrainConfig(ctx, workload.TrainOptions{Options: workload.Options{Seed: o.seed, Batch: o.batch, Limit: o.limit},
		Optimizer: o.optimizer, EvalEvery: -1})
	if err != nil {
		return err
	}
	// The sweep drives the trainer's engine at its own rates; the
	// controller and step budget of the config are never consulted.
	cfg.Controller, cfg.Steps = control.NewFixed(schedule.Constant{}), int64(o.steps)
	tr, err := train.New(cfg)
	if err != nil {
		return err
	}
	res, err := control.LRFind(ctx, tr.Engine(), o.minLR, o.maxLR, o.steps)
	if err != nil {
		return err
	}
	if err := writeLRFindCSV(out, res); err != nil {
		return err
	}
	fmt.Fprintf(errOut, "lrfind %s (%s, batch %d): %d of %d steps, rates %.3g to %.3g\n",
		w.Name, cfg.Optimizer.Name(), setup.Batch, len(res.LRs), o.steps, res.LRs[0], res.LRs[len(res.LRs)-1])
	if res.Stopped != "" {
		fmt.Fprintf(errOut, "stopped: %s\n", res.Stopped)
	}
	fmt.Fprintf(errOut, "lowest smoothed loss at lr %.3g (a tenth: %.3g)\n", res.MinLR, res.MinLR/10)
	fmt.Fprintf(errOut, "suggested peak: %.3g (rule: %s)\n", res.Suggested, res.Rule)
	if o.plotPath != "" {
		if err := writeLRFindPlot(o.plotPath, w.Name, res); err != nil {
			return err
		}
		fmt.Fprintf(errOut, "plot: %s\n", o.plotPath)
	}
	return nil
}

func writeLRFindCSV(w io.Writer, res control.LRFindResult) error {
	var b bytes.Buffer
	b.WriteString("step,lr,loss,smoothed\n")
	for i := range res.LRs {
		fmt.Fprintf(&b, "%d,%s,%s,%s\n", i, formatRate(res.LRs[i]), formatRate(res.Losses[i]), formatRate(res.Smoothed[i]))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeLRFindPlot(path, name string, res control.LRFindResult) error {
	format, err := plot.FormatOf(path)
	if err != nil {
		return err
	}
	var xs, raw, sm []float64
	for i, lr := range res.LRs {
		if math.IsInf(res.Smoothed[i], 0) || math.IsNaN(res.Losses[i]) || math.IsInf(res.Losses[i], 0) {
			break
		}
		xs = append(xs, math.Log10(lr))
		raw = append(raw, res.Losses[i])
		sm = append(sm, res.Smoothed[i])
	}
	var buf bytes.Buffer
	c := plot.Chart{Title: fmt.Sprintf("LR range test: %s (suggested %.3g)", name, res.Suggested),
		XLabel: "log10 learning rate", YLabel: "training loss"}
	err = c.Lines(&buf, format,
		plot.Series{Name: "loss", X: xs, Y: raw},
		plot.Series{Name: "smoothed", X: xs, Y: sm},
		plot.Series{Name: "suggested", X: []float64{math.Log10(res.Suggested), math.Log10(res.Suggested)}, Y: []float64{minOf(sm), maxOf(sm)}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	return m
}
