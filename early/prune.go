package early

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Policy is a pruning rule for sibling trials.
//
// At each checkpoint fraction a trial has reached, it is compared with
// every sibling that has reached the same checkpoint: it is stopped when
//
//	s_i − s_best > Z·sqrt(SE_i² + SE_best²)
//
// and it is not among the Keep best there. With independent, normally
// distributed block means, a trial whose true score equals the best's is
// stopped with probability at most about 1 − Φ(Z) per comparison (2.3% for
// Z = 2): the rule guards against noise, not against a rule that ranks
// wrongly, which Validate measures.
type Policy struct {
	Rule        Rule
	Window      Window
	Checkpoints []float64 // increasing fractions of the budget in (0, 1); nil: 0.1, 0.2, 0.3
	Z           float64   // margin in standard errors; 0: 2
	Keep        int       // never stop the Keep best at a checkpoint; 0: 1
}

// DefaultPolicy ranks by early loss and stops at 10%, 20% or 30% of the
// budget with a 2-standard-error margin, keeping the best trial.
func DefaultPolicy() Policy {
	return Policy{Rule: RuleLoss, Checkpoints: []float64{0.1, 0.2, 0.3}, Z: 2, Keep: 1}
}

func (p Policy) norm() (Policy, error) {
	if p.Checkpoints == nil {
		p.Checkpoints = []float64{0.1, 0.2, 0.3}
	}
	if p.Z == 0 {
		p.Z = 2
	}
	if p.Keep == 0 {
		p.Keep = 1
	}
	for i, c := range p.Checkpoints {
		if !(c > 0 && c < 1) || (i > 0 && c <= p.Checkpoints[i-1]) {
			return p, fmt.Errorf("early: checkpoints %v, want increasing fractions in (0, 1)", p.Checkpoints)
		}
	}
	if p.Z < 0 || bad(p.Z) || p.Keep < 1 {
		return p, fmt.Errorf("early: Z %v and Keep %d, want Z ≥ 0 and Keep ≥ 1", p.Z, p.Keep)
	}
	if _, err := p.Window.norm(); err != nil {
		return p, err
	}
	return p, nil
}

// Decision is the policy's verdict on one trial.
type Decision struct {
	ID   string
	Stop bool
	// Fraction is the checkpoint the verdict was taken at (0 when the
	// trial has reached none); Step its step.
	Fraction float64
	Step     int64
	// Score is the trial's score there; Margin its distance from the best
	// sibling's in standard errors of the difference (0 for the best).
	Score  Score
	Margin float64
	Reason string
}

