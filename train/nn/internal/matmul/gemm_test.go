package matmul

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testCase is one product for the tests: sizes, transposes, scalars and
// the padding of the leading dimensions beyond the columns.
type testCase struct {
	m, n, k     int
	tA, tB      bool
	alpha, beta float32
	pad         int
}

// goRunner runs the chunks on goroutines of their own.
func goRunner(chunks, n int, f func(c, lo, hi int)) {
	var wg sync.WaitGroup
	for c := 1; c < chunks; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(c, c*n/chunks, (c+1)*n/chunks)
		}()
	}
	f(0, 0, n/chunks)
	wg.Wait()
}

// serialRunner runs the chunks in order on the calling goroutine.
func serialRunner(chunks, n int, f func(c, lo, hi int)) {
	for c := 0; c < chunks; c++ {
		f(c, c*n/chunks, (c+1)*n/chunks)
	}
}

// runner returns goRunner for the parallel path, nil for the serial one.
func runner(parallel bool) Runner {
	if parallel {
		return goRunner
	}
	return nil
}

func (c testCase) String() string {
	return fmt.Sprintf("%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g/pad=%d", c.m, c.n, c.k, c.tA, c.tB, c.alpha, c.beta, c.pad)
}

// operands makes random A, B and C for c, with leading dimensions
// padded by c.pad; C's padding holds a sentinel the product must not touch.
func operands(rng *rand.Rand, c testCase) (a []float32, lda int, b []float32, ldb int, cc []float32, ldc int) {
	ra, ca := c.m, c.k
	if c.tA {
		ra, ca = c.k, c.m
	}
	rb, cb := c.k, c.n
	if c.tB {
		rb, cb = c.n, c.k
	}
	lda, ldb, ldc = max(ca, 1)+c.pad, max(cb, 1)+c.pad, max(c.n, 1)+c.pad
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	a, b, cc = fill(max(ra*lda, 1)), fill(max(rb*ldb, 1)), fill(c.m*ldc)
	for i := 0; i < c.m; i++ {
		for j := c.n; j < ldc; j++ {
			cc[i*ldc+j] = 12345
		}
	}
	return a, lda, b, ldb, cc, ldc
}

// reference returns alpha·op(A)·op(B) + beta·C in float64 and a bound
// on float32 rounding error per element: (k+2)·2⁻²⁴ times the sum of the
// magnitudes of the terms, which holds for any order of summation.
func reference(c testCase, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int) (want, tol []float64) {
	want, tol = make([]float64, c.m*c.n), make([]float64, c.m*c.n)
	u := math.Ldexp(1, -24) * float64(c.k+2)
	for i := 0; i < c.m; i++ {
		for j := 0; j < c.n; j++ {
			var s, abs float64
			for p := 0; p < c.k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if c.tA {
					ai = p*lda + i
				}
				if c.tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
				abs += math.Abs(float64(av) * float64(bv))
			}
			w := float64(c.alpha) * s
			mag := math.Abs(float64(c.alpha)) * abs
			if c.beta != 0 {
				w += float64(c.beta) * float64(c0[i*ldc+j])
				mag += math.Abs(float64(c.beta) * float64(c0[i*ldc+j]))
			}
			want[i*c.n+j], tol[i*c.n+j] = w, u*mag+1e-30
		}
	}
	return want, tol
}

func cases() []testCase {
	var cs []testCase
	// Small and odd shapes with every transpose, scalar and padding.
	for _, s := range [][3]int{{1, 1, 1}, {1, 17, 1}, {5, 1, 3}, {6, 16, 1}, {7, 17, 2}, {6, 16, 9}, {12, 32, 5}, {13, 33, 31}, {2, 100, 7}, {40, 3, 20}} {
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, sc := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.75}, {2, 0}} {
				for _, pad := range []int{0, 3} {
					cs = append(cs, testCase{s[0], s[1], s[2], tr[0], tr[1], sc[0], sc[1], pad})
				}
			}
		}
	}
	// Shapes crossing the depth, row and column blocks (blockK = 256,
	// blockM = 96, blockN = 1024), large enough for the parallel path.
	for _, s := range [][3]int{{7, 9, 257}, {97, 33, 300}, {100, 130, 90}, {13, 1030, 5}, {200, 40, 513}, {4, 300, 600}} {
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			cs = append(cs, testCase{s[0], s[1], s[2], tr[0], tr[1], 1, 0, 1}, testCase{s[0], s[1], s[2], tr[0], tr[1], -0.5, 0.75, 0})
		}
	}
	return cs
}

