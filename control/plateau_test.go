package control

import (
	"math"
	"testing"

	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
)

func valRec(step int64, v float64) runlog.Record {
	return runlog.Record{Step: step, ValLoss: v, Present: runlog.FieldValLoss}
}

// The worked trace of adaptive.md §4: lr 1, min, factor 0.5, patience 1,
// threshold 0.1 rel, cooldown 1, min_lr 0.2.
func TestPlateauSpecTrace(t *testing.T) {
	p := NewPlateau(schedule.Constant{Peak: 1})
	p.Factor, p.Patience, p.Threshold, p.Cooldown, p.MinLR = 0.5, 1, 0.1, 1, 0.2
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	metrics := []float64{1.00, .95, .92, .91, .90, .85, .84, .84, .84, .84, .84}
	type row struct {
		best    float64
		bad, cd int64
		lr      float64
	}
	want := []row{
		{1.00, 0, 0, 1}, {1.00, 1, 0, 1}, {1.00, 0, 1, 0.5}, {1.00, 0, 0, 0.5}, {1.00, 1, 0, 0.5},
		{0.85, 0, 0, 0.5}, {0.85, 1, 0, 0.5}, {0.85, 0, 1, 0.25}, {0.85, 0, 0, 0.25}, {0.85, 1, 0, 0.25}, {0.85, 0, 1, 0.2},
	}
	for i, m := range metrics {
		p.Observe(valRec(int64(i), m))
		w := want[i]
		got := row{float64(p.st.Best), p.st.NumBad, p.st.CooldownCtr, p.LR(int64(i + 1))}
		if got.best != w.best || got.bad != w.bad || got.cd != w.cd || !closeTo(got.lr, w.lr, 1e-15) {
			t.Errorf("epoch %d (metric %v): got %+v, want %+v", i+1, m, got, w)
		}
	}
	if p.Reductions() != 3 {
		t.Errorf("reductions %d, want 3", p.Reductions())
	}
}

func TestPlateauModes(t *testing.T) {
	tests := []struct {
		name    string
		set     func(p *Plateau)
		metrics []float64
		wantLR  float64
	}{
		// max mode: rising accuracy is improvement; flat triggers.
		{"max rel", func(p *Plateau) { p.Mode, p.Patience, p.Factor = "max", 0, 0.5 }, []float64{0.5, 0.6, 0.6}, 0.5},
		// abs threshold 0.1: 1 → 0.95 is not an improvement.
		{"min abs", func(p *Plateau) { p.ThresholdMode, p.Threshold, p.Patience, p.Factor = "abs", 0.1, 0, 0.5 }, []float64{1, 0.95}, 0.5},
		{"min abs improves", func(p *Plateau) { p.ThresholdMode, p.Threshold, p.Patience, p.Factor = "abs", 0.1, 0, 0.5 }, []float64{1, 0.85}, 1},
		// eps: a change of 1e-9 is not applied but cooldown still starts.
		{"eps", func(p *Plateau) { p.Patience, p.Factor, p.MinLR, p.Eps = 0, 0.5, 1-1e-9, 1e-8 }, []float64{1, 1, 1}, 1},
		// NaN is never better: counts as bad.
		{"nan", func(p *Plateau) { p.Patience, p.Factor = 0, 0.5 }, []float64{1, math.NaN()}, 0.5},
		// default patience 10: 11 bad evaluations needed.
		{"default patience", func(p *Plateau) {}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.1},
		{"default patience minus one", func(p *Plateau) {}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPlateau(schedule.Constant{Peak: 1})
			tc.set(p)
			p.Reset()
			for i, m := range tc.metrics {
				p.Observe(valRec(int64(i), m))
			}
			if got := p.LR(100); !closeTo(got, tc.wantLR, 1e-15) {
				t.Errorf("lr %v, want %v", got, tc.wantLR)
			}
		})
	}
}

