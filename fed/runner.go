package fed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lrkit/lrkit/internal/safefile"
)

// The phases of a study: selection runs choose each method's rate,
// evaluation runs report it.
const (
	PhaseSelect = "select"
	PhaseEval   = "eval"
)

// RunRecord is one finished run of a study, as stored in
// <out>/runs/<key>.json.
type RunRecord struct {
	Key     string   `json:"key"`
	Phase   string   `json:"phase"`
	Dataset string   `json:"dataset"`
	Method  string   `json:"method"`
	Rule    string   `json:"rule"`
	LR      float64  `json:"lr"`
	Seed    uint64   `json:"seed"`
	Config  Config   `json:"config"`
	History *History `json:"history"`
	// WallSeconds is the real time the run took on the machine that ran
	// it (not part of any result).
	WallSeconds float64 `json:"wall_seconds"`
}

// job is a run to do.
type job struct {
	phase, dataset, method, rule string
	lr                           float64
	seed                         uint64
	cfg                          Config
	key                          string
}

func newJob(s *Study, phase, dataset string, m Method, rule string, lr float64, seed uint64) job {
	cfg := s.config(dataset, m, rule, lr, seed)
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	key := fmt.Sprintf("%s_%s_%s_lr%s_seed%d_%s", dataset, m.Name, rule, strconv.FormatFloat(lr, 'g', -1, 64), seed, hex.EncodeToString(sum[:4]))
	return job{phase: phase, dataset: dataset, method: m.Name, rule: rule, lr: lr, seed: seed, cfg: cfg, key: key}
}

// Choice is the rate chosen for a method on a data set.
type Choice struct {
	LR float64 `json:"lr"`
	// Edge is set when the chosen rate is the smallest or largest of the
	// grid searched, so the best rate may lie outside it.
	Edge   bool      `json:"edge"`
	Scores []LRScore `json:"scores"`
}

// LRScore is a rate's selection score: the mean over the selection seeds
// of the virtual time to the target (the budget when it is not reached)
// and of the final accuracy.
type LRScore struct {
	LR       float64 `json:"lr"`
	Time     float64 `json:"time"`
	Accuracy float64 `json:"accuracy"`
	Reached  int     `json:"reached"` // selection seeds that reached the target
	Seeds    int     `json:"seeds"`
}

// Outcome is a finished study: every run's record and the choices.
type Outcome struct {
	Study   *Study
	Records map[string]*RunRecord
	Choices map[string]map[string]Choice // dataset → method → choice
	Ran     int                          // runs done by this call (the rest were on disk)
}

// StudyOptions configure RunStudy.
type StudyOptions struct {
	// Out is the directory for run records (Out/runs) and the report.
	Out string
	// Workers is the number of runs at once (2 when ≤ 0).
	Workers int
	// Exec runs the clients' tasks (Local when nil).
	Exec     Executor
	Envs     *Envs
	Progress Progress
}

