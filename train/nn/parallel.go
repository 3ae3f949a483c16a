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

// ParallelChunks calls f(c, lo, hi) for c = 0..7, the eight ranges that
// split [0, n) into near-equal contiguous parts (some empty if n < 8),
// concurrently when work (an operation count) is at least 65536 and more
// than one CPU is available, else serially in order. f must write disjoint
// outputs per chunk (or per-chunk partial results combined afterwards in
// chunk order) so the result does not depend on the path. Pass a function
// value made once (a stored method value), not a new closure per call, to
// keep the serial path free of allocations.
func ParallelChunks(n, work int, f func(c, lo, hi int)) {
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
