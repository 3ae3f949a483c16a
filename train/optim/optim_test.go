package optim

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/lrkit/lrkit/train/nn"
)

func param(w ...float32) *nn.Param {
	p := &nn.Param{Name: "p", W: nn.NewTensor(len(w)), G: nn.NewTensor(len(w))}
	copy(p.W.Data, w)
	return p
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestScheduleFreeSGDTable runs the spec's worked example (§9): f = ½θ²,
// θ0 = 1, lr = 0.5, β = 0.9.
func TestScheduleFreeSGDTable(t *testing.T) {
	want := []struct{ c, z, x, y float64 }{
		{1, 0.5, 0.5, 0.5},
		{0.5, 0.25, 0.375, 0.3625},
		{1.0 / 3, 0.06875, 0.272917, 0.2525},
		{0.25, -0.0575, 0.190312, 0.165531},
	}
	o := NewScheduleFreeSGD()
	p := param(1)
	ps := []*nn.Param{p}
	for k, w := range want {
		p.G.Data[0] = p.W.Data[0] // ∇½θ² at y
		before := o.state.WeightSum
		if err := o.Step(ps, 0.5); err != nil {
			t.Fatal(err)
		}
		c := 0.25 / o.state.WeightSum // w_k = lr_max² = 0.25
		if before == 0 {
			c = 1
		}
		got := []float64{c, float64(o.state.Z[0][0]), float64(o.state.X[0][0]), float64(p.W.Data[0])}
		for i, g := range got {
			if !near(g, []float64{w.c, w.z, w.x, w.y}[i], 2e-6) {
				t.Errorf("k=%d column %d: got %.7g, want %.7g", k, i, g, []float64{w.c, w.z, w.x, w.y}[i])
			}
		}
	}
	// Evaluation swaps x in and y back out.
	o.SwapToEval(ps)
	if !near(float64(p.W.Data[0]), 0.190312, 2e-6) {
		t.Errorf("eval point %v, want x = 0.190312", p.W.Data[0])
	}
	if err := o.Step(ps, 0.5); err == nil {
		t.Error("step in eval mode accepted")
	}
	o.SwapToTrain(ps)
	if !near(float64(p.W.Data[0]), 0.165531, 2e-6) {
		t.Errorf("train point %v, want y = 0.165531", p.W.Data[0])
	}
}

// TestProdigyTable runs the spec's worked example (§9): f = ½(x−3)², x0 = 0.
func TestProdigyTable(t *testing.T) {
	want := []struct{ dhat, d, x float64 }{
		{0, 1e-6, 3.1622773e-6},
		{1.58153e-6, 1.58153e-6, 7.4118684e-6},
		{4.8224e-6, 4.8224e-6, 1.5173532e-5},
		{1.34961e-5, 1.34961e-5, 3.770991e-5},
		{3.45097e-5, 3.45097e-5, 9.8110633e-5},
	}
	o := NewProdigy(0)
	p := param(0)
	for k, w := range want {
		p.G.Data[0] = p.W.Data[0] - 3
		if err := o.Step([]*nn.Param{p}, 1); err != nil {
			t.Fatal(err)
		}
		if !near(o.state.DHat, w.dhat, 1e-5) && !(w.dhat == 0 && o.state.DHat == 0) {
			t.Errorf("step %d: d̂ = %.7g, want %.7g", k+1, o.state.DHat, w.dhat)
		}
		if !near(o.D()/w.d, 1, 1e-5) {
			t.Errorf("step %d: d = %.7g, want %.7g", k+1, o.D(), w.d)
		}
		if !near(float64(p.W.Data[0])/w.x, 1, 1e-5) {
			t.Errorf("step %d: x = %.8g, want %.8g", k+1, p.W.Data[0], w.x)
		}
	}
}

// TestAdamHandSteps checks two steps from w = [1, −2] with gradients
// g1 = [0.5, −1] and g2 = [1, 1], lr 0.1. For w[0] under Adam:
// step 1: m̂ = g, v̂ = g², w = 1 − 0.1·0.5/0.5 = 0.9;
// step 2: m = 0.9·0.05 + 0.1 = 0.145, v = 0.999·0.00025 + 0.001 = 0.00124975,
// m̂ = 0.145/0.19 = 0.763158, √v̂ = √(0.00124975/0.001999) = 0.790688,
// w = 0.9 − 0.1·0.965182 = 0.803482. AdamW(λ = 0.1) first shrinks w by
// (1 − 0.01) each step; Adam(λ = 0.1) adds 0.1·w to g.
func TestAdamHandSteps(t *testing.T) {
	cases := []struct {
		name string
		opt  *Adam
		want [2]float64
	}{
		{"adam", NewAdam(), [2]float64{0.8034818006385094, -1.9052631588421052}},
		{"adamw", NewAdamW(0.1), [2]float64{0.7845818006185094, -1.8664631588321052}},
		{"adam-l2", &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}, [2]float64{0.8025029703202308, -1.8861177532216595}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := param(1, -2)
			for _, g := range [][]float32{{0.5, -1}, {1, 1}} {
				copy(p.G.Data, g)
				if err := c.opt.Step([]*nn.Param{p}, 0.1); err != nil {
					t.Fatal(err)
				}
			}
			for i, w := range c.want {
				if !near(float64(p.W.Data[i]), w, 1e-6) {
					t.Errorf("w[%d] = %.8g, want %.8g", i, p.W.Data[i], w)
				}
			}
		})
	}
}

