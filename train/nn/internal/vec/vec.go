// Package vec holds package nn's element-wise loops that the profile of a
// training step puts in the hot path, in Go and, on x86-64 with AVX2, in
// assembly that computes the same operations in the same order, eight
// lanes at a time, so that both give the same bits (where the Go compiler
// does not fuse multiply-adds, below GOAMD64=v3). Like package matmul it
// is apart from nn because nn's OpenBLAS build uses cgo, and Go does not
// assemble .s files in such a package.
package vec

// geluC is √(2/π).
const geluC = 0.7978845608028654

// GELU sets, for i < len(x), y[i] to the tanh-approximate GELU of x[i]
//
//	y = ½·x·(1 + tanh u),  u = c·(x + 0.044715·x³),  c = √(2/π)
//
// and d[i] to its derivative ½(1 + tanh u) + ½·x·(1 − tanh² u)·c·(1 +
// 3·0.044715·x²). tanh u is 1 − 2/(e^{2u} + 1) with Exp32, which saturates
// to 0 or +Inf and so gives ∓1 exactly. d may be x itself (each x[i] is
// read before d[i] is written); y and d must hold len(x) values.
func GELU(x, y, d []float32) {
	y, d = y[:len(x)], d[:len(x)]
	n := 0
	if haveAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			geluAVX2(&x[0], &y[0], &d[0], n)
		}
	}
	geluGo(x[n:], y[n:], d[n:])
}

// geluGo is GELU in Go.
func geluGo(x, y, d []float32) {
	y, d = y[:len(x)], d[:len(x)]
	for i, v := range x {
		u := geluC * (v + 0.044715*v*v*v)
		t := 1 - 2/(Exp32(2*u)+1)
		y[i] = 0.5 * v * (1 + t)
		d[i] = 0.5*(1+t) + 0.5*v*(1-t*t)*geluC*(1+3*0.044715*v*v)
	}
}

// ExpShift sets dst[i] = Exp32(src[i] − shift) for i < len(src); dst may
// be src.
func ExpShift(dst, src []float32, shift float32) {
	dst = dst[:len(src)]
	n := 0
	if haveAVX2 {
		n = len(src) &^ 7
		if n > 0 {
			expShiftAVX2(&dst[0], &src[0], shift, n)
		}
	}
	for i, v := range src[n:] {
		dst[n+i] = Exp32(v - shift)
	}
}
