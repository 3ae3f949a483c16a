//go:build !purego

package matmul

import "golang.org/x/sys/cpu"

// kernelAVX2 is the micro-kernel in AVX2 and FMA assembly
// (kernel_amd64.s).
//
//go:noescape
func kernelAVX2(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool)

// kernelSSE is the micro-kernel in SSE assembly, for x86-64 machines
// without AVX2 and FMA.
//
//go:noescape
func kernelSSE(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool)

// Kernels lists the micro-kernels this machine can run, fastest
// first, by name.
func Kernels() []Kernel {
	ks := []Kernel{{"sse", kernelSSE}, {"go", kernelGo}}
	// x/sys/cpu reports AVX2 only when the OS saves the YMM registers.
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append([]Kernel{{"avx2", kernelAVX2}}, ks...)
	}
	return ks
}
