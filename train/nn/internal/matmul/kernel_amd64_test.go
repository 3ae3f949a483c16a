//go:build !purego

package matmul

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestKernelSelection: on a machine with AVX2 and FMA the assembly kernel
// comes first; without them it is not offered.
func TestKernelSelection(t *testing.T) {
	ks := Kernels()
	has := cpu.X86.HasAVX2 && cpu.X86.HasFMA
	if got := ks[0].Name == "avx2"; got != has {
		t.Errorf("AVX2+FMA %v, but the first kernel is %q", has, ks[0].Name)
	}
}
