package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/lrkit/lrkit/control"
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

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// branch returns the spec that follows the run's current spec up to step
// at and tail (written from its own step 0) from there on. A controller
// that is not a plain schedule cannot be joined in the spec language; it
// is replaced by its current rate held constant up to at.
func branch(c control.Controller, at int64, tail string) string {
	if _, ok := c.(*control.Fixed); ok {
		if at == 0 {
			return tail
		}
		return fmt.Sprintf("join([%s, %s], at=[%d])", c.String(), tail, at)
	}
	if at == 0 {
		return tail
	}
	return fmt.Sprintf("join([constant(peak=%s), %s], at=[%d])", num(c.LR(at)), tail, at)
}

// canonical checks a built spec and returns its canonical text.
func canonical(spec string) (string, error) {
	c, err := control.Parse(spec)
	if err != nil {
		return "", badRequest("the action gives an invalid spec %s: %v", spec, err)
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
	if steps <= 0 || steps > MaxStep {
		return "", badRequest("steps: %d, want a decay length of 1 to %d steps", steps, MaxStep)
	}
	if math.IsNaN(floor) || math.IsInf(floor, 0) || floor < 0 {
		return "", badRequest("floor: %v, want a finite rate >= 0", floor)
	}
	cur := c.LR(at)
	if floor > cur {
		return "", badRequest("floor %v is above the current rate %v at step %d", floor, cur, at)
	}
	tail := fmt.Sprintf("wsd(peak=%s, floor=%s, steps=%d, decay=%d, shape=%s)", num(cur), num(floor), steps, steps, shape)
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
	tail := fmt.Sprintf("%s(peak=%s, floor=%s, steps=%d)", shape, num(peak), num(req.Floor), span)
	if req.Warmup > 0 {
		start := min(max(c.LR(at)/peak, 0), 1)
		tail = fmt.Sprintf("warmup(%s, steps=%d, start=%s)", tail, req.Warmup, num(start))
	}
	return canonical(branch(c, at, tail))
}

// respec replaces a run's spec in one transaction, recording an event.
func (s *Server) respec(ctx context.Context, tok store.Token, id int64, kind string,
	change func(run *store.Run, c control.Controller) (map[string]any, error)) (store.Run, error) {
	var detail map[string]any
	var ctrl control.Controller
	run, err := s.st.UpdateRun(ctx, tok.ProjectID, id, func(run *store.Run) error {
		c, err := buildController(*run)
		if err != nil {
			return err
		}
		old := run.Spec
		if detail, err = change(run, c); err != nil {
			return err
		}
		if run.Spec != old {
			nc, err := control.Parse(run.Spec)
			if err != nil {
				return fmt.Errorf("%s: built spec %q: %w", kind, run.Spec, err)
			}
			st, err := nc.State()
			if err != nil {
				return err
			}
			run.Spec, run.ControllerState, c = nc.String(), st, nc
			detail["from_spec"], detail["to_spec"] = old, run.Spec
		}
		ctrl = c
		return nil
	})
	if err != nil {
		return store.Run{}, err
	}
	e := newRunEntry(run, ctrl)
	s.store(e)
	b, _ := json.Marshal(detail)
	if _, err := s.st.AddEvent(ctx, tok.ProjectID, id, run.LastStep+1, kind, b); err != nil {
		s.log.Error("action event", "run", id, "err", err)
	}
	s.log.Info("run action", "project", tok.ProjectID, "run", id, "action", kind, "spec", run.Spec, "budget", run.Budget)
	return run, nil
}

// applyAction decodes an action's JSON body (which may be empty when
// optional is set) and answers the run that apply returns.
func applyAction[Req any](s *Server, w http.ResponseWriter, r *http.Request, tok store.Token, id int64, optional bool,
	apply func(context.Context, store.Token, int64, Req) (store.Run, error)) {
	var req Req
	if !optional || r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	run, err := apply(r.Context(), tok, id, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runJSON(run))
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
	applyAction(s, w, r, tok, id, true, func(ctx context.Context, tok store.Token, id int64, _ struct{}) (store.Run, error) {
		return s.setStatusOf(ctx, tok, id, "pause", store.RunPaused)
	})
}

func (s *Server) actionResume(w http.ResponseWriter, r *http.Request, tok store.Token, id int64) {
	applyAction(s, w, r, tok, id, true, func(ctx context.Context, tok store.Token, id int64, _ struct{}) (store.Run, error) {
		return s.setStatusOf(ctx, tok, id, "resume", store.RunRunning)
	})
}

// decay applies a DecayRequest to a run.
func (s *Server) decay(ctx context.Context, tok store.Token, id int64, req DecayRequest) (store.Run, error) {
	return s.respec(ctx, tok, id, "decay", func(run *store.Run, c control.Controller) (map[string]any, error) {
		at := run.LastStep + 1
		if req.At != nil {
			if err := checkStep("at", *req.At); err != nil {
				return nil, err
			}
			if *req.At <= run.LastStep {
				return nil, badRequest("at: step %d is not after the last reported step %d", *req.At, run.LastStep)
			}
			at = *req.At
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
func (s *Server) extend(ctx context.Context, tok store.Token, id int64, req ExtendRequest) (store.Run, error) {
	return s.respec(ctx, tok, id, "extend", func(run *store.Run, c control.Controller) (map[string]any, error) {
		if req.Budget <= run.Budget || req.Budget > MaxStep {
			return nil, badRequest("budget: %d, want more than the current %d (and at most %d)", req.Budget, run.Budget, MaxStep)
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
func (s *Server) setStatusOf(ctx context.Context, tok store.Token, id int64, kind string, to store.RunStatus) (store.Run, error) {
	return s.respec(ctx, tok, id, kind, func(run *store.Run, _ control.Controller) (map[string]any, error) {
		d := map[string]any{"from_status": string(run.Status), "status": string(to)}
		run.Status = to
		return d, nil
	})
}
