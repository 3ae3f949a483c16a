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
	"time"

	"github.com/lrkit/lrkit/dispatch"
	"github.com/lrkit/lrkit/store"
	"github.com/lrkit/lrkit/workload/data"
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

// Progress is told how a study advances. The total may grow while a study
// runs (grid mode plans extensions and evaluation runs as results come).
type Progress interface {
	Start(total, done int)
	Update(done, total, failed, inFlight int)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int)            {}
func (noProgress) Update(int, int, int, int) {}
func (noProgress) Finish()                   {}

// Outcome is a finished (or resumed-and-finished) study.
type Outcome struct {
	StudyID int64
	Trials  []Trial
	// Plan is the study's plan at its results: in grid mode, each cell's
	// tuning grid and chosen peak.
	Plan    *Plan
	Results map[string]TrialResult
	Failed  map[string]string // trial key → error of trials that could not run
	Ran     int               // trials run by this call (the rest were done before)
	Rounds  int               // plans that added trials in this call
}

// Run runs the study through the work queue: it plans the trials the
// results so far call for (Study.Plan), adds them to the store, runs those
// the store holds no result for, and plans again after every result,
// queueing what the new plan adds, until nothing is left to run; it
// returns all results. In grid mode the plan grows from the tuning grids
// to their extensions past an edge and then to the evaluation runs at
// the chosen peaks, cell by cell (a cell's evaluation runs start as soon
// as its own tuning has finished); external and self mode plan everything
// at once. It can be interrupted (cancel ctx) at any moment and resumed by
// calling it again with the same store: finished trials are kept and not
// run again (the plan is deterministic, so the resumed study plans the
// same trials), and a trial that two workers finish is stored once.
// Trials that failed are run again once, at the start of the next call. A
// study that grew since its last run (a schedule or workload added) runs
// only its new trials; one that shrank ignores the trials it no longer
// has; a study that changed one of its trials is an error.
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
	infos, err := s.WorkloadInfos()
	if err != nil {
		return nil, err
	}
	pl := &planner{s: s, db: opts.Store, studyID: st.ID, infos: infos, changed: st.Spec != specText}
	out := &Outcome{StudyID: st.ID}
	if _, err := opts.Store.ResetRunning(ctx, st.ID); err != nil {
		return nil, err
	}
	total, todo, err := pl.next(ctx, true)
	if err != nil {
		return nil, err
	}
	var q *workQueue
	defer func() { q.close() }()
	for len(todo) > 0 {
		if q == nil {
			if q, err = startQueue(ctx, opts); err != nil {
				return nil, err
			}
		}
		ran, err := q.run(ctx, st.ID, todo, total, pl.next)
		out.Ran += ran
		if err != nil {
			return nil, err
		}
		// The plan after the last result (normally nothing new).
		if total, todo, err = pl.next(ctx, false); err != nil {
			return nil, err
		}
	}
	out.Rounds = pl.expansions
	if pl.changed {
		if err := opts.Store.UpdateStudySpec(ctx, st.ID, specText); err != nil {
			return nil, err
		}
	}
	if err := loadOutcome(ctx, opts.Store, s, infos, out); err != nil {
		return nil, err
	}
	return out, nil
}

// planner plans a running study from its stored results.
type planner struct {
	s          *Study
	db         *store.Store
	studyID    int64
	infos      map[string]WorkloadInfo
	changed    bool // the study's spec differs from the stored one
	expansions int  // plans that added trials
	// decoded holds the results already decoded, by trial key: a stored
	// result never changes, and decoding every result again after each
	// new one made planning quadratic in the study's size (a result holds
	// hundreds of early records).
	decoded map[string]TrialResult
}