// RunStudy runs every run of the study that Out does not already hold:
// first the selection runs (every method × rate × selection seed), then,
// with each method's rate chosen, the evaluation runs (every method at its
// rate, and FedHyper's rules at the good and the poor rate, × evaluation
// seeds). It can be interrupted at any time (cancel ctx) and resumed with
// the same Out: finished runs are kept and not run again; a run whose
// configuration changed (an edited study) gets a new key and runs anew.
func RunStudy(ctx context.Context, s *Study, o StudyOptions) (*Outcome, error) {
	if o.Out == "" {
		return nil, errors.New("fed: StudyOptions.Out is empty")
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Envs == nil {
		o.Envs = NewEnvs()
	}
	if o.Exec == nil {
		o.Exec = Local{Envs: o.Envs}
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	dir := filepath.Join(o.Out, "runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	oc := &Outcome{Study: s, Records: map[string]*RunRecord{}, Choices: map[string]map[string]Choice{}}
	sel := s.selectionJobs()
	total := len(sel) + s.evalCount()
	done, err := oc.load(dir, sel)
	if err != nil {
		return nil, err
	}
	o.Progress.Start(total, done)
	defer o.Progress.Finish()
	p := &pool{o: o, dir: dir, oc: oc, done: done}
	if err := p.run(ctx, sel); err != nil {
		return nil, err
	}
	oc.choose()
	ev := s.evalJobs(oc.Choices)
	n, err := oc.load(dir, ev)
	if err != nil {
		return nil, err
	}
	p.add(n)
	if err := p.run(ctx, ev); err != nil {
		return nil, err
	}
	oc.Ran = p.ran
	return oc, nil
}

// selectionJobs lists every method × rate × selection seed per data set,
// grouped by seed so that runs sharing an environment run together.
func (s *Study) selectionJobs() []job {
	var out []job
	for _, d := range s.Datasets {
		for _, seed := range s.Seeds.Select { // by seed: one environment at a time
			for _, m := range s.Methods {
				for _, lr := range m.LRs {
					out = append(out, newJob(s, PhaseSelect, d, m, RuleNone, lr, seed))
				}
			}
		}
	}
	return out
}

// evalCount is the number of evaluation runs, known before the choices.
func (s *Study) evalCount() int {
	per := len(s.Methods)
	if h := s.FedHyper; h != nil {
		per += 2*len(h.Rules) + 1
	}
	return len(s.Datasets) * per * len(s.Seeds.Eval)
}

// hyperRates returns FedHyper's good and poor initial rates on a data set.
func (s *Study) hyperRates(ch map[string]Choice) (good, poor float64) {
	good = ch[s.FedHyper.Baseline].LR
	// Rounded to 12 significant digits: 0.1 × 0.1 is 0.01, not
	// 0.010000000000000002, in keys and tables.
	poor, _ = strconv.ParseFloat(strconv.FormatFloat(good*s.FedHyper.Poor, 'g', 12, 64), 64)
	return good, poor
}

// evalJobs lists the evaluation runs for the chosen rates.
func (s *Study) evalJobs(choices map[string]map[string]Choice) []job {
	var out []job
	for _, d := range s.Datasets {
		for _, seed := range s.Seeds.Eval {
			for _, m := range s.Methods {
				out = append(out, newJob(s, PhaseEval, d, m, RuleNone, choices[d][m.Name].LR, seed))
			}
			if h := s.FedHyper; h != nil {
				base := s.Methods[slices.IndexFunc(s.Methods, func(m Method) bool { return m.Name == h.Baseline })]
				good, poor := s.hyperRates(choices[d])
				out = append(out, newJob(s, PhaseEval, d, base, RuleNone, poor, seed))
				for _, r := range h.Rules {
					out = append(out, newJob(s, PhaseEval, d, base, r, good, seed), newJob(s, PhaseEval, d, base, r, poor, seed))
				}
			}
		}
	}
	return out
}

// load reads the records of jobs already on disk and returns how many
// there were.
func (oc *Outcome) load(dir string, jobs []job) (int, error) {
	n := 0
	for _, j := range jobs {
		b, err := os.ReadFile(filepath.Join(dir, j.key+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		var r RunRecord
		if err := json.Unmarshal(b, &r); err != nil || r.History == nil || len(r.History.Points) == 0 {
			continue // a damaged record: run it again
		}
		if _, ok := oc.Records[j.key]; !ok {
			n++
		}
		oc.Records[j.key] = &r
	}
	return n, nil
}

// choose picks each method's rate from its selection runs.
func (oc *Outcome) choose() {
	s := oc.Study
	for _, d := range s.Datasets {
		oc.Choices[d] = map[string]Choice{}
		target := s.Targets[d]
		for _, m := range s.Methods {
			var ch Choice
			best := -1
			for _, lr := range m.LRs {
				sc := LRScore{LR: lr}
				for _, seed := range s.Seeds.Select {
					r := oc.Records[newJob(s, PhaseSelect, d, m, RuleNone, lr, seed).key]
					t, ok := timeToTarget(r.History, target)
					if !ok {
						t = s.Budget
					} else {
						sc.Reached++
					}
					sc.Time += t
					sc.Accuracy += r.History.Final().Accuracy
					sc.Seeds++
				}
				sc.Time /= float64(sc.Seeds)
				sc.Accuracy /= float64(sc.Seeds)
				ch.Scores = append(ch.Scores, sc)
				k := len(ch.Scores) - 1
				if best < 0 || sc.Time < ch.Scores[best].Time || (sc.Time == ch.Scores[best].Time && sc.Accuracy > ch.Scores[best].Accuracy) {
					best = k
				}
			}
			ch.LR = ch.Scores[best].LR
			lo, hi := slices.Min(m.LRs), slices.Max(m.LRs)
			ch.Edge = len(m.LRs) > 1 && (ch.LR == lo || ch.LR == hi)
			oc.Choices[d][m.Name] = ch
		}
	}
}

// timeToTarget is the virtual time of the first evaluation at or above
// target accuracy.
func timeToTarget(h *History, target float64) (float64, bool) {
	for _, p := range h.Points {
		if p.Accuracy >= target {
			return p.Time, true
		}
	}
	return math.NaN(), false
}

// roundsToTarget is the number of server aggregations (FedAvg: rounds)
// at the first evaluation at or above target accuracy.
func roundsToTarget(h *History, target float64) (float64, bool) {
	for _, p := range h.Points {
		if p.Accuracy >= target {
			return float64(p.Aggregations), true
		}
	}
	return math.NaN(), false
}

// pool runs jobs on workers and stores their records.
type pool struct {
	o    StudyOptions
	dir  string
	oc   *Outcome
	mu   sync.Mutex
	done int
	ran  int
}

func (p *pool) add(n int) {
	p.mu.Lock()
	p.done += n
	d := p.done
	p.mu.Unlock()
	p.o.Progress.Update(d, "")
}

func (p *pool) run(ctx context.Context, jobs []job) error {
	var todo []job
	seen := map[string]bool{}
	for _, j := range jobs {
		if _, ok := p.oc.Records[j.key]; !ok && !seen[j.key] {
			seen[j.key] = true
			todo = append(todo, j)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan job)
	errs := make(chan error, p.o.Workers)
	var wg sync.WaitGroup
	for range p.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := p.one(ctx, j); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	go func() {
		defer close(ch)
		for _, j := range todo {
			select {
			case ch <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func (p *pool) one(ctx context.Context, j job) error {
	start := time.Now()
	h, err := Run(ctx, j.cfg, p.o.Envs, p.o.Exec)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("run %s: %w", j.key, err)
	}
	r := &RunRecord{Key: j.key, Phase: j.phase, Dataset: j.dataset, Method: j.method, Rule: j.rule, LR: j.lr, Seed: j.seed,
		Config: j.cfg, History: h, WallSeconds: time.Since(start).Seconds()}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := safefile.WriteAtomic(filepath.Join(p.dir, j.key+".json"), b); err != nil {
		return err
	}
	p.mu.Lock()
	p.oc.Records[j.key] = r
	p.done++
	p.ran++
	d := p.done
	p.mu.Unlock()
	p.o.Progress.Update(d, j.key)
	return nil
}
