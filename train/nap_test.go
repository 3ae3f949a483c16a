package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// TestProject: the spec's example, [3, 4] projected to norm 1 is [0.6, 0.8].
func TestProject(t *testing.T) {
	p := &nn.Param{W: nn.NewTensor(2)}
	copy(p.W.Data, []float32{3, 4})
	Project(p, 1)
	if math.Abs(float64(p.W.Data[0])-0.6) > 1e-7 || math.Abs(float64(p.W.Data[1])-0.8) > 1e-7 {
		t.Errorf("projected to %v, want [0.6 0.8]", p.W.Data)
	}
	z := &nn.Param{W: nn.NewTensor(2)}
	Project(z, 1)
	if z.W.Data[0] != 0 || z.W.Data[1] != 0 {
		t.Error("zero weight changed")
	}
}

// TestNaPNormsConstant: with NaP the scale-invariant weight keeps its
// initial norm at every step; without it, SGD lets the norm drift.
func TestNaPNormsConstant(t *testing.T) {
	for _, nap := range []bool{true, false} {
		var recs []runlog.Record
		tr := newRun(t, setup{opt: func() optim.Optimizer { return &optim.SGD{Momentum: 0.9} }, nap: nap, hidden: 64}, 20, &recs)
		w0 := tr.Params()[0].W.Norm2()
		maxDev := 0.0
		for i := 0; i < 20; i++ {
			if _, err := tr.Step(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := tr.LayerStats()
			if len(st) != 1 || st[0].Name != "fc1.w" {
				t.Fatalf("layer stats %+v, want one entry for fc1.w", st)
			}
			n := tr.Params()[0].W.Norm2()
			if math.Abs(st[0].WeightNorm-n) > 1e-12 {
				t.Errorf("stat weight norm %v, actual %v", st[0].WeightNorm, n)
			}
			maxDev = max(maxDev, math.Abs(n/w0-1))
			if st[0].AngularUpdate <= 0 || st[0].RelativeUpdate <= 0 {
				t.Errorf("step %d: no angular/relative update: %+v", i, st[0])
			}
		}
		if nap && maxDev > 1e-6 {
			t.Errorf("NaP: norm deviated from the initial norm by %.3g relative", maxDev)
		}
		if !nap && maxDev < 1e-3 {
			t.Errorf("without NaP the norm stayed within %.3g of the initial norm; the test cannot tell NaP from no NaP", maxDev)
		}
	}
}

// TestEffectiveLR: the spec's example, ‖W‖ = 2 and η = 0.1 give 0.025 for
// SGD and 0.05 for Adam; Record.EffectiveLR is the median over layers.
func TestEffectiveLR(t *testing.T) {
	cases := []struct {
		opt  optim.Optimizer
		want float64
	}{
		{&optim.SGD{}, 0.025},
		{optim.NewAdam(), 0.05},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(1, 1))
		var layers []nn.Layer
		for _, norm := range []float64{1, 2, 4} { // median norm 2
			d := nn.NewDense("fc", 4, 4, rng)
			d.W.ScaleInvariant = true
			Project(d.W, norm)
			layers = append(layers, d, nn.NewLayerNorm("ln", 4))
		}
		data := newSynthetic(2, 64, 4, 4, 8)
		tr, err := New(Config{Model: nn.NewSequential(layers...), Data: data, Optimizer: c.opt,
			Controller: control.NewFixed(linearDecay{0.1, 1e9}), Steps: 1})
		if err != nil {
			t.Fatal(err)
		}
		r, err := tr.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !r.Has(runlog.FieldEffectiveLR) || math.Abs(r.EffectiveLR-c.want) > 1e-7 {
			t.Errorf("%s: effective lr %v, want %v", c.opt.Name(), r.EffectiveLR, c.want)
		}
		if got := tr.LayerStats()[1].CumulativeEffectiveLR; math.Abs(got-c.want) > 1e-7 {
			t.Errorf("%s: cumulative effective lr %v, want %v", c.opt.Name(), got, c.want)
		}
	}
}
