package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lrkit/lrkit/plot"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newDemoCmd) }

// demoSpecs are the schedules `lrkit demo` draws: the classic decays and
// the recent budget-aware ones, all at peak 3e-4 over 10000 steps.
var demoSpecs = []string{
	"cosine(peak=3e-4, steps=10000)",
	"linear(peak=3e-4, steps=10000)",
	"wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)",
	"rex(peak=3e-4, steps=10000)",
	"uba(peak=3e-4, steps=10000, phi=0.8)",
	"warmup(cosine(peak=3e-4, steps=10000), steps=500)",
}

func newDemoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo [-o DIR]",
		Short: "Plot a handful of schedules in the terminal and as SVG and PNG images",
		Long: `Draw cosine, linear, WSD with a 1-sqrt cooldown, REX, UBA (phi=0.8) and a
warmed-up cosine, all at peak 3e-4 over 10000 steps: a chart in the
terminal, then DIR/schedules.svg and DIR/schedules.png. It is what
"make run" runs until the schedule benchmark exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			scheds, err := parseSpecs(demoSpecs)
			if err != nil {
				return err
			}
			series, err := sampleAll(demoSpecs, scheds, 10000)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "lrkit demo: learning-rate schedules, peak 3e-4 over 10000 steps")
			fmt.Fprintln(out)
			w, _ := termSize(out)
			if err := plot.Terminal(out, w, 22+len(series)/2, series...); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			c := plot.Chart{Title: "Learning-rate schedules (peak 3e-4, 10000 steps)", XLabel: "step", YLabel: "learning rate", Width: 1000, Height: 600}
			fmt.Fprintln(out)
			for _, format := range []string{"svg", "png"} {
				var img bytes.Buffer
				if err := c.Lines(&img, format, series...); err != nil {
					return err
				}
				path := filepath.Join(dir, "schedules."+format)
				if err := writeFile(path, func(w io.Writer) error { _, err := img.WriteTo(w); return err }); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %s\n", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "output", "o", "out/demo", "directory for schedules.svg and schedules.png")
	deprecatedAlias(cmd, "out", "output")
	return cmd
}
