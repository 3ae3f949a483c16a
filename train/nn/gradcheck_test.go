package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// objective evaluates a scalar function of the model's parameters and
// input; grads fills analytic gradients (params' G and the returned input
// gradient, which may be nil).
type objective struct {
	eval  func() float64
	grads func() *Tensor
}

// projected returns f(x) = Σ r⊙layer(x) for a fixed random r, whose
// gradient with respect to the layer output is r.
func projected(t *testing.T, l Layer, x *Tensor, rng *rand.Rand) objective {
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	r := NewTensor(y.Shape...)
	fillNormal(r, 1, rng)
	return objective{
		eval: func() float64 {
			y, err := l.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			var s float64
			for i, v := range y.Data {
				s += float64(v) * float64(r.Data[i])
			}
			return s
		},
		grads: func() *Tensor {
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			ZeroGrads(l.Params())
			return l.Backward(r)
		},
	}
}

// checkGrad compares analytic and central-difference derivatives at up to
// maxCoords coordinates of each parameter and (when wrt is given) input.
func checkGrad(t *testing.T, obj objective, ps []*Param, x *Tensor, h float64, rng *rand.Rand) {
	t.Helper()
	dx := obj.grads()
	type target struct {
		name string
		w    []float32
		g    []float32
	}
	var ts []target
	for _, p := range ps {
		ts = append(ts, target{p.Name, p.W.Data, append([]float32(nil), p.G.Data...)})
	}
	if x != nil && dx != nil {
		ts = append(ts, target{"input", x.Data, append([]float32(nil), dx.Data...)})
	}
	const maxCoords = 24
	checked, kinks := 0, 0
	f0 := obj.eval()
	for _, tg := range ts {
		idx := rng.Perm(len(tg.w))
		if len(idx) > maxCoords {
			idx = idx[:maxCoords]
		}
		for _, i := range idx {
			ana := float64(tg.g[i])
			old := tg.w[i]
			at := func(d float64) float64 {
				tg.w[i] = old + float32(d)
				f := obj.eval()
				tg.w[i] = old
				return f
			}
			close := func(num float64) bool {
				return math.Abs(num-ana) <= 2e-2*math.Max(math.Abs(num), math.Abs(ana))+3e-3
			}
			checked++
			fp, fm := at(h), at(-h)
			if close((fp - fm) / (2 * h)) {
				continue
			}
			// Retry with a smaller step; if that still disagrees and the
			// one-sided slopes differ, the step crosses a kink (ReLU at 0,
			// a max-pool tie) and the coordinate is skipped.
			hs := h / 10
			fp, fm = at(hs), at(-hs)
			num := (fp - fm) / (2 * hs)
			if close(num) {
				continue
			}
			if fwd, bwd := (fp-f0)/hs, (f0-fm)/hs; math.Abs(fwd-bwd) > 2e-2*math.Max(math.Abs(fwd), math.Abs(bwd))+1e-3 {
				kinks++
				continue
			}
			t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", tg.name, i, ana, num)
		}
	}
	if checked == 0 || kinks > checked/5 {
		t.Fatalf("%d coordinates checked, %d skipped at kinks", checked, kinks)
	}
}

func randTensor(rng *rand.Rand, shape ...int) *Tensor {
	x := NewTensor(shape...)
	fillNormal(x, 1, rng)
	return x
}

// awayFromZero moves values within m of 0 out to ±m, so that a
// finite-difference step never crosses a ReLU kink.
func awayFromZero(x *Tensor, m float32) *Tensor {
	for i, v := range x.Data {
		if v >= 0 && v < m {
			x.Data[i] = m + v
		} else if v < 0 && v > -m {
			x.Data[i] = -m + v
		}
	}
	return x
}

func tokens(rng *rand.Rand, vocab int, shape ...int) *Tensor {
	x := NewTensor(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(vocab))
	}
	return x
}

func TestLayerGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mustAtt := func(l *CausalSelfAttention, err error) Layer {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	mustBlock := func(l *Sequential, err error) Layer {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []struct {
		name  string
		layer Layer
		x     *Tensor
	}{
		{"dense", NewDense("d", 5, 3, rng), randTensor(rng, 4, 5)},
		{"dense-3d", NewDense("d", 4, 6, rng), randTensor(rng, 2, 3, 4)},
		{"relu", &ReLU{}, awayFromZero(randTensor(rng, 3, 7), 0.05)},
		{"gelu", &GELU{}, randTensor(rng, 3, 7)},
		{"layernorm", NewLayerNorm("ln", 6), randTensor(rng, 2, 3, 6)},
		{"embedding", NewEmbedding("e", 7, 4, rng), tokens(rng, 7, 2, 5)},
		{"positional", NewPositionalEmbedding("p", 6, 4, rng), randTensor(rng, 2, 5, 4)},
		{"attention", mustAtt(NewCausalSelfAttention("a", 8, 2, rng)), randTensor(rng, 2, 5, 8)},
		{"attention-blocks", mustAtt(NewCausalSelfAttention("a", 8, 2, rng)), randTensor(rng, 1, 2*attnBlock+7, 8)},
		{"residual", NewResidual(NewDense("r", 4, 4, rng)), randTensor(rng, 3, 4)},
		{"conv2d", NewConv2D("c", 2, 3, 3, 1, rng), randTensor(rng, 2, 2, 5, 6)},
		{"conv2d-nopad", NewConv2D("c", 1, 2, 2, 0, rng), randTensor(rng, 2, 1, 4, 4)},
		{"maxpool", &MaxPool2D{K: 2}, randTensor(rng, 2, 2, 4, 5)},
		{"maxpool-3", &MaxPool2D{K: 3}, randTensor(rng, 1, 2, 7, 6)},
		{"conv2d-k5p2", NewConv2D("c", 2, 2, 5, 2, rng), randTensor(rng, 1, 2, 6, 7)},
		{"conv2d-wide-pad", NewConv2D("c", 1, 2, 3, 3, rng), randTensor(rng, 1, 1, 2, 3)},
		{"flatten", &Flatten{}, randTensor(rng, 2, 3, 2, 2)},
		{"block", mustBlock(NewTransformerBlock("b", 8, 2, 16, rng)), randTensor(rng, 2, 4, 8)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The layer norm's gain and bias start at 1 and 0; perturb them
			// so their gradients are checked at a generic point.
			for _, p := range c.layer.Params() {
				for i := range p.W.Data {
					p.W.Data[i] += float32(0.1 * rng.NormFloat64())
				}
			}
			checkGrad(t, projected(t, c.layer, c.x, rng), c.layer.Params(), c.x, 1e-2, rng)
		})
	}
}

// TestModelGradients checks the gradient of the mean cross-entropy loss of
// whole small models: a CNN and a two-block character transformer.
func TestModelGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b1, err := NewTransformerBlock("b1", 8, 2, 16, rng)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := NewTransformerBlock("b2", 8, 2, 16, rng)
	if err != nil {
		t.Fatal(err)
	}
	gpt := NewSequential(NewEmbedding("tok", 6, 8, rng), NewPositionalEmbedding("pos", 5, 8, rng),
		b1, b2, NewLayerNorm("lnf", 8), NewDense("head", 8, 6, rng))
	cnn := NewSequential(NewConv2D("c1", 1, 3, 3, 1, rng), &ReLU{}, &MaxPool2D{K: 2},
		NewConv2D("c2", 3, 4, 3, 1, rng), &ReLU{}, &MaxPool2D{K: 2}, &Flatten{},
		NewDense("fc1", 4*2*2, 8, rng), &ReLU{}, NewDense("fc2", 8, 3, rng))
	mlp, err := NewMLP([]int{6, 10, 10, 4}, rng)
	if err != nil {
		t.Fatal(err)
	}
	labels := func(n, c int) []int32 {
		l := make([]int32, n)
		for i := range l {
			l[i] = int32(rng.IntN(c))
		}
		return l
	}
	cases := []struct {
		name   string
		model  Layer
		x      *Tensor
		labels []int32
	}{
		{"gpt", gpt, tokens(rng, 6, 3, 5), labels(15, 6)},
		{"cnn", cnn, randTensor(rng, 3, 1, 8, 8), labels(3, 3)},
		{"mlp", mlp, randTensor(rng, 5, 6), labels(5, 4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ce SoftmaxCrossEntropy
			obj := objective{
				eval: func() float64 {
					y, err := c.model.Forward(c.x)
					if err != nil {
						t.Fatal(err)
					}
					l, err := ce.Loss(y, c.labels)
					if err != nil {
						t.Fatal(err)
					}
					return l
				},
				grads: func() *Tensor {
					obj0 := 0.0
					y, err := c.model.Forward(c.x)
					if err != nil {
						t.Fatal(err)
					}
					if obj0, err = ce.Loss(y, c.labels); err != nil || math.IsNaN(obj0) {
						t.Fatal(err, obj0)
					}
					ZeroGrads(c.model.Params())
					return c.model.Backward(ce.Grad())
				},
			}
			x := c.x
			if c.name == "gpt" {
				x = nil // token ids have no gradient
			}
			checkGrad(t, obj, c.model.Params(), x, 1e-2, rng)
		})
	}
}

