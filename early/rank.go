package early

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/lrkit/lrkit/runlog"
)

// Trial is one sibling: its name, its step budget and the records it has
// written so far, in step order (a finished trial's whole log).
type Trial struct {
	ID      string
	Budget  int64
	Records []runlog.Record
}

// Rule says how the early signals become a score: s = Loss·log(mean
// loss) + Grad·log(mean gradient norm), lower ranking better.
type Rule struct {
	Name string
	Loss float64 // weight of the log loss: +1 prefers low early loss
	Grad float64 // weight of the log gradient norm: +1 prefers low norms
}

// The rules Validate compares.
var (
	// RuleLoss: the lowest early training loss wins.
	RuleLoss = Rule{Name: "loss", Loss: 1}
	// RuleGradNorm: the lowest early gradient norm wins.
	RuleGradNorm = Rule{Name: "gradnorm", Grad: 1}
	// RulePaper: low gradient norm and high loss early (Pareja et al.
	// 2024's fine-tuning finding), equal weights on the logs.
	RulePaper = Rule{Name: "paper", Loss: -1, Grad: 1}
	// RuleBoth: low loss and low gradient norm.
	RuleBoth = Rule{Name: "loss+gradnorm", Loss: 1, Grad: 1}
)

// Rules lists the predefined rules.
var Rules = []Rule{RuleLoss, RuleGradNorm, RulePaper, RuleBoth}

// RuleByName returns a predefined rule.
func RuleByName(name string) (Rule, error) {
	for _, r := range Rules {
		if r.Name == name {
			return r, nil
		}
	}
	names := make([]string, len(Rules))
	for i, r := range Rules {
		names[i] = r.Name
	}
	return Rule{}, fmt.Errorf("early: unknown rule %q (have %v)", name, names)
}

// Window sets how the early signals are averaged: over the Frac·budget
// steps just before the checkpoint step, cut into Blocks blocks.
type Window struct {
	Frac   float64 // window length as a fraction of the budget; 0: 0.05
	Blocks int     // batch-means blocks; 0: 5
}

func (w Window) norm() (Window, error) {
	if w.Frac == 0 {
		w.Frac = 0.05
	}
	if w.Blocks == 0 {
		w.Blocks = 5
	}
	if !(w.Frac > 0 && w.Frac <= 1) || w.Blocks < 2 {
		return w, fmt.Errorf("early: window fraction %v and %d blocks, want a fraction in (0, 1] and at least 2 blocks", w.Frac, w.Blocks)
	}
	return w, nil
}

// Score is one trial's early score at a checkpoint.
type Score struct {
	ID   string
	Step int64 // the checkpoint step: records with Step < this were used
	// Loss and GradNorm are the window means of the two signals.
	Loss, GradNorm float64
	// Score is the rule's value (mean over blocks) and SE its standard
	// error; lower Score ranks better.
	Score, SE float64
	Rank      int // 1 = best among the trials scored together
}

// CheckpointStep is the step at fraction f of budget: records with a
// smaller step count as seen by then.
func CheckpointStep(budget int64, f float64) int64 {
	return int64(math.Round(f * float64(budget)))
}

// ScoreAt scores one trial over the window before step at.
func ScoreAt(t Trial, at int64, r Rule, w Window) (Score, error) {
	w, err := w.norm()
	if err != nil {
		return Score{}, err
	}
	if r.Loss == 0 && r.Grad == 0 {
		return Score{}, fmt.Errorf("early: rule %q weighs neither loss nor gradient norm", r.Name)
	}
	n := max(int64(math.Round(w.Frac*float64(t.Budget))), int64(w.Blocks))
	lo := at - n
	if lo < 0 {
		return Score{}, fmt.Errorf("early: trial %s: a window of %d steps before step %d starts before step 0", t.ID, n, at)
	}
	var loss, grad []float64
	var need runlog.Field
	if r.Loss != 0 {
		need |= runlog.FieldLoss
	}
	if r.Grad != 0 {
		need |= runlog.FieldGradNorm
	}
	for _, rec := range t.Records {
		if rec.Step < lo || rec.Step >= at {
			continue
		}
		if !rec.Has(need) {
			return Score{}, fmt.Errorf("early: trial %s: step %d lacks the loss or gradient norm rule %q needs", t.ID, rec.Step, r.Name)
		}
		if bad(rec.Loss) || bad(rec.GradNorm) || (need&runlog.FieldLoss != 0 && rec.Loss <= 0) || (need&runlog.FieldGradNorm != 0 && rec.GradNorm <= 0) {
			// A diverged or degenerate trial scores worst.
			return Score{ID: t.ID, Step: at, Loss: rec.Loss, GradNorm: rec.GradNorm, Score: math.Inf(1)}, nil
		}
		loss = append(loss, rec.Loss)
		grad = append(grad, rec.GradNorm)
	}
	if k := len(t.Records); k > 0 && t.Records[k-1].Step < at && t.Records[k-1].Has(need) &&
		(bad(t.Records[k-1].Loss) || bad(t.Records[k-1].GradNorm)) {
		// The trial diverged before the checkpoint: it scores worst.
		last := t.Records[k-1]
		return Score{ID: t.ID, Step: at, Loss: last.Loss, GradNorm: last.GradNorm, Score: math.Inf(1)}, nil
	}
	if int64(len(loss)) < n {
		return Score{}, fmt.Errorf("early: trial %s has %d records in steps %d..%d, want all %d (has it reached step %d?)", t.ID, len(loss), lo, at-1, n, at)
	}
	blocks := make([]float64, w.Blocks)
	for b := range blocks {
		i0, i1 := b*len(loss)/w.Blocks, (b+1)*len(loss)/w.Blocks
		blocks[b] = r.term(r.Loss, loss[i0:i1]) + r.term(r.Grad, grad[i0:i1])
	}
	m, sd := meanSD(blocks)
	return Score{ID: t.ID, Step: at, Loss: mean(loss), GradNorm: mean(grad), Score: m, SE: sd / math.Sqrt(float64(w.Blocks))}, nil
}

// Rank scores the sibling trials at fraction f of their common budget and
// returns the scores ranked best first (ties keep the input order).
func Rank(trials []Trial, f float64, r Rule, w Window) ([]Score, error) {
	if len(trials) == 0 {
		return nil, errors.New("early: no trials to rank")
	}
	if !(f > 0 && f <= 1) {
		return nil, fmt.Errorf("early: fraction %v, want one in (0, 1]", f)
	}
	budget := trials[0].Budget
	for _, t := range trials {
		if t.Budget != budget || t.Budget <= 0 {
			return nil, fmt.Errorf("early: trial %s has budget %d, trial %s %d: siblings share one positive budget", t.ID, t.Budget, trials[0].ID, budget)
		}
	}
	at := CheckpointStep(budget, f)
	scores := make([]Score, len(trials))
	for i, t := range trials {
		s, err := ScoreAt(t, at, r, w)
		if err != nil {
			return nil, err
		}
		scores[i] = s
	}
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].Score < scores[j].Score })
	for i := range scores {
		scores[i].Rank = i + 1
	}
	return scores, nil
}

func bad(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

// term is weight·log(mean(xs)), and 0 for a weight of 0 whatever xs holds
// (a signal the rule ignores may be absent: a log without gradient norms).
func (r Rule) term(weight float64, xs []float64) float64 {
	if weight == 0 {
		return 0
	}
	return weight * math.Log(mean(xs))
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// meanSD returns the mean and the sample standard deviation (n − 1).
func meanSD(xs []float64) (float64, float64) {
	m := mean(xs)
	if len(xs) < 2 {
		return m, 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)-1))
}
