#include "textflag.h"

// AVX-512 matmul micro-kernel: an 8-row x 48-column tile of c, computed over
// one k range of a packed 48-wide weight panel.
//
// Register plan (32 zmm):
//   Z0-Z2   the 48 weights of the current k (three 16-lane vectors)
//   Z3-Z7   broadcasts of a[row][k], rotated so consecutive rows do not
//           wait on one register
//   Z8-Z31  the 8x3 accumulators, row r in Z(8+3r)..Z(10+3r)
// Per k step that is 3 vector loads + 8 broadcast loads for 24 FMAs: the
// loop is bound by the two FMA pipes, not by loads, and 24 independent
// accumulators cover the 4-cycle FMA latency with room to spare.
//
// GPRs: R8-R13, SI, DI hold the 8 row pointers of a (later of c); AX is
// the k index (a is addressed as row+AX*4), BX walks the panel, CX is k.
// Rows past the last valid one point at the last valid row: they compute
// duplicates and store the same values to the same place, so row tails need
// no separate code path.
//
// For a short batch the product is bound by streaming the weights from
// memory (each weight feeds only m FMAs), and the hardware prefetcher alone
// keeps too few lines in flight: each k step therefore prefetches the three
// lines it will need 32 steps (6 KiB) later, which runs past the panel's
// end into the next one, the next to be read. That is worth ~20% on the
// single-sentence encoder; prefetches never fault, so running past the
// weights is harmless. K1-K3 mask the valid columns of the three vectors
// of a partial (last) panel; masked loads never fault on the lanes they skip.

// ROWS8 fills R9..DI from R8 with a byte stride DX, clamped to CX rows.
// AX must be 0; DX is clobbered.
#define ROWS8 \
	CMPQ CX, $2; CMOVQLT AX, DX; LEAQ (R8)(DX*1), R9; \
	CMPQ CX, $3; CMOVQLT AX, DX; LEAQ (R9)(DX*1), R10; \
	CMPQ CX, $4; CMOVQLT AX, DX; LEAQ (R10)(DX*1), R11; \
	CMPQ CX, $5; CMOVQLT AX, DX; LEAQ (R11)(DX*1), R12; \
	CMPQ CX, $6; CMOVQLT AX, DX; LEAQ (R12)(DX*1), R13; \
	CMPQ CX, $7; CMOVQLT AX, DX; LEAQ (R13)(DX*1), SI; \
	CMPQ CX, $8; CMOVQLT AX, DX; LEAQ (SI)(DX*1), DI

#define LOADROW(p, z0, z1, z2) \
	VMOVUPS.Z (p), K1, z0; VMOVUPS.Z 64(p), K2, z1; VMOVUPS.Z 128(p), K3, z2

#define STOREROW(p, z0, z1, z2) \
	VMOVUPS z0, K1, (p); VMOVUPS z1, K2, 64(p); VMOVUPS z2, K3, 128(p)

#define FMAROW(p, bc, z0, z1, z2) \
	VBROADCASTSS (p)(AX*4), bc; \
	VFMADD231PS bc, Z0, z0; VFMADD231PS bc, Z1, z1; VFMADD231PS bc, Z2, z2

// func gemm8x48AVX512(a *float32, lda, rows int, b *float32, k int, c *float32, ldc int, bias *float32, mask uint64, mode int)
TEXT ·gemm8x48AVX512(SB), NOSPLIT, $0-80
	MOVQ mask+64(FP), DX
	KMOVQ DX, K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ mode+72(FP), BX
	CMPQ BX, $2
	JEQ  initc
	CMPQ BX, $1
	JEQ  initbias
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	JMP  spread

initbias:
	MOVQ bias+56(FP), DX
	LOADROW(DX, Z8, Z9, Z10)

spread:
	// Every row starts from row 0's value (zero or the bias).
	VMOVAPS Z8, Z11
	VMOVAPS Z8, Z14
	VMOVAPS Z8, Z17
	VMOVAPS Z8, Z20
	VMOVAPS Z8, Z23
	VMOVAPS Z8, Z26
	VMOVAPS Z8, Z29
	VMOVAPS Z9, Z12
	VMOVAPS Z9, Z15
	VMOVAPS Z9, Z18
	VMOVAPS Z9, Z21
	VMOVAPS Z9, Z24
	VMOVAPS Z9, Z27
	VMOVAPS Z9, Z30
	VMOVAPS Z10, Z13
	VMOVAPS Z10, Z16
	VMOVAPS Z10, Z19
	VMOVAPS Z10, Z22
	VMOVAPS Z10, Z25
	VMOVAPS Z10, Z28
	VMOVAPS Z10, Z31
	JMP  compute

initc:
	// mode 2: accumulate onto c (a later k block).
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	ROWS8
	LOADROW(R8, Z8, Z9, Z10)
	LOADROW(R9, Z11, Z12, Z13)
	LOADROW(R10, Z14, Z15, Z16)
	LOADROW(R11, Z17, Z18, Z19)
	LOADROW(R12, Z20, Z21, Z22)
	LOADROW(R13, Z23, Z24, Z25)
	LOADROW(SI, Z26, Z27, Z28)
	LOADROW(DI, Z29, Z30, Z31)

compute:
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), DX
	SHLQ $2, DX
	ROWS8
	MOVQ b+24(FP), BX
	MOVQ k+32(FP), CX
	TESTQ CX, CX
	JEQ  store

