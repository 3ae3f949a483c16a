//go:build !amd64 || purego

package vec

const haveAVX2 = false

func geluAVX2(x, y, d *float32, n int) { panic("vec: no AVX2 loops in this build") }

func expShiftAVX2(dst, src *float32, shift float32, n int) {
	panic("vec: no AVX2 loops in this build")
}
