package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/fed"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newFedCmd) }

func newFedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fed",
		Short: "Federated training studies: FedAvg, FedAsync, FedBuff, FedCompass and FedHyper on simulated clients",
		Args:  cobra.NoArgs, // an unknown subcommand is an error, not the help
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newFedRunCmd(), newFedClientCmd())
	return cmd
}

func newFedRunCmd() *cobra.Command {
	var o fed.FileOptions
	cmd := &cobra.Command{
		Use:   "run STUDY.yaml",
		Short: "Run a federated study (resumable) and write its report",
		Long: `Run every run of a federated study: each method's client rate searched
on the selection seeds, then each method at its rate, and FedHyper's rules
at the good and a poor rate, on the evaluation seeds. Clients are
simulated in virtual time in this process; with --nats their local rounds
go to ` + "`lrkit fed client`" + ` processes instead, with the same results. Runs are
kept in --output: interrupt the study and run the same command to resume.`,
		Example: `  lrkit fed run fed/studies/default.yaml
  lrkit fed run fed/studies/smoke.yaml --nats embedded --clients 2`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput(fmt.Errorf("give one study file, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// A missing or unreadable study file is bad input, as for
			// lrkit bench; fed.RunFile's error for it is not a StudyError.
			if st, err := os.Stat(args[0]); err != nil {
				return badInput(err)
			} else if !st.Mode().IsRegular() {
				return badInput(fmt.Errorf("%s: not a regular file", args[0]))
			}
			o.Command = "lrkit fed run " + strings.Join(args, " ")
			err := fed.RunFile(ctx, args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			var se *fed.StudyError
			if errors.As(err, &se) {
				return badInput(err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "report and run directory (default out/fed/<study name>)")
	f.IntVar(&o.Workers, "workers", 2, "runs at once")
	f.StringVar(&o.NATS, "nats", "", `send local rounds to client processes through this NATS server ("embedded": start one)`)
	f.StringVar(&o.Queue, "queue", fed.DefaultQueue, "NATS queue name, shared with lrkit fed client --queue")
	f.IntVar(&o.Clients, "clients", 0, "client servers to run in this process (with --nats)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress output")
	return cmd
}

func newFedClientCmd() *cobra.Command {
	var url string
	var o fed.ServeOptions
	cmd := &cobra.Command{
		Use:   "client --nats URL",
		Short: "Serve federated clients' local rounds from a NATS queue until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return badInput(errors.New("--nats is required"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cmd.PrintErrln(fed.ClientBanner(url, o.Queue))
			if err := fed.Serve(ctx, url, o); err != nil && ctx.Err() == nil {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "nats", "", "NATS server URL (required)")
	f.StringVar(&o.Queue, "queue", fed.DefaultQueue, "queue name, as given to lrkit fed run")
	f.IntVar(&o.Parallel, "parallel", 1, "local rounds at once")
	f.DurationVar(&o.AckWait, "ack-wait", 30*time.Second, "a silent client's round goes to another after this")
	return cmd
}
