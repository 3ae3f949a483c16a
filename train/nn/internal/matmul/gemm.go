// Package matmul is the float32 matrix product of lrkit's pure-Go build:
// C = alpha·op(A)·op(B) + beta·C on row-major matrices, blocked in the
// manner of GotoBLAS and BLIS (Goto and van de Geijn, "Anatomy of
// high-performance matrix multiplication", ACM TOMS 2008; Van Zee and van
// de Geijn, "BLIS: a framework for rapidly instantiating BLAS
// functionality", ACM TOMS 2015):
//
//	for each column block jc of C (blockN wide)
//	  for each depth block pc (blockK deep)
//	    pack op(B)[pc, jc] into column panels nr wide
//	    for each row block ic of C (blockM high)
//	      (pack op(A)[ic, pc] into row strips mr high when A is transposed)
//	      for each panel jr, for each strip ir
//	        micro-kernel: the mr×nr tile of C += alpha·strip·panel
//
// The micro-kernel keeps its 6×16 tile in registers (12 AVX2 registers of
// 8 lanes, on x86-64 with AVX2 and FMA; a Go kernel elsewhere) and reads a
// non-transposed A in place: strip rows are contiguous, so six row
// pointers stream them and only a partial last strip is copied. Tiles cut
// by the matrix edge go through a scratch tile that receives C's values
// and gives them back, so that they see the same arithmetic as whole
// tiles.
//
// Each element of C is one chain of multiply-adds over a depth block, in
// order of p, followed by C ← C + alpha·chain; the chain does not depend on
// where the element sits in its tile or on how the work is split between
// goroutines, so the result is bit-identical however it is split. The
// kernels differ: the assembly one fuses each multiply-add (one rounding),
// the Go one does not.
//
// The package lives in its own directory because Go does not assemble .s
// files in a package that uses cgo, as package nn does in its OpenBLAS
// build.
package matmul

import (
	"fmt"
	"runtime"
)

const (
	mr     = 6
	nr     = 16
	blockK = 256 // depth block: a 16-wide B panel is 16 KB, in L1
	blockM = 96  // row block (16 strips): a packed A block is 96 KB, in L2
	blockN = 1024
	// parallelWork is the multiply-add count from which a product is split
	// across goroutines (below it the split costs more than it saves).
	parallelWork = 1 << 19
	// smallA is the size of an A (in values) that pieces split along n can
	// all read from cache.
	smallA = 1 << 16
	// A product with at most directM rows reads a non-transposed B in
	// place, and one with at most directN columns a transposed A: each
	// packed value would be used by at most 8 strips or 2 panels, too few
	// to repay the copy (attention's per-head products are of this kind).
	directM = 48
	directN = 32
	// MaxPieces is the most pieces a product is split into: a Runner is
	// called with at most this many chunks.
	MaxPieces = 8
)

// microKernel computes the mr×nr tile
//
//	C[i,j] = alpha·Σ_p A(i,p)·B[p·nr+j]            (accum false)
//	C[i,j] = C[i,j] + alpha·Σ_p A(i,p)·B[p·nr+j]   (accum true)
//
// for p < kc, where A(i,p) is at a + i·ars + p·aps (in elements), row p of
// the B panel (nr values) at b + p·bs (bs = nr when packed) and row i of C
// at c + i·ldc. kc is at least 1.
type microKernel func(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool)

// Kernel is a micro-kernel and its name ("avx2", "go").
type Kernel struct {
	Name string
	kern microKernel
}

// Best returns the fastest kernel this machine runs.
func Best() Kernel { return Kernels()[0] }

// Runner runs f(c, c·n/chunks, (c+1)·n/chunks) for c = 0..chunks−1,
// possibly concurrently, and returns when all are done; chunks is at most
// MaxPieces. f does not call the Runner.
type Runner func(chunks, n int, f func(c, lo, hi int))

// scratch holds one goroutine's packed blocks.
type scratch struct {
	a    []float32 // packed A block, strips of mr rows, blockM×blockK
	b    []float32 // packed B block, panels of nr columns, blockK×blockN at most
	edge []float32 // a partial strip of a non-transposed A, mr×blockK
	tile [mr * nr]float32
}

