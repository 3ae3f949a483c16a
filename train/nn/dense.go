package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train/nn/internal/vec"
)

// Dense is a fully connected layer acting on the last dimension:
// y = x·W + b with W of shape [In, Out] and b of shape [Out]. Any leading
// dimensions are batch dimensions ([B, T, In] maps to [B, T, Out]).
//
// Gradients, with X the input read as an N×In matrix and dY the N×Out
// output gradient:
//
//	dW = Xᵀ·dY     db = Σ_rows dY     dX = dY·Wᵀ
type Dense struct {
	In, Out int
	W, B    *Param
	x       *Tensor
	y, dx   Tensor
	shape   []int
}

// NewDense returns a Dense layer with W drawn from N(0, 1/In) (LeCun
// normal) and b = 0. Scale W.W.Data for another init (e.g. √2 for He).
func NewDense(name string, in, out int, rng *rand.Rand) *Dense {
	d := &Dense{In: in, Out: out,
		W: newParam(name+".w", false, in, out),
		B: newParam(name+".b", true, out)}
	fillNormal(d.W.W, 1/math.Sqrt(float64(in)), rng)
	return d
}

// Forward computes y = x·W + b.
func (d *Dense) Forward(x *Tensor) (*Tensor, error) {
	if x.Cols() != d.In {
		return nil, fmt.Errorf("dense %s: input %v has last dimension %d, want %d", d.W.Name, x.Shape, x.Cols(), d.In)
	}
	d.x = x
	d.shape = append(append(d.shape[:0], x.Shape[:len(x.Shape)-1]...), d.Out)
	d.y.Resize(d.shape...)
	n := x.Rows()
	b := d.B.W.Data
	for r := 0; r < n; r++ {
		copy(d.y.Data[r*d.Out:(r+1)*d.Out], b)
	}
	gemm(false, false, n, d.Out, d.In, 1, x.Data, d.In, d.W.W.Data, d.Out, 1, d.y.Data, d.Out)
	return &d.y, nil
}

// Backward accumulates dW and db and returns dX.
func (d *Dense) Backward(dy *Tensor) *Tensor {
	n := d.x.Rows()
	// dW += Xᵀ·dY
	gemm(true, false, d.In, d.Out, n, 1, d.x.Data, d.In, dy.Data, d.Out, 1, d.W.G.Data, d.Out)
	// db += Σ_rows dY
	gb := d.B.G.Data
	for r := 0; r < n; r++ {
		row := dy.Data[r*d.Out : (r+1)*d.Out]
		for j, v := range row {
			gb[j] += v
		}
	}
	// dX = dY·Wᵀ
	d.dx.resizeLike(d.x)
	gemm(false, true, n, d.In, d.Out, 1, dy.Data, d.Out, d.W.W.Data, d.Out, 0, d.dx.Data, d.In)
	return &d.dx
}

// Params returns W and b.
func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }

// ReLU computes y = max(x, 0). Gradient: dx = dy where x > 0, else 0.
type ReLU struct {
	y, dx Tensor
}

// Forward applies max(x, 0) elementwise.
func (r *ReLU) Forward(x *Tensor) (*Tensor, error) {
	r.y.resizeLike(x)
	for i, v := range x.Data {
		r.y.Data[i] = max(v, 0)
	}
	return &r.y, nil
}

// Backward passes dy where the input was positive. It reads the output,
// which is +0 or positive (Go's max(−0, 0) is +0), and masks dy's bits
// without a branch: −int32(bits(y))>>31 is all ones exactly when y > 0.
func (r *ReLU) Backward(dy *Tensor) *Tensor {
	r.dx.resizeLike(dy)
	y := r.y.Data[:len(dy.Data)]
	dx := r.dx.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		mask := uint32(-int32(math.Float32bits(y[i])) >> 31)
		dx[i] = math.Float32frombits(math.Float32bits(g) & mask)
	}
	return &r.dx
}

// Params returns nil.
func (r *ReLU) Params() []*Param { return nil }

// GELU is the Gaussian error linear unit in its tanh approximation (the
// form GPT-2 and PyTorch's approximate="tanh" use):
//
//	y = ½·x·(1 + tanh u),  u = c·(x + 0.044715·x³),  c = √(2/π)
//	dy/dx = ½(1 + tanh u) + ½·x·(1 − tanh² u)·c·(1 + 3·0.044715·x²)
//
// Forward computes dy/dx along with y, while tanh u is at hand, and keeps
// it for Backward, which only multiplies.
//
// With Overwrite set, the layer keeps no tensor but its output: Forward
// stores dy/dx over its input and Backward writes the input gradient over
// dy and returns dy. Set it only where nothing reads either after this
// layer is done with them: in a Sequential, when the previous layer does
// not read its own output in Backward and dy is the next layer's own
// returned buffer, as in the transformer MLP between two Dense layers
// (16 MB less per MLP in kjv-gpt at batch 32).
type GELU struct {
	Overwrite    bool
	x, dy        *Tensor
	y, dx        Tensor
	deriv        []float32           // dy/dx of the last Forward: own buffer, or the input's with Overwrite
	fwdFn, bwdFn func(c, lo, hi int) // chunk kernels, made once (no per-call closure)
}

// Forward applies the tanh-approximate GELU elementwise.
func (g *GELU) Forward(x *Tensor) (*Tensor, error) {
	g.x = x
	g.y.resizeLike(x)
	if g.Overwrite {
		g.deriv = x.Data
	} else {
		g.deriv = grow(g.deriv, x.Len())
	}
	if g.fwdFn == nil {
		g.fwdFn, g.bwdFn = g.forwardChunk, g.backwardChunk
	}
	ParallelChunks(x.Len(), 8*x.Len(), g.fwdFn)
	return &g.y, nil
}

// Backward multiplies dy by the derivative Forward kept.
func (g *GELU) Backward(dy *Tensor) *Tensor {
	out := dy
	if !g.Overwrite {
		g.dx.resizeLike(dy)
		out = &g.dx
	}
	g.dy = dy
	if g.bwdFn == nil {
		g.fwdFn, g.bwdFn = g.forwardChunk, g.backwardChunk
	}
	ParallelChunks(dy.Len(), dy.Len(), g.bwdFn)
	return out
}

func (g *GELU) forwardChunk(_, lo, hi int) {
	// With Overwrite deriv is the input: vec.GELU reads each value before
	// it writes the derivative over it.
	vec.GELU(g.x.Data[lo:hi], g.y.Data[lo:hi], g.deriv[lo:hi])
}

func (g *GELU) backwardChunk(_, lo, hi int) {
	d := g.dy.Data[lo:hi]
	dx := d // with Overwrite the gradient goes over dy: d[i] is read before dx[i] is written
	if !g.Overwrite {
		dx = g.dx.Data[lo:hi]
	}
	for i, dd := range g.deriv[lo:hi] {
		dx[i] = d[i] * dd
	}
}

// Params returns nil.
func (g *GELU) Params() []*Param { return nil }
