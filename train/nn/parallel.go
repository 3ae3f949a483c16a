package nn

import (
	"runtime"
	"sync"
)

// Work splitting for the elementwise and per-head kernels. Work is cut into
// a fixed number of chunks that does not depend on the machine; chunks
// write disjoint outputs, and any per-chunk partial sums are combined in
// chunk order, so results are bit-identical whether chunks run serially or
// on any number of goroutines. Small jobs run serially (no goroutines, no
// allocation).
const (
	numChunks       = 8
	minParallelWork = 1 << 16 // scalar operations below which a job runs serially
)

// parallelChunks calls f(c, lo, hi) for the numChunks ranges that split
// [0, n) into near-equal contiguous parts (some empty if n < numChunks),
// concurrently when work (an operation count) is large and more than one
// CPU is available.
func parallelChunks(n, work int, f func(c, lo, hi int)) {
	if work < minParallelWork || runtime.GOMAXPROCS(0) == 1 || n < 2 {
		for c := 0; c < numChunks; c++ {
			f(c, c*n/numChunks, (c+1)*n/numChunks)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(numChunks)
	for c := 0; c < numChunks; c++ {
		go func(c int) {
			defer wg.Done()
			f(c, c*n/numChunks, (c+1)*n/numChunks)
		}(c)
	}
	wg.Wait()
}
