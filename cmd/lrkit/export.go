package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newExportCmd) }

// maxExportSteps bounds an exported table (about 2.5 GB of CSV).
const maxExportSteps = 100_000_000

func newExportCmd() *cobra.Command {
	var (
		steps  int64
		format string
		out    string
		parity string
	)
	cmd := &cobra.Command{
		Use:   "export SPEC --steps N --format csv|json [-o FILE]",
		Short: "Write a schedule's whole learning-rate table for any framework to load",
		Long: `Write the learning rates of the N updates of a run, steps 0 to N-1, for
the schedule SPEC. N is --steps or, by default, the schedule's horizon.

--format csv writes the header "step,lr" and one row per step; --format
json writes {"spec": "...", "steps": N, "lr": [...]} where spec is the
canonical spec text and lr[t] is the rate of step t. Rates are printed in
full float64 precision. The table goes to standard output, or to FILE
with -o.`,
		Example: `  lrkit export 'wsd(peak=3e-4, steps=10000, decay=0.2, shape=1-sqrt)' --format json -o lr.json
  lrkit export 'cosine(peak=0.1, steps=90)' --format csv --parity pytorch`,
		Args: exactSpecs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSpec(args[0], parity)
			if err != nil {
				return err
			}
			if format != "csv" && format != "json" {
				return badInput(fmt.Errorf("--format must be csv or json, got %q", format))
			}
			n, err := stepsFor(cmd, steps, s)
			if err != nil {
				return err
			}
			if n > maxExportSteps {
				return badInput(fmt.Errorf("--steps %d is more than lrkit exports (%d); export a coarser table with lrkit values --every", n, maxExportSteps))
			}
			stepList := schedule.Range(0, n-1, 1)
			lrs, err := schedule.Sample(s, stepList)
			if err != nil {
				return badInput(err)
			}
			write := func(w io.Writer) error {
				if format == "json" {
					return writeJSONTable(w, s.String(), lrs)
				}
				return schedule.WriteStepLR(w, stepList, lrs)
			}
			if out == "" {
				return write(cmd.OutOrStdout())
			}
			return writeFile(out, write)
		},
	}
	cmd.Flags().Int64Var(&steps, "steps", 0, "number of updates N: steps 0..N-1 (default: the schedule's horizon)")
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().StringVar(&parity, "parity", "", "reproduce a library's behaviour: pytorch, hf or optax (none: lrkit's own rules)")
	return cmd
}

// writeJSONTable streams {"spec": ..., "steps": N, "lr": [...]}. The rates
// are finite (rates checked them), so their 'g' text is valid JSON.
func writeJSONTable(w io.Writer, spec string, lrs []float64) error {
	b := bufio.NewWriter(w)
	quoted, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "{\"spec\": %s, \"steps\": %d, \"lr\": [", quoted, len(lrs))
	for i, v := range lrs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatRate(v))
	}
	b.WriteString("]}\n")
	return b.Flush()
}

// writeFile writes a file through write and removes it again if anything
// fails, so that no half-written table is left behind.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // best effort: the write error is what matters
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
