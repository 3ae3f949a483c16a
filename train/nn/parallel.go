package nn

import (
	"runtime"
	"sync"
)

// Work splitting for the elementwise and per-head kernels. Work is cut into
// a fixed number of chunks that does not depend on the machine; chunks
// write disjoint outputs, and any per-chunk partial sums are combined in
// chunk order, so results are bit-identical whether chunks run serially or
// on any number of goroutines. Small jobs run serially.
const (
	numChunks       = 8
	minParallelWork = 1 << 16 // scalar operations below which a job runs serially
)

// chunkTask is one chunk sent to a worker.
type chunkTask struct {
	f         func(c, lo, hi int)
	c, lo, hi int
	wg        *sync.WaitGroup
}

// workers is a process-wide pool of GOMAXPROCS goroutines, started on the
// first parallel job, that run chunks. It holds no data between jobs;
// sending tasks by value and recycling WaitGroups keeps a parallel job
// free of allocations, which a goroutine per chunk is not.
var workers struct {
	once  sync.Once
	tasks chan chunkTask
	wgs   chan *sync.WaitGroup // free list (a sync.Pool would drop them at GC)
}

func startWorkers() {
	n := runtime.GOMAXPROCS(0)
	workers.tasks = make(chan chunkTask, numChunks*n)
	workers.wgs = make(chan *sync.WaitGroup, 64)
	for i := 0; i < n; i++ {
		go func() {
			for t := range workers.tasks {
				t.f(t.c, t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
}

// ParallelChunks calls f(c, lo, hi) for c = 0..7, the eight ranges that
// split [0, n) into near-equal contiguous parts (some empty if n < 8),
// concurrently when work (an operation count) is at least 65536 and more
// than one CPU is available, else serially in order. f must write disjoint
// outputs per chunk (or per-chunk partial results combined afterwards in
// chunk order) so the result does not depend on the path, and must not
// call ParallelChunks itself. Pass a function value made once (a stored
// method value), not a new closure per call, so that a call allocates
// nothing.
func ParallelChunks(n, work int, f func(c, lo, hi int)) {
	if work < minParallelWork || runtime.GOMAXPROCS(0) == 1 || n < 2 {
		for c := 0; c < numChunks; c++ {
			f(c, c*n/numChunks, (c+1)*n/numChunks)
		}
		return
	}
	runChunks(numChunks, n, f)
}

// runChunks calls f(c, c·n/chunks, (c+1)·n/chunks) for c = 0..chunks−1 on
// the worker pool, the caller taking chunk 0, and returns when all are
// done (chunks ≥ 1). It is the Runner of package matmul's products.
func runChunks(chunks, n int, f func(c, lo, hi int)) {
	workers.once.Do(startWorkers)
	var wg *sync.WaitGroup
	select {
	case wg = <-workers.wgs:
	default:
		wg = new(sync.WaitGroup)
	}
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		workers.tasks <- chunkTask{f: f, c: c, lo: c * n / chunks, hi: (c + 1) * n / chunks, wg: wg}
	}
	f(0, 0, n/chunks) // the caller takes chunk 0
	wg.Wait()
	select {
	case workers.wgs <- wg:
	default:
	}
}
