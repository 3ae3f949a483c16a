package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lrkit/lrkit/plot"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { registerCommand(newPlotCmd) }

// Terminal chart size when standard output is not a terminal.
const (
	defaultTermWidth  = 80
	defaultTermHeight = 24
)

// Largest --width or --height accepted, in pixels for an image and in
// characters for the terminal.
const (
	maxImagePixels = 20000
	maxTermCells   = 2000
)

// maxPlotPoints bounds the points sampled from a schedule: enough for any
// screen or image, evenly spaced steps beyond that.
const maxPlotPoints = 20000

const plotLong = `Draw schedules or run logs, in the terminal or, with -o, as an SVG or PNG
image with labelled axes and a legend.

Schedules: the learning rate of each schedule SPEC over the N updates,
steps 0 to N-1, where N is --steps or, by default, the longest horizon
among the specs (a spec without one, such as sgdr, cyclic or step, needs
--steps).

Run logs: each argument that names a file or directory (.csv, .jsonl, a
TensorBoard event file or run directory) is a run log. One panel per
field (--fields; by default those of loss, val_loss, val_metric, lr and
grad_norm that the logs hold) against the step, the runs overlaid in one
colour each. --smooth W smooths loss and grad_norm with TensorBoard's
debiased moving average of weight W.

--width and --height are in characters for the terminal (default: the
terminal's size, or 80x24) and in pixels for an image (default 900x560
for a schedule chart). --log-y draws log-scale y axes; values <= 0 are
left out with a note.`

// plotOptions are the flags of lrkit plot.
type plotOptions struct {
	out           string
	steps         int64
	width, height int
	logY          bool
	title         string
	fields        string
	smooth        float64
}

