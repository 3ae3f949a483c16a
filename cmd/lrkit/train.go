package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/workload"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func init() { registerCommand(newTrainCmd) }

// trainOptions are the flags of `lrkit train`.
type trainOptions struct {
	workload   string
	spec       string
	steps      int64
	optimizer  string
	peak       float64
	batch      int
	seed       uint64
	evalEvery  int64
	clip       float64
	limit      int
	logPath    string
	checkpoint string
	ckptEvery  int64
	resume     bool
	quiet      bool
}

func newTrainCmd() *cobra.Command {
	o := trainOptions{}
	cmd := &cobra.Command{
		Use:   "train --workload W --schedule SPEC --steps N --log FILE [flags]",
		Short: "Train a workload under a schedule or controller and log every step",
		Long: `Train workload W (see ` + "`lrkit workloads`" + `) for N steps with the learning
rate from SPEC, a schedule or a controller spec, and write one run-log
record per step to --log (.csv, .jsonl or a TensorBoard event file).

The rate: a schedule spec that peaks at 1 (its default peak) is a shape,
scaled by --peak or, without --peak, by the workload's default peak; a spec
that gives its own peak is used as written (then --peak is an error).
Controller specs (plateau, hd, ...) are used as written.

With --checkpoint F, SIGINT or SIGTERM saves a checkpoint to F before
exiting, as does the end of the run and every --checkpoint-every steps;
--resume continues from F and rewrites the log's records up to the
checkpoint, so the finished log equals an uninterrupted run's.`,
		Example: `  lrkit train --workload mnist-mlp --schedule 'linear(steps=2000)' --steps 2000 --log run.csv
  lrkit train --workload kjv-gpt --schedule 'warmup(cosine(steps=3000), steps=100)' --steps 3000 \
      --peak 2e-3 --log kjv.csv --checkpoint kjv.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := runTrain(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.workload, "workload", "", "workload name (required; see lrkit workloads)")
	f.StringVar(&o.spec, "schedule", "", "schedule or controller spec (required)")
	f.Int64Var(&o.steps, "steps", 0, "optimizer steps (required)")
	f.StringVar(&o.optimizer, "optimizer", "", "sgd, momentum, nesterov, adam, adamw, sfsgd, sfadamw or prodigy; empty: the workload's")
	f.Float64Var(&o.peak, "peak", 0, "peak learning rate that scales a schedule with peak 1; 0: the workload's")
	f.IntVar(&o.batch, "batch", 0, "batch size; 0: the workload's")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the model initialisation and the data order")
	f.Int64Var(&o.evalEvery, "eval-every", 0, "validate every K steps and after the last; 0: the workload's interval")
	f.Float64Var(&o.clip, "clip", -1, "clip the global gradient norm to this; 0 turns clipping off; -1: the workload's")
	f.IntVar(&o.limit, "limit", 0, "use only the first N examples of each split (quick checks); 0: all")
	f.StringVar(&o.logPath, "log", "", "run log to write (.csv, .jsonl or .tfevents); required")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint file, saved on SIGINT/SIGTERM and at the end")
	f.Int64Var(&o.ckptEvery, "checkpoint-every", 0, "also save the checkpoint every K steps")
	f.BoolVar(&o.resume, "resume", false, "continue from --checkpoint")
	f.BoolVar(&o.quiet, "quiet", false, "no progress output, only the summary")
	return cmd
}

// check rejects missing and negative flags before anything is built.
func (o trainOptions) check() error {
	switch {
	case o.workload == "":
		return errors.New("--workload is required (`lrkit workloads` lists them)")
	case o.spec == "":
		return errors.New("--schedule is required")
	case o.steps <= 0:
		return fmt.Errorf("--steps must be a positive number of steps, got %d", o.steps)
	case o.logPath == "":
		return errors.New("--log is required")
	case o.resume && o.checkpoint == "":
		return errors.New("--resume needs --checkpoint")
	case o.optimizer != "" && !slices.Contains(workload.Optimizers, o.optimizer):
		return fmt.Errorf("--optimizer: unknown optimizer %q (have %s)", o.optimizer, strings.Join(workload.Optimizers, ", "))
	case o.evalEvery < 0 || o.ckptEvery < 0 || o.batch < 0 || o.limit < 0 || o.peak < 0 || math.IsNaN(o.peak):
		return errors.New("--eval-every, --checkpoint-every, --batch, --limit and --peak must not be negative")
	case o.clip != -1 && !(o.clip >= 0):
		return fmt.Errorf("--clip must be a norm >= 0 (0: no clipping) or -1 (the workload's), got %g", o.clip)
	}
	if o.checkpoint != "" && !o.resume {
		// Checked now, not when the first checkpoint is saved at the end
		// of the run or on an interrupt.
		if st, err := os.Stat(filepath.Dir(o.checkpoint)); err != nil || !st.IsDir() {
			return fmt.Errorf("--checkpoint %s: its directory %s does not exist", o.checkpoint, filepath.Dir(o.checkpoint))
		}
	}
	if _, err := runlog.FormatOf(o.logPath); err != nil {
		return fmt.Errorf("--log: %w", err)
	}
	if o.resume {
		if _, err := os.Stat(o.checkpoint); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
	}
	return nil
}

// parseController reads a controller or schedule spec, in spec text or
// (when it starts with "{") in its JSON form, as parseSpec does.
func parseController(spec string) (control.Controller, error) {
	if !strings.HasPrefix(strings.TrimSpace(spec), "{") {
		return control.Parse(spec)
	}
	s, err := schedule.ParseJSONWith([]byte(spec), schedule.Options{Stateful: true})
	if err != nil {
		return nil, err
	}
	return control.Of(s), nil
}

// runTrain performs `lrkit train`; progress goes to errOut, the summary to
// out.
func runTrain(ctx context.Context, o trainOptions, out, errOut io.Writer) (train.SessionResult, error) {
	if err := o.check(); err != nil {
		return train.SessionResult{}, badInput(err)
	}
	w, err := workload.Lookup(o.workload)
	if err != nil {
		return train.SessionResult{}, badInput(err)
	}
	c, err := parseController(o.spec)
	if err != nil {
		return train.SessionResult{}, badInput(fmt.Errorf("--schedule: %w", err))
	}
	if c, err = control.WithPeak(c, o.peak, w.DefaultPeak, o.steps); err != nil {
		return train.SessionResult{}, badInput(fmt.Errorf("--peak: %w", err))
	}
	if warn := control.HorizonWarning(c, o.steps); warn != "" {
		fmt.Fprintln(errOut, "lrkit: warning: "+warn)
	}
	to := workload.TrainOptions{Options: workload.Options{Seed: o.seed, Batch: o.batch, Limit: o.limit},
		Optimizer: o.optimizer, EvalEvery: o.evalEvery}
	if o.clip >= 0 {
		to.Clip = &o.clip
	}
	cfg, setup, err := w.TrainConfig(ctx, to)
	if err != nil {
		return train.SessionResult{}, err
	}
	cfg.Controller, cfg.Steps = c, o.steps
	if !o.quiet {
		fmt.Fprintf(errOut, "train %s: %d steps, batch %d, %s, lr %s, %s backend; %d training and %d validation examples\n",
			w.Name, o.steps, setup.Batch, cfg.Optimizer.Name(), c, nn.Backend(), setup.Train, setup.Val)
	}
	p := newStepProgress(errOut, o.steps, o.quiet, w)
	cfg.OnRecord = p.record
	start := time.Now()
	res, err := train.RunSession(ctx, cfg, train.SessionOptions{Log: o.logPath, Checkpoint: o.checkpoint,
		CheckpointEvery: o.ckptEvery, Resume: o.resume})
	p.done()
	if res.Interrupted {
		msg := fmt.Sprintf("interrupted after step %d of %d", res.Steps, o.steps)
		if o.checkpoint != "" {
			msg += fmt.Sprintf("; checkpoint saved to %s (continue with --resume)", o.checkpoint)
		}
		return res, errors.New(msg)
	}
	if errors.Is(err, train.ErrBadCheckpoint) { // --resume of a file that is not this run's checkpoint
		return res, badInput(err)
	}
	if err != nil {
		return res, err
	}
	printTrainSummary(out, w, res, time.Since(start))
	return res, nil
}

// printTrainSummary prints the one-line summary of a finished run.
func printTrainSummary(out io.Writer, w *workload.Workload, res train.SessionResult, elapsed time.Duration) {
	done := res.Steps - res.Start
	reached := "not reached"
	if w.Reached(res.LastVal.ValMetric) {
		reached = "reached"
	}
	fmt.Fprintf(out, "%s: %d steps (%d this run) in %.1f s, %.2f steps/s (%.2f steps/s of training alone); validation %s %.4f, target %.4g %s\n",
		w.Name, res.Steps, done, elapsed.Seconds(), float64(done)/elapsed.Seconds(),
		float64(done)/max(1e-9, res.Last.WallSeconds-res.WallBefore), w.Metric.Name, res.LastVal.ValMetric, w.Target, reached)
}

// stepProgress shows a training run's progress: a bar on a terminal,
// otherwise a line every twentieth of the run (and at a validation after
// 10 s of silence).
type stepProgress struct {
	w        io.Writer
	steps    int64
	quiet    bool
	wl       *workload.Workload
	bar      *progressbar.ProgressBar
	val      string
	start    time.Time
	lastLine time.Time
	n        int64
}

func newStepProgress(w io.Writer, steps int64, quiet bool, wl *workload.Workload) *stepProgress {
	p := &stepProgress{w: w, steps: steps, quiet: quiet, wl: wl, val: "val -", start: time.Now()}
	if !quiet && isTerminal(w) {
		p.bar = progressbar.NewOptions64(steps, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("steps"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30))
	}
	return p
}

func (p *stepProgress) record(r runlog.Record) error {
	p.n++
	if r.Has(runlog.FieldValMetric) {
		p.val = fmt.Sprintf("val %s %.4f", p.wl.Metric.Name, r.ValMetric)
	}
	lineEvery := max(1, p.steps/20)
	switch {
	case p.bar != nil:
		p.bar.Describe(fmt.Sprintf("loss %.4f lr %.3g %s", r.Loss, r.LR, p.val))
		_ = p.bar.Set64(r.Step + 1)
	case !p.quiet && ((r.Step+1)%lineEvery == 0 || r.Step+1 == p.steps || r.Has(runlog.FieldValMetric) && time.Since(p.lastLine) > 10*time.Second):
		p.lastLine = time.Now()
		fmt.Fprintf(p.w, "step %d/%d  loss %.4f  lr %.4g  %s  %.1f steps/s\n", r.Step+1, p.steps, r.Loss, r.LR,
			p.val, float64(p.n)/time.Since(p.start).Seconds())
	}
	return nil
}

func (p *stepProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