// TestSGDHandSteps: f = ½w², w0 = 1, lr 0.1, momentum 0.9.
// Heavy ball: b = 1, w = 0.9; then g = 0.9, b = 1.8, w = 0.72.
// Nesterov: b = 1, w = 1 − 0.1·1.9 = 0.81; then g = 0.81, b = 1.71,
// w = 0.81 − 0.1·(0.81 + 0.9·1.71) = 0.5751.
// Weight decay 0.5 without momentum: w ← w − 0.1·(w + 0.5w) = 0.85w.
func TestSGDHandSteps(t *testing.T) {
	cases := []struct {
		opt  *SGD
		want []float64
	}{
		{&SGD{Momentum: 0.9}, []float64{0.9, 0.72}},
		{&SGD{Momentum: 0.9, Nesterov: true}, []float64{0.81, 0.5751}},
		{&SGD{WeightDecay: 0.5}, []float64{0.85, 0.7225}},
	}
	for _, c := range cases {
		p := param(1)
		for k, w := range c.want {
			p.G.Data[0] = p.W.Data[0]
			if err := c.opt.Step([]*nn.Param{p}, 0.1); err != nil {
				t.Fatal(err)
			}
			if !near(float64(p.W.Data[0]), w, 1e-6) {
				t.Errorf("%s %+v step %d: w = %.7g, want %.7g", c.opt.Name(), *c.opt, k+1, p.W.Data[0], w)
			}
		}
	}
}

func TestNoDecay(t *testing.T) {
	for _, o := range []Optimizer{NewAdamW(0.5), &SGD{WeightDecay: 0.5}, NewProdigy(0.5), NewScheduleFreeAdamW(0.5)} {
		p := param(2)
		p.NoDecay = true
		if err := o.Step([]*nn.Param{p}, 0.1); err != nil { // zero gradient
			t.Fatal(err)
		}
		if p.W.Data[0] != 2 {
			t.Errorf("%s moved a NoDecay parameter with zero gradient to %v", o.Name(), p.W.Data[0])
		}
	}
}

func TestClipGlobalNorm(t *testing.T) {
	a, b := param(0, 0), param(0)
	copy(a.G.Data, []float32{3, 0})
	b.G.Data[0] = 4
	ps := []*nn.Param{a, b}
	if n := ClipGlobalNorm(ps, 10); n != 5 || a.G.Data[0] != 3 {
		t.Errorf("norm %v, g %v: want 5 and no change below the threshold", n, a.G.Data)
	}
	if n := ClipGlobalNorm(ps, 1); n != 5 {
		t.Errorf("norm %v, want 5", n)
	}
	if !near(float64(a.G.Data[0]), 0.6, 1e-7) || !near(float64(b.G.Data[0]), 0.8, 1e-7) {
		t.Errorf("clipped to %v %v, want 0.6 0.8", a.G.Data, b.G.Data)
	}
}

// TestStateRoundTrip: k steps, marshal, a fresh optimizer restores, and
// the continuation equals an uninterrupted run bit for bit.
func TestStateRoundTrip(t *testing.T) {
	makers := map[string]func() Optimizer{
		"sgd":      func() Optimizer { return &SGD{Momentum: 0.9, Nesterov: true, WeightDecay: 0.01} },
		"adam":     func() Optimizer { return NewAdam() },
		"adamw":    func() Optimizer { return NewAdamW(0.1) },
		"sf-sgd":   func() Optimizer { return NewScheduleFreeSGD() },
		"sf-adamw": func() Optimizer { return NewScheduleFreeAdamW(0.01) },
		"prodigy":  func() Optimizer { return NewProdigy(0.01) },
	}
	run := func(o Optimizer, p *nn.Param, from, to int) {
		for k := from; k < to; k++ {
			for j := range p.G.Data { // gradient of Σ ½(w_j − j)² plus a step-dependent term
				p.G.Data[j] = p.W.Data[j] - float32(j) + 0.1*float32(k%3)
			}
			if err := o.Step([]*nn.Param{p}, 0.05); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			ref, p1 := mk(), param(1, 2, 3)
			run(ref, p1, 0, 10)
			o, p2 := mk(), param(1, 2, 3)
			run(o, p2, 0, 4)
			st, err := o.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			o2 := mk()
			if err := o2.UnmarshalBinary(st); err != nil {
				t.Fatal(err)
			}
			run(o2, p2, 4, 10)
			if !slices.Equal(p1.W.Data, p2.W.Data) {
				t.Errorf("resumed %v, uninterrupted %v", p2.W.Data, p1.W.Data)
			}
			if err := mk().UnmarshalBinary(st[:len(st)/2]); err == nil {
				t.Error("truncated state accepted")
			}
			if err := o2.Step([]*nn.Param{param(1)}, 0.1); err == nil {
				t.Error("step with a different parameter list accepted")
			}
		})
	}
}

// TestAdamParallelMatchesSerial: a tensor large enough for the parallel
// path updates bit-identically with GOMAXPROCS 1 and 2.
func TestAdamParallelMatchesSerial(t *testing.T) {
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p := param(make([]float32, 10000)...)
		for j := range p.W.Data {
			p.W.Data[j] = float32(j%17) - 8
		}
		for _, o := range []Optimizer{NewAdamW(0.1), &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}} {
			for k := 0; k < 3; k++ {
				for j := range p.G.Data {
					p.G.Data[j] = float32((j*7+k)%13) - 6
				}
				if err := o.Step([]*nn.Param{p}, 0.01); err != nil {
					t.Fatal(err)
				}
			}
		}
		return p.W.Data
	}
	if !slices.Equal(run(1), run(2)) {
		t.Error("parallel and serial Adam updates differ")
	}
}
