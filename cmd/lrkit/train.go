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
	"strconv"
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
	// stopAfter, if > 0, cancels the run after that many steps of this
	// invocation, as SIGINT would (for tests).
	stopAfter int64
	// crashAfter, if > 0, fails the run after that many steps without a
	// checkpoint, as a killed process would (for tests).
	crashAfter int64
}

// errCrash is the failure crashAfter simulates.
var errCrash = errors.New("simulated crash")

func newTrainCmd() *cobra.Command {
	o := trainOptions{}
	cmd := &cobra.Command{
		Use:   "train --workload W --schedule SPEC --steps N [flags]",
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
			if !cmd.Flags().Changed("peak") {
				o.peak = 0
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := runTrain(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.workload, "workload", "", "workload name (required; `lrkit workloads` lists them)")
	f.StringVar(&o.spec, "schedule", "", "schedule or controller spec (required)")
	f.Int64Var(&o.steps, "steps", 0, "optimizer steps (required)")
	f.StringVar(&o.optimizer, "optimizer", "", "sgd, momentum, nesterov, adam, adamw, sfsgd, sfadamw or prodigy (default: the workload's)")
	f.Float64Var(&o.peak, "peak", 0, "peak learning rate that scales a schedule with peak 1 (default: the workload's)")
	f.IntVar(&o.batch, "batch", 0, "batch size (default: the workload's)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the model initialisation and the data order")
	f.Int64Var(&o.evalEvery, "eval-every", 0, "validate every K steps and after the last (default: the workload's interval)")
	f.Float64Var(&o.clip, "clip", -1, "clip the global gradient norm to this; 0 turns clipping off (default: the workload's)")
	f.IntVar(&o.limit, "limit", 0, "use only the first N examples of each split (quick checks)")
	f.StringVar(&o.logPath, "log", "", "run log to write (.csv, .jsonl or .tfevents); required")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint file, saved on SIGINT/SIGTERM and at the end")
	f.Int64Var(&o.ckptEvery, "checkpoint-every", 0, "also save the checkpoint every K steps")
	f.BoolVar(&o.resume, "resume", false, "continue from --checkpoint")
	f.BoolVar(&o.quiet, "quiet", false, "no progress output, only the summary")
	return cmd
}

// trainSummary is what a finished (or interrupted) run reports.
type trainSummary struct {
	Steps       int64   // steps done at the end
	ValMetric   float64 // last validation metric (NaN if none)
	ValLoss     float64
	Reached     bool
	Elapsed     time.Duration // wall time of this invocation's loop
	TrainSecs   float64       // the trainer's step time (validation excluded)
	Interrupted bool
}

// logFields are the columns lrkit train writes.
const logFields = runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm | runlog.FieldGradNormL1 |
	runlog.FieldParamNorm | runlog.FieldUpdateNorm | runlog.FieldValLoss | runlog.FieldValMetric |
	runlog.FieldExamplesSeen | runlog.FieldWallSeconds

// runTrain performs `lrkit train`; progress goes to errOut, the summary to out.
func runTrain(ctx context.Context, o trainOptions, out, errOut io.Writer) (*trainSummary, error) {
	switch {
	case o.workload == "":
		return nil, badInput(errors.New("--workload is required (`lrkit workloads` lists them)"))
	case o.spec == "":
		return nil, badInput(errors.New("--schedule is required"))
	case o.steps <= 0:
		return nil, badInput(fmt.Errorf("--steps must be a positive number of steps, got %d", o.steps))
	case o.logPath == "":
		return nil, badInput(errors.New("--log is required"))
	case o.resume && o.checkpoint == "":
		return nil, badInput(errors.New("--resume needs --checkpoint"))
	case o.evalEvery < 0 || o.ckptEvery < 0 || o.batch < 0 || o.limit < 0 || o.peak < 0 || math.IsNaN(o.peak):
		return nil, badInput(errors.New("--eval-every, --checkpoint-every, --batch, --limit and --peak must not be negative"))
	}
	if _, err := runlog.FormatOf(o.logPath); err != nil {
		return nil, badInput(fmt.Errorf("--log: %w", err))
	}
	w, err := workload.Lookup(o.workload)
	if err != nil {
		return nil, badInput(err)
	}
	ctrl, err := trainController(o.spec, o.peak, w.DefaultPeak, o.steps)
	if err != nil {
		return nil, err
	}
	if o.optimizer == "" {
		o.optimizer = w.DefaultOptimizer
	}
	opt, err := workload.NewOptimizer(o.optimizer, w.WeightDecay)
	if err != nil {
		return nil, badInput(fmt.Errorf("--optimizer: %w", err))
	}
	if o.evalEvery == 0 {
		o.evalEvery = w.EvalEvery
	}
	clip := w.ClipNorm
	if o.clip >= 0 {
		clip = o.clip
	}
	setup, err := w.Build(ctx, workload.Options{Seed: o.seed, Batch: o.batch, Limit: o.limit})
	if err != nil {
		return nil, err
	}

	var logw runlog.Writer
	var last runlog.Record
	var wallBefore float64 // the trainer's clock at the start of this invocation
	sum := &trainSummary{ValMetric: math.NaN(), ValLoss: math.NaN()}
	var bar *progressbar.ProgressBar
	var lastLine time.Time
	useBar := !o.quiet && isTerminal(errOut)
	lineEvery := max(1, o.steps/20)
	start := time.Now()
	var stepsThisRun int64
	cancelCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tr *train.Trainer
	tr, err = train.New(train.Config{
		Model: setup.Model, Data: setup.Data, Optimizer: opt, Controller: ctrl,
		Steps: o.steps, ValEvery: o.evalEvery, Validate: setup.Validate, ClipNorm: clip, Seed: o.seed,
		OnRecord: func(r runlog.Record) error {
			last = r
			if r.Has(runlog.FieldValMetric) {
				sum.ValMetric, sum.ValLoss = r.ValMetric, r.ValLoss
			}
			if err := logw.Write(r); err != nil {
				return err
			}
			stepsThisRun++
			if o.checkpoint != "" && o.ckptEvery > 0 && (r.Step+1)%o.ckptEvery == 0 && r.Step+1 < o.steps {
				// The log first, so that it holds every record before the
				// checkpoint's step when a resume reads it.
				if err := logw.Flush(); err != nil {
					return err
				}
				if err := saveCheckpoint(tr, o.checkpoint); err != nil {
					return err
				}
			}
			if o.stopAfter > 0 && stepsThisRun >= o.stopAfter {
				cancel()
			}
			if o.crashAfter > 0 && stepsThisRun >= o.crashAfter {
				return errCrash
			}
			switch {
			case bar != nil:
				bar.Describe(fmt.Sprintf("loss %.4f lr %.3g %s", r.Loss, r.LR, valText(w, sum)))
				_ = bar.Set64(r.Step + 1)
			case !o.quiet && ((r.Step+1)%lineEvery == 0 || r.Step+1 == o.steps || r.Has(runlog.FieldValMetric) && time.Since(lastLine) > 10*time.Second):
				lastLine = time.Now()
				fmt.Fprintf(errOut, "step %d/%d  loss %.4f  lr %.4g  %s  %.1f steps/s\n", r.Step+1, o.steps, r.Loss, r.LR,
					valText(w, sum), float64(stepsThisRun)/time.Since(start).Seconds())
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if o.resume {
		if err := loadCheckpoint(tr, o.checkpoint); err != nil {
			return nil, err
		}
		if logw, wallBefore, err = rewriteLog(o.logPath, tr.StepsDone()); err != nil {
			return nil, err
		}
	} else if logw, err = runlog.Create(o.logPath, logFields); err != nil {
		return nil, err
	}
	defer logw.Close()
	if !o.quiet {
		fmt.Fprintf(errOut, "train %s: %d steps from step %d, batch %d, %s, lr %s, %s backend; %d training and %d validation examples\n",
			w.Name, o.steps, tr.StepsDone(), setup.Batch, opt.Name(), ctrl.String(), nn.Backend(), setup.Train, setup.Val)
	}
	if useBar {
		bar = progressbar.NewOptions64(o.steps, progressbar.OptionSetWriter(errOut), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("steps"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30))
		_ = bar.Set64(tr.StepsDone())
	}
	startStep := tr.StepsDone()
	runErr := tr.Run(cancelCtx)
	sum.Elapsed = time.Since(start)
	sum.Steps = tr.StepsDone()
	sum.TrainSecs = last.WallSeconds
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(errOut)
	}
	if err := logw.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	interrupted := runErr != nil && errors.Is(runErr, context.Canceled)
	if o.checkpoint != "" && (runErr == nil || interrupted) {
		if err := saveCheckpoint(tr, o.checkpoint); err != nil {
			return sum, err
		}
	}
	if err := logw.Close(); err != nil && runErr == nil {
		runErr = err
	}
	done := sum.Steps - startStep
	rate := float64(done) / sum.Elapsed.Seconds()
	if interrupted {
		sum.Interrupted = true
		msg := fmt.Sprintf("interrupted after step %d of %d", sum.Steps, o.steps)
		if o.checkpoint != "" {
			msg += fmt.Sprintf("; checkpoint saved to %s (continue with --resume)", o.checkpoint)
		}
		return sum, errors.New(msg)
	}
	if runErr != nil {
		return sum, runErr
	}
	if !math.IsNaN(sum.ValMetric) {
		sum.Reached = w.Reached(sum.ValMetric)
	}
	reached := "not reached"
	if sum.Reached {
		reached = "reached"
	}
	fmt.Fprintf(out, "%s: %d steps (%d this run) in %.1f s, %.2f steps/s (%.2f steps/s of training alone); validation %s %.4f, target %.4g %s\n",
		w.Name, sum.Steps, done, sum.Elapsed.Seconds(), rate, float64(done)/max(1e-9, sum.TrainSecs-wallBefore),
		w.Metric.Name, sum.ValMetric, w.Target, reached)
	return sum, nil
}

func valText(w *workload.Workload, s *trainSummary) string {
	if math.IsNaN(s.ValMetric) {
		return "val -"
	}
	return fmt.Sprintf("val %s %.4f", w.Metric.Name, s.ValMetric)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// trainController parses spec into a controller and applies the peak rule
// (see the command's help): peak is --peak (0: not given), def the
// workload's default peak, steps the run length over which the schedule's
// maximum is taken.
func trainController(spec string, peak, def float64, steps int64) (control.Controller, error) {
	c, err := control.Parse(spec)
	if err != nil {
		return nil, badInput(fmt.Errorf("--schedule: %w", err))
	}
	fixed, ok := c.(*control.Fixed)
	if !ok {
		if peak != 0 {
			return nil, badInput(fmt.Errorf("--peak scales schedules; controller %s sets its own rates", c.String()))
		}
		return c, nil
	}
	m := scheduleMax(fixed.Schedule, steps)
	isShape := math.Abs(m-1) < 1e-12
	switch {
	case !isShape && peak != 0:
		return nil, badInput(fmt.Errorf("the schedule %s already peaks at %g; give the peak in the spec or with --peak (then leave the spec's peak at 1), not both", fixed.String(), m))
	case !isShape:
		return c, nil
	case peak == 0:
		peak = def
	}
	text := fmt.Sprintf("scale(%s, by=%s)", fixed.Schedule.String(), strconv.FormatFloat(peak, 'g', -1, 64))
	s, err := schedule.Parse(text)
	if err != nil {
		return nil, badInput(fmt.Errorf("--peak: %w", err))
	}
	return control.NewFixed(s), nil
}

// scheduleMax returns the largest rate of s over steps 0..steps-1 (every
// step up to a million, then an even sample).
func scheduleMax(s schedule.Schedule, steps int64) float64 {
	stride := max(1, steps/1_000_000)
	m := math.Inf(-1)
	for t := int64(0); t < steps; t += stride {
		m = max(m, s.LR(t))
	}
	return m
}

// saveCheckpoint writes the trainer's checkpoint to path through a
// temporary file and a rename, so a crash never leaves half a checkpoint.
func saveCheckpoint(tr *train.Trainer, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".ckpt-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := f.Name()
	if err := tr.Save(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func loadCheckpoint(tr *train.Trainer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return badInput(fmt.Errorf("--resume: %w", err))
	}
	defer f.Close()
	if err := tr.Load(f); err != nil {
		return badInput(fmt.Errorf("--resume %s: %w", path, err))
	}
	return nil
}

// rewriteLog keeps the records of the log at path with step < next,
// rewrites the file with them and returns a writer positioned after them
// and the last kept record's WallSeconds.
// Records a killed run wrote past its checkpoint are dropped; the resumed
// run writes them again, identically.
func rewriteLog(path string, next int64) (runlog.Writer, float64, error) {
	var keep []runlog.Record
	if next > 0 {
		recs, err := runlog.ReadFile(path, runlog.ReadOptions{})
		if err != nil {
			return nil, 0, badInput(fmt.Errorf("--resume: the log %s: %w", path, err))
		}
		for _, r := range recs {
			if r.Step < next {
				keep = append(keep, r)
			}
		}
		if int64(len(keep)) != next {
			return nil, 0, badInput(fmt.Errorf("--resume: the log %s holds %d records before step %d, want %d (is it this run's log?)", path, len(keep), next, next))
		}
	}
	w, err := runlog.Create(path, logFields)
	if err != nil {
		return nil, 0, err
	}
	var wall float64
	for _, r := range keep {
		if err := w.Write(r); err != nil {
			w.Close()
			return nil, 0, err
		}
		wall = r.WallSeconds
	}
	return w, wall, nil
}
