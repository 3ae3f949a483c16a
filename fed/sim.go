package fed

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/lrkit/lrkit/control"
)

// The aggregation algorithms.
const (
	FedAvg     = "fedavg"     // synchronous rounds (McMahan et al. 2017)
	FedAsync   = "fedasync"   // every arrival updates the model (Xie et al. 2019)
	FedBuff    = "fedbuff"    // buffered asynchronous aggregation (Nguyen et al. 2022)
	FedCompass = "fedcompass" // COMPASS groups (Li et al. 2024)
)

// Algorithms lists the aggregation algorithms.
var Algorithms = []string{FedAvg, FedAsync, FedBuff, FedCompass}

// The learning-rate rules: none, or one of FedHyper's (Wang et al. 2024).
const (
	RuleNone = "none"
	RuleG    = "fedhyper-g"    // global rate by hypergradient
	RuleGM   = "fedhyper-gm"   // global rate with server momentum 0.9
	RuleSL   = "fedhyper-sl"   // clients' rate set by the server's hypergradient
	RuleCL   = "fedhyper-cl"   // clients' rate by a per-step hypergradient
	RuleFull = "fedhyper-full" // GM and CL together
)

// Rules lists the learning-rate rules.
var Rules = []string{RuleNone, RuleG, RuleGM, RuleSL, RuleCL, RuleFull}

// Config describes one federated training run.
type Config struct {
	Env       EnvSpec
	Algorithm string
	Rule      string  // RuleNone when empty
	LR        float64 // the clients' (initial) learning rate η0
	// LocalSteps is the number of local steps per round (Q_max for
	// FedCompass).
	LocalSteps int
	// Fraction of the clients that take part in a FedAvg round (1 when 0),
	// drawn afresh every round.
	Fraction float64
	// Alpha is the server's mixing rate of the asynchronous algorithms:
	// an update Δ_i from client i with staleness τ moves the global model
	// by Alpha·s(τ)·p_i·Δ_i, p_i the client's weight (APPFL's form).
	Alpha     float64
	Staleness Staleness
	Buffer    int // FedBuff: updates per aggregation (K)
	// FedCompass: Q_min, λ and the speed momentum μ (see Compass).
	QMin          int
	Lambda        float64
	SpeedMomentum float64
	// Weights is "samples" (p_i = n_i/n, the default) or "equal" (1/N).
	Weights string
	Speeds  Speeds
	// Budget is the run's length in virtual seconds.
	Budget float64
	// EvalEvery is the virtual time between evaluations of the global
	// model (it is evaluated after the first aggregation at or past each
	// multiple); EvalRounds, if > 0, also evaluates FedAvg every that many
	// rounds.
	EvalEvery  float64
	EvalRounds int
}

