#include "textflag.h"

// AVX-512 int8 kernels: the VNNI matmul micro-kernel and the per-row
// activation quantizer (quant.go states the arithmetic they reproduce).

// Integer matmul micro-kernel: an 8-row x 48-column tile of c over the whole
// of K, from unsigned 8-bit activation codes and a packed panel of signed
// 8-bit weight codes. VPDPBUSD multiplies four u8 x s8 pairs per 32-bit
// lane and adds them to the lane exactly (no saturation: 1536 terms of at
// most 255·127 fit an int32 with room to spare), so one instruction does 64
// multiply-adds, four times a float32 FMA's 16.
//
// Register plan (32 zmm), the same as gemm8x48AVX512's:
//   Z0-Z2   the weights of the current k group: 48 columns x 4 k codes
//   Z3-Z7   broadcasts of a row's 4 activation codes at that group,
//           rotated so consecutive rows do not wait on one register
//   Z8-Z31  the 8x3 int32 accumulators, row r in Z(8+3r)..Z(10+3r)
// Per group that is 3 vector loads + 8 broadcast loads for 24 VPDPBUSD.
//
// GPRs in the loop: R8-R13, SI, DI the 8 row pointers of a; AX the byte
// offset of the group in a row; BX walks the panel; CX is the row length.
// Rows past the last valid one read the last valid row (the pointers are
// clamped as in gemm8x48AVX512), and the epilogue stops storing after the
// last valid row, so row tails need no other code.
//
// As in the float32 kernel, each step prefetches the weights 32 steps
// (6 KiB) ahead, past the panel's end into the next one: one sentence
// streams every weight once, and the hardware prefetcher alone keeps too
// few lines in flight.
//
// The whole of K is one call: the int32 sums cannot be left in c between
// k blocks, and a 1536-deep panel is only 72 KiB, which L2 holds. The
// epilogue then does, per row i and column j, in this order and each
// rounded to float32 (dequant in quant.go):
//   c = float32(acc − z_i·colsum_j) · (s_i·t_j) + bias_j
// K1-K3 mask the valid columns of a partial last panel for the stores;
// K4-K6 mask the bias loads (all clear when there is no bias, which makes
// the bias zero without reading memory).

#define ROWS8 \
	CMPQ CX, $2; CMOVQLT AX, DX; LEAQ (R8)(DX*1), R9; \
	CMPQ CX, $3; CMOVQLT AX, DX; LEAQ (R9)(DX*1), R10; \
	CMPQ CX, $4; CMOVQLT AX, DX; LEAQ (R10)(DX*1), R11; \
	CMPQ CX, $5; CMOVQLT AX, DX; LEAQ (R11)(DX*1), R12; \
	CMPQ CX, $6; CMOVQLT AX, DX; LEAQ (R12)(DX*1), R13; \
	CMPQ CX, $7; CMOVQLT AX, DX; LEAQ (R13)(DX*1), SI; \
	CMPQ CX, $8; CMOVQLT AX, DX; LEAQ (SI)(DX*1), DI

#define DOTROW(p, bc, z0, z1, z2) \
	VPBROADCASTD (p)(AX*1), bc; \
	VPDPBUSD Z0, bc, z0; VPDPBUSD Z1, bc, z1; VPDPBUSD Z2, bc, z2

// EPIROW finishes one row (byte offset off into the per-row arrays) and
// stores it at R8. R9 = s (row scales), R10 = z (row zero points),
// R11 = t (column scales), R12 = column sums, Z0-Z2 = bias.
#define EPIROW(off, z0, z1, z2) \
	VPBROADCASTD off(R10), Z3; \
	VBROADCASTSS off(R9), Z4; \
	VPMULLD (R12), Z3, Z5; VPSUBD Z5, z0, z0; \
	VPMULLD 64(R12), Z3, Z6; VPSUBD Z6, z1, z1; \
	VPMULLD 128(R12), Z3, Z7; VPSUBD Z7, z2, z2; \
	VMULPS (R11), Z4, Z5; VMULPS 64(R11), Z4, Z6; VMULPS 128(R11), Z4, Z7; \
	VCVTDQ2PS z0, z0; VCVTDQ2PS z1, z1; VCVTDQ2PS z2, z2; \
	VMULPS Z5, z0, z0; VMULPS Z6, z1, z1; VMULPS Z7, z2, z2; \
	VADDPS Z0, z0, z0; VADDPS Z1, z1, z1; VADDPS Z2, z2, z2; \
	VMOVUPS z0, K1, (R8); VMOVUPS z1, K2, 64(R8); VMOVUPS z2, K3, 128(R8)

// NEXTROW leaves the epilogue once n rows are stored, else moves R8 on.
#define NEXTROW(n) \
	CMPQ CX, $n; JEQ done; ADDQ DX, R8

// func gemmInt8x48AVX512(a *uint8, lda, rows int, b *int8, groups int, c *float32, ldc int, sa *float32, za *int32, sw *float32, cs *int32, bias *float32, mask, bmask uint64)
TEXT ·gemmInt8x48AVX512(SB), NOSPLIT, $0-112
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), DX
	ROWS8
	MOVQ b+24(FP), BX
	MOVQ groups+32(FP), CX
	SHLQ $2, CX
	TESTQ CX, CX
	JEQ  epilogue

