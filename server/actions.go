package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/store"
)

// DecayRequest is the body of POST /v1/runs/{run}/actions/decay: start
// the decay now (WSD-style). From step At (default: the step after the
// last reported one) the rate goes from its current value to Floor over
// Steps steps in the given shape; the budget becomes At+Steps.
type DecayRequest struct {
	Steps int64   `json:"steps"`
	Floor float64 `json:"floor"`
	Shape string  `json:"shape,omitempty"` // linear (default), cosine, 1-sqrt, square
	At    *int64  `json:"at,omitempty"`
}

// ExtendRequest is the body of POST /v1/runs/{run}/actions/extend: a
// larger budget. Mode "continue" keeps the spec (for budget-free
// schedules); "rewarm" (default) branches at the next step into a warm-up
// of Warmup steps back to Peak (default: the highest rate so far) and a
// Shape decay (cosine default, or linear) to Floor at the new budget.
type ExtendRequest struct {
	Budget int64   `json:"budget"`
	Mode   string  `json:"mode,omitempty"`
	Warmup int64   `json:"warmup,omitempty"`
	Peak   float64 `json:"peak,omitempty"`
	Floor  float64 `json:"floor,omitempty"`
	Shape  string  `json:"shape,omitempty"`
}

// idempotencyKey is the request's Idempotency-Key header.
func idempotencyKey(r *http.Request) string { return r.Header.Get("Idempotency-Key") }

// branch returns the schedule that follows the run's current one up to
// step at and tail (written from its own step 0) from there on, built as a
// value. When the current schedule is a join it is flattened: its parts
// that start before at are kept and tail is added as one more part, so a
// run takes any number of actions without nesting joins (the 33rd used to
// fail "spec nested too deeply"). A controller that is not a plain
// schedule cannot be joined in the spec language; it is replaced by its
// current rate held constant up to at.
func branch(c control.Controller, at int64, tail schedule.Schedule) (schedule.Schedule, error) {
	if at == 0 {
		return schedule.New(tail)
	}
	var head schedule.Schedule = schedule.Constant{Peak: c.LR(at)}
	if f, ok := c.(*control.Fixed); ok {
		head = f.Schedule
	}
	parts, starts := []schedule.Schedule{head}, []int64{}
	var j schedule.Join
	switch h := head.(type) {
	case schedule.Join:
		j = h
	case *schedule.Join:
		j = *h
	}
	if len(j.Parts) > 0 {
		parts = parts[:0]
		for k, p := range j.Parts {
			start := int64(0)
			if k > 0 {
				start = j.At[k-1]
			}
			if start >= at {
				break
			}
			parts = append(parts, p)
			if k > 0 {
				starts = append(starts, start)
			}
		}
	}
	return schedule.New(schedule.Join{Parts: append(parts, tail), At: append(starts, at)})
}

// canonical checks a built schedule as the server will read it back (the
// untrusted parser) and returns its canonical text.
func canonical(s schedule.Schedule, err error) (string, error) {
	if err != nil {
		return "", badRequest("the action gives an invalid schedule: %v", err)
	}
	c, err := parseSpec(s.String())
	if err != nil {
		return "", badRequest("the action gives an invalid spec %s: %v", s, err)
	}
	return c.String(), nil
}

// DecaySpec returns the spec of "decay now" for a run following c: its
// rate up to step at, then a decay from its rate at step at to floor over
// steps steps.
func DecaySpec(c control.Controller, at, steps int64, floor float64, shape string) (string, error) {
	if shape == "" {
		shape = "linear"
	}
	switch shape {
	case "linear", "cosine", "1-sqrt", "square":
	default:
		return "", badRequest("shape: %q, want linear, cosine, 1-sqrt or square", shape)
	}
	if steps <= 0 {
		return "", badRequest("steps: %d, want a decay length of at least 1 step", steps)
	}
	if math.IsNaN(floor) || math.IsInf(floor, 0) || floor < 0 {
		return "", badRequest("floor: %v, want a finite rate >= 0", floor)
	}
	cur := c.LR(at)
	if floor > cur {
		return "", badRequest("floor %v is above the current rate %v at step %d", floor, cur, at)
	}
	tail := schedule.WSD{Peak: cur, Floor: floor, Steps: steps, Decay: schedule.Steps(steps), Shape: shape}
	return canonical(branch(c, at, tail))
}

