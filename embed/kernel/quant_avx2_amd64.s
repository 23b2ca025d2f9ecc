#include "textflag.h"

// AVX2 int8 kernels: the matmul micro-kernel and the per-row activation
// quantizer (quant.go states the arithmetic they reproduce).

// Integer matmul micro-kernel: a 4-row x 16-column tile of c over the whole
// of K. Without VNNI a group of 4 k codes takes three instructions:
// VPMADDUBSW multiplies u8 activations by s8 weights and adds adjacent
// pairs into int16, VPMADDWD by ones widens and adds those pairs into
// int32, VPADDD accumulates. VPMADDUBSW saturates at ±32767, which two
// products of 255 x 127 exceed; the AVX2 level therefore quantizes with
// one of the two operands a bit narrower (quant_amd64.go's avx2Spec), so
// that the int16 step is exact and the sums equal the portable path's.
//
// Register plan (16 ymm):
//   Y0-Y1   the weights of the current group: 16 columns x 4 k codes
//   Y2      sixteen int16 ones, for VPMADDWD
//   Y3      broadcast of a row's 4 activation codes at that group
//   Y4-Y7   products in flight
//   Y8-Y15  the 4x2 int32 accumulators, row r in Y(8+2r), Y(9+2r)
//
// GPRs: R8-R11 the row pointers of a (clamped as in gemm4x24AVX2); AX the
// byte offset of the group; BX walks the panel; CX is the row length. The
// epilogue is the AVX-512 kernel's (dequant in quant.go), row by row,
// stopping after the last valid row; columns are always a full panel
// (the Go driver pads a partial last panel through a scratch tile), and
// bias always points at 16 values (zeros when there is none).

#define ROWS4 \
	CMPQ CX, $2; CMOVQLT AX, DX; LEAQ (R8)(DX*1), R9; \
	CMPQ CX, $3; CMOVQLT AX, DX; LEAQ (R9)(DX*1), R10; \
	CMPQ CX, $4; CMOVQLT AX, DX; LEAQ (R10)(DX*1), R11

#define MADDROW(p, t0, t1, y0, y1) \
	VPBROADCASTD (p)(AX*1), Y3; \
	VPMADDUBSW Y0, Y3, t0; VPMADDUBSW Y1, Y3, t1; \
	VPMADDWD Y2, t0, t0; VPMADDWD Y2, t1, t1; \
	VPADDD t0, y0, y0; VPADDD t1, y1, y1

#define EPIROW2(off, y0, y1) \
	VPBROADCASTD off(R10), Y3; \
	VBROADCASTSS off(R9), Y4; \
	VPMULLD (R12), Y3, Y5; VPSUBD Y5, y0, y0; \
	VPMULLD 32(R12), Y3, Y6; VPSUBD Y6, y1, y1; \
	VMULPS (R11), Y4, Y5; VMULPS 32(R11), Y4, Y6; \
	VCVTDQ2PS y0, y0; VCVTDQ2PS y1, y1; \
	VMULPS Y5, y0, y0; VMULPS Y6, y1, y1; \
	VADDPS (R13), y0, y0; VADDPS 32(R13), y1, y1; \
	VMOVUPS y0, (R8); VMOVUPS y1, 32(R8)

#define NEXTROW(n) \
	CMPQ CX, $n; JEQ done; ADDQ DX, R8

// func gemmInt8x16AVX2(a *uint8, lda, rows int, b *int8, groups int, c *float32, ldc int, sa *float32, za *int32, sw *float32, cs *int32, bias *float32)
TEXT ·gemmInt8x16AVX2(SB), NOSPLIT, $0-96
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	VPXOR Y12, Y12, Y12
	VPXOR Y13, Y13, Y13
	VPXOR Y14, Y14, Y14
	VPXOR Y15, Y15, Y15
	VPCMPEQW Y2, Y2, Y2
	VPSRLW $15, Y2, Y2
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), DX
	ROWS4
	MOVQ b+24(FP), BX
	MOVQ groups+32(FP), CX
	SHLQ $2, CX
	TESTQ CX, CX
	JEQ  epilogue

