package train

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// gradSpy is a GradientObserver that checks what the trainer reports and
// when: it keeps the raw gradient of each step and compares Dot with
// ⟨g_t, g_{t−1}⟩ (for plain SGD, u_{t−1} = g_{t−1}).
type gradSpy struct {
	*control.Fixed
	t        *testing.T
	params   []*nn.Param
	prevG    [][]float32
	observed int64 // steps observed; LR(t) must come after ObserveGradient(t)
}

func (s *gradSpy) ObserveGradient(step int64, h control.Hypergradient) {
	if step != s.observed {
		s.t.Errorf("ObserveGradient(%d) after %d observations", step, s.observed)
	}
	s.observed++
	var dot float64
	if s.prevG != nil {
		for i, p := range s.params {
			for j, g := range p.G.Data {
				dot += float64(g) * float64(s.prevG[i][j])
			}
		}
	}
	if math.Abs(h.Dot-dot) > 1e-3*math.Abs(dot)+1e-9 {
		s.t.Errorf("step %d: Dot %v, want ⟨g_t, g_t−1⟩ = %v", step, h.Dot, dot)
	}
	s.prevG = make([][]float32, len(s.params))
	for i, p := range s.params {
		s.prevG[i] = append([]float32(nil), p.G.Data...)
	}
}

func (s *gradSpy) LR(step int64) float64 {
	if s.observed != step+1 {
		s.t.Errorf("LR(%d) asked after %d gradient observations, want %d", step, s.observed, step+1)
	}
	return s.Fixed.LR(step)
}

func TestGradientObserver(t *testing.T) {
	var recs []runlog.Record
	tr := newRun(t, setup{opt: func() optim.Optimizer { return &optim.SGD{} }, hidden: 64}, 8, &recs)
	spy := &gradSpy{Fixed: control.NewFixed(linearDecay{0.05, 8}), t: t, params: tr.Params()}
	tr.cfg.Controller = spy
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if spy.observed != 8 {
		t.Errorf("%d gradient observations, want 8", spy.observed)
	}
}

// TestHDResume: a run under hypergradient descent resumes bit for bit,
// which needs the last update direction in the checkpoint.
func TestHDResume(t *testing.T) {
	const n, k = 10, 4
	mk := func(recs *[]runlog.Record) *Trainer {
		tr := newRun(t, setup{opt: func() optim.Optimizer { return &optim.SGD{Momentum: 0.9} }, hidden: 64}, n, recs)
		tr.cfg.Controller = control.NewHD(0.02, 1e-3)
		return tr
	}
	var full, part []runlog.Record
	if err := mk(&full).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if full[n-1].LR == full[1].LR {
		t.Fatal("HD did not change the rate; the test cannot see the direction")
	}
	a := mk(&part)
	for i := 0; i < k; i++ {
		if _, err := a.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var ck bytes.Buffer
	if err := a.Save(&ck); err != nil {
		t.Fatal(err)
	}
	b := mk(&part)
	if err := b.Load(&ck); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, full, part)
}

// searcher explores from a snapshot before step 3 and rolls back, as
// AutoLRS does; the run's records must not show it.
type searcher struct {
	*control.Fixed
	searched int
	losses   []float64
}

func (s *searcher) NeedsSearch(step int64) bool { return step == 3 || step == 6 }

func (s *searcher) Search(ctx context.Context, step int64, e control.Engine) error {
	snap, err := e.Snapshot()
	if err != nil {
		return err
	}
	for _, lr := range []float64{1e-3, 1e-1} {
		if err := e.Restore(snap); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			l, err := e.Step(lr)
			if err != nil {
				return err
			}
			s.losses = append(s.losses, l)
		}
	}
	s.searched++
	return e.Restore(snap)
}

func (s *searcher) SearchSteps() int64 { return int64(len(s.losses)) }

func TestSearcherLeavesNoTrace(t *testing.T) {
	for name, st := range setups {
		t.Run(name, func(t *testing.T) {
			var plain, searched []runlog.Record
			if err := newRun(t, st, 9, &plain).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			tr := newRun(t, st, 9, &searched)
			s := &searcher{Fixed: control.NewFixed(linearDecay{0.05, 9})}
			tr.cfg.Controller = s
			if err := tr.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s.searched != 2 || len(s.losses) != 12 {
				t.Fatalf("searched %d times, %d search steps; want 2 and 12", s.searched, len(s.losses))
			}
			if s.losses[0] != s.losses[3] {
				// Both candidates start from the same snapshot, so their
				// first losses are equal.
				t.Errorf("first losses of the two candidates differ: %v, %v", s.losses[0], s.losses[3])
			}
			if s.losses[4] == s.losses[1] {
				t.Error("candidates at different rates reached the same loss")
			}
			sameRecords(t, plain, searched)
		})
	}
}

func TestEngineRestoreType(t *testing.T) {
	var recs []runlog.Record
	tr := newRun(t, setups["sgd-clip"], 4, &recs)
	if err := (engine{tr}).Restore("not a snapshot"); err == nil {
		t.Error("restore from a string accepted")
	}
}
