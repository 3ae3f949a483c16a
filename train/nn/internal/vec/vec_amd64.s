//go:build !purego

#include "textflag.h"

// Eight copies of each constant, one 32-byte row per constant, in the order
// of the names below; the values are the float32 roundings of the Go
// constants in vec.go and exp32.go (and the integer 127).

DATA consts<>+0(SB)/4, $0x3d372713
DATA consts<>+4(SB)/4, $0x3d372713
DATA consts<>+8(SB)/4, $0x3d372713
DATA consts<>+12(SB)/4, $0x3d372713
DATA consts<>+16(SB)/4, $0x3d372713
DATA consts<>+20(SB)/4, $0x3d372713
DATA consts<>+24(SB)/4, $0x3d372713
DATA consts<>+28(SB)/4, $0x3d372713
DATA consts<>+32(SB)/4, $0x3f4c422a
DATA consts<>+36(SB)/4, $0x3f4c422a
DATA consts<>+40(SB)/4, $0x3f4c422a
DATA consts<>+44(SB)/4, $0x3f4c422a
DATA consts<>+48(SB)/4, $0x3f4c422a
DATA consts<>+52(SB)/4, $0x3f4c422a
DATA consts<>+56(SB)/4, $0x3f4c422a
DATA consts<>+60(SB)/4, $0x3f4c422a
DATA consts<>+64(SB)/4, $0x3e095d4f
DATA consts<>+68(SB)/4, $0x3e095d4f
DATA consts<>+72(SB)/4, $0x3e095d4f
DATA consts<>+76(SB)/4, $0x3e095d4f
DATA consts<>+80(SB)/4, $0x3e095d4f
DATA consts<>+84(SB)/4, $0x3e095d4f
DATA consts<>+88(SB)/4, $0x3e095d4f
DATA consts<>+92(SB)/4, $0x3e095d4f
DATA consts<>+96(SB)/4, $0x3fb8aa3b
DATA consts<>+100(SB)/4, $0x3fb8aa3b
DATA consts<>+104(SB)/4, $0x3fb8aa3b
DATA consts<>+108(SB)/4, $0x3fb8aa3b
DATA consts<>+112(SB)/4, $0x3fb8aa3b
DATA consts<>+116(SB)/4, $0x3fb8aa3b
DATA consts<>+120(SB)/4, $0x3fb8aa3b
DATA consts<>+124(SB)/4, $0x3fb8aa3b
DATA consts<>+128(SB)/4, $0x4b400000
DATA consts<>+132(SB)/4, $0x4b400000
DATA consts<>+136(SB)/4, $0x4b400000
DATA consts<>+140(SB)/4, $0x4b400000
DATA consts<>+144(SB)/4, $0x4b400000
DATA consts<>+148(SB)/4, $0x4b400000
DATA consts<>+152(SB)/4, $0x4b400000
DATA consts<>+156(SB)/4, $0x4b400000
DATA consts<>+160(SB)/4, $0x3f317200
DATA consts<>+164(SB)/4, $0x3f317200
DATA consts<>+168(SB)/4, $0x3f317200
DATA consts<>+172(SB)/4, $0x3f317200
DATA consts<>+176(SB)/4, $0x3f317200
DATA consts<>+180(SB)/4, $0x3f317200
DATA consts<>+184(SB)/4, $0x3f317200
DATA consts<>+188(SB)/4, $0x3f317200
DATA consts<>+192(SB)/4, $0x35bfbe8e
DATA consts<>+196(SB)/4, $0x35bfbe8e
DATA consts<>+200(SB)/4, $0x35bfbe8e
DATA consts<>+204(SB)/4, $0x35bfbe8e
DATA consts<>+208(SB)/4, $0x35bfbe8e
DATA consts<>+212(SB)/4, $0x35bfbe8e
DATA consts<>+216(SB)/4, $0x35bfbe8e
DATA consts<>+220(SB)/4, $0x35bfbe8e
DATA consts<>+224(SB)/4, $0x3f000000
DATA consts<>+228(SB)/4, $0x3f000000
DATA consts<>+232(SB)/4, $0x3f000000
DATA consts<>+236(SB)/4, $0x3f000000
DATA consts<>+240(SB)/4, $0x3f000000
DATA consts<>+244(SB)/4, $0x3f000000
DATA consts<>+248(SB)/4, $0x3f000000
DATA consts<>+252(SB)/4, $0x3f000000
DATA consts<>+256(SB)/4, $0x3e2aaaab
DATA consts<>+260(SB)/4, $0x3e2aaaab
DATA consts<>+264(SB)/4, $0x3e2aaaab
DATA consts<>+268(SB)/4, $0x3e2aaaab
DATA consts<>+272(SB)/4, $0x3e2aaaab
DATA consts<>+276(SB)/4, $0x3e2aaaab
DATA consts<>+280(SB)/4, $0x3e2aaaab
DATA consts<>+284(SB)/4, $0x3e2aaaab
DATA consts<>+288(SB)/4, $0x3d2aaaab
DATA consts<>+292(SB)/4, $0x3d2aaaab
DATA consts<>+296(SB)/4, $0x3d2aaaab
DATA consts<>+300(SB)/4, $0x3d2aaaab
DATA consts<>+304(SB)/4, $0x3d2aaaab
DATA consts<>+308(SB)/4, $0x3d2aaaab
DATA consts<>+312(SB)/4, $0x3d2aaaab
DATA consts<>+316(SB)/4, $0x3d2aaaab
DATA consts<>+320(SB)/4, $0x3c088889
DATA consts<>+324(SB)/4, $0x3c088889
DATA consts<>+328(SB)/4, $0x3c088889
DATA consts<>+332(SB)/4, $0x3c088889
DATA consts<>+336(SB)/4, $0x3c088889
DATA consts<>+340(SB)/4, $0x3c088889
DATA consts<>+344(SB)/4, $0x3c088889
DATA consts<>+348(SB)/4, $0x3c088889
DATA consts<>+352(SB)/4, $0x3ab60b61
DATA consts<>+356(SB)/4, $0x3ab60b61
DATA consts<>+360(SB)/4, $0x3ab60b61
DATA consts<>+364(SB)/4, $0x3ab60b61
DATA consts<>+368(SB)/4, $0x3ab60b61
DATA consts<>+372(SB)/4, $0x3ab60b61
DATA consts<>+376(SB)/4, $0x3ab60b61
DATA consts<>+380(SB)/4, $0x3ab60b61
DATA consts<>+384(SB)/4, $0x39500d01
DATA consts<>+388(SB)/4, $0x39500d01
DATA consts<>+392(SB)/4, $0x39500d01
DATA consts<>+396(SB)/4, $0x39500d01
DATA consts<>+400(SB)/4, $0x39500d01
DATA consts<>+404(SB)/4, $0x39500d01
DATA consts<>+408(SB)/4, $0x39500d01
DATA consts<>+412(SB)/4, $0x39500d01
DATA consts<>+416(SB)/4, $0x3f800000
DATA consts<>+420(SB)/4, $0x3f800000
DATA consts<>+424(SB)/4, $0x3f800000
DATA consts<>+428(SB)/4, $0x3f800000
DATA consts<>+432(SB)/4, $0x3f800000
DATA consts<>+436(SB)/4, $0x3f800000
DATA consts<>+440(SB)/4, $0x3f800000
DATA consts<>+444(SB)/4, $0x3f800000
DATA consts<>+448(SB)/4, $0x40000000
DATA consts<>+452(SB)/4, $0x40000000
DATA consts<>+456(SB)/4, $0x40000000
DATA consts<>+460(SB)/4, $0x40000000
DATA consts<>+464(SB)/4, $0x40000000
DATA consts<>+468(SB)/4, $0x40000000
DATA consts<>+472(SB)/4, $0x40000000
DATA consts<>+476(SB)/4, $0x40000000
DATA consts<>+480(SB)/4, $0x42b00000
DATA consts<>+484(SB)/4, $0x42b00000
DATA consts<>+488(SB)/4, $0x42b00000
DATA consts<>+492(SB)/4, $0x42b00000
DATA consts<>+496(SB)/4, $0x42b00000
DATA consts<>+500(SB)/4, $0x42b00000
DATA consts<>+504(SB)/4, $0x42b00000
DATA consts<>+508(SB)/4, $0x42b00000
DATA consts<>+512(SB)/4, $0xc2ae0000
DATA consts<>+516(SB)/4, $0xc2ae0000
DATA consts<>+520(SB)/4, $0xc2ae0000
DATA consts<>+524(SB)/4, $0xc2ae0000
DATA consts<>+528(SB)/4, $0xc2ae0000
DATA consts<>+532(SB)/4, $0xc2ae0000
DATA consts<>+536(SB)/4, $0xc2ae0000
DATA consts<>+540(SB)/4, $0xc2ae0000
DATA consts<>+544(SB)/4, $0x7f800000
DATA consts<>+548(SB)/4, $0x7f800000
DATA consts<>+552(SB)/4, $0x7f800000
DATA consts<>+556(SB)/4, $0x7f800000
DATA consts<>+560(SB)/4, $0x7f800000
DATA consts<>+564(SB)/4, $0x7f800000
DATA consts<>+568(SB)/4, $0x7f800000
DATA consts<>+572(SB)/4, $0x7f800000
DATA consts<>+576(SB)/4, $0x0000007f
DATA consts<>+580(SB)/4, $0x0000007f
DATA consts<>+584(SB)/4, $0x0000007f
DATA consts<>+588(SB)/4, $0x0000007f
DATA consts<>+592(SB)/4, $0x0000007f
DATA consts<>+596(SB)/4, $0x0000007f
DATA consts<>+600(SB)/4, $0x0000007f
DATA consts<>+604(SB)/4, $0x0000007f
GLOBL consts<>(SB), RODATA|NOPTR, $608
// Offsets: c0447 0, geluC 32, c3g 64, log2e 96, magic 128, ln2hi 160, ln2lo 192, half 224, p3 256, p4 288, p5 320, p6 352, p7 384, one 416, two 448, c88 480, m87 512, inf 544, i127 576.

