//go:build !purego

#include "textflag.h"

// func kernelAVX2(kc int, a *float32, ars, aps int, b *float32, c *float32, ldc int, alpha float32, accum bool)
//
// The 6×16 micro-kernel (see microKernel in gemm.go). Registers:
//
//	Y4..Y15  the tile, row i in Y(4+2i) (columns 0-7) and Y(5+2i) (8-15)
//	Y0, Y1   the panel's row p (16 values of B)
//	Y2, Y3   A(i, p) broadcast
//	R10      A(0, p); R11 = A(3, p); R9 = the row stride of A in bytes
//	R12      the depth stride of A in bytes
//	DI       the panel's row p; CX the steps left
//	DX, R13  rows 0 and 3 of C; R8 = the row stride of C in bytes
TEXT ·kernelAVX2(SB), NOSPLIT, $0-61
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), R10
	MOVQ ars+16(FP), R9
	SHLQ $2, R9
	MOVQ aps+24(FP), R12
	SHLQ $2, R12
	MOVQ b+32(FP), DI
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	SHLQ $2, R8
	LEAQ (R10)(R9*2), R11
	ADDQ R9, R11

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

loop:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (R10), Y2
	VBROADCASTSS (R10)(R9*1), Y3
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS (R10)(R9*2), Y2
	VBROADCASTSS (R11), Y3
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS (R11)(R9*1), Y2
	VBROADCASTSS (R11)(R9*2), Y3
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         R12, R10
	ADDQ         R12, R11
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

	VBROADCASTSS alpha+56(FP), Y0
	LEAQ         (DX)(R8*2), R13
	ADDQ         R8, R13
	CMPB         accum+60(FP), $0
	JEQ          overwrite

	// C ← C + alpha·tile, one rounding per element.
	VMOVUPS     (DX), Y1
	VMOVUPS     32(DX), Y2
	VFMADD231PS Y0, Y4, Y1
	VFMADD231PS Y0, Y5, Y2
	VMOVUPS     Y1, (DX)
	VMOVUPS     Y2, 32(DX)
	VMOVUPS     (DX)(R8*1), Y1
	VMOVUPS     32(DX)(R8*1), Y2
	VFMADD231PS Y0, Y6, Y1
	VFMADD231PS Y0, Y7, Y2
	VMOVUPS     Y1, (DX)(R8*1)
	VMOVUPS     Y2, 32(DX)(R8*1)
	VMOVUPS     (DX)(R8*2), Y1
	VMOVUPS     32(DX)(R8*2), Y2
	VFMADD231PS Y0, Y8, Y1
	VFMADD231PS Y0, Y9, Y2
	VMOVUPS     Y1, (DX)(R8*2)
	VMOVUPS     Y2, 32(DX)(R8*2)
	VMOVUPS     (R13), Y1
	VMOVUPS     32(R13), Y2
	VFMADD231PS Y0, Y10, Y1
	VFMADD231PS Y0, Y11, Y2
	VMOVUPS     Y1, (R13)
	VMOVUPS     Y2, 32(R13)
	VMOVUPS     (R13)(R8*1), Y1
	VMOVUPS     32(R13)(R8*1), Y2
	VFMADD231PS Y0, Y12, Y1
	VFMADD231PS Y0, Y13, Y2
	VMOVUPS     Y1, (R13)(R8*1)
	VMOVUPS     Y2, 32(R13)(R8*1)
	VMOVUPS     (R13)(R8*2), Y1
	VMOVUPS     32(R13)(R8*2), Y2
	VFMADD231PS Y0, Y14, Y1
	VFMADD231PS Y0, Y15, Y2
	VMOVUPS     Y1, (R13)(R8*2)
	VMOVUPS     Y2, 32(R13)(R8*2)
	VZEROUPPER
	RET

overwrite:
	// C ← alpha·tile.
	VMULPS  Y0, Y4, Y4
	VMULPS  Y0, Y5, Y5
	VMULPS  Y0, Y6, Y6
	VMULPS  Y0, Y7, Y7
	VMULPS  Y0, Y8, Y8
	VMULPS  Y0, Y9, Y9
	VMULPS  Y0, Y10, Y10
	VMULPS  Y0, Y11, Y11
	VMULPS  Y0, Y12, Y12
	VMULPS  Y0, Y13, Y13
	VMULPS  Y0, Y14, Y14
	VMULPS  Y0, Y15, Y15
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	VMOVUPS Y6, (DX)(R8*1)
	VMOVUPS Y7, 32(DX)(R8*1)
	VMOVUPS Y8, (DX)(R8*2)
	VMOVUPS Y9, 32(DX)(R8*2)
	VMOVUPS Y10, (R13)
	VMOVUPS Y11, 32(R13)
	VMOVUPS Y12, (R13)(R8*1)
	VMOVUPS Y13, 32(R13)(R8*1)
	VMOVUPS Y14, (R13)(R8*2)
	VMOVUPS Y15, 32(R13)(R8*2)
	VZEROUPPER
	RET
