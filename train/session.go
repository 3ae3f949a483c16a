package train

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/internal/safefile"
	"github.com/lrkit/lrkit/runlog"
)

// LogFields are the run-log columns a session writes by default: every
// field the trainer fills (effective_lr only for a model with
// scale-invariant parameters; its cells are empty otherwise).
const LogFields = runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm | runlog.FieldGradNormL1 |
	runlog.FieldParamNorm | runlog.FieldUpdateNorm | runlog.FieldValLoss | runlog.FieldValMetric |
	runlog.FieldExamplesSeen | runlog.FieldWallSeconds | runlog.FieldEffectiveLR

// SessionOptions say where a session writes its run log and checkpoints.
type SessionOptions struct {
	// Log is the run log to write (.csv, .jsonl or a TensorBoard event
	// file, by its name). Required.
	Log string
	// Fields are the log's columns; 0 means LogFields.
	Fields runlog.Field
	// Checkpoint, when not empty, is saved at the end of the run, when ctx
	// is cancelled, and every CheckpointEvery steps when that is > 0.
	Checkpoint      string
	CheckpointEvery int64
	// Resume continues from Checkpoint: the log's records up to the
	// checkpoint's step are kept, those a killed run wrote past it are
	// dropped and written again, identically.
	Resume bool
}

// SessionResult is what a finished or interrupted session reports.
type SessionResult struct {
	Start int64 // the step this invocation started at
	Steps int64 // steps done at the end
	// Last is the last record written; LastVal the last one with a
	// validation metric (its fields NaN when there was none).
	Last, LastVal runlog.Record
	// WallBefore is the trainer's clock when this invocation started:
	// Last.WallSeconds − WallBefore is this invocation's training time.
	WallBefore float64
	// Interrupted is true when ctx was cancelled before the last step;
	// the checkpoint, if any, holds the state at Steps.
	Interrupted bool
}

// RunSession trains cfg.Steps steps with a run log and checkpoints, the
// way `lrkit train` does: it builds the trainer from cfg (cfg.OnRecord,
// when set, still receives every record, after it is logged), resumes
// from the checkpoint when asked, and saves the checkpoint at the end, on
// cancellation and every CheckpointEvery steps, each time after the log is
// flushed, so a resumed run's finished log equals an uninterrupted one's.
// A cancelled run returns an error wrapping context.Canceled with
// Interrupted set.
func RunSession(ctx context.Context, cfg Config, o SessionOptions) (SessionResult, error) {
	res := SessionResult{LastVal: runlog.Record{ValLoss: math.NaN(), ValMetric: math.NaN()}}
	switch {
	case o.Log == "":
		return res, errors.New("train: session needs a run log")
	case o.Resume && o.Checkpoint == "":
		return res, errors.New("train: resume needs a checkpoint")
	case o.CheckpointEvery < 0:
		return res, fmt.Errorf("train: CheckpointEvery is %d, want >= 0", o.CheckpointEvery)
	}
	if _, err := runlog.FormatOf(o.Log); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	if o.Fields == 0 {
		o.Fields = LogFields
	}
	var logw runlog.Writer
	var tr *Trainer
	user := cfg.OnRecord
	cfg.OnRecord = func(r runlog.Record) error {
		if err := logw.Write(r); err != nil {
			return err
		}
		res.Last = r
		if r.Has(runlog.FieldValMetric) {
			res.LastVal = r
		}
		if o.Checkpoint != "" && o.CheckpointEvery > 0 && (r.Step+1)%o.CheckpointEvery == 0 && r.Step+1 < cfg.Steps {
			// The log first, so that it holds every record before the
			// checkpoint's step when a resume reads it.
			if err := logw.Flush(); err != nil {
				return err
			}
			if err := SaveCheckpoint(tr, o.Checkpoint); err != nil {
				return err
			}
		}
		if user != nil {
			return user(r)
		}
		return nil
	}
	tr, err := New(cfg)
	if err != nil {
		return res, err
	}
	if o.Resume {
		if err := LoadCheckpoint(tr, o.Checkpoint); err != nil {
			return res, err
		}
		logw, res.WallBefore, err = rewriteLog(o.Log, o.Fields, tr.StepsDone())
	} else {
		logw, err = runlog.Create(o.Log, o.Fields)
	}
	if err != nil {
		return res, err
	}
	defer logw.Close()
	res.Start = tr.StepsDone()
	runErr := tr.Run(ctx)
	res.Steps = tr.StepsDone()
	if err := logw.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	res.Interrupted = runErr != nil && errors.Is(runErr, context.Canceled)
	if o.Checkpoint != "" && (runErr == nil || res.Interrupted) {
		if err := SaveCheckpoint(tr, o.Checkpoint); err != nil {
			return res, err
		}
	}
	if err := logw.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return res, runErr
}

