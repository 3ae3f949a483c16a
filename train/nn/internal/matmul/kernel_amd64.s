//go:build !purego

#include "textflag.h"

// func kernelAVX2(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool)
//
// The 6×16 micro-kernel (see microKernel in gemm.go). Registers:
//
//	Y4..Y15  the tile, row i in Y(4+2i) (columns 0-7) and Y(5+2i) (8-15)
//	Y0, Y1   the panel's row p (16 values of B)
//	Y2, Y3   A(i, p) broadcast
//	R10      A(0, p); R11 = A(3, p); R9 = the row stride of A in bytes
//	R12      the depth stride of A in bytes
//	DI       the panel's row p; BX = the panel's row stride in bytes
//	CX       the steps left
//	DX, R13  rows 0 and 3 of C; R8 = the row stride of C in bytes
TEXT ·kernelAVX2(SB), NOSPLIT, $0-69
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), R10
	MOVQ ars+16(FP), R9
	SHLQ $2, R9
	MOVQ aps+24(FP), R12
	SHLQ $2, R12
	MOVQ b+32(FP), DI
	MOVQ bs+40(FP), BX
	SHLQ $2, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
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
	ADDQ         BX, DI
	DECQ         CX
	JNZ          loop

	VBROADCASTSS alpha+64(FP), Y0
	LEAQ         (DX)(R8*2), R13
	ADDQ         R8, R13
	CMPB         accum+68(FP), $0
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

// func kernelSSE(kc int, a *float32, ars, aps int, b *float32, bs int, c *float32, ldc int, alpha float32, accum bool)
//
// The 6×16 micro-kernel for x86-64 without AVX2 (SSE, which every x86-64
// has): 16 XMM registers hold half the tile, so the kernel makes two
// passes over the depth, columns 0-7 and then 8-15. Multiplies and adds
// round separately, as in kernelGo. Registers:
//
//	X0..X11  the half tile, row i in X(2i) (columns 0-3) and X(2i+1) (4-7)
//	X12, X13 the panel's half row p; X14, X15 A(i, p) broadcast, products
//	R10, R11, R9, R12 as in kernelAVX2; DI the panel's half row p, R13
//	the panel's row stride in bytes (then row 3 of C)
//	BX       the half (0, 1); SI A(0, 0)
TEXT ·kernelSSE(SB), NOSPLIT, $0-69
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ars+16(FP), R9
	SHLQ $2, R9
	MOVQ aps+24(FP), R12
	SHLQ $2, R12
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	SHLQ $2, R8
	XORQ BX, BX

half:
	MOVQ  SI, R10
	LEAQ  (SI)(R9*2), R11
	ADDQ  R9, R11
	MOVQ  BX, DI
	SHLQ  $5, DI
	ADDQ  b+32(FP), DI
	MOVQ  kc+0(FP), CX
	MOVQ  bs+40(FP), R13
	SHLQ  $2, R13
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
	XORPS X4, X4
	XORPS X5, X5
	XORPS X6, X6
	XORPS X7, X7
	XORPS X8, X8
	XORPS X9, X9
	XORPS X10, X10
	XORPS X11, X11

sseloop:
	MOVUPS (DI), X12
	MOVUPS 16(DI), X13

	MOVSS  (R10), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X0
	MULPS  X13, X14
	ADDPS  X14, X1

	MOVSS  (R10)(R9*1), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X2
	MULPS  X13, X14
	ADDPS  X14, X3

	MOVSS  (R10)(R9*2), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X4
	MULPS  X13, X14
	ADDPS  X14, X5

	MOVSS  (R11), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X6
	MULPS  X13, X14
	ADDPS  X14, X7

	MOVSS  (R11)(R9*1), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X8
	MULPS  X13, X14
	ADDPS  X14, X9

	MOVSS  (R11)(R9*2), X14
	SHUFPS $0, X14, X14
	MOVAPS X14, X15
	MULPS  X12, X15
	ADDPS  X15, X10
	MULPS  X13, X14
	ADDPS  X14, X11

	ADDQ R12, R10
	ADDQ R12, R11
	ADDQ R13, DI
	DECQ CX
	JNZ  sseloop

	// Scale by alpha, then store or add to C's half rows.
	MOVSS  alpha+64(FP), X14
	SHUFPS $0, X14, X14
	MULPS  X14, X0
	MULPS  X14, X1
	MULPS  X14, X2
	MULPS  X14, X3
	MULPS  X14, X4
	MULPS  X14, X5
	MULPS  X14, X6
	MULPS  X14, X7
	MULPS  X14, X8
	MULPS  X14, X9
	MULPS  X14, X10
	MULPS  X14, X11
	MOVQ   BX, AX
	SHLQ   $5, AX
	ADDQ   DX, AX                // C's half row 0
	LEAQ   (AX)(R8*2), R13
	ADDQ   R8, R13               // row 3
	CMPB   accum+68(FP), $0
	JEQ    ssestore
	MOVUPS (AX), X12
	MOVUPS 16(AX), X13
	ADDPS  X12, X0
	ADDPS  X13, X1
	MOVUPS (AX)(R8*1), X12
	MOVUPS 16(AX)(R8*1), X13
	ADDPS  X12, X2
	ADDPS  X13, X3
	MOVUPS (AX)(R8*2), X12
	MOVUPS 16(AX)(R8*2), X13
	ADDPS  X12, X4
	ADDPS  X13, X5
	MOVUPS (R13), X12
	MOVUPS 16(R13), X13
	ADDPS  X12, X6
	ADDPS  X13, X7
	MOVUPS (R13)(R8*1), X12
	MOVUPS 16(R13)(R8*1), X13
	ADDPS  X12, X8
	ADDPS  X13, X9
	MOVUPS (R13)(R8*2), X12
	MOVUPS 16(R13)(R8*2), X13
	ADDPS  X12, X10
	ADDPS  X13, X11

ssestore:
	MOVUPS X0, (AX)
	MOVUPS X1, 16(AX)
	MOVUPS X2, (AX)(R8*1)
	MOVUPS X3, 16(AX)(R8*1)
	MOVUPS X4, (AX)(R8*2)
	MOVUPS X5, 16(AX)(R8*2)
	MOVUPS X6, (R13)
	MOVUPS X7, 16(R13)
	MOVUPS X8, (R13)(R8*1)
	MOVUPS X9, 16(R13)(R8*1)
	MOVUPS X10, (R13)(R8*2)
	MOVUPS X11, 16(R13)(R8*2)

	INCQ BX
	CMPQ BX, $2
	JLT  half
	RET