// ExtendSpec returns the spec of a re-warm and re-decay from step at to
// the new budget (see ExtendRequest).
func ExtendSpec(c control.Controller, at int64, req ExtendRequest) (string, error) {
	shape := req.Shape
	if shape == "" {
		shape = "cosine"
	}
	if shape != "cosine" && shape != "linear" {
		return "", badRequest("shape: %q, want cosine or linear", shape)
	}
	span := req.Budget - at
	if span <= 0 {
		return "", badRequest("budget %d is not after the current step %d", req.Budget, at)
	}
	if req.Warmup < 0 || req.Warmup >= span {
		return "", badRequest("warmup: %d steps, want 0 to %d (the steps left)", req.Warmup, span-1)
	}
	peak := req.Peak
	if peak == 0 {
		for i := range int64(1000) {
			peak = max(peak, c.LR(at*i/1000))
		}
		peak = max(peak, c.LR(at))
	}
	if math.IsNaN(peak) || math.IsInf(peak, 0) || peak <= 0 {
		return "", badRequest("peak: %v, want a positive rate", peak)
	}
	if math.IsNaN(req.Floor) || req.Floor < 0 || req.Floor > peak {
		return "", badRequest("floor: %v, want a rate in [0, peak=%v]", req.Floor, peak)
	}
	var tail schedule.Schedule = schedule.Cosine{Peak: peak, Floor: req.Floor, Steps: span}
	if shape == "linear" {
		tail = schedule.Linear{Peak: peak, Floor: req.Floor, Steps: span}
	}
	if req.Warmup > 0 {
		start := min(max(c.LR(at)/peak, 0), 1)
		tail = schedule.Warmup{Base: tail, Steps: req.Warmup, Start: start, Beta2: 0.999}
	}
	return canonical(branch(c, at, tail))
}

// action identifies one request of an action for its idempotency key.
type action struct {
	kind string
	key  store.ActionKey
}

// newAction returns the action kind of a request whose idempotency key is
// key (empty: none) and whose parameters are req; the digest of kind and
// parameters tells a retry from another request with the same key.
func newAction(kind, key string, req any) (action, error) {
	if len(key) > 200 {
		return action{}, badRequest("Idempotency-Key: %d characters, at most 200", len(key))
	}
	if err := checkText("Idempotency-Key", key); err != nil {
		return action{}, err
	}
	a := action{kind: kind}
	if key != "" {
		b, err := json.Marshal(req)
		if err != nil {
			return action{}, err
		}
		sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
		a.key = store.ActionKey{Key: key, Digest: hex.EncodeToString(sum[:16])}
	}
	return a, nil
}

// respec changes a run in one transaction, recording the action's event
// in it; with an idempotency key, at most once.
func (s *Server) respec(ctx context.Context, tok store.Token, id int64, act action,
	change func(run *store.Run, c control.Controller) (map[string]any, error)) (store.Run, error) {
	var box *ctrlBox
	update := func(ch *store.Change) error {
		box = nil
		c, err := buildController(ch.Run)
		if err != nil {
			return err
		}
		old := ch.Run.Spec
		detail, err := change(&ch.Run, c)
		if err != nil {
			return err
		}
		if ch.Run.Spec != old {
			nc, err := parseSpec(ch.Run.Spec)
			if err != nil {
				return fmt.Errorf("%s: built spec %q: %w", act.kind, ch.Run.Spec, err)
			}
			if err := checkHorizon(nc, s.opts.MaxSteps); err != nil {
				return err
			}
			st, err := nc.State()
			if err != nil {
				return err
			}
			ch.Run.Spec, ch.Run.ControllerState, c = nc.String(), st, nc
			detail["from_spec"], detail["to_spec"] = old, ch.Run.Spec
		}
		if act.key.Key != "" {
			detail["idempotency_key"] = act.key.Key
		}
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		ch.AddEvent(ch.Run.LastStep+1, act.kind, b)
		box = newBox(c)
		return nil
	}
	var run store.Run
	var replayed bool
	var err error
	if act.key.Key == "" {
		run, err = s.st.UpdateRun(ctx, tok.ProjectID, id, update)
	} else {
		run, replayed, err = s.st.UpdateRunOnce(ctx, tok.ProjectID, id, act.key, update)
	}
	if err != nil {
		return store.Run{}, err
	}
	if replayed {
		s.log.Info("run action replayed", "project", tok.ProjectID, "run", id, "action", act.kind, "key", act.key.Key)
		if _, err := s.entryFor(run); err != nil {
			return store.Run{}, err
		}
		return run, nil
	}
	s.remember(s.newEntry(run, box, scheduleVersion(run)))
	s.log.Info("run action", "project", tok.ProjectID, "run", id, "action", act.kind, "spec", run.Spec, "budget", run.Budget)
	return run, nil
}

