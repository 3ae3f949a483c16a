//go:build openblas

package nn

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

func wantBackend() string { return "openblas" }

// TestBackendBLAS: the OpenBLAS build routes gonum's blas32 through netlib.
func TestBackendBLAS(t *testing.T) {
	if impl := fmt.Sprintf("%T", blas32.Implementation()); impl != "netlib.Implementation" {
		t.Errorf("blas32 implementation is %s, want netlib.Implementation", impl)
	}
}
