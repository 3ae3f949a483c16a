package nn

import (
	"math/rand/v2"
	"testing"
)

// TestBackend checks that the build's matrix product is the one Backend
// names and that gemm through it agrees with a plain triple loop.
func TestBackend(t *testing.T) {
	if got, want := Backend(), wantBackend(); got != want {
		t.Fatalf("Backend() = %q, want %q in this build", got, want)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	const m, n, k = 70, 130, 90 // large enough for the parallel path
	a, b := randTensor(rng, m, k), randTensor(rng, k, n)
	c := NewTensor(m, n)
	gemm(false, false, m, n, k, 1, a.Data, k, b.Data, n, 0, c.Data, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += float64(a.Data[i*k+l]) * float64(b.Data[l*n+j])
			}
			if d := float64(c.Data[i*n+j]) - s; d > 1e-4 || d < -1e-4 {
				t.Fatalf("C[%d,%d] = %v, want %v", i, j, c.Data[i*n+j], s)
			}
		}
	}
}

// TestGemmDeterministic: repeated products are bit-identical (every
// output element is computed by one goroutine in a fixed order).
func TestGemmDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const m, n, k = 300, 260, 500
	a, b := randTensor(rng, m, k), randTensor(rng, k, n)
	ref := NewTensor(m, n)
	gemm(false, true, m, n, k, 1, a.Data, k, b.Data, k, 0, ref.Data, n)
	for r := 0; r < 5; r++ {
		c := NewTensor(m, n)
		gemm(false, true, m, n, k, 1, a.Data, k, b.Data, k, 0, c.Data, n)
		for i := range c.Data {
			if c.Data[i] != ref.Data[i] {
				t.Fatalf("repeat %d: element %d is %v, first run %v", r, i, c.Data[i], ref.Data[i])
			}
		}
	}
}
