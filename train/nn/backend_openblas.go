//go:build openblas

package nn

// #cgo LDFLAGS: -lopenblas
import "C"

import (
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

// Backend names the BLAS implementation the kernels run on: "gonum" (pure
// Go, the default build) or "openblas" (the build tag openblas, cgo).
func Backend() string { return "openblas" }