loop:
	VMOVUPS (BX), Z0
	VMOVUPS 64(BX), Z1
	VMOVUPS 128(BX), Z2
	PREFETCHT0 6144(BX)
	PREFETCHT0 6208(BX)
	PREFETCHT0 6272(BX)
	FMAROW(R8, Z3, Z8, Z9, Z10)
	FMAROW(R9, Z4, Z11, Z12, Z13)
	FMAROW(R10, Z5, Z14, Z15, Z16)
	FMAROW(R11, Z6, Z17, Z18, Z19)
	FMAROW(R12, Z7, Z20, Z21, Z22)
	FMAROW(R13, Z3, Z23, Z24, Z25)
	FMAROW(SI, Z4, Z26, Z27, Z28)
	FMAROW(DI, Z5, Z29, Z30, Z31)
	ADDQ $192, BX
	INCQ AX
	CMPQ AX, CX
	JLT  loop

store:
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	ROWS8
	STOREROW(R8, Z8, Z9, Z10)
	STOREROW(R9, Z11, Z12, Z13)
	STOREROW(R10, Z14, Z15, Z16)
	STOREROW(R11, Z17, Z18, Z19)
	STOREROW(R12, Z20, Z21, Z22)
	STOREROW(R13, Z23, Z24, Z25)
	STOREROW(SI, Z26, Z27, Z28)
	STOREROW(DI, Z29, Z30, Z31)
	VZEROUPPER
	RET

// The value product of attention, O = diag(inv)·P·V for 8 query rows and a
// 32-column strip of V: P rows are a (lda apart), V rows b (ldb apart, so
// the values need no panel layout), one key per step. 8x32 rather than the
// 8x48 above because a head has 32 columns: a 48-wide panel would spend a
// third of its FMAs on padding.
//
// Register plan: Z0-Z1 the 32 values of the current key, Z2-Z5 broadcasts
// of p[row][key], Z16-Z31 the 8x2 accumulators (row r in Z(16+2r),
// Z(17+2r)); 16 independent chains cover the FMA latency of two pipes.
// K1, K2 mask the valid columns of the two vectors. Rows past the last are
// clamped as in gemm8x48AVX512; inv must hold 8 values, with those of the
// clamped rows equal to the last valid row's.

#define PVROW(p, bc, z0, z1) \
	VBROADCASTSS (p)(AX*4), bc; \
	VFMADD231PS bc, Z0, z0; VFMADD231PS bc, Z1, z1

// func pv8x32AVX512(a *float32, lda, rows int, b *float32, ldb, k int, c *float32, ldc int, inv *float32, mask uint64)
TEXT ·pv8x32AVX512(SB), NOSPLIT, $0-80
	MOVQ mask+72(FP), DX
	KMOVQ DX, K1
	KSHIFTRQ $16, K1, K2
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
	SHLQ $2, DX
	ROWS8
	MOVQ b+24(FP), BX
	MOVQ ldb+32(FP), DX
	SHLQ $2, DX
	MOVQ k+40(FP), CX
	TESTQ CX, CX
	JEQ  pvstore

pvloop:
	VMOVUPS.Z (BX), K1, Z0
	VMOVUPS.Z 64(BX), K2, Z1
	PVROW(R8, Z2, Z16, Z17)
	PVROW(R9, Z3, Z18, Z19)
	PVROW(R10, Z4, Z20, Z21)
	PVROW(R11, Z5, Z22, Z23)
	PVROW(R12, Z2, Z24, Z25)
	PVROW(R13, Z3, Z26, Z27)
	PVROW(SI, Z4, Z28, Z29)
	PVROW(DI, Z5, Z30, Z31)
	ADDQ DX, BX
	INCQ AX
	CMPQ AX, CX
	JLT  pvloop

pvstore:
	MOVQ inv+64(FP), BX
	VMULPS.BCST (BX), Z16, Z16
	VMULPS.BCST (BX), Z17, Z17
	VMULPS.BCST 4(BX), Z18, Z18
	VMULPS.BCST 4(BX), Z19, Z19
	VMULPS.BCST 8(BX), Z20, Z20
	VMULPS.BCST 8(BX), Z21, Z21
	VMULPS.BCST 12(BX), Z22, Z22
	VMULPS.BCST 12(BX), Z23, Z23
	VMULPS.BCST 16(BX), Z24, Z24
	VMULPS.BCST 16(BX), Z25, Z25
	VMULPS.BCST 20(BX), Z26, Z26
	VMULPS.BCST 20(BX), Z27, Z27
	VMULPS.BCST 24(BX), Z28, Z28
	VMULPS.BCST 24(BX), Z29, Z29
	VMULPS.BCST 28(BX), Z30, Z30
	VMULPS.BCST 28(BX), Z31, Z31
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ c+48(FP), R8
	MOVQ ldc+56(FP), DX
	SHLQ $2, DX
	ROWS8
	VMOVUPS Z16, K1, (R8)
	VMOVUPS Z17, K2, 64(R8)
	VMOVUPS Z18, K1, (R9)
	VMOVUPS Z19, K2, 64(R9)
	VMOVUPS Z20, K1, (R10)
	VMOVUPS Z21, K2, 64(R10)
	VMOVUPS Z22, K1, (R11)
	VMOVUPS Z23, K2, 64(R11)
	VMOVUPS Z24, K1, (R12)
	VMOVUPS Z25, K2, 64(R12)
	VMOVUPS Z26, K1, (R13)
	VMOVUPS Z27, K2, 64(R13)
	VMOVUPS Z28, K1, (SI)
	VMOVUPS Z29, K2, 64(SI)
	VMOVUPS Z30, K1, (DI)
	VMOVUPS Z31, K2, 64(DI)
	VZEROUPPER
	RET