// EXP sets Y3 = Exp32(Y2) lane by lane, with Exp32's operations in its
// order (no fused multiply-adds); it uses Y4-Y7, Y12 and Y13.
#define EXP \
	VMULPS    consts<>+96(SB), Y2, Y4  \ // kf = float32(float32(x·log2e) + magic) − magic
	VADDPS    consts<>+128(SB), Y4, Y4  \
	VSUBPS    consts<>+128(SB), Y4, Y4  \
	VMULPS    consts<>+160(SB), Y4, Y5  \ // r = (x − kf·ln2hi) − kf·ln2lo
	VSUBPS    Y5, Y2, Y5                \
	VMULPS    consts<>+192(SB), Y4, Y6  \
	VSUBPS    Y6, Y5, Y5                \
	VMULPS    consts<>+384(SB), Y5, Y6     \ // p = 1 + r·(1 + r·(1/2 + … + r·(1/720 + r·(1/5040))))
	VADDPS    consts<>+352(SB), Y6, Y6     \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+320(SB), Y6, Y6     \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+288(SB), Y6, Y6     \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+256(SB), Y6, Y6     \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+224(SB), Y6, Y6   \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+416(SB), Y6, Y6    \
	VMULPS    Y5, Y6, Y6                \
	VADDPS    consts<>+416(SB), Y6, Y6    \
	VCVTTPS2DQ Y4, Y7                   \ // 2^k through the exponent bits
	VPADDD    consts<>+576(SB), Y7, Y7   \
	VPSLLD    $23, Y7, Y7               \
	VMULPS    Y7, Y6, Y3                \
	VCMPPS    $0x1e, consts<>+480(SB), Y2, Y12 \ // x > 88: +Inf
	VBLENDVPS Y12, consts<>+544(SB), Y3, Y3 \
	VCMPPS    $0x11, consts<>+512(SB), Y2, Y13 \ // x < −87: 0
	VANDNPS   Y3, Y13, Y3