// SaveCheckpoint writes the trainer's checkpoint to path through a
// temporary file in path's directory and a rename, so a crash never leaves
// half a checkpoint. Its errors name path, not the temporary file:
//
//	checkpoint /data/run.ckpt: cannot write in /data: no such file or directory
func SaveCheckpoint(tr *Trainer, path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".ckpt-*")
	if err != nil {
		return &fileError{path, fmt.Errorf("cannot write in %s: %w", dir, bareError(err))}
	}
	tmp := f.Name()
	err = tr.Save(bareWriter{f})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write: %w", bareError(cerr))
	}
	if err == nil {
		if cerr := os.Chmod(tmp, 0o644); cerr != nil {
			err = fmt.Errorf("chmod: %w", bareError(cerr))
		}
	}
	if err == nil {
		if rerr := os.Rename(tmp, path); rerr != nil {
			err = fmt.Errorf("cannot replace it: %w", bareError(rerr))
		}
	}
	if err != nil {
		os.Remove(tmp)
		return &fileError{path, err}
	}
	return nil
}

// LoadCheckpoint restores the trainer from the checkpoint file at path.
// An error from the file's content (not a checkpoint, corrupt, of another
// model...) names path and wraps ErrBadCheckpoint, and ErrNotCheckpoint
// when the file is not a checkpoint at all; one from opening or reading
// the file does not.
func LoadCheckpoint(tr *Trainer, path string) error {
	f, err := safefile.Open(path, maxCheckpointSize)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	if err := tr.Load(f); err != nil {
		return &fileError{path, err}
	}
	return nil
}

// fileError is a checkpoint error with the checkpoint's path:
// "checkpoint PATH: what went wrong" (the inner error's own "checkpoint: "
// is not repeated).
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return "checkpoint " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "checkpoint: ")
}

func (e *fileError) Unwrap() error { return e.err }

// bareError strips the *fs.PathError or *os.LinkError that names the
// temporary file from err, keeping what went wrong (errors.Is still sees
// it: fs.ErrNotExist, syscall.ENOSPC, ...).
func bareError(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// bareWriter is a file whose write errors do not name it.
type bareWriter struct{ f *os.File }

func (w bareWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	return n, bareError(err)
}

// rewriteLog keeps the records of the log at path with step < next,
// rewrites the file with them and returns a writer positioned after them
// and the last kept record's WallSeconds.
func rewriteLog(path string, fields runlog.Field, next int64) (runlog.Writer, float64, error) {
	var keep []runlog.Record
	if next > 0 {
		recs, err := runlog.ReadFile(path, runlog.ReadOptions{})
		if err != nil {
			return nil, 0, fmt.Errorf("resume: the log %s: %w", path, err)
		}
		for _, r := range recs {
			if r.Step < next {
				keep = append(keep, r)
			}
		}
		if int64(len(keep)) != next {
			return nil, 0, fmt.Errorf("resume: the log %s holds %d records before step %d, want %d (is it this run's log?)", path, len(keep), next, next)
		}
	}
	w, err := runlog.Create(path, fields)
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

// Engine returns the trainer as a control.Engine for procedures that
// explore from its state without training (the LR range test, a
// controller's search): Snapshot and Restore leave the controller alone,
// and Step(lr) takes an update at the given rate that emits no record and
// is not counted as a training step (its time is). A diverged step
// reports its loss (NaN or infinite) rather than an error.
func (t *Trainer) Engine() control.Engine { return engine{t} }
