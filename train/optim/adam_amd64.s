//go:build !purego

#include "textflag.h"

// func adamAVX2(w, grad, m, v *float32, n int, c *adamConsts, coupled, decays bool)
//
// Eight elements a step, with adamGo's operations in its order (no fused
// multiply-adds; VSQRTPS rounds as float32(math.Sqrt(float64(x))) does):
//
//	w ← decay·w (decays: AdamW)
//	g ← g + λ·w (coupled)
//	m ← β1·m + (1−β1)·g          v ← β2·v + ((1−β2)·g)·g
//	w ← w − (step·m) / (√v·rb2 + ε)
//
// Registers: Y8..Y15 the constants c[0..7], R10 the address of c[8]
// (decay); SI, DI, R8, R9 w, g, m, v; DX coupled; BX decays.
TEXT ·adamAVX2(SB), NOSPLIT, $0-50
	MOVQ         w+0(FP), SI
	MOVQ         grad+8(FP), DI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	MOVBLZX      coupled+48(FP), DX
	VBROADCASTSS 0(AX), Y8   // β1
	VBROADCASTSS 4(AX), Y9   // 1−β1
	VBROADCASTSS 8(AX), Y10  // β2
	VBROADCASTSS 12(AX), Y11 // 1−β2
	VBROADCASTSS 16(AX), Y12 // step
	VBROADCASTSS 20(AX), Y13 // rb2
	VBROADCASTSS 24(AX), Y14 // ε
	VBROADCASTSS 28(AX), Y15 // λ
	LEAQ         32(AX), R10 // &decay
	MOVBLZX      decays+49(FP), BX
	SHRQ         $3, CX
	JZ           done

loop:
	VMOVUPS (DI), Y0 // g
	VMOVUPS (SI), Y1 // w
	TESTQ   BX, BX
	JZ      coupling
	VBROADCASTSS (R10), Y2
	VMULPS  Y2, Y1, Y1

coupling:
	TESTQ   DX, DX
	JZ      moments
	VMULPS  Y1, Y15, Y2
	VADDPS  Y2, Y0, Y0

moments:
	VMULPS  (R8), Y8, Y3 // m ← β1·m + (1−β1)·g
	VMULPS  Y0, Y9, Y4
	VADDPS  Y4, Y3, Y3
	VMOVUPS Y3, (R8)
	VMULPS  (R9), Y10, Y5 // v ← β2·v + ((1−β2)·g)·g
	VMULPS  Y0, Y11, Y6
	VMULPS  Y0, Y6, Y6
	VADDPS  Y6, Y5, Y5
	VMOVUPS Y5, (R9)
	VSQRTPS Y5, Y7 // √v·rb2 + ε
	VMULPS  Y13, Y7, Y7
	VADDPS  Y14, Y7, Y7
	VMULPS  Y3, Y12, Y2 // (step·m) / …
	VDIVPS  Y7, Y2, Y2
	VSUBPS  Y2, Y1, Y1 // w − …
	VMOVUPS Y1, (SI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET
