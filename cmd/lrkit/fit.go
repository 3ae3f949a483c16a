package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newFitCmd) }

func newFitCmd() *cobra.Command {
	var (
		lawKind, variant, specText, tags, out string
	)
	cmd := &cobra.Command{
		Use:   "fit --law mpl|annealing|power LOG... [--schedule SPEC] [--tags loss=...,lr=...] -o law.json",
		Short: "Fit a loss-curve law to one or more run logs",
		Long: `Fit a loss-curve law to the losses of one or more run logs (.csv, .jsonl or
TensorBoard event files) and write it as JSON.

Laws: mpl, the multi-power law (Luo et al., ICLR 2025; --variant paper, the
default, whose parameters transfer across warm-ups, or repo, the released
code's convention); annealing, the LR-annealing law (Tissue et al. 2024;
--variant b, the default, or a, for the warm-up handling); power, a
schedule-blind power law in steps (the baseline).

The fit minimises a Huber loss (δ = 1e-3) on log loss over every logged
loss at or after the end of warm-up, solving the linear parameters exactly
and optimising the others from a fixed grid of starts: it is deterministic.
The learning rate at every step comes from the log's lr values (linearly
interpolated, with a warning, where the log has them only at some steps)
or from --schedule SPEC. --tags maps TensorBoard tags to fields.`,
		Example: `  lrkit fit --law mpl constant.csv cosine.csv -o law.json
  lrkit fit --law annealing run.jsonl --schedule 'wsd(peak=3e-4, steps=24000, warmup=2160, decay=0.2)' -o law.json
  lrkit fit --law mpl events.out.tfevents.123 --tags loss=train/loss,lr=train/lr -o law.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lawKind == "" {
				return badInput(fmt.Errorf("--law is required: one of %s", strings.Join(losscurve.Kinds(), ", ")))
			}
			runs, err := lcReadRuns(args, specText, tags, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			start := time.Now()
			law, rep, err := losscurve.Fit(context.Background(), lawKind, runs, losscurve.FitOptions{Variant: variant})
			if err != nil {
				return badInput(err)
			}
			var buf bytes.Buffer
			if err := losscurve.Save(&buf, law); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			info := w
			if out == "" || out == "-" {
				if _, err := w.Write(buf.Bytes()); err != nil {
					return err
				}
				info = cmd.ErrOrStderr()
			} else if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(info, "fitted %s law to %d points of %d runs in %.2fs (%d evaluations, %d starts, objective %.4g)\n",
				lawKind, rep.Points, len(runs), time.Since(start).Seconds(), rep.Evaluations, rep.Starts, rep.Objective)
			fmt.Fprintf(info, "parameters: %s\n", lcParamText(law))
			for _, r := range runs {
				m := rep.Runs[r.Name]
				fmt.Fprintf(info, "  %s: R2 %.5f MAE %.5f RMSE %.5f PredE %.5f WorstE %.5f\n", r.Name, m.R2, m.MAE, m.RMSE, m.PredE, m.WorstE)
			}
			if out != "" && out != "-" {
				fmt.Fprintf(info, "wrote %s\n", out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&lawKind, "law", "", "law to fit: mpl, annealing or power")
	cmd.Flags().StringVar(&variant, "variant", "", "mpl: paper (default) or repo; annealing: b (default) or a")
	cmd.Flags().StringVar(&specText, "schedule", "", "schedule SPEC giving the learning rate at every step (instead of the logs' lr)")
	cmd.Flags().StringVar(&tags, "tags", "", "TensorBoard tag map, e.g. loss=train/loss,lr=lr")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the law JSON here (default: standard output)")
	return cmd
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

// lcReadRuns reads run logs into Runs, printing warnings to warn.
func lcReadRuns(paths []string, specText, tags string, warn io.Writer) ([]losscurve.Run, error) {
	opts := runlog.ReadOptions{IgnoreUnknown: true}
	if tags != "" {
		tm, err := runlog.ParseTagMap(tags)
		if err != nil {
			return nil, badInput(fmt.Errorf("--tags: %w", err))
		}
		opts.Tags = tm
	}
	var sched schedule.Schedule
	if specText != "" {
		s, err := schedule.Parse(specText)
		if err != nil {
			return nil, badInput(fmt.Errorf("--schedule: %w", err))
		}
		sched = s
	}
	var runs []losscurve.Run
	for _, p := range paths {
		o := opts
		o.OnWarning = func(w runlog.Warning) { fmt.Fprintf(warn, "warning: %s\n", w) }
		recs, err := runlog.ReadFile(p, o)
		if err != nil {
			return nil, badInput(err)
		}
		run, warns, err := losscurve.RunFromRecords(recs, losscurve.RecordOptions{Name: p, Position: lcPositions(p, len(recs)), Schedule: sched})
		if err != nil {
			return nil, badInput(err)
		}
		for _, w := range warns {
			fmt.Fprintf(warn, "warning: %s\n", w)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// lcPositions maps record indexes to "file:line" for text logs, counting
// the non-blank lines after a CSV header (or every non-blank JSONL line);
// when the count does not match the records (or for event files) it falls
// back to "file: record N".
func lcPositions(path string, n int) func(int) string {
	fallback := func(i int) string { return fmt.Sprintf("%s: record %d", path, i+1) }
	format, err := runlog.FormatOf(path)
	if err != nil || (format != runlog.FormatCSV && format != runlog.FormatJSONL) {
		return fallback
	}
	f, err := os.Open(path)
	if err != nil {
		return fallback
	}
	defer f.Close()
	var lines []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	header := format == runlog.FormatCSV
	for ln := 1; sc.Scan(); ln++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		lines = append(lines, ln)
	}
	if sc.Err() != nil || len(lines) != n {
		return fallback
	}
	return func(i int) string { return fmt.Sprintf("%s:%d", path, lines[i]) }
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