func TestPlateauMetricField(t *testing.T) {
	p := NewPlateau(schedule.Constant{Peak: 1})
	p.Patience, p.Factor, p.Metric = 0, 0.5, "loss"
	// records without loss are ignored; validation records do not count.
	p.Observe(valRec(0, 1))
	p.Observe(valRec(1, 1))
	if p.LR(2) != 1 {
		t.Fatalf("reduced on a metric it does not watch")
	}
	p.Observe(runlog.Record{Step: 2, Loss: 1, Present: runlog.FieldLoss})
	p.Observe(runlog.Record{Step: 3, Loss: 1, Present: runlog.FieldLoss})
	if p.LR(4) != 0.5 {
		t.Fatalf("lr %v, want 0.5", p.LR(4))
	}
}

// Warmup then plateau, which PyTorch cannot compose: during warmup the
// base rises; after a reduction the scale multiplies the base.
func TestPlateauComposedWithWarmup(t *testing.T) {
	base := schedule.Func(func(t int64) float64 {
		if t < 10 {
			return 0.1 * float64(t) / 10
		}
		return 0.1
	})
	p := NewPlateau(base)
	p.Patience, p.Factor, p.MinLR = 0, 0.5, 0.03
	for s := int64(0); s < 10; s++ {
		if got := p.LR(s); !closeTo(got, 0.01*float64(s), 1e-12) {
			t.Fatalf("warmup step %d: %v", s, got)
		}
	}
	p.Observe(valRec(10, 1))
	p.Observe(valRec(11, 1)) // bad → 0.05
	if got := p.LR(12); !closeTo(got, 0.05, 1e-15) {
		t.Fatalf("after one reduction %v", got)
	}
	p.Observe(valRec(12, 1)) // bad → max(0.025, 0.03) = 0.03
	if got := p.LR(13); !closeTo(got, 0.03, 1e-15) {
		t.Fatalf("after the min_lr clamp %v", got)
	}
	// A reduction while the base is 0 changes nothing (old − new ≤ 0).
	q := NewPlateau(base)
	q.Patience, q.Factor = 0, 0.5
	q.Observe(valRec(0, 1))
	q.Observe(valRec(0, 1))
	if q.Scale() != 1 {
		t.Fatalf("scale %v after a reduction at base 0", q.Scale())
	}
}

func TestPlateauValidate(t *testing.T) {
	tests := []struct {
		set   func(p *Plateau)
		param string
	}{
		{func(p *Plateau) { p.Factor = 1 }, "factor"},
		{func(p *Plateau) { p.Mode = "mx" }, "mode"},
		{func(p *Plateau) { p.Metric = "acc" }, "metric"},
		{func(p *Plateau) { p.ThresholdMode = "x" }, "threshold_mode"},
		{func(p *Plateau) { p.Patience = -1 }, "patience"},
		{func(p *Plateau) { p.Base = nil }, "base"},
		{func(p *Plateau) { p.MinLR = math.NaN() }, "min_lr"},
	}
	for _, tc := range tests {
		p := NewPlateau(schedule.Constant{Peak: 1})
		tc.set(p)
		err := p.Validate()
		pe, ok := err.(*schedule.ParamError)
		if !ok || pe.Param != tc.param {
			t.Errorf("error %v, want a ParamError for %s", err, tc.param)
		}
	}
}

// The composition from spec text: linear warmup over 10 steps, then a
// plateau-reduced constant.
func TestPlateauWarmupSpec(t *testing.T) {
	c, err := Parse("plateau(base=warmup(constant(peak=0.1), steps=10), factor=0.5, patience=0)")
	if err != nil {
		t.Fatal(err)
	}
	if c.LR(0) >= c.LR(5) || c.LR(5) >= c.LR(10) || !closeTo(c.LR(10), 0.1, 1e-12) {
		t.Fatalf("no warmup: %v %v %v", c.LR(0), c.LR(5), c.LR(10))
	}
	c.Observe(valRec(10, 1))
	c.Observe(valRec(11, 1))
	if !closeTo(c.LR(12), 0.05, 1e-12) {
		t.Fatalf("after reduction %v", c.LR(12))
	}
}
