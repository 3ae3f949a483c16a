//go:build !openblas

package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/lrkit/lrkit/train/nn/internal/matmul"
)

// wantBackend is "go-" and the fastest kernel's name, or "go" for the Go
// kernel.
func wantBackend() string {
	if k := matmul.Best().Name; k != "go" {
		return "go-" + k
	}
	return "go"
}

// TestGemmAllocatesNothing: a product split across the worker pool
// allocates nothing once warm.
func TestGemmAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const m, n, k = 128, 256, 200 // split across the pool when GOMAXPROCS > 1
	a, b, c := randTensor(rng, m, k), randTensor(rng, k, n), NewTensor(m, n)
	f := func() { gemm(false, false, m, n, k, 1, a.Data, k, b.Data, n, 0, c.Data, n) }
	f()
	if allocs := testing.AllocsPerRun(20, f); allocs != 0 {
		t.Errorf("%v allocations per product, want 0", allocs)
	}
}
