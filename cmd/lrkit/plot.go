package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lrkit/lrkit/plot"
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

func newPlotCmd() *cobra.Command {
	var (
		out           string
		steps         int64
		width, height int
		logY          bool
		title         string
	)
	cmd := &cobra.Command{
		Use:   "plot SPEC... [-o FILE.png|FILE.svg] [--steps N] [--width W --height H]",
		Short: "Draw one or more schedules in the terminal or as an image",
		Long: `Draw the learning rate of each schedule SPEC from step 0 to step N, in the
terminal (one marker per schedule, y tick labels, the x range and a legend
of the spec texts) or, with -o, as an SVG or PNG image with labelled axes
and a legend.

N is --steps or, by default, the longest horizon (steps parameter) among
the specs; a spec without one (sgdr, cyclic, step, ...) needs --steps.
--width and --height are in characters for the terminal (default: the
terminal's size, or 80x24) and in pixels for an image (default 900x560).`,
		Example: `  lrkit plot 'cosine(peak=3e-4, steps=10000)' 'wsd(peak=3e-4, steps=10000, decay=0.2, shape=1-sqrt)'
  lrkit plot 'sgdr(peak=0.1, period=100, mult=2)' --steps 1500 -o sgdr.png`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(fmt.Errorf("give at least one schedule SPEC to plot"))
			}
			scheds, err := parseSpecs(args)
			if err != nil {
				return err
			}
			n, err := stepsFor(cmd, steps, scheds...)
			if err != nil {
				return err
			}
			series, err := sampleAll(args, scheds, n)
			if err != nil {
				return err
			}
			if width < 0 || height < 0 {
				return badInput(fmt.Errorf("--width and --height must be positive, got %dx%d", width, height))
			}
			limit := maxTermCells
			if out != "" {
				limit = maxImagePixels
			}
			if width > limit || height > limit {
				return badInput(fmt.Errorf("--width and --height must be at most %d, got %dx%d", limit, width, height))
			}
			if out != "" {
				format, err := plot.FormatOf(out)
				if err != nil {
					return badInput(err)
				}
				c := plot.Chart{Title: title, XLabel: "step", YLabel: "learning rate", LogY: logY, Width: width, Height: height}
				var img bytes.Buffer // drawn before the file is created
				if err := c.Lines(&img, format, series...); err != nil {
					return badInput(err)
				}
				return writeFile(out, func(w io.Writer) error { _, err := img.WriteTo(w); return err })
			}
			if logY {
				return badInput(fmt.Errorf("--log-y needs an image (-o FILE.svg or FILE.png)"))
			}
			w, h := termSize(cmd.OutOrStdout())
			if width > 0 {
				w = width
			}
			if height > 0 {
				h = height
			}
			if err := plot.Terminal(cmd.OutOrStdout(), w, h, series...); err != nil {
				return badInput(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write an image instead: FILE.svg or FILE.png")
	cmd.Flags().Int64Var(&steps, "steps", 0, "last step N to draw (default: the longest horizon among the specs)")
	cmd.Flags().IntVar(&width, "width", 0, "chart width: characters in the terminal, pixels for -o")
	cmd.Flags().IntVar(&height, "height", 0, "chart height: lines in the terminal, pixels for -o")
	cmd.Flags().BoolVar(&logY, "log-y", false, "log-scale y axis (images only)")
	cmd.Flags().StringVar(&title, "title", "", "image title")
	return cmd
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

// sampleAll samples each schedule at steps 0..n, named by its spec text.
func sampleAll(names []string, scheds []schedule.Schedule, n int64) ([]plot.Series, error) {
	steps := sampleSteps(n, maxPlotPoints)
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