// Validate checks the configuration and names the field at fault.
func (c *Config) Validate() error {
	if err := c.Env.Validate(); err != nil {
		return err
	}
	if !slices.Contains(Algorithms, c.Algorithm) {
		return fmt.Errorf("unknown algorithm %q (have %s)", c.Algorithm, strings.Join(Algorithms, ", "))
	}
	rule := c.rule()
	if !slices.Contains(Rules, rule) {
		return fmt.Errorf("unknown learning-rate rule %q (have %s)", c.Rule, strings.Join(Rules, ", "))
	}
	if rule != RuleNone && c.Algorithm != FedAvg {
		return fmt.Errorf("rule %s needs algorithm fedavg: FedHyper is defined on synchronous rounds", rule)
	}
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %v, want a finite number > 0", name, v)
		}
		return nil
	}
	if err := pos("lr", c.LR); err != nil {
		return err
	}
	if c.LocalSteps < 1 || c.LocalSteps > 1_000_000 {
		return fmt.Errorf("local_steps %d, want 1..1000000", c.LocalSteps)
	}
	if c.Fraction != 0 && !(c.Fraction > 0 && c.Fraction <= 1) {
		return fmt.Errorf("fraction %v, want in (0, 1]", c.Fraction)
	}
	if c.Algorithm != FedAvg {
		if err := pos("alpha", c.Alpha); err != nil {
			return err
		}
		if err := c.Staleness.Validate(); err != nil {
			return err
		}
	}
	if c.Algorithm == FedBuff && (c.Buffer < 1 || c.Buffer > c.Env.Clients) {
		return fmt.Errorf("buffer %d, want 1..%d (the number of clients)", c.Buffer, c.Env.Clients)
	}
	if c.Algorithm == FedCompass {
		if c.QMin < 1 || c.QMin > c.LocalSteps {
			return fmt.Errorf("q_min %d, want 1..%d (local_steps, which is Q_max)", c.QMin, c.LocalSteps)
		}
		if !(c.Lambda >= 1) || math.IsInf(c.Lambda, 0) {
			return fmt.Errorf("lambda %v, want a finite number ≥ 1", c.Lambda)
		}
		if !(c.SpeedMomentum > 0 && c.SpeedMomentum <= 1) {
			return fmt.Errorf("speed_momentum %v, want in (0, 1]", c.SpeedMomentum)
		}
	}
	switch c.Weights {
	case "", "samples", "equal":
	default:
		return fmt.Errorf("weights %q, want samples or equal", c.Weights)
	}
	if err := c.Speeds.Validate(); err != nil {
		return err
	}
	if err := pos("budget", c.Budget); err != nil {
		return err
	}
	if err := pos("eval every", c.EvalEvery); err != nil {
		return err
	}
	if c.EvalRounds < 0 {
		return fmt.Errorf("eval rounds %d, want ≥ 0", c.EvalRounds)
	}
	return nil
}

func (c *Config) rule() string {
	if c.Rule == "" {
		return RuleNone
	}
	return c.Rule
}

// Point is one evaluation of the global model.
type Point struct {
	Time         float64 `json:"t"`       // virtual seconds
	Updates      int64   `json:"updates"` // client updates received so far
	Aggregations int64   `json:"aggs"`    // server model versions so far (FedAvg: rounds)
	Loss         float64 `json:"loss"`
	Accuracy     float64 `json:"acc"`
	// A is FedHyper's hypergradient variable a, and ClientLR the clients'
	// rate in the last round (the mean of the last step's rate under CL).
	A        float64 `json:"a,omitempty"`
	ClientLR float64 `json:"client_lr"`
}

// History is the record of a run.
type History struct {
	Points       []Point `json:"points"`
	Updates      int64   `json:"updates"`
	Aggregations int64   `json:"aggs"`
	// MeanStaleness and MaxStaleness are over the updates aggregated.
	MeanStaleness float64 `json:"mean_staleness"`
	MaxStaleness  int64   `json:"max_staleness"`
	// Diverged is set when a client's training or the global model became
	// non-finite; the run stopped there and its last point has accuracy 0.
	Diverged bool `json:"diverged,omitempty"`
	// Model is the SHA-256 of the final global model's float32 bytes.
	Model string `json:"model"`
}

// Final returns the last point.
func (h *History) Final() Point { return h.Points[len(h.Points)-1] }

// Run simulates one federation in virtual time: clients' local rounds take
// the time their simulated speed gives them, the server handles arrivals
// in order of virtual time, and the model is evaluated along the way until
// cfg.Budget. Local rounds run on exec (Local{envs} when nil). The same
// configuration gives the same history, bit for bit, with any executor
// and on any machine load; cancelling ctx stops the run with ctx's error.
func Run(ctx context.Context, cfg Config, envs *Envs, exec Executor) (*History, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if envs == nil {
		envs = NewEnvs()
	}
	if exec == nil {
		exec = Local{Envs: envs}
	}
	env, err := envs.Get(ctx, cfg.Env)
	if err != nil {
		return nil, err
	}
	s := &sim{ctx: ctx, cfg: &cfg, env: env, exec: exec, hist: &History{}}
	s.init()
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.hist, nil
}