// next plans the study at its stored results, adds the plan's new trials
// to the store, and returns the number of planned trials and the ones
// still to run (pending; failed ones too with retryFailed), each with its
// payload.
func (pl *planner) next(ctx context.Context, retryFailed bool) (int, []Trial, error) {
	stored, err := pl.db.Trials(ctx, pl.studyID)
	if err != nil {
		return 0, nil, err
	}
	if pl.decoded == nil {
		pl.decoded = map[string]TrialResult{}
	}
	results, failed, err := decodeResultsCached(stored, pl.decoded)
	if err != nil {
		return 0, nil, err
	}
	plan, err := pl.s.Plan(pl.infos, results, failed)
	if err != nil {
		return 0, nil, err
	}
	specs, byKey, err := trialSpecs(plan.Trials)
	if err != nil {
		return 0, nil, err
	}
	have := make(map[string]store.Trial, len(stored))
	for _, old := range stored {
		have[old.Key] = old
		// A study may grow (new schedules, workloads, budgets, seeds) and
		// keep its finished trials, but a trial it already has must stay
		// the same trial.
		if sp, ok := byKey[old.Key]; pl.changed && ok && string(sp.HParams) != string(old.HParams) {
			return 0, nil, fmt.Errorf("bench: study %q changed trial %s (its spec, hyperparameters or budget); give the changed study a new name or use another database", pl.s.Name, old.Key)
		}
	}
	added, err := pl.db.AddTrials(ctx, pl.studyID, specs)
	if err != nil {
		return 0, nil, err
	}
	if added > 0 {
		pl.expansions++
	}
	// A study that shrank (a schedule, seed or grid point removed) keeps
	// the rows of its removed trials, finished or not; they are neither
	// run nor reported: only the plan's trials are run.
	var todo []Trial
	for _, tr := range plan.Trials {
		old, ok := have[tr.Key]
		if !ok || old.Status == store.TrialPending || retryFailed && old.Status == store.TrialFailed {
			todo = append(todo, tr)
		}
	}
	return len(plan.Trials), todo, nil
}

// trialSpecs turns planned trials into the store's trial specs, by key.
func trialSpecs(trials []Trial) ([]store.TrialSpec, map[string]store.TrialSpec, error) {
	specs := make([]store.TrialSpec, len(trials))
	byKey := make(map[string]store.TrialSpec, len(trials))
	for i, tr := range trials {
		hp, err := json.Marshal(tr)
		if err != nil {
			return nil, nil, err
		}
		specs[i] = store.TrialSpec{Key: tr.Key, Workload: tr.Workload, Schedule: tr.Spec, HParams: hp, Seed: tr.Seed, Budget: tr.Steps}
		byKey[tr.Key] = specs[i]
	}
	return specs, byKey, nil
}

// decodeResults reads the results of the finished trials and the keys of
// the failed ones.
func decodeResults(stored []store.Trial) (map[string]TrialResult, map[string]bool, error) {
	return decodeResultsCached(stored, nil)
}

// decodeResultsCached is decodeResults taking the finished trials' results
// from cache when it holds them, and adding those it decodes (cache may
// be nil).
func decodeResultsCached(stored []store.Trial, cache map[string]TrialResult) (map[string]TrialResult, map[string]bool, error) {
	results := map[string]TrialResult{}
	failed := map[string]bool{}
	for _, t := range stored {
		switch t.Status {
		case store.TrialDone:
			if r, ok := cache[t.Key]; ok {
				results[t.Key] = r
				continue
			}
			var r TrialResult
			if err := json.Unmarshal(t.Result, &r); err != nil {
				return nil, nil, fmt.Errorf("bench: result of trial %s: %w", t.Key, err)
			}
			if cache != nil {
				cache[t.Key] = r
			}
			results[t.Key] = r
		case store.TrialFailed:
			failed[t.Key] = true
		}
	}
	return results, failed, nil
}

