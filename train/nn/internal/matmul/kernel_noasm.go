//go:build !amd64 || purego

package matmul

// Kernels lists the micro-kernels this machine can run, fastest
// first, by name: without assembly, the Go one.
func Kernels() []Kernel { return []Kernel{{"go", kernelGo}} }
