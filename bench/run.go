package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrkit/lrkit/dispatch"
	"github.com/lrkit/lrkit/store"
)

// RunOptions say where a study runs and where its results go.
type RunOptions struct {
	// Store is the open database that keeps trials and results; a study
	// resumed against the same store redoes no finished trial.
	Store *store.Store
	// NATS is the URL of an external NATS server with JetStream; empty
	// starts an embedded one in this process, storing under QueueDir.
	NATS     string
	QueueDir string
	// Queue names the work queue (streams and consumers); workers started
	// with `lrkit worker` must use the same name. One study at a time per
	// queue.
	Queue string
	// Workers is the number of in-process workers; negative means one per
	// CPU with an embedded server and none with an external one. With 0
	// workers, other processes run the trials.
	Workers int
	// AckWait is how long a worker may be silent before its trial is
	// given to another worker (30s by default).
	AckWait time.Duration
	// Trial options passed to every in-process worker.
	Trial TrialOptions
	// Progress receives progress; see NewTextProgress.
	Progress Progress
	// OnQueue, if set, is told the work queue's URL once trials are
	// queued, so that more workers can join (`lrkit worker --nats URL`).
	OnQueue func(url string)
}

// Progress is told how a study advances.
type Progress interface {
	Start(total, done int)
	Update(done, failed, inFlight int)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int)       {}
func (noProgress) Update(int, int, int) {}
func (noProgress) Finish()              {}

// Outcome is a finished (or resumed-and-finished) study.
type Outcome struct {
	StudyID int64
	Trials  []Trial
	Results map[string]TrialResult
	Failed  map[string]string // trial key → error of trials that could not run
	Ran     int               // trials run by this call (the rest were done before)
}

