package losscurve

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

// FileOptions tell ReadRunFile how to read a run log.
type FileOptions struct {
	// Schedule, if set, gives the learning rate at every step instead of
	// the log's lr values.
	Schedule schedule.Schedule
	// Tags maps TensorBoard tags to fields (nil: runlog's default map).
	Tags runlog.TagMap
	// LossField is the field to fit (see RecordOptions).
	LossField runlog.Field
	// MaxSteps bounds the run's last step (see RecordOptions).
	MaxSteps int
}

// ReadRunFile reads the run log at path (.csv, .jsonl, a TensorBoard event
// file or run directory) into a Run, as RunFromRecords does. Errors about
// a record name its place as "file:line" for CSV and JSONL logs (the
// readers know the line of every record) and "file: record N" otherwise.
// The warnings are the reader's (non-finite values, unmapped tags) and
// RunFromRecords'.
func ReadRunFile(path string, o FileOptions) (Run, []string, error) {
	var warns []string
	opts := runlog.ReadOptions{IgnoreUnknown: true, Tags: o.Tags, OnWarning: func(w runlog.Warning) { warns = append(warns, w.String()) }}
	var recs []runlog.Record
	var lines []int
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if recs, err = runlog.ReadEventDir(path, opts); err != nil {
			return Run{}, nil, err
		}
	} else {
		r, err := runlog.Open(path, opts)
		if err != nil {
			return Run{}, nil, err
		}
		defer r.Close()
		liner, _ := r.Reader.(interface{ Line() int })
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return Run{}, nil, err
			}
			recs = append(recs, rec)
			if liner != nil {
				lines = append(lines, liner.Line())
			}
		}
	}
	pos := func(i int) string { return fmt.Sprintf("%s: record %d", path, i+1) }
	if len(lines) == len(recs) && lines != nil {
		pos = func(i int) string { return fmt.Sprintf("%s:%d", path, lines[i]) }
	}
	run, more, err := RunFromRecords(recs, RecordOptions{Name: path, Position: pos, Schedule: o.Schedule, LossField: o.LossField, MaxSteps: o.MaxSteps})
	if err != nil {
		return Run{}, nil, err
	}
	return run, append(warns, more...), nil
}

// RunFile names a run log and, optionally, the schedule that gives its
// learning rate at every step.
type RunFile struct {
	Path     string
	Schedule schedule.Schedule
}

// ReadRunFiles reads every run log (see ReadRunFile) with o's TensorBoard
// tag map and step limit (o.Schedule is ignored: each file names its own)
// and returns the runs and all warnings.
func ReadRunFiles(files []RunFile, o FileOptions) ([]Run, []string, error) {
	var runs []Run
	var warns []string
	for _, f := range files {
		r, w, err := ReadRunFile(f.Path, FileOptions{Schedule: f.Schedule, Tags: o.Tags, LossField: o.LossField, MaxSteps: o.MaxSteps})
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, r)
		warns = append(warns, w...)
	}
	return runs, warns, nil
}