// TestSgemmMatchesReference checks every kernel, serial and parallel,
// against a float64 triple loop within the rounding bound, and that the
// padding of C is untouched.
func TestSgemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range cases() {
		a, lda, b, ldb, c0, ldc := operands(rng, c)
		want, tol := reference(c, a, lda, b, ldb, c0, ldc)
		for _, kern := range Kernels() {
			for _, par := range []bool{false, true} {
				got := slices.Clone(c0)
				Sgemm(kern, runner(par), c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
				for i := 0; i < c.m; i++ {
					for j := 0; j < ldc; j++ {
						g := got[i*ldc+j]
						if j >= c.n {
							if g != 12345 {
								t.Fatalf("%v %s parallel=%v: C padding [%d,%d] changed to %v", c, kern.Name, par, i, j, g)
							}
							continue
						}
						if d := math.Abs(float64(g) - want[i*c.n+j]); !(d <= tol[i*c.n+j]) {
							t.Fatalf("%v %s parallel=%v: C[%d,%d] = %v, want %v ± %.3g", c, kern.Name, par, i, j, g, want[i*c.n+j], tol[i*c.n+j])
						}
					}
				}
			}
		}
	}
}

// TestSgemmBetaZeroIgnoresC: with beta 0, C is overwritten, not read, so
// NaN or Inf there does not leak into the result (as in BLAS); with k = 0
// or alpha = 0, C is only scaled by beta.
func TestSgemmBetaZeroIgnoresC(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	nan := float32(math.NaN())
	for _, kern := range Kernels() {
		for _, c := range []testCase{{m: 7, n: 19, k: 300, alpha: 1}, {m: 6, n: 16, k: 4, alpha: 1}} {
			a, lda, b, ldb, _, ldc := operands(rng, c)
			cc := make([]float32, c.m*ldc)
			for i := range cc {
				cc[i] = nan
			}
			Sgemm(kern, nil, false, false, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, cc, ldc)
			for i, v := range cc {
				if v != v {
					t.Fatalf("%s %v: C[%d] is NaN with beta 0", kern.Name, c, i)
				}
			}
		}
		cc := []float32{1, 2, nan, 4}
		Sgemm(kern, nil, false, false, 2, 2, 0, 1, nil, 1, nil, 2, 3, cc, 2)
		if cc[0] != 3 || cc[1] != 6 || cc[3] != 12 || cc[2] == cc[2] {
			t.Errorf("%s: k = 0, beta 3: C = %v, want [3 6 NaN 12]", kern.Name, cc)
		}
		cc = []float32{1, 2, nan, 4}
		Sgemm(kern, nil, false, false, 2, 2, 1, 0, []float32{nan, nan}, 1, []float32{1, 1}, 2, 0, cc, 2)
		if !slices.Equal(cc, []float32{0, 0, 0, 0}) {
			t.Errorf("%s: alpha 0, beta 0: C = %v, want zeros", kern.Name, cc)
		}
	}
}

// TestSgemmSplitIsBitIdentical: the parallel split, at any GOMAXPROCS,
// gives the serial result bit for bit, for every split the heuristics
// choose (along m or n, transposed or not).
func TestSgemmSplitIsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, c := range []testCase{
		{m: 301, n: 259, k: 130, alpha: 1, beta: 1},           // along n, A in place
		{m: 301, n: 259, k: 130, tA: true, alpha: 1, beta: 1}, // along n or m, A packed
		{m: 1000, n: 20, k: 100, tB: true, alpha: 0.5},        // along m
		{m: 40, n: 700, k: 300, tA: true, tB: true, alpha: 1}, // along n, A packed by each piece
	} {
		a, lda, b, ldb, c0, ldc := operands(rng, c)
		for _, kern := range Kernels() {
			ref := slices.Clone(c0)
			Sgemm(kern, nil, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, ref, ldc)
			for _, procs := range []int{2, 3, 5} {
				prev := runtime.GOMAXPROCS(procs)
				got := slices.Clone(c0)
				Sgemm(kern, goRunner, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
				runtime.GOMAXPROCS(prev)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%v %s GOMAXPROCS %d: C[%d] = %v, serial %v", c, kern.Name, procs, i, got[i], ref[i])
					}
				}
			}
		}
	}
}

