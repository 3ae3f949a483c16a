//go:build !purego

package vec

import "golang.org/x/sys/cpu"

// haveAVX2 selects the assembly loops (x/sys/cpu reports AVX2 only when
// the OS saves the YMM registers).
var haveAVX2 = cpu.X86.HasAVX2

// geluAVX2 is GELU on x[0:n], y[0:n], d[0:n] for n a multiple of 8.
//
//go:noescape
func geluAVX2(x, y, d *float32, n int)

// expShiftAVX2 is ExpShift on n values, n a multiple of 8.
//
//go:noescape
func expShiftAVX2(dst, src *float32, shift float32, n int)