loop:
	VMOVDQU (BX), Y0
	VMOVDQU 32(BX), Y1
	PREFETCHT0 4096(BX)
	MADDROW(R8, Y4, Y5, Y8, Y9)
	MADDROW(R9, Y6, Y7, Y10, Y11)
	MADDROW(R10, Y4, Y5, Y12, Y13)
	MADDROW(R11, Y6, Y7, Y14, Y15)
	ADDQ $64, BX
	ADDQ $4, AX
	CMPQ AX, CX
	JLT  loop

epilogue:
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	MOVQ sa+56(FP), R9
	MOVQ za+64(FP), R10
	MOVQ sw+72(FP), R11
	MOVQ cs+80(FP), R12
	MOVQ bias+88(FP), R13
	MOVQ rows+16(FP), CX
	EPIROW2(0, Y8, Y9)
	NEXTROW(1)
	EPIROW2(4, Y10, Y11)
	NEXTROW(2)
	EPIROW2(8, Y12, Y13)
	NEXTROW(3)
	EPIROW2(12, Y14, Y15)

done:
	VZEROUPPER
	RET

// func minMaxAVX2(x *float32, n int) (lo, hi float32)
//
// min(0, min x) and max(0, max x) over the first n&^7 values; the Go
// driver folds in the tail.
TEXT ·minMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

mm16:
	CMPQ CX, $16
	JLT  mm8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMINPS Y4, Y0, Y0
	VMAXPS Y4, Y1, Y1
	VMINPS Y5, Y2, Y2
	VMAXPS Y5, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  mm16

mm8:
	CMPQ CX, $8
	JLT  mmreduce
	VMOVUPS (SI), Y4
	VMINPS Y4, Y0, Y0
	VMAXPS Y4, Y1, Y1

mmreduce:
	VMINPS Y2, Y0, Y0
	VMAXPS Y3, Y1, Y1
	VEXTRACTF128 $1, Y0, X2
	VEXTRACTF128 $1, Y1, X3
	VMINPS X2, X0, X0
	VMAXPS X3, X1, X1
	VPERMILPS $0x4e, X0, X2
	VPERMILPS $0x4e, X1, X3
	VMINPS X2, X0, X0
	VMAXPS X3, X1, X1
	VPERMILPS $0xb1, X0, X2
	VPERMILPS $0xb1, X1, X3
	VMINPS X2, X0, X0
	VMAXPS X3, X1, X1
	VMOVSS X0, lo+16(FP)
	VMOVSS X1, hi+20(FP)
	VZEROUPPER
	RET

// Dword order that undoes the lane interleaving of VPACKSSDW + VPACKUSWB.
DATA packperm<>+0(SB)/4, $0
DATA packperm<>+4(SB)/4, $4
DATA packperm<>+8(SB)/4, $1
DATA packperm<>+12(SB)/4, $5
DATA packperm<>+16(SB)/4, $2
DATA packperm<>+20(SB)/4, $6
DATA packperm<>+24(SB)/4, $3
DATA packperm<>+28(SB)/4, $7
GLOBL packperm<>(SB), RODATA|NOPTR, $32

#define QSTEP(y) \
	VMULPS Y0, y, y; VADDPS Y1, y, y; VMAXPS Y3, y, y; VMINPS Y2, y, y; VCVTPS2DQ y, y

// func quantizeAVX2(dst *uint8, src *float32, n int, inv, zero, top float32)
//
// The first n&^31 codes, 32 a step, as quantizeAVX512 computes them; the
// Go driver does the tail. The codes are in 0..255 after the clamp, so the
// saturating packs are exact.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y0
	VBROADCASTSS zero+28(FP), Y1
	VBROADCASTSS top+32(FP), Y2
	VXORPS Y3, Y3, Y3
	VMOVDQU packperm<>(SB), Y8
	SHRQ $5, CX
	JEQ  qdone

qloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	QSTEP(Y4)
	QSTEP(Y5)
	QSTEP(Y6)
	QSTEP(Y7)
	VPACKSSDW Y5, Y4, Y4
	VPACKSSDW Y7, Y6, Y6
	VPACKUSWB Y6, Y4, Y4
	VPERMD Y4, Y8, Y4
	VMOVDQU Y4, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  qloop

qdone:
	VZEROUPPER
	RET