func TestCrossEntropyValue(t *testing.T) {
	// Uniform logits over 4 classes: loss ln 4 for any label; gradient
	// (1/4 − onehot)/N.
	logits := NewTensor(2, 4)
	var ce SoftmaxCrossEntropy
	l, err := ce.Loss(logits, []int32{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(l-math.Log(4)) > 1e-7 {
		t.Errorf("loss %v, want ln 4 = %v", l, math.Log(4))
	}
	want := []float32{0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375}
	for i, g := range ce.Grad().Data {
		if math.Abs(float64(g-want[i])) > 1e-7 {
			t.Errorf("grad[%d] = %v, want %v", i, g, want[i])
		}
	}
}

func TestShapeErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	att, _ := NewCausalSelfAttention("a", 8, 2, rng)
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"dense", func() error { _, err := NewDense("d", 3, 2, rng).Forward(NewTensor(2, 4)); return err },
			"dense d.w: input [2 4] has last dimension 4, want 3"},
		{"embedding", func() error {
			x := NewTensor(1, 2)
			x.Data[1] = 9
			_, err := NewEmbedding("e", 5, 2, rng).Forward(x)
			return err
		}, "embedding e.e: input 1 is 9, want an integer id in [0, 5)"},
		{"attention", func() error { _, err := att.Forward(NewTensor(2, 8)); return err },
			"attention a.qkv.w: input [2 8], want [B, T, 8]"},
		{"loss", func() error {
			var ce SoftmaxCrossEntropy
			_, err := ce.Loss(NewTensor(2, 3), []int32{0, 3})
			return err
		}, "cross-entropy: label 1 is 3, want a class in [0, 3)"},
		{"conv", func() error { _, err := NewConv2D("c", 2, 2, 3, 0, rng).Forward(NewTensor(1, 2, 2, 2)); return err },
			"conv2d c.w: input [1 2 2 2] is smaller than the 3×3 kernel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	if _, err := NewCausalSelfAttention("a", 10, 3, rng); err == nil {
		t.Error("attention with 10 % 3 != 0 accepted")
	}
	_ = fmt.Sprint()
}

// GELU with Overwrite computes exactly what the default GELU computes, but
// keeps its derivative over its input and returns dy itself, holding the
// gradient, instead of tensors of its own.
func TestGELUOverwriteSameGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	clone := func(v *Tensor) *Tensor {
		return &Tensor{Data: append([]float32(nil), v.Data...), Shape: append([]int(nil), v.Shape...)}
	}
	x, dy := randTensor(rng, 4, 33), randTensor(rng, 4, 33)
	xo, dyo := clone(x), clone(dy)
	plain, over := &GELU{}, &GELU{Overwrite: true}
	y, err := plain.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	yo, err := over.Forward(xo)
	if err != nil {
		t.Fatal(err)
	}
	want, got := plain.Backward(dy), over.Backward(dyo)
	if want == dy || got != dyo {
		t.Fatalf("returned dy: %v without Overwrite (want false), %v with (want true)", want == dy, got == dyo)
	}
	for i := range want.Data {
		if yo.Data[i] != y.Data[i] || got.Data[i] != want.Data[i] {
			t.Fatalf("element %d: output %v and gradient %v with Overwrite, %v and %v without",
				i, yo.Data[i], got.Data[i], y.Data[i], want.Data[i])
		}
	}
	if slices.Equal(xo.Data, x.Data) {
		t.Error("GELU with Overwrite left its input unchanged; it should hold the derivative")
	}
}
