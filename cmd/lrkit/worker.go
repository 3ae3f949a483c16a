package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/bench"
	"github.com/lrkit/lrkit/dispatch"
	"github.com/lrkit/lrkit/workload/data"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newWorkerCmd) }

func newWorkerCmd() *cobra.Command {
	var url, queue string
	var ackWait, retryFor time.Duration
	var limit int
	cmd := &cobra.Command{
		Use:   "worker --nats URL",
		Short: "Run benchmark trials from a NATS work queue until interrupted",
		Long: `Take trials from the work queue of a running ` + "`lrkit bench --nats URL`" + ` (or of
its embedded server's URL) one at a time, train them, and report the
results. Run as many workers as you like on as many machines; a worker
that dies mid-trial leaves the trial to another after the ack deadline.
While NATS is unreachable (a restart, a network cut) the worker retries
with backoff, logging each attempt, and exits only when it has been
unreachable for ` + "`--retry-for`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return badInput(errors.New("--nats is required"))
			}
			if limit < 0 {
				return badInput(fmt.Errorf("--limit must not be negative, got %d (0: all examples)", limit))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg := dispatch.Config{Name: queue, AckWait: ackWait, RetryFor: retryFor,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))}
			return runWorker(ctx, url, cfg, limit, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "nats", "", "NATS server URL (required)")
	f.StringVar(&queue, "queue", "LRKIT", "work queue name, as given to lrkit bench")
	f.DurationVar(&ackWait, "ack-wait", 30*time.Second, "must match lrkit bench --ack-wait")
	f.DurationVar(&retryFor, "retry-for", dispatch.DefaultRetryFor, "exit once NATS has been unreachable this long (negative: never)")
	f.IntVar(&limit, "limit", 0, "use only the first N examples of each data set (must match lrkit bench)")
	return cmd
}

func runWorker(ctx context.Context, url string, cfg dispatch.Config, limit int, cmd *cobra.Command) error {
	q, err := dispatch.Connect(ctx, url, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while NATS was unreachable
		}
		return err
	}
	defer q.Close()
	fmt.Fprintf(cmd.ErrOrStderr(), "worker: taking trials from %s (queue %s)\n", url, cfg.Name)
	h := bench.TrialHandler(bench.TrialOptions{Limit: limit, Sets: data.NewSetCache()})
	err = q.Work(ctx, func(ctx context.Context, job dispatch.Job, heartbeat func()) ([]byte, error) {
		fmt.Fprintf(cmd.ErrOrStderr(), "worker: trial %s (attempt %d)\n", job.ID, job.Attempt)
		return h(ctx, job, heartbeat)
	})
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
