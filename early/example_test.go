package early_test

import (
	"fmt"

	"github.com/lrkit/lrkit/early"
	"github.com/lrkit/lrkit/runlog"
)

// trial makes a sibling whose loss falls from 2 towards floor and whose
// gradient norm is constant.
func trial(id string, floor float64, steps int64) early.Trial {
	t := early.Trial{ID: id, Budget: 1000}
	for s := range steps {
		loss := floor + (2-floor)*100/(100+float64(s)) + 0.01*float64(s%3)
		t.Records = append(t.Records, runlog.Record{Step: s, Loss: loss, GradNorm: 1,
			Present: runlog.FieldLoss | runlog.FieldGradNorm})
	}
	return t
}

// A benchmark ranks the siblings it is running at 10% of their budget and
// asks the pruner which to stop.
func Example() {
	siblings := []early.Trial{trial("cosine-p1e-3", 0.5, 120), trial("constant-p1e-2", 1.5, 110), trial("linear-p3e-4", 0.6, 100)}
	scores, err := early.Rank(siblings, 0.1, early.RuleLoss, early.Window{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range scores {
		fmt.Printf("%d %s loss %.3f\n", s.Rank, s.ID, s.Loss)
	}
	decisions, err := early.DefaultPolicy().Decide(siblings)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range decisions {
		fmt.Printf("%s stop=%v at %g\n", d.ID, d.Stop, d.Fraction)
	}
	// Output:
	// 1 cosine-p1e-3 loss 1.376
	// 2 linear-p3e-4 loss 1.418
	// 3 constant-p1e-2 loss 1.799
	// cosine-p1e-3 stop=false at 0.1
	// constant-p1e-2 stop=true at 0.1
	// linear-p3e-4 stop=false at 0.1
}
