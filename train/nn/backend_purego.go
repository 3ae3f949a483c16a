//go:build !openblas

package nn

import "github.com/lrkit/lrkit/train/nn/internal/matmul"

// The pure-Go build's float32 products run on package matmul's blocked
// product with the fastest micro-kernel the machine has.
var gemmKernel = matmul.Best()

// Backend names the implementation of the matrix products: "go-avx2" (the
// pure-Go build on an x86-64 machine with AVX2 and FMA: assembly
// micro-kernel), "go" (the pure-Go build elsewhere) or "openblas" (the
// build tag openblas, cgo).
func Backend() string {
	if gemmKernel.Name == "go" {
		return "go"
	}
	return "go-" + gemmKernel.Name
}

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(A) is m×k, op(B) is k×n and C is m×n, splitting large products
// across the worker pool. It must not be called from inside a
// ParallelChunks function; use gemmSerial there.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	matmul.Sgemm(gemmKernel, runChunks, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSerial is gemm on the calling goroutine alone.
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	matmul.Sgemm(gemmKernel, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
