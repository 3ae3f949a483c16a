package nn

import (
	"fmt"
	"math"
)

// LayerNorm normalises each row of the last dimension to zero mean and
// unit variance, then applies a gain g and a bias b (both of shape [Dim]):
//
//	x̂ = (x − μ)/σ,  σ = √(var + Eps),  y = g⊙x̂ + b
//
// Gradients per row (D = Dim, means over the row):
//
//	dg = Σ_rows dy⊙x̂   db = Σ_rows dy
//	dx̂ = dy⊙g
//	dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂⊙x̂)) / σ
type LayerNorm struct {
	Dim        int
	Eps        float64
	Gain, Bias *Param
	xhat       []float32
	rstd       []float32 // 1/σ per row
	y, dx      Tensor
	x, dy      *Tensor
	partial    []float32           // per-chunk partial dg (first Dim) and db (next Dim)
	fwdFn      func(c, lo, hi int) // chunk kernels, made once (no per-call closure)
	bwdFn      func(c, lo, hi int)
}

// NewLayerNorm returns a LayerNorm with gain 1, bias 0 and Eps 1e-5.
func NewLayerNorm(name string, dim int) *LayerNorm {
	l := &LayerNorm{Dim: dim, Eps: 1e-5,
		Gain: newParam(name+".g", true, dim),
		Bias: newParam(name+".b", true, dim)}
	for i := range l.Gain.W.Data {
		l.Gain.W.Data[i] = 1
	}
	return l
}

// Forward normalises each row.
func (l *LayerNorm) Forward(x *Tensor) (*Tensor, error) {
	if x.Cols() != l.Dim {
		return nil, fmt.Errorf("layernorm %s: input %v has last dimension %d, want %d", l.Gain.Name, x.Shape, x.Cols(), l.Dim)
	}
	n := x.Rows()
	l.x = x
	l.y.resizeLike(x)
	l.xhat = grow(l.xhat, x.Len())
	l.rstd = grow(l.rstd, n)
	if l.fwdFn == nil {
		l.fwdFn, l.bwdFn = l.forwardChunk, l.backwardChunk
	}
	ParallelChunks(n, 6*x.Len(), l.fwdFn)
	return &l.y, nil
}

// Backward accumulates dg, db and returns dx (formulas on the type).
func (l *LayerNorm) Backward(dy *Tensor) *Tensor {
	n, d := dy.Rows(), l.Dim
	l.dx.resizeLike(dy)
	l.dy = dy
	l.partial = grow(l.partial, numChunks*2*d)
	clear(l.partial)
	if l.bwdFn == nil {
		l.fwdFn, l.bwdFn = l.forwardChunk, l.backwardChunk
	}
	ParallelChunks(n, 8*dy.Len(), l.bwdFn)
	// Combine the chunks' dg and db in chunk order (deterministic).
	gg, gb := l.Gain.G.Data, l.Bias.G.Data
	for c := 0; c < numChunks; c++ {
		pg, pb := l.partial[2*c*d:(2*c+1)*d], l.partial[(2*c+1)*d:(2*c+2)*d]
		for j := range gg {
			gg[j] += pg[j]
			gb[j] += pb[j]
		}
	}
	return &l.dx
}

// forwardChunk normalises rows lo..hi−1.
func (l *LayerNorm) forwardChunk(_, lo, hi int) {
	d := l.Dim
	g, b := l.Gain.W.Data, l.Bias.W.Data
	for r := lo; r < hi; r++ {
		row := l.x.Data[r*d : (r+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(d)
		var ss float64
		for _, v := range row {
			c := float64(v) - mu
			ss += c * c
		}
		rs := 1 / math.Sqrt(ss/float64(d)+l.Eps)
		l.rstd[r] = float32(rs)
		xh := l.xhat[r*d : (r+1)*d]
		y := l.y.Data[r*d : (r+1)*d]
		for j, v := range row {
			h := float32((float64(v) - mu) * rs)
			xh[j] = h
			y[j] = g[j]*h + b[j]
		}
	}
}

// backwardChunk computes dx for rows lo..hi−1 and chunk c's partial dg, db.
func (l *LayerNorm) backwardChunk(c, lo, hi int) {
	d := l.Dim
	g := l.Gain.W.Data
	pg, pb := l.partial[2*c*d:(2*c+1)*d], l.partial[(2*c+1)*d:(2*c+2)*d]
	for r := lo; r < hi; r++ {
		dyr := l.dy.Data[r*d : (r+1)*d]
		xh := l.xhat[r*d : (r+1)*d]
		var m1, m2 float64 // mean(dx̂), mean(dx̂⊙x̂)
		for j, v := range dyr {
			pg[j] += v * xh[j]
			pb[j] += v
			dxh := float64(v * g[j])
			m1 += dxh
			m2 += dxh * float64(xh[j])
		}
		m1 /= float64(d)
		m2 /= float64(d)
		rs := float64(l.rstd[r])
		dx := l.dx.Data[r*d : (r+1)*d]
		for j, v := range dyr {
			dxh := float64(v * g[j])
			dx[j] = float32((dxh - m1 - float64(xh[j])*m2) * rs)
		}
	}
}

// Params returns the gain and the bias.
func (l *LayerNorm) Params() []*Param { return []*Param{l.Gain, l.Bias} }

// grow returns s resized to n, reusing its storage when possible.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