// eventKind orders nothing: events are ordered by time, then by the order
// in which they were scheduled.
type eventKind int

const (
	evArrival  eventKind = iota // client id finishes its local round
	evDeadline                  // FedCompass group id reaches its latest arrival time
)

type event struct {
	t    float64
	seq  int64
	kind eventKind
	id   int
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].t != q[j].t {
		return q[i].t < q[j].t
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type clientState struct {
	start     float64
	version   int64 // server version of the model the round started from
	steps     int
	rounds    int // local rounds begun
	pending   Pending
	dataState []byte
}

// update is a received client update waiting in a buffer.
type update struct {
	client  int
	version int64
	delta   []float32
}

type sim struct {
	ctx  context.Context
	cfg  *Config
	env  *Env
	exec Executor
	hist *History

	now      float64
	global   []float32
	version  int64
	updates  int64
	queue    eventQueue
	seq      int64
	clients  []clientState
	stepTime []float64
	weights  []float64
	nextEval float64
	lastEval int64 // version at the last evaluation (−1: none)
	staleSum float64
	staleN   int64
	clientLR float64

	// FedAvg and FedHyper
	round      int
	waiting    int
	roundRes   map[int]*Result
	hyper      *control.FedHyper
	prevUpdate []float32 // Δ_{r−1}
	momentum   []float32 // M (GM)
	roundLR    float64   // the clients' rate this round

	// FedBuff
	buffer []float32
	bufN   int

	// FedCompass
	compass *Compass
	general []update
	groups  map[int][]update
}

func (s *sim) init() {
	cfg := s.cfg
	n := cfg.Env.Clients
	s.global = slices.Clone(s.env.Init)
	s.clients = make([]clientState, n)
	s.stepTime = cfg.Speeds.StepTimes(n, cfg.Env.Seed)
	if cfg.Weights == "equal" {
		s.weights = make([]float64, n)
		for i := range s.weights {
			s.weights[i] = 1 / float64(n)
		}
	} else {
		s.weights = s.env.Weights()
	}
	s.lastEval = -1
	s.clientLR = cfg.LR
	s.roundLR = cfg.LR
	switch cfg.rule() {
	case RuleG:
		s.hyper = control.NewFedHyper("g", cfg.LR)
	case RuleGM, RuleFull:
		s.hyper = control.NewFedHyper("gm", cfg.LR)
	case RuleSL:
		s.hyper = control.NewFedHyper("sl", cfg.LR)
	}
}

func (s *sim) push(t float64, kind eventKind, id int) {
	heap.Push(&s.queue, event{t: t, seq: s.seq, kind: kind, id: id})
	s.seq++
}

// dispatch starts client i on a local round of steps steps at rate lr
// from the current global model.
func (s *sim) dispatch(i, steps int, lr float64) error {
	c := &s.clients[i]
	c.start, c.version, c.steps = s.now, s.version, steps
	c.rounds++
	t := &Task{Env: s.cfg.Env, Client: i, Steps: steps, LR: lr, DataState: c.dataState, Global: slices.Clone(s.global)}
	if r := s.cfg.rule(); r == RuleCL || r == RuleFull {
		t.CL = true
		t.Participants = s.participants()
		if s.prevUpdate != nil {
			t.PrevUpdate = slices.Clone(s.prevUpdate)
		}
	}
	p, err := s.exec.Start(s.ctx, t)
	if err != nil {
		return fmt.Errorf("start client %d: %w", i, err)
	}
	c.pending = p
	s.push(s.now+s.cfg.Speeds.roundTime(s.stepTime[i], steps, s.cfg.Env.Seed, i, c.rounds), evArrival, i)
	return nil
}

// participants is the number of clients in a FedAvg round.
func (s *sim) participants() int {
	n := s.cfg.Env.Clients
	if f := s.cfg.Fraction; f > 0 && f < 1 {
		return max(1, int(f*float64(n)))
	}
	return n
}

func (s *sim) run() error {
	if err := s.evaluate(); err != nil {
		return err
	}
	var err error
	switch s.cfg.Algorithm {
	case FedAvg:
		err = s.startRound()
	case FedCompass:
		s.compass = NewCompass(s.cfg.Env.Clients, s.cfg.QMin, s.cfg.LocalSteps, s.cfg.Lambda, s.cfg.SpeedMomentum)
		s.groups = map[int][]update{}
		for i := range s.clients {
			s.compass.Start(i, 0, s.cfg.LocalSteps)
			if err = s.dispatch(i, s.cfg.LocalSteps, s.cfg.LR); err != nil {
				break
			}
		}
	default:
		for i := range s.clients {
			if err = s.dispatch(i, s.cfg.LocalSteps, s.cfg.LR); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	for len(s.queue) > 0 && !s.hist.Diverged {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		ev := heap.Pop(&s.queue).(event)
		if ev.t > s.cfg.Budget {
			break
		}
		s.now = ev.t
		switch ev.kind {
		case evDeadline:
			if s.compass.Waiting(ev.id) {
				err = s.aggregateGroup(ev.id)
			}
		case evArrival:
			err = s.arrive(ev.id)
		}
		if err != nil {
			return err
		}
	}
	return s.finish()
}

// arrive takes client i's result and hands it to the algorithm.
func (s *sim) arrive(i int) error {
	c := &s.clients[i]
	res, err := c.pending.Wait(s.ctx)
	if err != nil {
		return fmt.Errorf("client %d at virtual time %.1f: %w", i, s.now, err)
	}
	c.pending = nil
	if res.Client != i {
		return fmt.Errorf("client %d's result came back as client %d's", i, res.Client)
	}
	if res.Diverged {
		s.hist.Diverged = true
		return nil
	}
	if len(res.Update) != len(s.global) {
		return fmt.Errorf("client %d sent %d parameters, the model has %d", i, len(res.Update), len(s.global))
	}
	c.dataState = res.DataState
	s.updates++
	switch s.cfg.Algorithm {
	case FedAvg:
		s.roundRes[i] = res
		s.waiting--
		if s.waiting == 0 {
			return s.aggregateRound()
		}
		return nil
	case FedAsync:
		s.apply(i, c.version, res.Update)
		if err := s.commit(); err != nil || s.hist.Diverged {
			return err
		}
		return s.dispatch(i, s.cfg.LocalSteps, s.cfg.LR)
	case FedBuff:
		if s.buffer == nil {
			s.buffer = make([]float32, len(s.global))
		}
		s.accumulate(s.buffer, i, c.version, res.Update)
		s.bufN++
		if s.bufN == s.cfg.Buffer {
			axpy(s.global, 1, s.buffer)
			clear(s.buffer)
			s.bufN = 0
			if err := s.commit(); err != nil || s.hist.Diverged {
				return err
			}
		}
		return s.dispatch(i, s.cfg.LocalSteps, s.cfg.LR)
	}
	return s.arriveCompass(i, res)
}

// accumulate adds Alpha·s(τ)·p_i·Δ to dst for an update of client i made
// from model version v.
func (s *sim) accumulate(dst []float32, i int, v int64, delta []float32) {
	tau := s.version - v
	s.staleSum += float64(tau)
	s.staleN++
	s.hist.MaxStaleness = max(s.hist.MaxStaleness, tau)
	axpy(dst, s.cfg.Alpha*s.cfg.Staleness.Weight(tau)*s.weights[i], delta)
}

// apply adds client i's weighted update to the global model.
func (s *sim) apply(i int, v int64, delta []float32) { s.accumulate(s.global, i, v, delta) }

// commit makes the global model a new version and evaluates it if due.
func (s *sim) commit() error {
	s.version++
	if !finite(s.global) {
		s.hist.Diverged = true
		return nil
	}
	due := s.now >= s.nextEval
	if s.cfg.Algorithm == FedAvg && s.cfg.EvalRounds > 0 && s.round%s.cfg.EvalRounds == 0 {
		due = true
	}
	if due {
		return s.evaluate()
	}
	return nil
}

// evaluate records a point for the current global model.
func (s *sim) evaluate() error {
	loss, acc, err := s.env.Evaluate(s.ctx, s.global)
	if err != nil {
		return fmt.Errorf("evaluate at virtual time %.1f: %w", s.now, err)
	}
	p := Point{Time: s.now, Updates: s.updates, Aggregations: s.version, Loss: loss, Accuracy: acc, ClientLR: s.clientLR}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		p.Loss = 0
		p.Accuracy = 0
		s.hist.Diverged = true
	}
	if s.hyper != nil {
		p.A = s.hyper.A()
	}
	s.hist.Points = append(s.hist.Points, p)
	s.lastEval = s.version
	s.nextEval = (math.Floor(s.now/s.cfg.EvalEvery) + 1) * s.cfg.EvalEvery
	return nil
}

// finish records the final point at the budget.
func (s *sim) finish() error {
	s.hist.Updates, s.hist.Aggregations = s.updates, s.version
	if s.staleN > 0 {
		s.hist.MeanStaleness = s.staleSum / float64(s.staleN)
	}
	s.hist.Model = hashVec(s.global)
	if s.hist.Diverged {
		p := s.hist.Final()
		p.Time, p.Updates, p.Aggregations, p.Accuracy, p.Loss = s.cfg.Budget, s.updates, s.version, 0, 0
		s.hist.Points = append(s.hist.Points, p)
		return nil
	}
	if s.lastEval != s.version {
		if err := s.evaluate(); err != nil {
			return err
		}
	}
	p := s.hist.Final()
	if p.Time < s.cfg.Budget {
		p.Time = s.cfg.Budget
		s.hist.Points = append(s.hist.Points, p)
	} else {
		s.hist.Points[len(s.hist.Points)-1].Time = s.cfg.Budget
	}
	return nil
}

// startRound begins a FedAvg round: every client, or a random Fraction of
// them drawn from the run's seed and the round number.
func (s *sim) startRound() error {
	n := s.cfg.Env.Clients
	who := make([]int, n)
	for i := range who {
		who[i] = i
	}
	if k := s.participants(); k < n {
		rng := rand.New(rand.NewPCG(s.cfg.Env.Seed^0x726f756e64, uint64(s.round)))
		rng.Shuffle(n, func(i, j int) { who[i], who[j] = who[j], who[i] })
		who = who[:k]
		slices.Sort(who)
	}
	s.roundRes = make(map[int]*Result, len(who))
	s.waiting = len(who)
	for _, i := range who {
		if err := s.dispatch(i, s.cfg.LocalSteps, s.roundLR); err != nil {
			return err
		}
	}
	return nil
}

// aggregateRound ends a FedAvg round: Δ = Σ p_i Δ_i / Σ p_i over the
// round's clients, then the rule:
//
//	none, CL:  x ← x + Δ
//	G:         a ← clip(a + ⟨Δ_{r−1}, Δ⟩, −0.8, 4); x ← x + (1 + a)·Δ
//	GM, FULL:  a ← clip(a + ⟨M, Δ⟩, −0.2, 4); M ← Δ + 0.9·M; x ← x + Δ + a·M
//	SL:        a ← clip(a + ⟨Δ_{r−1}, Δ⟩, −0.8, 4); x ← x + Δ; the next
//	           round's client rate is clip(η0·(1 + a), 0.001, 0.1)
//
// (control.FedHyper holds a; see its documentation and adaptive.md §3b.)
func (s *sim) aggregateRound() error {
	who := make([]int, 0, len(s.roundRes))
	for i := range s.roundRes {
		who = append(who, i)
	}
	slices.Sort(who) // sums in a fixed order, not the map's
	var wsum, lrsum float64
	for _, i := range who {
		wsum += s.weights[i]
		lrsum += s.roundRes[i].LastLR
	}
	delta := make([]float32, len(s.global))
	for _, i := range who {
		axpy(delta, s.weights[i]/wsum, s.roundRes[i].Update)
		s.staleN++ // synchronous: staleness 0
	}
	s.clientLR = lrsum / float64(len(who))
	var lr float64
	s.momentum, lr = serverStep(s.cfg.rule(), s.hyper, int64(s.round), s.global, delta, s.prevUpdate, s.momentum)
	if lr > 0 {
		s.roundLR = lr
	}
	s.prevUpdate = delta
	s.round++
	if err := s.commit(); err != nil || s.hist.Diverged {
		return err
	}
	return s.startRound()
}

// serverStep applies a FedAvg round's averaged update delta to global
// under rule (see aggregateRound), with h holding FedHyper's a, prev the
// last round's update (nil in the first round) and mom the momentum M
// (nil before the first round). It returns the new momentum and, for SL,
// the clients' rate for the next round (0 otherwise).
func serverStep(rule string, h *control.FedHyper, round int64, global, delta, prev, mom []float32) ([]float32, float64) {
	switch rule {
	case RuleG, RuleSL:
		var d float64
		if prev != nil {
			d = dot(prev, delta)
		}
		h.ObserveRound(round, d)
		if rule == RuleG {
			axpy(global, h.LR(0), delta) // 1 + a
			return mom, 0
		}
		axpy(global, 1, delta)
		return mom, h.LR(0)
	case RuleGM, RuleFull:
		var d float64
		if mom != nil {
			d = dot(mom, delta)
		} else {
			mom = make([]float32, len(delta))
		}
		h.ObserveRound(round, d)
		for j, v := range delta {
			mom[j] = float32(float64(v) + control.FedHyperMomentum*float64(mom[j]))
		}
		axpy(global, 1, delta)
		axpy(global, h.A(), mom)
		return mom, 0
	}
	axpy(global, 1, delta)
	return mom, 0
}

// arriveCompass handles an arrival under FedCompass (see Compass).
func (s *sim) arriveCompass(i int, res *Result) error {
	kind, gid := s.compass.Arrive(i, s.now)
	u := update{client: i, version: s.clients[i].version, delta: res.Update}
	switch kind {
	case ArriveSingle:
		s.apply(i, u.version, u.delta)
		if err := s.commit(); err != nil || s.hist.Diverged {
			return err
		}
		return s.assign(i)
	case ArriveLate:
		s.general = append(s.general, u)
		return s.assign(i)
	case ArriveWait:
		s.groups[gid] = append(s.groups[gid], u)
		return nil
	}
	s.groups[gid] = append(s.groups[gid], u)
	return s.aggregateGroup(gid)
}

// aggregateGroup applies group gid's updates and the general buffer, then
// reassigns the group's arrived clients, fastest first.
func (s *sim) aggregateGroup(gid int) error {
	for _, u := range s.general {
		s.apply(u.client, u.version, u.delta)
	}
	for _, u := range s.groups[gid] {
		s.apply(u.client, u.version, u.delta)
	}
	s.general = nil
	delete(s.groups, gid)
	if err := s.commit(); err != nil || s.hist.Diverged {
		return err
	}
	for _, i := range s.compass.Close(gid) {
		if err := s.assign(i); err != nil {
			return err
		}
	}
	return nil
}

// assign gives client i its next FedCompass round from the current model.
func (s *sim) assign(i int) error {
	steps, gid, created, deadline := s.compass.Assign(i, s.now)
	if created {
		s.push(deadline, evDeadline, gid)
	}
	return s.dispatch(i, steps, s.cfg.LR)
}
