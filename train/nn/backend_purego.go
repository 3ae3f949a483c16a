//go:build !openblas

package nn

// Backend names the BLAS implementation the kernels run on: "gonum" (pure
// Go, the default build) or "openblas" (the build tag openblas, cgo).
func Backend() string { return "gonum" }
