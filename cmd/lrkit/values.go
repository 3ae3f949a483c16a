package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/schedule"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newValuesCmd) }

const valuesLong = `Print the learning rate of the schedule SPEC as CSV with the header
"step,lr", one row per step, the rate in full float64 precision (it reads
back to the identical number).

--at lists the steps; --every K prints steps 0, K, 2K, ... below N, where
N is --steps or, by default, the schedule's horizon: the same N updates,
steps 0 to N-1, that lrkit export writes and lrkit train --steps N runs.
--parity pytorch|hf|optax switches every schedule in SPEC that has a
parity option to that library's behaviour (spec section 23).

SPEC is spec text or, when it starts with "{", the JSON form of a schedule
(every command that takes a SPEC accepts both).`

// valuesOptions are the flags of lrkit values.
type valuesOptions struct {
	at     string
	every  int64
	steps  int64
	parity string
}

func newValuesCmd() *cobra.Command {
	var o valuesOptions
	cmd := &cobra.Command{
		Use:   "values SPEC (--at 0,1,250 | --every K [--steps N])",
		Short: "Print the learning rate of a schedule at chosen steps as step,lr CSV",
		Long:  valuesLong,
		Example: `  lrkit values 'cosine(peak=0.1, steps=100)' --at 0,1,50,100,150 --parity pytorch
  lrkit values 'wsd(peak=3e-4, steps=10000, decay=0.2, shape=1-sqrt)' --every 500`,
		Args: exactSpecs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSpec(args[0], o.parity)
			if err != nil {
				return err
			}
			steps, err := o.stepList(cmd, s)
			if err != nil {
				return err
			}
			lrs, err := schedule.Sample(s, steps)
			if err != nil {
				return badInput(err)
			}
			return schedule.WriteStepLR(cmd.OutOrStdout(), steps, lrs)
		},
	}
	cmd.Flags().StringVar(&o.at, "at", "", "comma-separated steps, e.g. 0,1,250")
	cmd.Flags().Int64Var(&o.every, "every", 0, "print every K-th step from 0 below N")
	cmd.Flags().Int64Var(&o.steps, "steps", 0, "number of updates N: steps 0..N-1 (default: the schedule's horizon)")
	cmd.Flags().StringVar(&o.parity, "parity", "", "reproduce a library's behaviour: pytorch, hf or optax (none: lrkit's own rules)")
	return cmd
}

// stepList returns the steps the flags ask for.
func (o valuesOptions) stepList(cmd *cobra.Command, s schedule.Schedule) ([]int64, error) {
	switch {
	case o.at != "" && cmd.Flags().Changed("every"):
		return nil, badInput(fmt.Errorf("give either --at or --every, not both"))
	case o.at != "":
		if cmd.Flags().Changed("steps") {
			return nil, badInput(fmt.Errorf("--steps goes with --every, not with --at"))
		}
		return parseSteps(o.at)
	case cmd.Flags().Changed("every"):
		if o.every <= 0 {
			return nil, badInput(fmt.Errorf("--every must be a positive number of steps, got %d", o.every))
		}
		n, err := stepsFor(cmd, o.steps, s)
		if err != nil {
			return nil, err
		}
		if rows := (n-1)/o.every + 1; rows > maxExportSteps {
			return nil, badInput(fmt.Errorf("--every %d below step %d is %d rows, more than lrkit prints (%d); use a larger --every", o.every, n, rows, maxExportSteps))
		}
		return schedule.Range(0, n-1, o.every), nil
	}
	return nil, badInput(fmt.Errorf("say which steps to print: --at 0,1,250 or --every K"))
}

// exactSpecs accepts exactly n positional SPEC arguments.
func exactSpecs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return badInput(fmt.Errorf("want %d schedule SPEC argument(s), got %d (quote a spec that has spaces)", n, len(args)))
		}
		return nil
	}
}

// parseSpec reads a schedule, in spec text or (when it starts with "{")
// in its JSON form, and applies a parity override when one is given.
// Spec errors are bad input and print as "spec:LINE:COL: ..." (or as the
// JSON path of the bad value).
func parseSpec(text, parity string) (schedule.Schedule, error) {
	var s schedule.Schedule
	var err error
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		s, err = schedule.ParseJSON([]byte(text))
	} else {
		s, err = schedule.Parse(text)
	}
	if err != nil {
		return nil, badInput(err)
	}
	if parity != "" {
		if s, err = schedule.WithParity(s, parity); err != nil {
			return nil, badInput(fmt.Errorf("--parity: %w", err))
		}
	}
	return s, nil
}

// parseSteps reads a comma-separated list of non-negative steps.
func parseSteps(list string) ([]int64, error) {
	var out []int64
	for i, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		t, err := strconv.ParseInt(f, 10, 64)
		if err != nil || t < 0 {
			return nil, badInput(fmt.Errorf("--at: item %d %q is not a step (a whole number >= 0)", i+1, f))
		}
		out = append(out, t)
	}
	return out, nil
}

// stepsFor returns the --steps flag when it was given, else the longest
// horizon among the schedules; it is an error when none has one.
func stepsFor(cmd *cobra.Command, flag int64, ss ...schedule.Schedule) (int64, error) {
	if cmd.Flags().Changed("steps") {
		if flag <= 0 {
			return 0, badInput(fmt.Errorf("--steps must be a positive number of steps, got %d", flag))
		}
		return flag, nil
	}
	n, found := int64(0), false
	for _, s := range ss {
		if h, ok := schedule.Horizon(s); ok && h > 0 {
			n, found = max(n, h), true
		}
	}
	if !found {
		what := ss[0].String() + " has"
		if len(ss) > 1 {
			what = "none of the schedules has"
		}
		return 0, badInput(fmt.Errorf("%s no horizon (a steps parameter) to stop at; give --steps N", what))
	}
	return n, nil
}

// formatRate prints a rate in full precision: the shortest text that
// reads back to the same float64.
func formatRate(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
