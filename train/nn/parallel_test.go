package nn

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestParallelMatchesSerial runs layers big enough for the parallel path
// with GOMAXPROCS 1 (serial) and 2 (goroutines): outputs, input gradients
// and parameter gradients must be bit-identical.
func TestParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	att, err := NewCausalSelfAttention("a", 32, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		layer Layer
		x     *Tensor
	}{
		{"attention", att, randTensor(rng, 2, 64, 32)},
		{"gelu", &GELU{}, randTensor(rng, 4, 64, 64)},
		{"layernorm", NewLayerNorm("ln", 64), randTensor(rng, 4, 64, 64)},
		// Dense's three products (x·W, xᵀ·dY, dY·Wᵀ) are each split across
		// the pool in the pure-Go build.
		{"dense", NewDense("d", 200, 300, rng), randTensor(rng, 4, 64, 200)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.layer.Forward(c.x)
			if err != nil {
				t.Fatal(err)
			}
			dy := randTensor(rng, out.Shape...)
			run := func(procs int) (y, dx []float32, grads [][]float32) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				out, err := c.layer.Forward(c.x)
				if err != nil {
					t.Fatal(err)
				}
				y = slices.Clone(out.Data)
				ZeroGrads(c.layer.Params())
				dx = slices.Clone(c.layer.Backward(dy).Data)
				for _, p := range c.layer.Params() {
					grads = append(grads, slices.Clone(p.G.Data))
				}
				return y, dx, grads
			}
			y1, dx1, g1 := run(1)
			y2, dx2, g2 := run(2)
			if !slices.Equal(y1, y2) || !slices.Equal(dx1, dx2) {
				t.Error("outputs or input gradients differ between serial and parallel runs")
			}
			for i := range g1 {
				if !slices.Equal(g1[i], g2[i]) {
					t.Errorf("parameter %d gradient differs between serial and parallel runs", i)
				}
			}
		})
	}
}

// TestParallelGradients checks the parallel path against finite
// differences.
func TestParallelGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	att, err := NewCausalSelfAttention("a", 32, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		l Layer
		x *Tensor
	}{{att, randTensor(rng, 2, 64, 32)}, {&GELU{}, randTensor(rng, 4, 64, 64)}, {NewLayerNorm("ln", 64), randTensor(rng, 4, 64, 64)}} {
		checkGrad(t, projected(t, c.l, c.x, rng), c.l.Params(), c.x, 1e-2, rng)
	}
}
