package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lrkit/lrkit/train/nn/internal/vec"
)

// CausalSelfAttention is multi-head self-attention with a causal mask on an
// input [B, T, Dim]: position t attends to positions 0..t only.
//
// Forward, with H heads of width dh = Dim/H and s = 1/√dh:
//
//	[Q K V] = x·Wqkv + bqkv            (Wqkv: [Dim, 3·Dim])
//	S_h     = s·Q_h·K_hᵀ               (T×T per example and head)
//	P_h     = softmax_row(S_h + mask)  (mask: −∞ above the diagonal)
//	O_h     = P_h·V_h                  (heads concatenated to [B, T, Dim])
//	y       = O·Wo + bo                (Wo: [Dim, Dim])
//
// Backward, per example and head (the output projection is a Dense):
//
//	dP   = dO·Vᵀ             dV = Pᵀ·dO
//	dS   = P⊙(dP − rowsum(dP⊙P))
//	dQ   = s·dS·K            dK = s·dSᵀ·Q
//	dWqkv = xᵀ·d[Q K V],  dbqkv = Σ_rows d[Q K V],  dx = d[Q K V]·Wqkvᵀ
type CausalSelfAttention struct {
	Dim, Heads int
	QKV, Out   *Dense
	qkvOut     *Tensor
	att        Tensor // concatenated head outputs [B, T, Dim]
	dqkv       Tensor
	probs      []float32 // P for every example and head, [B, H, T, T]
	dp         []float32 // scratch T×T per chunk
	datt       *Tensor
	b, t       int
	fwdFn      func(c, lo, hi int) // chunk kernels, made once (no per-call closure)
	bwdFn      func(c, lo, hi int)
}

// attnBlock is the row-block size of the causal attention products: blocks
// above the diagonal are skipped, about half the work at long contexts.
const attnBlock = 32

// NewCausalSelfAttention returns an attention layer; dim must be a
// multiple of heads. Weights are drawn as in NewDense.
func NewCausalSelfAttention(name string, dim, heads int, rng *rand.Rand) (*CausalSelfAttention, error) {
	if heads <= 0 || dim%heads != 0 {
		return nil, fmt.Errorf("attention %s: width %d is not a multiple of %d heads", name, dim, heads)
	}
	return &CausalSelfAttention{Dim: dim, Heads: heads,
		QKV: NewDense(name+".qkv", dim, 3*dim, rng),
		Out: NewDense(name+".out", dim, dim, rng)}, nil
}

// Forward computes causal attention (formulas on the type).
func (a *CausalSelfAttention) Forward(x *Tensor) (*Tensor, error) {
	if len(x.Shape) != 3 || x.Shape[2] != a.Dim {
		return nil, fmt.Errorf("attention %s: input %v, want [B, T, %d]", a.QKV.W.Name, x.Shape, a.Dim)
	}
	qkv, err := a.QKV.Forward(x)
	if err != nil {
		return nil, err
	}
	a.qkvOut = qkv
	B, T, D, H := x.Shape[0], x.Shape[1], a.Dim, a.Heads
	dh := D / H
	a.b, a.t = B, T
	a.att.resizeLike(x)
	a.probs = grow(a.probs, B*H*T*T)
	// Each (example, head) pair is independent and writes its own block of
	// probs and att: split the pairs across chunks.
	if a.fwdFn == nil {
		a.fwdFn, a.bwdFn = a.forwardChunk, a.backwardChunk
	}
	ParallelChunks(B*H, B*H*T*T*dh, a.fwdFn)
	return a.Out.Forward(&a.att)
}

// Backward returns dx and accumulates the projections' gradients.
func (a *CausalSelfAttention) Backward(dy *Tensor) *Tensor {
	datt := a.Out.Backward(dy)
	B, T, D, H := a.b, a.t, a.Dim, a.Heads
	dh := D / H
	a.dqkv.resizeLike(a.qkvOut)
	a.dp = grow(a.dp, numChunks*T*T) // one T×T scratch per chunk
	a.datt = datt
	if a.bwdFn == nil {
		a.fwdFn, a.bwdFn = a.forwardChunk, a.backwardChunk
	}
	ParallelChunks(B*H, B*H*T*T*dh, a.bwdFn)
	return a.QKV.Backward(&a.dqkv)
}

