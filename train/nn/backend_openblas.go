//go:build openblas

package nn

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

func init() {
	// Route gonum's BLAS through OpenBLAS (cgo); the link flag above makes
	// a plain `go build -tags openblas` work without CGO_LDFLAGS.
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}

// Backend names the implementation of the matrix products: "go-avx2" (the
// pure-Go build on an x86-64 machine with AVX2 and FMA: assembly
// micro-kernel), "go" (the pure-Go build elsewhere) or "openblas" (the
// build tag openblas, cgo).
func Backend() string { return "openblas" }

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(A) is m×k, op(B) is k×n and C is m×n, through OpenBLAS.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSerial is gemm; OpenBLAS manages its own threads.
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