// free is a free list of scratch blocks shared by all products (a
// sync.Pool would drop them at every GC), and of job descriptors for the
// parallel path, so that a product allocates nothing once warm.
var free struct {
	scratch chan *scratch
	jobs    chan *job
}

func init() {
	free.scratch = make(chan *scratch, 4*MaxPieces)
	free.jobs = make(chan *job, MaxPieces)
}

func getScratch() *scratch {
	select {
	case s := <-free.scratch:
		return s
	default:
		return &scratch{a: make([]float32, blockM*blockK), edge: make([]float32, mr*blockK)}
	}
}

func putScratch(s *scratch) {
	select {
	case free.scratch <- s:
	default:
	}
}

// args are the operands of one product C = alpha·op(A)·op(B) + beta·C.
type args struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
}

// check panics, naming the operand, when a slice is too short for its
// dimensions and leading dimension: the kernel reads memory without bounds
// checks, so this is what stands between a caller's bug and memory
// corruption.
func (g *args) check() {
	if g.m < 0 || g.n < 0 || g.k < 0 {
		panic(fmt.Sprintf("matmul: negative size m=%d n=%d k=%d", g.m, g.n, g.k))
	}
	operand := func(name string, s []float32, rows, cols, ld int) {
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("matmul: %s: leading dimension %d < max(1, %d columns)", name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("matmul: %s: %d elements, want %d for %d×%d with leading dimension %d", name, len(s), (rows-1)*ld+cols, rows, cols, ld))
		}
	}
	ra, ca := g.m, g.k
	if g.tA {
		ra, ca = g.k, g.m
	}
	rb, cb := g.k, g.n
	if g.tB {
		rb, cb = g.n, g.k
	}
	operand("A", g.a, ra, ca, g.lda)
	operand("B", g.b, rb, cb, g.ldb)
	operand("C", g.c, g.m, g.n, g.ldc)
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(A) (A, or Aᵀ when tA) is m×k, op(B) is k×n and C is m×n, with
// leading dimensions (row strides) lda, ldb, ldc. As in BLAS, C is not read
// when beta is 0. A product large enough to be worth splitting is run in
// pieces through run when run is not nil and GOMAXPROCS > 1; with run nil
// it runs on the calling goroutine. A slice too short for its dimensions
// is a programming error and panics.
func Sgemm(kern Kernel, run Runner, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := args{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	g.check()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(&g)
		return
	}
	if run != nil && m*n*k >= parallelWork {
		if procs := runtime.GOMAXPROCS(0); procs > 1 && split(kern.kern, run, &g, procs) {
			return
		}
	}
	s := getScratch()
	s.run(kern.kern, &g)
	putScratch(s)
}

// scaleC sets C = beta·C (C = 0 when beta is 0).
func scaleC(g *args) {
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		switch g.beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= g.beta
			}
		}
	}
}

// job is a product split into pieces along m or n, each piece a
// smaller product run by one worker with its own scratch.
type job struct {
	g      args
	kern   microKernel
	alongN bool // pieces are column ranges (else row ranges)
	fn     func(c, lo, hi int)
}

// split runs g in pieces through run and reports whether it did
// (false when neither dimension has a tile per goroutine).
//
// Pieces along n each read all of A (m·k values, and pack it when A is
// transposed) and pack their own columns of B; pieces along m each pack
// all of B (k·n values) and read their own rows of A. The split goes along
// the dimension that makes the repeated part the smaller one. A piece that
// repeats work is one per goroutine; when the repeated part is an A small
// enough to stay in cache, more pieces balance the load better on a busy
// machine.
func split(kern microKernel, run Runner, g *args, procs int) bool {
	unitsM, unitsN := (g.m+mr-1)/mr, (g.n+nr-1)/nr
	alongN := g.m < g.n
	if alongN && unitsN < procs {
		alongN = false
	} else if !alongN && unitsM < procs {
		alongN = true
	}
	units := unitsM
	if alongN {
		units = unitsN
	}
	if units < procs {
		return false
	}
	pieces := procs
	if alongN && !g.tA && g.m*g.k <= smallA {
		pieces = MaxPieces
	}
	pieces = min(pieces, units, MaxPieces)
	var j *job
	select {
	case j = <-free.jobs:
	default:
		j = new(job)
		j.fn = j.piece
	}
	j.g, j.kern, j.alongN = *g, kern, alongN
	run(pieces, units, j.fn)
	j.g = args{} // drop the operands
	select {
	case free.jobs <- j:
	default:
	}
	return true
}