loop:
	VMOVDQU32 (BX), Z0
	VMOVDQU32 64(BX), Z1
	VMOVDQU32 128(BX), Z2
	PREFETCHT0 6144(BX)
	PREFETCHT0 6208(BX)
	PREFETCHT0 6272(BX)
	DOTROW(R8, Z3, Z8, Z9, Z10)
	DOTROW(R9, Z4, Z11, Z12, Z13)
	DOTROW(R10, Z5, Z14, Z15, Z16)
	DOTROW(R11, Z6, Z17, Z18, Z19)
	DOTROW(R12, Z7, Z20, Z21, Z22)
	DOTROW(R13, Z3, Z23, Z24, Z25)
	DOTROW(SI, Z4, Z26, Z27, Z28)
	DOTROW(DI, Z5, Z29, Z30, Z31)
	ADDQ $192, BX
	ADDQ $4, AX
	CMPQ AX, CX
	JLT  loop

epilogue:
	MOVQ mask+96(FP), DX
	KMOVQ DX, K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	MOVQ bmask+104(FP), DX
	KMOVQ DX, K4
	KSHIFTRQ $16, K4, K5
	KSHIFTRQ $32, K4, K6
	MOVQ bias+88(FP), DX
	VMOVUPS.Z (DX), K4, Z0
	VMOVUPS.Z 64(DX), K5, Z1
	VMOVUPS.Z 128(DX), K6, Z2
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	MOVQ sa+56(FP), R9
	MOVQ za+64(FP), R10
	MOVQ sw+72(FP), R11
	MOVQ cs+80(FP), R12
	MOVQ rows+16(FP), CX
	EPIROW(0, Z8, Z9, Z10)
	NEXTROW(1)
	EPIROW(4, Z11, Z12, Z13)
	NEXTROW(2)
	EPIROW(8, Z14, Z15, Z16)
	NEXTROW(3)
	EPIROW(12, Z17, Z18, Z19)
	NEXTROW(4)
	EPIROW(16, Z20, Z21, Z22)
	NEXTROW(5)
	EPIROW(20, Z23, Z24, Z25)
	NEXTROW(6)
	EPIROW(24, Z26, Z27, Z28)
	NEXTROW(7)
	EPIROW(28, Z29, Z30, Z31)

done:
	VZEROUPPER
	RET

// func minMaxAVX512(x *float32, n int) (lo, hi float32)
//
// min(0, min x) and max(0, max x): the range quantization widens to hold
// zero anyway, which lets the tail be a zero-masked load.
TEXT ·minMaxAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0 // running minima
	VPXORD Z1, Z1, Z1 // running maxima
	VPXORD Z2, Z2, Z2 // second pair, to overlap the min/max latency
	VPXORD Z3, Z3, Z3

mm32:
	CMPQ CX, $32
	JLT  mm16
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMINPS Z4, Z0, Z0
	VMAXPS Z4, Z1, Z1
	VMINPS Z5, Z2, Z2
	VMAXPS Z5, Z3, Z3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  mm32

mm16:
	TESTQ CX, CX
	JEQ  mmreduce
	// The last 1..31 values, 16 at a time, the final vector masked.
	MOVQ $-1, DX
	CMPQ CX, $16
	JGE  mmfull
	SHLXQ CX, DX, DX
	NOTQ DX

mmfull:
	KMOVW DX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMINPS Z4, Z0, Z0
	VMAXPS Z4, Z1, Z1
	ADDQ $64, SI
	SUBQ $16, CX
	JGT  mm16

mmreduce:
	VMINPS Z2, Z0, Z0
	VMAXPS Z3, Z1, Z1
	VEXTRACTF32X8 $1, Z0, Y2
	VEXTRACTF32X8 $1, Z1, Y3
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

// func quantizeAVX512(dst *uint8, src *float32, n int, inv, zero, top float32)
//
// dst[i] = round(clamp(src[i]·inv + zero, 0, top)), 16 values a step, the
// last step masked; the same operations, in the same order, as
// quantizeCode.
TEXT ·quantizeAVX512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z0
	VBROADCASTSS zero+28(FP), Z1
	VBROADCASTSS top+32(FP), Z2
	VPXORD Z3, Z3, Z3
	TESTQ CX, CX
	JEQ  qdone

qloop:
	MOVQ $-1, DX
	CMPQ CX, $16
	JGE  qfull
	SHLXQ CX, DX, DX
	NOTQ DX

qfull:
	KMOVW DX, K1
	VMOVUPS.Z (SI), K1, Z4
	VMULPS Z0, Z4, Z4
	VADDPS Z1, Z4, Z4
	VMAXPS Z3, Z4, Z4 // NaN becomes 0: VMAXPS returns its second source
	VMINPS Z2, Z4, Z4
	VCVTPS2DQ Z4, Z4
	VPMOVDB Z4, K1, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JGT  qloop

qdone:
	VZEROUPPER
	RET
