package matmul

import "unsafe"

// kernelGo is the micro-kernel in Go, for machines without the assembly
// one. It walks the 6×16 tile in 2×4 blocks whose eight sums stay in
// registers over the whole depth (a whole tile of sums would live in
// memory). Each sum is in order of p, as in kernelAVX2, but its
// multiply-adds round twice (Go fuses them only where the target
// architecture always does), so the results differ in the last bits.
func kernelGo(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool) {
	as := unsafe.Slice(a, (mr-1)*ars+(kc-1)*aps+1)
	bp := unsafe.Slice(b, (kc-1)*bs+nr)
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i += 2 {
		a0, a1 := as[i*ars:], as[(i+1)*ars:]
		for j := 0; j < nr; j += 4 {
			var s00, s01, s02, s03, s10, s11, s12, s13 float32
			for p := 0; p < kc; p++ {
				bj := (*[4]float32)(bp[p*bs+j:])
				x, y := a0[p*aps], a1[p*aps]
				s00 += x * bj[0]
				s01 += x * bj[1]
				s02 += x * bj[2]
				s03 += x * bj[3]
				s10 += y * bj[0]
				s11 += y * bj[1]
				s12 += y * bj[2]
				s13 += y * bj[3]
			}
			r0 := (*[4]float32)(cs[i*ldc+j:])
			r1 := (*[4]float32)(cs[(i+1)*ldc+j:])
			if accum {
				r0[0] += alpha * s00
				r0[1] += alpha * s01
				r0[2] += alpha * s02
				r0[3] += alpha * s03
				r1[0] += alpha * s10
				r1[1] += alpha * s11
				r1[2] += alpha * s12
				r1[3] += alpha * s13
			} else {
				r0[0], r0[1], r0[2], r0[3] = alpha*s00, alpha*s01, alpha*s02, alpha*s03
				r1[0], r1[1], r1[2], r1[3] = alpha*s10, alpha*s11, alpha*s12, alpha*s13
			}
		}
	}
}