// piece runs the units lo..hi−1 (tiles of rows or columns) of the job.
func (j *job) piece(_, lo, hi int) {
	if lo >= hi {
		return
	}
	g := j.g
	if j.alongN {
		c0, c1 := lo*nr, min(hi*nr, g.n)
		g.n = c1 - c0
		g.c = g.c[c0:]
		if g.tB {
			g.b = g.b[c0*g.ldb:]
		} else {
			g.b = g.b[c0:]
		}
	} else {
		r0, r1 := lo*mr, min(hi*mr, g.m)
		g.m = r1 - r0
		g.c = g.c[r0*g.ldc:]
		if g.tA {
			g.a = g.a[r0:]
		} else {
			g.a = g.a[r0*g.lda:]
		}
	}
	s := getScratch()
	s.run(j.kern, &g)
	putScratch(s)
}

// run computes the product serially; k > 0 and m, n > 0.
func (s *scratch) run(kern microKernel, g *args) {
	if g.beta != 0 && g.beta != 1 {
		scaleC(g)
	}
	directB := !g.tB && g.m <= directM
	directA := g.tA && g.n <= directN
	for jc := 0; jc < g.n; jc += blockN {
		nc := min(blockN, g.n-jc)
		for pc := 0; pc < g.k; pc += blockK {
			kc := min(blockK, g.k-pc)
			s.packB(g, pc, jc, kc, nc, directB)
			accum := pc > 0 || g.beta != 0
			for ic := 0; ic < g.m; ic += blockM {
				mc := min(blockM, g.m-ic)
				s.block(kern, g, ic, pc, jc, mc, kc, nc, accum, directB, directA)
			}
		}
	}
}