// func geluAVX2(x, y, d *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   gelu_done

gelu_loop:
	VMOVUPS (SI), Y0
	VMULPS  consts<>+0(SB), Y0, Y1 // u = c·(v + 0.044715·v·v·v)
	VMULPS  Y0, Y1, Y1
	VMULPS  Y0, Y1, Y1
	VADDPS  Y1, Y0, Y1
	VMULPS  consts<>+32(SB), Y1, Y1
	VADDPS  Y1, Y1, Y2             // 2u
	EXP
	VADDPS  consts<>+416(SB), Y3, Y3   // t = 1 − 2/(e^{2u} + 1)
	VMOVUPS consts<>+448(SB), Y4
	VDIVPS  Y3, Y4, Y4
	VMOVUPS consts<>+416(SB), Y5
	VSUBPS  Y4, Y5, Y5
	VADDPS  consts<>+416(SB), Y5, Y6   // 1 + t
	VMULPS  consts<>+224(SB), Y0, Y7  // y = ½·v·(1 + t)
	VMULPS  Y6, Y7, Y7
	VMULPS  consts<>+224(SB), Y6, Y6  // ½·(1 + t)
	VMULPS  Y5, Y5, Y8             // ½·v·(1 − t·t)·c·(1 + 3·0.044715·v·v)
	VMOVUPS consts<>+416(SB), Y9
	VSUBPS  Y8, Y9, Y9
	VMULPS  consts<>+224(SB), Y0, Y10
	VMULPS  Y9, Y10, Y10
	VMULPS  consts<>+32(SB), Y10, Y10
	VMULPS  consts<>+64(SB), Y0, Y11
	VMULPS  Y0, Y11, Y11
	VADDPS  consts<>+416(SB), Y11, Y11
	VMULPS  Y11, Y10, Y10
	VADDPS  Y10, Y6, Y6            // d = ½·(1 + t) + …
	VMOVUPS Y7, (DI)
	VMOVUPS Y6, (DX)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     gelu_loop

gelu_done:
	VZEROUPPER
	RET

// func expShiftAVX2(dst, src *float32, shift float32, n int)
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	VBROADCASTSS shift+16(FP), Y15
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	JZ           exp_done

exp_loop:
	VMOVUPS (SI), Y2
	VSUBPS  Y15, Y2, Y2
	EXP
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exp_loop

exp_done:
	VZEROUPPER
	RET
