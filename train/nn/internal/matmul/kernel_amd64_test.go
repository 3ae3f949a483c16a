//go:build !purego

package matmul

import (
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestKernelSelection: on a machine with AVX2 and FMA the AVX2 kernel
// comes first; without them it is not offered, and SSE comes first.
func TestKernelSelection(t *testing.T) {
	var names []string
	for _, k := range Kernels() {
		names = append(names, k.Name)
	}
	want := []string{"sse", "go"}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		want = []string{"avx2", "sse", "go"}
	}
	if !slices.Equal(names, want) {
		t.Errorf("kernels %v, want %v", names, want)
	}
}