// block multiplies the row block [ic, ic+mc) of op(A) at depth [pc, pc+kc)
// by the B block into C's columns [jc, jc+nc). With directB, whole panels
// of B are read in place (only a partial last panel was packed); with
// directA, whole strips of a transposed A are.
func (s *scratch) block(kern microKernel, g *args, ic, pc, jc, mc, kc, nc int, accum, directB, directA bool) {
	full := mc - mc%mr // rows in whole strips
	switch {
	case g.tA:
		s.packA(g, ic, pc, mc, kc, directA)
	case full < mc:
		s.packEdgeA(g, ic+full, pc, mc-full, kc)
	}
	for jr := 0; jr < nc; jr += nr {
		nw := min(nr, nc-jr)
		bp, bs := &s.b[jr*kc], nr
		if directB && nw == nr {
			bp, bs = &g.b[pc*g.ldb+jc+jr], g.ldb
		}
		for ir := 0; ir < mc; ir += mr {
			mh := min(mr, mc-ir)
			var ap *float32
			var ars, aps int
			switch {
			case g.tA && directA && ir < full:
				ap, ars, aps = &g.a[pc*g.lda+ic+ir], 1, g.lda
			case g.tA:
				ap, ars, aps = &s.a[ir*kc], 1, mr
			case ir < full:
				ap, ars, aps = &g.a[(ic+ir)*g.lda+pc], g.lda, 1
			default:
				ap, ars, aps = &s.edge[0], 1, mr
			}
			ci := (ic+ir)*g.ldc + jc + jr
			if mh == mr && nw == nr {
				kern(kc, ap, ars, aps, bp, bs, &g.c[ci], g.ldc, g.alpha, accum)
				continue
			}
			t := s.tile[:]
			if accum {
				for i := 0; i < mh; i++ {
					copy(t[i*nr:i*nr+nw], g.c[ci+i*g.ldc:])
				}
			}
			kern(kc, ap, ars, aps, bp, bs, &t[0], nr, g.alpha, accum)
			for i := 0; i < mh; i++ {
				copy(g.c[ci+i*g.ldc:ci+i*g.ldc+nw], t[i*nr:])
			}
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into panels of nr columns:
// panel q holds element (p, j) at q·kc·nr + p·nr + j, zero past
// the last column. With direct, only a partial last panel is packed.
func (s *scratch) packB(g *args, pc, jc, kc, nc int, direct bool) {
	panels := (nc + nr - 1) / nr
	if need := panels * kc * nr; cap(s.b) >= need {
		s.b = s.b[:need]
	} else {
		s.b = make([]float32, need)
	}
	for q := 0; q < panels; q++ {
		dst := s.b[q*kc*nr : (q+1)*kc*nr]
		j0 := jc + q*nr
		nw := min(nr, jc+nc-j0)
		if direct && nw == nr {
			continue
		}
		if nw < nr {
			clear(dst)
		}
		if !g.tB {
			if nw < nr {
				for p := 0; p < kc; p++ {
					copy(dst[p*nr:p*nr+nw], g.b[(pc+p)*g.ldb+j0:])
				}
				continue
			}
			for p := 0; p < kc; p++ {
				*(*[nr]float32)(dst[p*nr:]) = *(*[nr]float32)(g.b[(pc+p)*g.ldb+j0:])
			}
			continue
		}
		// Four rows of B (columns of op(B)) at a time, written as four
		// adjacent values of each panel row.
		j := 0
		for ; j+4 <= nw; j += 4 {
			at := (j0+j)*g.ldb + pc
			r0 := g.b[at : at+kc]
			r1 := g.b[at+g.ldb : at+g.ldb+kc]
			r2 := g.b[at+2*g.ldb : at+2*g.ldb+kc]
			r3 := g.b[at+3*g.ldb : at+3*g.ldb+kc]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
			for p, v := range r0 {
				d := (*[4]float32)(dst[p*nr+j:])
				d[0], d[1], d[2], d[3] = v, r1[p], r2[p], r3[p]
			}
		}
		for ; j < nw; j++ {
			src := g.b[(j0+j)*g.ldb+pc : (j0+j)*g.ldb+pc+kc]
			for p, v := range src {
				dst[p*nr+j] = v
			}
		}
	}
}

// packA copies the transposed A's block op(A)[ic:ic+mc, pc:pc+kc] into
// strips of mr rows: strip r holds element (i, p) at r·kc·mr +
// p·mr + i, zero past the last row. With direct, only a partial last
// strip is packed.
func (s *scratch) packA(g *args, ic, pc, mc, kc int, direct bool) {
	full := mc - mc%mr
	for p := 0; p < kc && !direct; p++ {
		// Row p of A holds column p of op(A): read it once, left to right.
		src := g.a[(pc+p)*g.lda+ic : (pc+p)*g.lda+ic+mc]
		for ir := 0; ir < full; ir += mr {
			// Element by element: an array copy here compiles to a call
			// of memmove, which costs more than the six moves.
			d, v := (*[mr]float32)(s.a[ir*kc+p*mr:]), (*[mr]float32)(src[ir:])
			d[0], d[1], d[2], d[3], d[4], d[5] = v[0], v[1], v[2], v[3], v[4], v[5]
		}
	}
	if full < mc {
		dst := s.a[full*kc : full*kc+kc*mr]
		clear(dst)
		for p := 0; p < kc; p++ {
			copy(dst[p*mr:p*mr+mc-full], g.a[(pc+p)*g.lda+ic+full:])
		}
	}
}

// packEdgeA copies mh < mr rows of a non-transposed A, starting at
// row i0, into the edge strip (layout as in packA).
func (s *scratch) packEdgeA(g *args, i0, pc, mh, kc int) {
	dst := s.edge[:kc*mr]
	clear(dst)
	for i := 0; i < mh; i++ {
		src := g.a[(i0+i)*g.lda+pc : (i0+i)*g.lda+pc+kc]
		for p, v := range src {
			dst[p*mr+i] = v
		}
	}
}
