package matmul

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkSgemm times the products of the engine benchmark's models
// (bench/engine) with each micro-kernel of this machine and with gonum's
// pure-Go Sgemm (the pure-Go build's product before this package had its
// own), side by side; compare the GFLOP/s of one shape across
// implementations:
//
//	go test -run '^$' -bench Sgemm ./train/nn/internal/matmul
//
// The products the engine splits across cores (parallel) run through a
// pool of GOMAXPROCS goroutines, as in package nn; gonum's Sgemm splits
// them itself.
func BenchmarkSgemm(b *testing.B) {
	pool := newPoolRunner(runtime.GOMAXPROCS(0))
	defer pool.close()
	shapes := []struct {
		name     string
		m, n, k  int
		tA, tB   bool
		parallel bool
	}{
		{"mlp-fc1-fwd", 128, 256, 784, false, false, true},
		{"mlp-fc1-dW", 784, 256, 128, true, false, true},
		{"mlp-fc2-dX", 128, 256, 256, false, true, true},
		{"gpt-qkv-fwd", 4096, 384, 128, false, false, true},
		{"gpt-ff1-dX", 4096, 128, 512, false, true, true},
		{"gpt-ff2-dW", 512, 128, 4096, true, false, true},
		{"gpt-head-fwd", 4096, 73, 128, false, false, true},
		{"gpt-attn-QK", 32, 128, 32, false, true, false},
		{"gpt-attn-dK", 32, 32, 128, true, false, false},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range shapes {
		c := testCase{m: s.m, n: s.n, k: s.k, tA: s.tA, tB: s.tB, alpha: 1}
		a, lda, bb, ldb, cc, ldc := operands(rng, c)
		flops := 2 * float64(s.m*s.n*s.k)
		// GFLOP/s is over wall time; cpu-GFLOP/s over the process's CPU
		// time, which moves less when other processes share the cores.
		var cpu0 time.Duration
		start := func() { cpu0 = cpuTime() }
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOP/s")
			}
		}
		run := Runner(nil)
		if s.parallel {
			run = pool.run
		}
		for _, k := range Kernels() {
			b.Run(fmt.Sprintf("%s/%s", s.name, k.Name), func(b *testing.B) {
				start()
				for b.Loop() {
					Sgemm(k, run, s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, cc, ldc)
				}
				report(b)
			})
		}
		b.Run(s.name+"/gonum", func(b *testing.B) {
			ta, tb := blas.NoTrans, blas.NoTrans
			if s.tA {
				ta = blas.Trans
			}
			if s.tB {
				tb = blas.Trans
			}
			start()
			for b.Loop() {
				gonum.Implementation{}.Sgemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, cc, ldc)
			}
			report(b)
		})
	}
}

// poolRunner is a Runner on long-lived goroutines, like package nn's
// worker pool.
type poolRunner struct {
	tasks chan func()
}

func newPoolRunner(workers int) *poolRunner {
	p := &poolRunner{tasks: make(chan func(), MaxPieces)}
	for range workers {
		go func() {
			for t := range p.tasks {
				t()
			}
		}()
	}
	return p
}

func (p *poolRunner) close() { close(p.tasks) }

func (p *poolRunner) run(chunks, n int, f func(c, lo, hi int)) {
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		p.tasks <- func() {
			defer wg.Done()
			f(c, c*n/chunks, (c+1)*n/chunks)
		}
	}
	f(0, 0, n/chunks)
	wg.Wait()
}