// forwardChunk computes attention for (example, head) pairs lo..hi−1.
func (a *CausalSelfAttention) forwardChunk(_, lo, hi int) {
	T, D, H := a.t, a.Dim, a.Heads
	dh := D / H
	scale := float32(1 / math.Sqrt(float64(dh)))
	qkv := a.qkvOut
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		base := b * T * 3 * D
		q := qkv.Data[base+h*dh:]
		k := qkv.Data[base+D+h*dh:]
		v := qkv.Data[base+2*D+h*dh:]
		p := a.probs[bh*T*T : (bh+1)*T*T]
		// S = s·Q·Kᵀ, only where the mask lets it through: row block
		// [i0, i1) needs columns [0, i1).
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(i0+attnBlock, T)
			gemmSerial(false, true, i1-i0, i1, dh, scale, q[i0*3*D:], 3*D, k, 3*D, 0, p[i0*T:], T)
		}
		for i := 0; i < T; i++ {
			row := p[i*T : (i+1)*T]
			m := row[0]
			for _, s := range row[1 : i+1] {
				m = max(m, s)
			}
			vec.ExpShift(row[:i+1], row[:i+1], m)
			var sum float32
			for _, e := range row[:i+1] {
				sum += e
			}
			inv := 1 / sum
			for j := 0; j <= i; j++ {
				row[j] *= inv
			}
			clear(row[i+1:])
		}
		// O = P·V; P is zero right of the diagonal.
		o := a.att.Data[b*T*D+h*dh:]
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(i0+attnBlock, T)
			gemmSerial(false, false, i1-i0, dh, i1, 1, p[i0*T:], T, v, 3*D, 0, o[i0*D:], D)
		}
	}
}

// backwardChunk differentiates attention for pairs lo..hi−1 using chunk
// c's scratch.
func (a *CausalSelfAttention) backwardChunk(c, lo, hi int) {
	T, D, H := a.t, a.Dim, a.Heads
	dh := D / H
	scale := float32(1 / math.Sqrt(float64(dh)))
	qkv := a.qkvOut.Data
	datt := a.datt
	dp := a.dp[c*T*T : (c+1)*T*T]
	for bh := lo; bh < hi; bh++ {
		b, h := bh/H, bh%H
		base := b * T * 3 * D
		q, dq := qkv[base+h*dh:], a.dqkv.Data[base+h*dh:]
		k, dk := qkv[base+D+h*dh:], a.dqkv.Data[base+D+h*dh:]
		v, dv := qkv[base+2*D+h*dh:], a.dqkv.Data[base+2*D+h*dh:]
		do := datt.Data[b*T*D+h*dh:]
		p := a.probs[bh*T*T : (bh+1)*T*T]
		// dP = dO·Vᵀ, dV = Pᵀ·dO
		// (blocks skip the zero upper triangle of P, as in Forward)
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(i0+attnBlock, T)
			gemmSerial(false, true, i1-i0, i1, dh, 1, do[i0*D:], D, v, 3*D, 0, dp[i0*T:], T)
			// dV rows [i0, i1) = P[i0:T, i0:i1]ᵀ·dO[i0:T]
			gemmSerial(true, false, i1-i0, dh, T-i0, 1, p[i0*T+i0:], T, do[i0*D:], D, 0, dv[i0*3*D:], 3*D)
		}
		// dS = P⊙(dP − rowsum(dP⊙P)), in place in dp
		for i := 0; i < T; i++ {
			pr, dr := p[i*T:(i+1)*T], dp[i*T:(i+1)*T]
			var dot float32
			for j := 0; j <= i; j++ {
				dot += pr[j] * dr[j]
			}
			for j := 0; j <= i; j++ {
				dr[j] = pr[j] * (dr[j] - dot)
			}
			clear(dr[i+1:])
		}
		// dQ = s·dS·K, dK = s·dSᵀ·Q
		for i0 := 0; i0 < T; i0 += attnBlock {
			i1 := min(i0+attnBlock, T)
			// dQ rows [i0, i1) = s·dS[i0:i1, 0:i1]·K[0:i1]
			gemmSerial(false, false, i1-i0, dh, i1, scale, dp[i0*T:], T, k, 3*D, 0, dq[i0*3*D:], 3*D)
			// dK rows [i0, i1) = s·dS[i0:T, i0:i1]ᵀ·Q[i0:T]
			gemmSerial(true, false, i1-i0, dh, T-i0, scale, dp[i0*T+i0:], T, q[i0*3*D:], 3*D, 0, dk[i0*3*D:], 3*D)
		}
	}
}

// Params returns Wqkv, bqkv, Wo, bo.
func (a *CausalSelfAttention) Params() []*Param {
	return append(a.QKV.Params(), a.Out.Params()...)
}