// loadOutcome plans the study at its stored results and fills out with
// the plan, its trials and their results.
func loadOutcome(ctx context.Context, db *store.Store, s *Study, infos map[string]WorkloadInfo, out *Outcome) error {
	stored, err := db.Trials(ctx, out.StudyID)
	if err != nil {
		return err
	}
	results, failed, err := decodeResults(stored)
	if err != nil {
		return err
	}
	plan, err := s.Plan(infos, results, failed)
	if err != nil {
		return err
	}
	out.Plan, out.Trials = plan, plan.Trials
	out.Results, out.Failed = map[string]TrialResult{}, map[string]string{}
	errs := map[string]string{}
	for _, t := range stored {
		if t.Status == store.TrialFailed {
			errs[t.Key] = t.Error
		}
	}
	for _, tr := range plan.Trials {
		if r, ok := results[tr.Key]; ok {
			out.Results[tr.Key] = r // a trial the study no longer has is left out
		} else if failed[tr.Key] {
			out.Failed[tr.Key] = errs[tr.Key]
		}
	}
	return nil
}

// workQueue is a study's connection to the work queue and its in-process
// workers, kept over the rounds of a Run.
type workQueue struct {
	q           *dispatch.Queue
	opts        RunOptions
	srv         *dispatch.Embedded
	dir         string
	stopWorkers context.CancelFunc
	wg          sync.WaitGroup
	workers     []*dispatch.Queue
}

// startQueue connects to the work queue (an embedded server unless
// opts.NATS names one) and starts the in-process workers.
func startQueue(ctx context.Context, opts RunOptions) (*workQueue, error) {
	wq := &workQueue{opts: opts}
	url := opts.NATS
	workers := opts.Workers
	if url == "" {
		dir := opts.QueueDir
		if dir == "" {
			d, err := os.MkdirTemp("", "lrkit-nats-")
			if err != nil {
				return nil, err
			}
			wq.dir, dir = d, d
		}
		srv, err := dispatch.StartEmbedded(dir)
		if err != nil {
			wq.close()
			return nil, err
		}
		wq.srv = srv
		url = srv.URL()
		if workers < 0 {
			workers = runtime.NumCPU()
		}
	}
	workers = max(workers, 0)
	q, err := dispatch.Connect(ctx, url, dispatch.Config{Name: opts.Queue, AckWait: opts.AckWait, Worker: "coordinator"})
	if err != nil {
		wq.close()
		return nil, err
	}
	wq.q = q
	if opts.OnQueue != nil {
		opts.OnQueue(url)
	}
	wctx, stop := context.WithCancel(ctx)
	wq.stopWorkers = stop
	if opts.Trial.Sets == nil {
		// One copy of each image data set for all in-process workers.
		opts.Trial.Sets = data.NewSetCache()
	}
	for i := 0; i < workers; i++ {
		w, err := dispatch.Connect(wctx, url, dispatch.Config{Name: opts.Queue, AckWait: opts.AckWait, Worker: fmt.Sprintf("in-process-%d", i)})
		if err != nil {
			wq.close()
			return nil, err
		}
		wq.workers = append(wq.workers, w)
		wq.wg.Add(1)
		go func() {
			defer wq.wg.Done()
			_ = w.Work(wctx, TrialHandler(opts.Trial))
		}()
	}
	return wq, nil
}

// close stops the workers and the embedded server; a nil queue is a no-op.
func (wq *workQueue) close() {
	if wq == nil {
		return
	}
	if wq.stopWorkers != nil {
		wq.stopWorkers()
	}
	wq.wg.Wait()
	for _, w := range wq.workers {
		w.Close()
	}
	if wq.q != nil {
		wq.q.Close()
	}
	if wq.srv != nil {
		wq.srv.Close()
	}
	if wq.dir != "" {
		os.RemoveAll(wq.dir)
	}
}