// Run runs every trial of the study that the store does not hold a
// result for, through the work queue, and returns all results. It can be
// interrupted (cancel ctx) at any moment and resumed by calling it again
// with the same store: finished trials are kept and not run again, and a
// trial that two workers finish is stored once. A study that grew since
// its last run (a schedule or workload added) runs only its new trials; one
// that shrank ignores the trials it no longer has; a study that changed one
// of its trials is an error.
func Run(ctx context.Context, s *Study, specText string, opts RunOptions) (*Outcome, error) {
	if opts.Store == nil {
		return nil, errors.New("bench: RunOptions.Store is nil")
	}
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	if opts.Queue == "" {
		opts.Queue = "LRKIT"
	}
	st, _, err := opts.Store.EnsureStudy(ctx, s.Name, specText)
	if err != nil {
		return nil, err
	}
	infos, err := WorkloadInfos(s.Workloads)
	if err != nil {
		return nil, err
	}
	trials, err := s.Trials(infos)
	if err != nil {
		return nil, err
	}
	specs := make([]store.TrialSpec, len(trials))
	byKey := make(map[string]Trial, len(trials))
	for i, tr := range trials {
		hp, err := json.Marshal(tr)
		if err != nil {
			return nil, err
		}
		specs[i] = store.TrialSpec{Key: tr.Key, Workload: tr.Workload, Schedule: tr.Spec, HParams: hp, Seed: tr.Seed, Budget: tr.Steps}
		byKey[tr.Key] = tr
	}
	if st.Spec != specText {
		// A study may grow (new schedules, workloads, budgets, seeds) and
		// keep its finished trials, but a trial it already has must stay
		// the same trial.
		stored, err := opts.Store.Trials(ctx, st.ID)
		if err != nil {
			return nil, err
		}
		want := make(map[string]string, len(specs))
		for _, sp := range specs {
			want[sp.Key] = string(sp.HParams)
		}
		for _, old := range stored {
			if hp, ok := want[old.Key]; ok && hp != string(old.HParams) {
				return nil, fmt.Errorf("bench: study %q changed trial %s (its spec, hyperparameters or budget); give the changed study a new name or use another database", s.Name, old.Key)
			}
		}
		if err := opts.Store.UpdateStudySpec(ctx, st.ID, specText); err != nil {
			return nil, err
		}
	}
	if _, err := opts.Store.AddTrials(ctx, st.ID, specs); err != nil {
		return nil, err
	}
	if _, err := opts.Store.ResetRunning(ctx, st.ID); err != nil {
		return nil, err
	}
	stale, err := opts.Store.Trials(ctx, st.ID, store.TrialPending, store.TrialFailed)
	if err != nil {
		return nil, err
	}
	// A study that shrank (a schedule, seed or tuning trial removed) keeps
	// the rows of its removed trials, finished or not; they are neither run
	// nor reported.
	var todo []store.Trial
	for _, t := range stale {
		if _, ok := byKey[t.Key]; ok {
			todo = append(todo, t)
		}
	}
	out := &Outcome{StudyID: st.ID, Trials: trials, Failed: map[string]string{}}
	if len(todo) > 0 {
		if err := runPending(ctx, st.ID, todo, byKey, opts, len(trials)); err != nil {
			return nil, err
		}
		out.Ran = len(todo)
	}
	if err := loadResults(ctx, opts.Store, st.ID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadResults reads every finished trial's result from the store.
func loadResults(ctx context.Context, db *store.Store, studyID int64, out *Outcome) error {
	stored, err := db.Trials(ctx, studyID)
	if err != nil {
		return err
	}
	out.Results = map[string]TrialResult{}
	current := make(map[string]bool, len(out.Trials))
	for _, t := range out.Trials {
		current[t.Key] = true
	}
	for _, t := range stored {
		if !current[t.Key] {
			continue // a trial the study no longer has
		}
		switch t.Status {
		case store.TrialDone:
			var r TrialResult
			if err := json.Unmarshal(t.Result, &r); err != nil {
				return fmt.Errorf("bench: result of trial %s: %w", t.Key, err)
			}
			out.Results[t.Key] = r
		case store.TrialFailed:
			out.Failed[t.Key] = t.Error
		}
	}
	return nil
}

func runPending(ctx context.Context, studyID int64, todo []store.Trial, byKey map[string]Trial, opts RunOptions, total int) error {
	url := opts.NATS
	workers := opts.Workers
	if url == "" {
		dir := opts.QueueDir
		if dir == "" {
			d, err := os.MkdirTemp("", "lrkit-nats-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(d)
			dir = d
		}
		srv, err := dispatch.StartEmbedded(dir)
		if err != nil {
			return err
		}
		defer srv.Close()
		url = srv.URL()
		if workers < 0 {
			workers = runtime.NumCPU()
		}
	}
	workers = max(workers, 0)
	cfg := dispatch.Config{Name: opts.Queue, AckWait: opts.AckWait, Worker: "coordinator"}
	q, err := dispatch.Connect(ctx, url, cfg)
	if err != nil {
		return err
	}
	defer q.Close()
	for _, t := range todo {
		tr, ok := byKey[t.Key]
		if !ok {
			return fmt.Errorf("bench: trial %s is not in the study", t.Key)
		}
		payload, err := json.Marshal(tr)
		if err != nil {
			return err
		}
		if err := q.Submit(ctx, dispatch.Job{ID: jobID(studyID, tr.Key), Payload: payload}); err != nil {
			return err
		}
	}

	if opts.OnQueue != nil {
		opts.OnQueue(url)
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wq, err := dispatch.Connect(wctx, url, dispatch.Config{Name: opts.Queue, AckWait: opts.AckWait, Worker: fmt.Sprintf("in-process-%d", i)})
		if err != nil {
			return err
		}
		defer wq.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = wq.Work(wctx, TrialHandler(opts.Trial))
		}()
	}

	done0 := total - len(todo)
	opts.Progress.Start(total, done0)
	var finished, failed atomic.Int64
	want := map[string]bool{}
	for _, t := range todo {
		want[jobID(studyID, t.Key)] = true
	}
	cctx, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	err = q.Collect(cctx, func(r dispatch.Result) error {
		if !want[r.JobID] {
			return nil // a duplicate, or another study's leftover
		}
		key := r.JobID[len(jobID(studyID, "")):]
		if r.Err != "" {
			if err := opts.Store.FailTrial(ctx, studyID, key, r.Worker, r.Err); err != nil {
				return err
			}
			failed.Add(1)
		} else {
			if _, err := opts.Store.FinishTrial(ctx, studyID, key, r.Worker, r.Payload); err != nil {
				return err
			}
		}
		delete(want, r.JobID)
		n := finished.Add(1)
		opts.Progress.Update(done0+int(n), int(failed.Load()), len(todo)-int(n))
		if len(want) == 0 {
			stopCollect()
		}
		return nil
	})
	opts.Progress.Finish()
	stopWorkers()
	wg.Wait()
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("bench: study interrupted with %d of %d trials to go (run it again to resume): %w", len(want), total, ctx.Err())
	}
	return nil
}

func jobID(studyID int64, key string) string { return fmt.Sprintf("study-%d/%s", studyID, key) }

// TrialHandler is the work-queue handler that runs benchmark trials; `lrkit
// worker` and the in-process workers use it.
func TrialHandler(opts TrialOptions) dispatch.Handler {
	return func(ctx context.Context, job dispatch.Job, heartbeat func()) ([]byte, error) {
		var tr Trial
		if err := json.Unmarshal(job.Payload, &tr); err != nil {
			return nil, fmt.Errorf("bench: malformed trial: %w", err)
		}
		res, err := RunTrial(ctx, tr, opts, heartbeat)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
}

// textProgress writes a line per finished trial, for logs.
type textProgress struct {
	w     io.Writer
	total int
	start time.Time
	done0 int
}

// NewTextProgress reports progress as plain lines on w.
func NewTextProgress(w io.Writer) Progress { return &textProgress{w: w} }

func (p *textProgress) Start(total, done int) {
	p.total, p.start, p.done0 = total, time.Now(), done
	fmt.Fprintf(p.w, "study: %d trials, %d done before, %d to run\n", total, done, total-done)
}

func (p *textProgress) Update(done, failed, inFlight int) {
	eta := "?"
	if n := done - p.done0; n > 0 {
		left := time.Duration(float64(time.Since(p.start)) / float64(n) * float64(p.total-done))
		eta = left.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "trials %d/%d done (%d failed), %d queued or running, about %s left\n", done, p.total, failed, inFlight, eta)
}

func (p *textProgress) Finish() {}

// Load reads a study and its results from the store, to rebuild its
// report without running anything.
func Load(ctx context.Context, db *store.Store, name string) (*Study, *Outcome, error) {
	st, err := db.StudyByName(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: study %q: %w", name, err)
	}
	s, err := ParseStudy(name, []byte(st.Spec))
	if err != nil {
		return nil, nil, err
	}
	infos, err := WorkloadInfos(s.Workloads)
	if err != nil {
		return nil, nil, err
	}
	trials, err := s.Trials(infos)
	if err != nil {
		return nil, nil, err
	}
	out := &Outcome{StudyID: st.ID, Trials: trials, Failed: map[string]string{}}
	if err := loadResults(ctx, db, st.ID, out); err != nil {
		return nil, nil, err
	}
	return s, out, nil
}