// TestSgemmRejectsShortOperands: a slice too short for its dimensions
// panics with a message naming the operand, before the kernel reads
// memory.
func TestSgemmRejectsShortOperands(t *testing.T) {
	k := Best()
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"short A", func() {
			Sgemm(k, nil, false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
			"matmul: A: 3 elements, want 4 for 2×2 with leading dimension 2"},
		{"short transposed B", func() {
			Sgemm(k, nil, false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3)
		}, "matmul: B: 5 elements, want 6 for 3×2 with leading dimension 2"},
		{"short C", func() {
			Sgemm(k, nil, false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 4), 3)
		},
			"matmul: C: 4 elements, want 5 for 2×2 with leading dimension 3"},
		{"small leading dimension", func() {
			Sgemm(k, nil, true, false, 2, 2, 3, 1, make([]float32, 6), 1, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}, "matmul: A: leading dimension 1 < max(1, 2 columns)"},
		{"negative size", func() { Sgemm(k, nil, false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
			"matmul: negative size m=-1 n=2 k=2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.want) {
					t.Errorf("panic %v, want %q", r, c.want)
				}
			}()
			c.call()
		})
	}
}

// TestSgemmAllocatesNothing: once warm, a product takes its scratch and
// job from the free lists, serial or parallel.
func TestSgemmAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	c := testCase{m: 128, n: 256, k: 200, alpha: 1}
	a, lda, b, ldb, cc, ldc := operands(rng, c)
	kern := Best()
	for _, par := range []bool{false, true} {
		run := Runner(nil)
		if par {
			run = serialRunner
		}
		f := func() { Sgemm(kern, run, false, false, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, cc, ldc) }
		f()
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("parallel=%v: %v allocations per product, want 0", par, n)
		}
	}
}

// FuzzSgemm checks random shapes, transposes, scalars and paddings against
// the float64 reference, with every kernel, serial and split:
//
//	go test -run '^$' -fuzz FuzzSgemm -fuzztime 1m ./train/nn/internal/matmul
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint16(300), false, true, uint8(1), int8(-2), int8(3), uint64(1))
	f.Add(uint8(1), uint8(1), uint16(0), true, false, uint8(0), int8(2), int8(0), uint64(2))
	f.Add(uint8(97), uint8(33), uint16(257), true, true, uint8(3), int8(1), int8(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, tA, tB bool, pad uint8, alpha, beta int8, seed uint64) {
		c := testCase{m: int(m), n: int(n), k: int(k % 600), tA: tA, tB: tB,
			alpha: float32(alpha) / 4, beta: float32(beta) / 4, pad: int(pad % 5)}
		a, lda, b, ldb, c0, ldc := operands(rand.New(rand.NewPCG(seed, 1)), c)
		want, tol := reference(c, a, lda, b, ldb, c0, ldc)
		for _, kern := range Kernels() {
			for _, run := range []Runner{nil, goRunner} {
				got := slices.Clone(c0)
				Sgemm(kern, run, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
				for i := 0; i < c.m; i++ {
					for j := 0; j < ldc; j++ {
						g := got[i*ldc+j]
						if j >= c.n {
							if g != 12345 {
								t.Fatalf("%v %s: C padding [%d,%d] changed to %v", c, kern.Name, i, j, g)
							}
							continue
						}
						if d := math.Abs(float64(g) - want[i*c.n+j]); !(d <= tol[i*c.n+j]) {
							t.Fatalf("%v %s: C[%d,%d] = %v, want %v ± %.3g", c, kern.Name, i, j, g, want[i*c.n+j], tol[i*c.n+j])
						}
					}
				}
			}
		}
	})
}
