package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/bench"
	"github.com/lrkit/lrkit/internal/safefile"
	"github.com/lrkit/lrkit/store"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newBenchCmd) }

type benchOptions struct {
	quick   bool
	out     string
	db      string
	nats    string
	queue   string
	workers int
	ackWait time.Duration
	limit   int
	only    []string
	quiet   bool
}

func newBenchCmd() *cobra.Command {
	o := benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench [STUDY.yaml]",
		Short: "Run a schedule benchmark study (AlgoPerf-style) and write its report",
		Long: `Run a benchmark study and write its report (index.html, report.md,
results.csv, results.json, SVG plots) to -o. Without a file, lrkit's
default study runs; --quick runs a smaller one in a few minutes.

In grid mode (the built-in studies) every schedule's peak learning rate is
tuned per workload and budget on a log-spaced grid with selection seeds,
the grid extended past an edge while the best peak sits there, and the
chosen peak is trained afresh on the evaluation seeds; the study runs in
rounds (grids, extensions, evaluation runs) until nothing is left to run.
Each problem's target comes from the tuned baseline's selection runs; the
report compares every schedule with the baseline by its speedup in steps
to target, with 95% bootstrap intervals, and recommends a schedule only
when its interval lies above 1.

Trials go through a NATS JetStream work queue: an embedded server with
in-process workers by default, or an external server with --nats, whose
workers are ` + "`lrkit worker --nats URL`" + ` processes on any machine. Results are
kept in --db (an SQLite file, or a postgres:// URL): interrupt the study
at any moment and run the same command again to resume it; finished
trials are not run again.`,
		Example: `  lrkit bench --quick
  lrkit bench my-study.yaml --out out/my-study
  lrkit bench my-study.yaml --nats nats://10.0.0.5:4222 --workers 0   # workers elsewhere`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return runBench(ctx, file, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.quick, "quick", false, "run the quick built-in study instead of the default one")
	f.StringVarP(&o.out, "output", "o", "", "report directory (default out/bench/<study name>)")
	f.StringVar(&o.db, "db", "", "results database: an SQLite file or a postgres:// URL (default <out>/lrkit.db)")
	f.StringVar(&o.nats, "nats", "", "external NATS server URL (default: an embedded server)")
	f.StringVar(&o.queue, "queue", "LRKIT", "work queue name, shared with lrkit worker --queue")
	f.IntVar(&o.workers, "workers", -1, "in-process workers: -1 is one per CPU with the embedded server and none with --nats; 0 leaves the trials to lrkit worker processes")
	f.DurationVar(&o.ackWait, "ack-wait", 30*time.Second, "a silent worker's trial goes to another worker after this")
	f.IntVar(&o.limit, "limit", 0, "use only the first N examples of each data set (smoke tests)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress output")
	f.StringSliceVar(&o.only, "workloads", nil, "run only these workloads of the study (a later run of the whole study keeps their trials)")
	deprecatedAlias(cmd, "out", "output")
	return cmd
}

func runBench(ctx context.Context, file string, o benchOptions, out, errOut io.Writer) error {
	switch {
	case o.limit < 0:
		return badInput(fmt.Errorf("--limit must not be negative, got %d (0: all examples)", o.limit))
	case o.workers < -1:
		return badInput(fmt.Errorf("--workers must be -1 (the default), 0 or more, got %d", o.workers))
	}
	study, text, err := loadStudy(file, o.quick)
	if err != nil {
		return err
	}
	if o.only != nil {
		if err := study.OnlyWorkloads(o.only); err != nil {
			return badInput(err)
		}
	}
	if o.out == "" {
		o.out = filepath.Join("out", "bench", study.Name)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	if o.db == "" {
		o.db = filepath.Join(o.out, "lrkit.db")
	}
	db, err := store.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	var prog bench.Progress = bench.NewTextProgress(errOut)
	if o.quiet {
		prog = nil
	} else if isTerminal(errOut) {
		prog = &barProgress{w: errOut}
	}
	oc, err := bench.Run(ctx, study, string(text), bench.RunOptions{
		Store: db, NATS: o.nats, Queue: o.queue, Workers: o.workers, AckWait: o.ackWait,
		Trial: bench.TrialOptions{Limit: o.limit}, Progress: prog,
		OnQueue: func(url string) {
			if !o.quiet || o.workers == 0 {
				fmt.Fprintf(errOut, "queue: %s (more workers: lrkit worker --nats %s --queue %s)\n", url, url, o.queue)
			}
		},
	})
	if err != nil {
		return err
	}
	return writeReport(study, oc, o.out, out)
}

// loadStudy reads and checks the study to run: a file, or a built-in one.
func loadStudy(file string, quick bool) (*bench.Study, []byte, error) {
	var text []byte
	var err error
	name := file
	switch {
	case file != "" && quick:
		return nil, nil, badInput(errors.New("give a study file or --quick, not both"))
	case file != "":
		if text, err = safefile.ReadFile(file, bench.MaxStudyBytes); err != nil {
			return nil, nil, badInput(err)
		}
	case quick:
		name = "quick.yaml"
		text, err = bench.BuiltinStudy("quick")
	default:
		name = "default.yaml"
		text, err = bench.BuiltinStudy("default")
	}
	if err != nil {
		return nil, nil, err
	}
	study, err := bench.ParseStudy(name, text)
	if err != nil {
		return nil, nil, badInput(err)
	}
	if _, err := study.WorkloadInfos(); err != nil {
		return nil, nil, badInput(err)
	}
	return study, text, nil
}

func writeReport(study *bench.Study, oc *bench.Outcome, dir string, out io.Writer) error {
	// A study with a schedule that has no successful trial still gets its
	// report (which says so and draws no verdict about it), then fails.
	sum, noResults := bench.Summarize(study, oc)
	if noResults != nil && !errors.Is(noResults, bench.ErrNoResults) {
		return noResults
	}
	rep, err := bench.BuildReport(sum, oc, time.Now())
	if err != nil {
		return err
	}
	if err := rep.Write(dir); err != nil {
		return err
	}
	fmt.Fprintln(out, rep.Recommendation)
	for _, line := range sum.RecommendedSpecs() {
		fmt.Fprintln(out, "  "+line)
	}
	fmt.Fprintf(out, "report: %s (also report.md, results.csv, results.json)\n", filepath.Join(dir, "index.html"))
	return noResults
}

// barProgress shows a study's progress as a progress bar on a terminal.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total, done int) {
	p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("trials"), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetDescription("trials"), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30))
	_ = p.bar.Set(done)
}

func (p *barProgress) Update(done, total, failed, inFlight int) {
	p.bar.ChangeMax(total)
	desc := fmt.Sprintf("trials (%d queued or running", inFlight)
	if failed > 0 {
		desc += fmt.Sprintf(", %d failed", failed)
	}
	p.bar.Describe(desc + ")")
	_ = p.bar.Set(done)
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
