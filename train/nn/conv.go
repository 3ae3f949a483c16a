package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Conv2D is a 2-D convolution with stride 1 and zero padding Pad on inputs
// [B, InC, H, W] (channels first), giving [B, OutC, H', W'] with
// H' = H + 2·Pad − K + 1. It runs as im2col + Gemm per example: the input
// patches form a matrix X_col [InC·K·K, H'·W'] and
//
//	Y_b = W·X_col + b         (W: [OutC, InC·K·K], b: [OutC])
//
// Gradients per example (X_col is rebuilt in Backward rather than kept):
//
//	dW += dY_b·X_colᵀ   db += Σ_pixels dY_b   dX_col = Wᵀ·dY_b
//
// and dX_b is dX_col scattered back (col2im, summing overlaps).
type Conv2D struct {
	InC, OutC, K, Pad int
	W, B              *Param
	x                 *Tensor
	cols, dcols       []float32
	y, dx             Tensor
	h, w, ho, wo      int
}

// NewConv2D returns a convolution with weights drawn from
// N(0, 2/(InC·K·K)) (He normal, for a ReLU after it) and zero bias.
func NewConv2D(name string, inC, outC, k, pad int, rng *rand.Rand) *Conv2D {
	c := &Conv2D{InC: inC, OutC: outC, K: k, Pad: pad,
		W: newParam(name+".w", false, outC, inC*k*k),
		B: newParam(name+".b", true, outC)}
	fillNormal(c.W.W, math.Sqrt(2/float64(inC*k*k)), rng)
	return c
}

// im2col fills cols [InC·K·K, ho·wo] from one example x [InC, h, w].
func (c *Conv2D) im2col(x []float32) {
	n := c.ho * c.wo
	for ch := 0; ch < c.InC; ch++ {
		for ki := 0; ki < c.K; ki++ {
			for kj := 0; kj < c.K; kj++ {
				row := c.cols[((ch*c.K+ki)*c.K+kj)*n : ((ch*c.K+ki)*c.K+kj+1)*n]
				for oy := 0; oy < c.ho; oy++ {
					iy := oy + ki - c.Pad
					dst := row[oy*c.wo : (oy+1)*c.wo]
					if iy < 0 || iy >= c.h {
						clear(dst)
						continue
					}
					src := x[(ch*c.h+iy)*c.w : (ch*c.h+iy+1)*c.w]
					// ox reads ix = ox + kj − Pad, valid for lo ≤ ox < hi.
					lo, hi := validRange(kj-c.Pad, c.w, c.wo)
					clear(dst[:lo])
					copy(dst[lo:hi], src[lo+kj-c.Pad:])
					clear(dst[hi:])
				}
			}
		}
	}
}

