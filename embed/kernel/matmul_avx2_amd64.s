#include "textflag.h"

// AVX2+FMA matmul micro-kernel: a 4-row x 24-column tile of c, computed over
// one k range of a packed 24-wide weight panel.
//
// Register plan (16 ymm):
//   Y0-Y2   the 24 weights of the current k (three 8-lane vectors)
//   Y3      broadcast of a[row][k]
//   Y4-Y15  the 4x3 accumulators, row r in Y(4+3r)..Y(6+3r)
// 4x24 rather than the classic 6x16: both use 12 accumulators, but 4 rows
// divide the token counts the model sees (8, 16, 32, ...) so no tile is
// wasted on padding, and 3 weight loads + 4 broadcasts per 12 FMAs is the
// lighter load mix. 12 independent accumulators cover the FMA latency of two
// pipes.
//
// GPRs: R8-R11 hold the 4 row pointers of a (later of c); AX is the k index,
// BX walks the panel, CX is k. Rows past the last valid one point at the
// last valid row: they compute duplicates and store identical values to the
// same place, so row tails need no extra code. Column tails (a partial last
// panel) are handled by the Go driver through a padded scratch tile.
//
// Each k step prefetches the weights ~40 steps (4 KiB) ahead, past the
// panel's end into the next one: for short batches the product streams the
// weights from memory, and the hardware prefetcher alone keeps too few
// lines in flight. Prefetches never fault.

// ROWS4 fills R9..R11 from R8 with a byte stride DX, clamped to CX rows.
// AX must be 0; DX is clobbered.
#define ROWS4 \
	CMPQ CX, $2; CMOVQLT AX, DX; LEAQ (R8)(DX*1), R9; \
	CMPQ CX, $3; CMOVQLT AX, DX; LEAQ (R9)(DX*1), R10; \
	CMPQ CX, $4; CMOVQLT AX, DX; LEAQ (R10)(DX*1), R11

#define LOADROW(p, y0, y1, y2) \
	VMOVUPS (p), y0; VMOVUPS 32(p), y1; VMOVUPS 64(p), y2

#define STOREROW(p, y0, y1, y2) \
	VMOVUPS y0, (p); VMOVUPS y1, 32(p); VMOVUPS y2, 64(p)

#define FMAROW(p, y0, y1, y2) \
	VBROADCASTSS (p)(AX*4), Y3; \
	VFMADD231PS Y3, Y0, y0; VFMADD231PS Y3, Y1, y1; VFMADD231PS Y3, Y2, y2

// func gemm4x24AVX2(a *float32, lda, rows int, b *float32, k int, c *float32, ldc int, bias *float32, mode int)
TEXT ·gemm4x24AVX2(SB), NOSPLIT, $0-72
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ mode+64(FP), BX
	CMPQ BX, $2
	JEQ  initc
	CMPQ BX, $1
	JEQ  initbias
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	JMP  spread

initbias:
	MOVQ bias+56(FP), DX
	LOADROW(DX, Y4, Y5, Y6)

spread:
	// Every row starts from row 0's value (zero or the bias).
	VMOVAPS Y4, Y7
	VMOVAPS Y5, Y8
	VMOVAPS Y6, Y9
	VMOVAPS Y4, Y10
	VMOVAPS Y5, Y11
	VMOVAPS Y6, Y12
	VMOVAPS Y4, Y13
	VMOVAPS Y5, Y14
	VMOVAPS Y6, Y15
	JMP  compute

initc:
	// mode 2: accumulate onto c (a later k block).
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	ROWS4
	LOADROW(R8, Y4, Y5, Y6)
	LOADROW(R9, Y7, Y8, Y9)
	LOADROW(R10, Y10, Y11, Y12)
	LOADROW(R11, Y13, Y14, Y15)

compute:
	MOVQ a+0(FP), R8
	MOVQ lda+8(FP), DX
	SHLQ $2, DX
	ROWS4
	MOVQ b+24(FP), BX
	MOVQ k+32(FP), CX
	TESTQ CX, CX
	JEQ  store

loop:
	VMOVUPS (BX), Y0
	VMOVUPS 32(BX), Y1
	VMOVUPS 64(BX), Y2
	PREFETCHT0 4096(BX)
	PREFETCHT0 4160(BX)
	FMAROW(R8, Y4, Y5, Y6)
	FMAROW(R9, Y7, Y8, Y9)
	FMAROW(R10, Y10, Y11, Y12)
	FMAROW(R11, Y13, Y14, Y15)
	ADDQ $96, BX
	INCQ AX
	CMPQ AX, CX
	JLT  loop

store:
	MOVQ rows+16(FP), CX
	XORQ AX, AX
	MOVQ c+40(FP), R8
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX
	ROWS4
	STOREROW(R8, Y4, Y5, Y6)
	STOREROW(R9, Y7, Y8, Y9)
	STOREROW(R10, Y10, Y11, Y12)
	STOREROW(R11, Y13, Y14, Y15)
	VZEROUPPER
	RET