func newPlotCmd() *cobra.Command {
	var o plotOptions
	cmd := &cobra.Command{
		Use:   "plot (SPEC... | LOG...) [-o FILE.svg|FILE.png] [flags]",
		Short: "Draw schedules or training run logs in the terminal or as an image",
		Long:  plotLong,
		Example: `  lrkit plot 'cosine(peak=3e-4, steps=10000)' 'wsd(peak=3e-4, steps=10000, decay=0.2, shape=1-sqrt)'
  lrkit plot 'sgdr(peak=0.1, period=100, mult=2)' --steps 1500 -o sgdr.png
  lrkit plot runs/linear.csv runs/cosine.csv --smooth 0.9 -o runs.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(len(args)); err != nil {
				return err
			}
			logs, err := runLogArgs(args)
			if err != nil {
				return err
			}
			if logs {
				return plotRunLogs(cmd, args, o)
			}
			return plotSchedules(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "write an image instead: FILE.svg or FILE.png")
	f.Int64Var(&o.steps, "steps", 0, "schedules: number of updates N to draw, steps 0..N-1 (default: the longest horizon)")
	f.IntVar(&o.width, "width", 0, "chart width: characters in the terminal, pixels for -o")
	f.IntVar(&o.height, "height", 0, "chart height: lines in the terminal, pixels for -o")
	f.BoolVar(&o.logY, "log-y", false, "log-scale y axis (images only)")
	f.StringVar(&o.title, "title", "", "image title")
	f.StringVar(&o.fields, "fields", "", "run logs: comma-separated fields to draw, e.g. loss,lr")
	f.Float64Var(&o.smooth, "smooth", 0, "run logs: smoothing weight in [0, 1) for loss and grad_norm")
	return cmd
}

// check rejects bad flag values before anything is read.
func (o plotOptions) check(args int) error {
	limit := maxTermCells
	if o.out != "" {
		limit = maxImagePixels
		if _, err := plot.FormatOf(o.out); err != nil {
			return badInput(err)
		}
	}
	switch {
	case args == 0:
		return badInput(fmt.Errorf("give at least one schedule SPEC or run LOG to plot"))
	case o.width < 0 || o.height < 0:
		return badInput(fmt.Errorf("--width and --height must be positive, got %dx%d", o.width, o.height))
	case o.width > limit || o.height > limit:
		return badInput(fmt.Errorf("--width and --height must be at most %d, got %dx%d", limit, o.width, o.height))
	case o.logY && o.out == "":
		return badInput(fmt.Errorf("--log-y needs an image (-o FILE.svg or FILE.png)"))
	case !(o.smooth >= 0 && o.smooth < 1):
		return badInput(fmt.Errorf("--smooth must be in [0, 1), got %g", o.smooth))
	}
	return nil
}

// runLogArgs tells whether the arguments are run logs (files, directories
// or names with a run-log extension) or schedule specs; a mix is an error.
func runLogArgs(args []string) (bool, error) {
	logs := 0
	for _, a := range args {
		_, statErr := os.Stat(a)
		_, fmtErr := runlog.FormatOf(a)
		if statErr == nil || fmtErr == nil && !strings.Contains(a, "(") {
			logs++
		}
	}
	if logs > 0 && logs < len(args) {
		return false, badInput(fmt.Errorf("give schedule specs or run logs, not both (%d of %d arguments are run logs)", logs, len(args)))
	}
	return logs > 0, nil
}

// plotSchedules draws schedule specs.
func plotSchedules(cmd *cobra.Command, args []string, o plotOptions) error {
	if cmd.Flags().Changed("fields") || cmd.Flags().Changed("smooth") {
		return badInput(fmt.Errorf("--fields and --smooth are for run logs"))
	}
	scheds, err := parseSpecs(args)
	if err != nil {
		return err
	}
	n, err := stepsFor(cmd, o.steps, scheds...)
	if err != nil {
		return err
	}
	series, err := sampleAll(args, scheds, n-1)
	if err != nil {
		return err
	}
	if o.out != "" {
		c := plot.Chart{Title: o.title, XLabel: "step", YLabel: "learning rate", LogY: o.logY, Width: o.width, Height: o.height}
		return writeImage(o.out, func(w io.Writer, format string) error { return c.Lines(w, format, series...) })
	}
	return drawTerminal(cmd.OutOrStdout(), o, series)
}

// writeImage draws an image in memory, in the format of path's
// extension, and writes the file only when drawing succeeded.
func writeImage(path string, draw func(w io.Writer, format string) error) error {
	format, err := plot.FormatOf(path)
	if err != nil {
		return badInput(err)
	}
	var img bytes.Buffer
	if err := draw(&img, format); err != nil {
		return badInput(err)
	}
	return writeFile(path, func(w io.Writer) error { _, err := img.WriteTo(w); return err })
}

// drawTerminal draws series as a text chart of the terminal's size or
// the flags'.
func drawTerminal(out io.Writer, o plotOptions, series []plot.Series) error {
	w, h := termSize(out)
	if o.width > 0 {
		w = o.width
	}
	if o.height > 0 {
		h = o.height
	}
	if err := plot.Terminal(out, w, h, series...); err != nil {
		return badInput(err)
	}
	return nil
}

// parseSpecs parses every spec before anything is drawn or printed; with
// several specs an error says which argument it is about.
func parseSpecs(args []string) ([]schedule.Schedule, error) {
	out := make([]schedule.Schedule, len(args))
	for i, a := range args {
		s, err := parseSpec(a, "")
		if err != nil {
			if len(args) > 1 {
				return nil, badInput(fmt.Errorf("%w (in SPEC %d of %d)", errorsUnwrapUsage(err), i+1, len(args)))
			}
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// errorsUnwrapUsage strips the usageError wrapper so that it can be
// wrapped again with more context.
func errorsUnwrapUsage(err error) error {
	if ue, ok := err.(usageError); ok {
		return ue.err
	}
	return err
}

// sampleAll samples each schedule at steps 0..last, named by its spec text.
func sampleAll(names []string, scheds []schedule.Schedule, last int64) ([]plot.Series, error) {
	steps := sampleSteps(last, maxPlotPoints)
	x := make([]float64, len(steps))
	for i, t := range steps {
		x[i] = float64(t)
	}
	series := make([]plot.Series, len(scheds))
	for i, s := range scheds {
		y, err := schedule.Sample(s, steps)
		if err != nil {
			return nil, badInput(err)
		}
		series[i] = plot.Series{Name: strings.Join(strings.Fields(names[i]), " "), X: x, Y: y}
	}
	return series, nil
}

// sampleSteps returns the steps 0..n, or at most maxPoints of them evenly
// spaced and always including 0 and n.
func sampleSteps(n int64, maxPoints int) []int64 {
	if n+1 <= int64(maxPoints) {
		out := make([]int64, n+1)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	out := make([]int64, maxPoints)
	for i := range out {
		out[i] = int64(float64(n) * float64(i) / float64(maxPoints-1))
	}
	out[maxPoints-1] = n
	return out
}

// termSize is the size of the terminal w writes to, or 80x24.
func termSize(w io.Writer) (int, int) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cw, ch, err := term.GetSize(int(f.Fd())); err == nil && cw >= 20 && ch >= 8 {
			return min(cw, 200), min(ch-1, 60)
		}
	}
	return defaultTermWidth, defaultTermHeight
}