// validRange returns the range [lo, hi) of outputs o in [0, n) whose input
// index o + off lies in [0, w).
func validRange(off, w, n int) (lo, hi int) {
	lo = max(0, -off)
	hi = min(n, w-off)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// col2im adds dcols back into one example's input gradient dx [InC, h, w].
func (c *Conv2D) col2im(dx []float32) {
	n := c.ho * c.wo
	for ch := 0; ch < c.InC; ch++ {
		for ki := 0; ki < c.K; ki++ {
			for kj := 0; kj < c.K; kj++ {
				row := c.dcols[((ch*c.K+ki)*c.K+kj)*n : ((ch*c.K+ki)*c.K+kj+1)*n]
				for oy := 0; oy < c.ho; oy++ {
					iy := oy + ki - c.Pad
					if iy < 0 || iy >= c.h {
						continue
					}
					dst := dx[(ch*c.h+iy)*c.w : (ch*c.h+iy+1)*c.w]
					lo, hi := validRange(kj-c.Pad, c.w, c.wo)
					d := dst[lo+kj-c.Pad : hi+kj-c.Pad]
					for i, v := range row[oy*c.wo+lo : oy*c.wo+hi] {
						d[i] += v
					}
				}
			}
		}
	}
}

// Forward convolves each example.
func (c *Conv2D) Forward(x *Tensor) (*Tensor, error) {
	if len(x.Shape) != 4 || x.Shape[1] != c.InC {
		return nil, fmt.Errorf("conv2d %s: input %v, want [B, %d, H, W]", c.W.Name, x.Shape, c.InC)
	}
	c.h, c.w = x.Shape[2], x.Shape[3]
	c.ho, c.wo = c.h+2*c.Pad-c.K+1, c.w+2*c.Pad-c.K+1
	if c.ho <= 0 || c.wo <= 0 {
		return nil, fmt.Errorf("conv2d %s: input %v is smaller than the %d×%d kernel", c.W.Name, x.Shape, c.K, c.K)
	}
	c.x = x
	B, n, ckk := x.Shape[0], c.ho*c.wo, c.InC*c.K*c.K
	c.cols = grow(c.cols, ckk*n)
	c.y.Resize(B, c.OutC, c.ho, c.wo)
	in := c.InC * c.h * c.w
	for b := 0; b < B; b++ {
		c.im2col(x.Data[b*in : (b+1)*in])
		yb := c.y.Data[b*c.OutC*n : (b+1)*c.OutC*n]
		for f := 0; f < c.OutC; f++ {
			bv := c.B.W.Data[f]
			for i := f * n; i < (f+1)*n; i++ {
				yb[i] = bv
			}
		}
		gemm(false, false, c.OutC, n, ckk, 1, c.W.W.Data, ckk, c.cols, n, 1, yb, n)
	}
	return &c.y, nil
}

// Backward accumulates dW, db and returns dx.
func (c *Conv2D) Backward(dy *Tensor) *Tensor {
	B, n, ckk := c.x.Shape[0], c.ho*c.wo, c.InC*c.K*c.K
	in := c.InC * c.h * c.w
	c.dcols = grow(c.dcols, ckk*n)
	c.dx.resizeLike(c.x)
	c.dx.Zero()
	for b := 0; b < B; b++ {
		dyb := dy.Data[b*c.OutC*n : (b+1)*c.OutC*n]
		c.im2col(c.x.Data[b*in : (b+1)*in])
		gemm(false, true, c.OutC, ckk, n, 1, dyb, n, c.cols, n, 1, c.W.G.Data, ckk)
		for f := 0; f < c.OutC; f++ {
			var s float32
			for _, v := range dyb[f*n : (f+1)*n] {
				s += v
			}
			c.B.G.Data[f] += s
		}
		gemm(true, false, ckk, n, c.OutC, 1, c.W.W.Data, ckk, dyb, n, 0, c.dcols, n)
		c.col2im(c.dx.Data[b*in : (b+1)*in])
	}
	return &c.dx
}

// Params returns W and b.
func (c *Conv2D) Params() []*Param { return []*Param{c.W, c.B} }

// MaxPool2D takes the maximum over non-overlapping K×K windows of an input
// [B, C, H, W], giving [B, C, H/K, W/K] (rows and columns that do not fill
// a window are dropped). Gradient: each output's dy goes to the input
// position that held the maximum (the first one on ties); others get 0.
type MaxPool2D struct {
	K     int
	arg   []int32 // flat input index of each output's maximum
	y, dx Tensor
	shape []int
}

// Forward takes window maxima.
func (m *MaxPool2D) Forward(x *Tensor) (*Tensor, error) {
	if len(x.Shape) != 4 || m.K <= 0 || x.Shape[2] < m.K || x.Shape[3] < m.K {
		return nil, fmt.Errorf("maxpool: input %v, want [B, C, H≥%d, W≥%d]", x.Shape, m.K, m.K)
	}
	B, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := H/m.K, W/m.K
	m.shape = append(m.shape[:0], x.Shape...)
	m.y.Resize(B, C, ho, wo)
	m.arg = grow(m.arg, m.y.Len())
	o := 0
	for bc := 0; bc < B*C; bc++ {
		plane := bc * H * W
		for oy := 0; oy < ho; oy++ {
			if m.K == 2 {
				r0 := x.Data[plane+2*oy*W : plane+(2*oy+1)*W]
				r1 := x.Data[plane+(2*oy+1)*W : plane+(2*oy+2)*W]
				for ox := 0; ox < wo; ox++ {
					i := 2 * ox
					best, bv := i, r0[i]
					if r0[i+1] > bv {
						best, bv = i+1, r0[i+1]
					}
					if r1[i] > bv {
						best, bv = W+i, r1[i]
					}
					if r1[i+1] > bv {
						best, bv = W+i+1, r1[i+1]
					}
					m.arg[o] = int32(plane + 2*oy*W + best)
					m.y.Data[o] = bv
					o++
				}
				continue
			}
			for ox := 0; ox < wo; ox++ {
				best := plane + oy*m.K*W + ox*m.K
				for i := 0; i < m.K; i++ {
					for j := 0; j < m.K; j++ {
						idx := plane + (oy*m.K+i)*W + ox*m.K + j
						if x.Data[idx] > x.Data[best] {
							best = idx
						}
					}
				}
				m.arg[o] = int32(best)
				m.y.Data[o] = x.Data[best]
				o++
			}
		}
	}
	return &m.y, nil
}

// Backward routes dy to the arg-max positions.
func (m *MaxPool2D) Backward(dy *Tensor) *Tensor {
	m.dx.Resize(m.shape...)
	m.dx.Zero()
	for o, idx := range m.arg {
		m.dx.Data[idx] += dy.Data[o]
	}
	return &m.dx
}

// Params returns nil.
func (m *MaxPool2D) Params() []*Param { return nil }