// run submits trials and stores their results as they come; after each
// result it asks more for the study's new plan and submits the trials it
// adds, until every submitted trial has a result. It returns how many
// trials finished or failed.
func (wq *workQueue) run(ctx context.Context, studyID int64, todo []Trial, total int, more func(context.Context, bool) (int, []Trial, error)) (int, error) {
	opts := wq.opts
	want := map[string]bool{}
	submitted := map[string]bool{}
	submit := func(trials []Trial) error {
		for _, tr := range trials {
			id := jobID(studyID, tr.Key)
			if submitted[id] {
				continue
			}
			payload, err := json.Marshal(tr)
			if err != nil {
				return err
			}
			if err := wq.q.Submit(ctx, dispatch.Job{ID: id, Payload: payload}); err != nil {
				return err
			}
			submitted[id], want[id] = true, true
		}
		return nil
	}
	if err := submit(todo); err != nil {
		return 0, err
	}
	done0 := total - len(todo)
	opts.Progress.Start(total, done0)
	finished, failed := 0, 0
	var planErr error
	cctx, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	err := wq.q.Collect(cctx, func(r dispatch.Result) error {
		if !want[r.JobID] {
			return nil // a duplicate, or another study's leftover
		}
		key := r.JobID[len(jobID(studyID, "")):]
		if r.Err != "" {
			if err := opts.Store.FailTrial(ctx, studyID, key, r.Worker, r.Err); err != nil {
				return err
			}
			failed++
		} else {
			if _, err := opts.Store.FinishTrial(ctx, studyID, key, r.Worker, r.Payload); err != nil {
				return err
			}
		}
		delete(want, r.JobID)
		finished++
		// The result is stored: a failure to plan or queue what follows
		// ends the run (the next call resumes it) instead of holding the
		// result for redelivery.
		n, next, err := more(ctx, false)
		if err == nil {
			err = submit(next)
		}
		if err != nil {
			planErr = err
			stopCollect()
			return nil
		}
		total = n
		opts.Progress.Update(total-len(want), total, failed, len(want))
		if len(want) == 0 {
			stopCollect()
		}
		return nil
	})
	opts.Progress.Finish()
	if err != nil {
		return finished, err
	}
	if planErr != nil && ctx.Err() == nil {
		return finished, planErr
	}
	if ctx.Err() != nil {
		return finished, fmt.Errorf("bench: study interrupted with %d of %d planned trials to go (run it again to resume): %w", len(want), total, ctx.Err())
	}
	return finished, nil
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
	// lastLine and lastDone are when the last line was written and how
	// many trials were done then.
	lastLine time.Time
	lastDone int
	every    time.Duration
}

// NewTextProgress reports progress as plain lines on w, for logs: a line
// when another 5% of the trials are done or 30 s after the last line,
// whichever comes first, and one when the last trial is done; not a line
// per trial.
func NewTextProgress(w io.Writer) Progress { return &textProgress{w: w, every: 30 * time.Second} }

func (p *textProgress) Start(total, done int) {
	p.total, p.start, p.done0 = total, time.Now(), done
	p.lastLine, p.lastDone = p.start, done
	fmt.Fprintf(p.w, "study: %d trials planned, %d done before, %d to run (a grid-mode study plans more as results come)\n", total, done, total-done)
}

func (p *textProgress) Update(done, total, failed, inFlight int) {
	p.total = total
	step := max(1, (total+19)/20) // 5% of the trials
	if done < total && done-p.lastDone < step && time.Since(p.lastLine) < p.every {
		return
	}
	p.lastLine, p.lastDone = time.Now(), done
	eta := "?"
	if n := done - p.done0; n > 0 {
		left := time.Duration(float64(time.Since(p.start)) / float64(n) * float64(p.total-done))
		eta = left.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "trials %d/%d done (%d failed), %d queued or running, about %s left\n", done, p.total, failed, inFlight, eta)
}

func (p *textProgress) Finish() {}

// Load reads a study and its results from the store, to rebuild its
// report without running anything: the plan is rebuilt from the stored
// results, as Run's last round saw them.
func Load(ctx context.Context, db *store.Store, name string) (*Study, *Outcome, error) {
	st, err := db.StudyByName(ctx, name)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: study %q: %w", name, err)
	}
	s, err := ParseStudy(name, []byte(st.Spec))
	if err != nil {
		return nil, nil, err
	}
	infos, err := s.WorkloadInfos()
	if err != nil {
		return nil, nil, err
	}
	out := &Outcome{StudyID: st.ID}
	if err := loadOutcome(ctx, db, s, infos, out); err != nil {
		return nil, nil, err
	}
	return s, out, nil
}
