//go:build amd64 && !purego && !amd64.v3

package matmul

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSSEMatchesGo: the SSE kernel rounds each product and each sum
// separately, in the Go kernel's order, so the two agree bit for bit
// (where the Go compiler does not fuse multiply-adds, below GOAMD64=v3).
func TestSSEMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, c := range []testCase{
		{m: 13, n: 37, k: 300, alpha: 1, beta: 1},
		{m: 50, n: 20, k: 7, tA: true, alpha: -0.5, beta: 0},
		{m: 9, n: 40, k: 600, tB: true, alpha: 2, beta: 0.5, pad: 2},
	} {
		a, lda, b, ldb, c0, ldc := operands(rng, c)
		want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
		Sgemm(Kernel{"go", kernelGo}, nil, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc)
		Sgemm(Kernel{"sse", kernelSSE}, nil, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: C[%d] = %v with SSE, %v with Go", c, i, got[i], want[i])
			}
		}
	}
}