// Decide returns a decision per trial, in input order, from the records
// so far. It holds no state: calling it again with the same records gives
// the same decisions. A trial is judged at every checkpoint it has
// reached, against the siblings that reached it too; it is stopped at the
// first checkpoint where it falls behind by the margin, and otherwise the
// decision reports the latest checkpoint.
func (p Policy) Decide(trials []Trial) ([]Decision, error) {
	p, err := p.norm()
	if err != nil {
		return nil, err
	}
	if len(trials) == 0 {
		return nil, errors.New("early: no trials to decide on")
	}
	budget := trials[0].Budget
	for _, t := range trials {
		if t.Budget != budget || budget <= 0 {
			return nil, fmt.Errorf("early: trial %s has budget %d, trial %s %d: siblings share one positive budget", t.ID, t.Budget, trials[0].ID, budget)
		}
	}
	out := make([]Decision, len(trials))
	reached := make([]float64, len(trials))
	for i, t := range trials {
		out[i] = Decision{ID: t.ID, Reason: "no checkpoint reached"}
		next := nextStep(t)
		for _, c := range p.Checkpoints {
			if next >= CheckpointStep(budget, c) {
				reached[i] = c
			}
		}
	}
	for _, c := range p.Checkpoints {
		// A trial stopped at an earlier checkpoint would not have run to
		// this one: it neither competes nor sets the best here (else a
		// trial stopped early could, by its later records, stop the one
		// that beat it, and every sibling would be stopped).
		var idx []int
		for i := range trials {
			if reached[i] >= c && !out[i].Stop {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		if err := p.decideAt(c, trials, idx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decideAt scores the trials idx at checkpoint c and fills the decisions
// of those not already stopped at an earlier checkpoint.
func (p Policy) decideAt(c float64, trials []Trial, idx []int, out []Decision) error {
	scores := make([]Score, len(idx))
	for k, i := range idx {
		s, err := ScoreAt(trials[i], CheckpointStep(trials[i].Budget, c), p.Rule, p.Window)
		if err != nil {
			return err
		}
		scores[k] = s
	}
	order := make([]int, len(idx))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]].Score < scores[order[b]].Score })
	best := scores[order[0]]
	for r, k := range order {
		i := idx[k]
		s := scores[k]
		s.Rank = r + 1
		d := Decision{ID: trials[i].ID, Fraction: c, Step: s.Step, Score: s}
		diff := s.Score - best.Score
		se := math.Hypot(s.SE, best.SE)
		switch {
		case r == 0:
			d.Reason = "best at this checkpoint"
		case math.IsInf(s.Score, 1):
			d.Margin = math.Inf(1)
		case se > 0:
			d.Margin = diff / se
		case diff > 0:
			d.Margin = math.Inf(1)
		}
		switch {
		case r < p.Keep:
			if d.Reason == "" {
				d.Reason = fmt.Sprintf("among the %d kept", p.Keep)
			}
		case d.Margin > p.Z:
			d.Stop = true
			d.Reason = fmt.Sprintf("score %.4g is %.3g SE behind the best (%s), over %g", s.Score, d.Margin, best.ID, p.Z)
		default:
			d.Reason = fmt.Sprintf("%.3g SE behind the best (%s), within %g", d.Margin, best.ID, p.Z)
		}
		out[i] = d
	}
	return nil
}

// nextStep is the step after a trial's last record (0 with none).
func nextStep(t Trial) int64 {
	if len(t.Records) == 0 {
		return 0
	}
	return t.Records[len(t.Records)-1].Step + 1
}

// Outcome is what replaying finished trials through a policy gives.
type Outcome struct {
	// StepsRun and StepsFull are the steps the siblings ran with pruning
	// and without it; Saved = 1 − StepsRun/StepsFull.
	StepsRun, StepsFull int64
	Saved               float64
	Stopped             []string // IDs, in the order stopped
	// StoppedWinner is true when the trial with the best final value was
	// stopped; StoppedNear counts stopped trials whose final value was
	// within Tol of the best (the winner included).
	StoppedWinner bool
	StoppedNear   int
	// Regret is how much worse the best surviving final value is than
	// the best overall (0 when the winner survived), in the final
	// value's units, signed so that positive is worse.
	Regret float64
}

// Simulate replays finished sibling trials through the policy, checkpoint
// by checkpoint as if they ran in lockstep: at each checkpoint the running
// trials' records are cut there, Decide runs, and a stopped trial's
// compute ends at that step. final holds each trial's final value and
// lowerBetter its direction; tol sets what counts as near the winner.
func (p Policy) Simulate(trials []Trial, final []float64, lowerBetter bool, tol float64) (Outcome, error) {
	p, err := p.norm()
	if err != nil {
		return Outcome{}, err
	}
	if len(final) != len(trials) || len(trials) == 0 {
		return Outcome{}, fmt.Errorf("early: %d trials and %d final values, want the same positive number", len(trials), len(final))
	}
	sign := 1.0
	if !lowerBetter {
		sign = -1
	}
	win := 0
	for i, v := range final {
		if bad(v) {
			return Outcome{}, fmt.Errorf("early: trial %s has final value %v", trials[i].ID, v)
		}
		if sign*v < sign*final[win] {
			win = i
		}
	}
	stopAt := make([]int64, len(trials))
	for i, t := range trials {
		stopAt[i] = t.Budget
	}
	var o Outcome
	for _, c := range p.Checkpoints {
		cut := make([]Trial, 0, len(trials))
		var ids []int
		for i, t := range trials {
			if stopAt[i] < t.Budget {
				continue
			}
			at := CheckpointStep(t.Budget, c)
			k := sort.Search(len(t.Records), func(j int) bool { return t.Records[j].Step >= at })
			cut = append(cut, Trial{ID: t.ID, Budget: t.Budget, Records: t.Records[:k]})
			ids = append(ids, i)
		}
		ds, err := p.Decide(cut)
		if err != nil {
			return Outcome{}, err
		}
		for k, d := range ds {
			if d.Stop {
				i := ids[k]
				stopAt[i] = d.Step
				o.Stopped = append(o.Stopped, d.ID)
			}
		}
	}
	best := math.Inf(1)
	for i, t := range trials {
		o.StepsFull += t.Budget
		o.StepsRun += stopAt[i]
		if stopAt[i] < t.Budget {
			if i == win {
				o.StoppedWinner = true
			}
			if sign*(final[i]-final[win]) <= tol {
				o.StoppedNear++
			}
		} else {
			best = min(best, sign*final[i])
		}
	}
	o.Saved = 1 - float64(o.StepsRun)/float64(o.StepsFull)
	o.Regret = best - sign*final[win]
	return o, nil
}