// applyAction decodes an action's JSON body (which may be empty when
// optional is set) and answers the run that apply returns. The request's
// Idempotency-Key header, if any, makes a retried action apply once.
func applyAction[Req any](s *Server, w http.ResponseWriter, r *http.Request, tok store.Token, id int64, optional bool,
	apply func(context.Context, store.Token, int64, string, Req) (store.Run, error)) {
	var req Req
	if !optional || r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	run, err := apply(r.Context(), tok, id, idempotencyKey(r), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := runJSON(run)
	if e := s.cached(id); e != nil && e.run.Version == run.Version {
		out.Warning = e.box.horizonWarning(run.Budget)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) actionDecay(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	applyAction(s, w, r, tok, id, false, s.decay)
}

func (s *Server) actionExtend(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	applyAction(s, w, r, tok, id, false, s.extend)
}

// actionPause stops the controller observing metrics (they are still
// stored); its rates stay those of its current state.
func (s *Server) actionPause(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	applyAction(s, w, r, tok, id, true, func(ctx context.Context, tok store.Token, id int64, key string, _ struct{}) (store.Run, error) {
		return s.setStatusOf(ctx, tok, id, key, "pause", store.RunPaused)
	})
}

func (s *Server) actionResume(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	applyAction(s, w, r, tok, id, true, func(ctx context.Context, tok store.Token, id int64, key string, _ struct{}) (store.Run, error) {
		return s.setStatusOf(ctx, tok, id, key, "resume", store.RunRunning)
	})
}

// decay applies a DecayRequest to a run.
func (s *Server) decay(ctx context.Context, tok store.Token, id int64, key string, req DecayRequest) (store.Run, error) {
	act, err := newAction("decay", key, req)
	if err != nil {
		return store.Run{}, err
	}
	maxSteps := s.opts.MaxSteps
	return s.respec(ctx, tok, id, act, func(run *store.Run, c control.Controller) (map[string]any, error) {
		at := run.LastStep + 1
		if req.At != nil {
			if err := checkStep("at", *req.At, maxSteps); err != nil {
				return nil, err
			}
			if *req.At <= run.LastStep {
				return nil, badRequest("at: step %d is not after the last reported step %d", *req.At, run.LastStep)
			}
			at = *req.At
		}
		if req.Steps > maxSteps-at {
			return nil, badRequest("steps: %d from step %d ends at step %d, past the limit %d (the server's --max-steps)", req.Steps, at, at+req.Steps, maxSteps)
		}
		spec, err := DecaySpec(c, at, req.Steps, req.Floor, req.Shape)
		if err != nil {
			return nil, err
		}
		run.Spec, run.Budget = spec, at+req.Steps
		return map[string]any{"at": at, "steps": req.Steps, "floor": req.Floor, "from_lr": c.LR(at), "budget": run.Budget}, nil
	})
}

// extend applies an ExtendRequest to a run.
func (s *Server) extend(ctx context.Context, tok store.Token, id int64, key string, req ExtendRequest) (store.Run, error) {
	act, err := newAction("extend", key, req)
	if err != nil {
		return store.Run{}, err
	}
	maxSteps := s.opts.MaxSteps
	return s.respec(ctx, tok, id, act, func(run *store.Run, c control.Controller) (map[string]any, error) {
		if req.Budget <= run.Budget || req.Budget > maxSteps {
			return nil, badRequest("budget: %d, want more than the current %d (and at most %d, the server's --max-steps)", req.Budget, run.Budget, maxSteps)
		}
		mode := req.Mode
		if mode == "" {
			mode = "rewarm"
		}
		d := map[string]any{"mode": mode, "from_budget": run.Budget, "budget": req.Budget}
		switch mode {
		case "continue":
		case "rewarm":
			spec, err := ExtendSpec(c, run.LastStep+1, req)
			if err != nil {
				return nil, err
			}
			run.Spec = spec
		default:
			return nil, badRequest("mode: %q, want continue or rewarm", req.Mode)
		}
		run.Budget = req.Budget
		return d, nil
	})
}

// setStatusOf pauses or resumes a run's controller.
func (s *Server) setStatusOf(ctx context.Context, tok store.Token, id int64, key, kind string, to store.RunStatus) (store.Run, error) {
	act, err := newAction(kind, key, nil)
	if err != nil {
		return store.Run{}, err
	}
	return s.respec(ctx, tok, id, act, func(run *store.Run, _ control.Controller) (map[string]any, error) {
		d := map[string]any{"from_status": string(run.Status), "status": string(to)}
		run.Status = to
		return d, nil
	})
}
