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
	n, d := x.Rows(), l.Dim
	l.y.resizeLike(x)
	l.xhat = grow(l.xhat, x.Len())
	l.rstd = grow(l.rstd, n)
	g, b := l.Gain.W.Data, l.Bias.W.Data
	for r := 0; r < n; r++ {
		row := x.Data[r*d : (r+1)*d]
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
	return &l.y, nil
}

// Backward accumulates dg, db and returns dx (formulas on the type).
func (l *LayerNorm) Backward(dy *Tensor) *Tensor {
	n, d := dy.Rows(), l.Dim
	l.dx.resizeLike(dy)
	g, gg, gb := l.Gain.W.Data, l.Gain.G.Data, l.Bias.G.Data
	for r := 0; r < n; r++ {
		dyr := dy.Data[r*d : (r+1)*d]
		xh := l.xhat[r*d : (r+1)*d]
		var m1, m2 float64 // mean(dx̂), mean(dx̂⊙x̂)
		for j, v := range dyr {
			gg[j] += v * xh[j]
			gb[j] += v
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
	return &l.dx
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
