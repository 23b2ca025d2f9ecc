#include "textflag.h"

// AVX2+FMA kernels for everything but the matmul: GELU, the softmax pieces
// of attention (dot products, exp+sum, weighted sum of values) and
// LayerNorm. They process whole 8-lane vectors only; the Go callers finish
// any tail with the scalar formulas in mathf.go, which these mirror.

// Constants, one float32 each; loaded with VBROADCASTSS where needed (AVX2
// has no embedded broadcast, and a broadcast load costs no more than a
// plain one).
DATA avx2c<>+0(SB)/4, $0x7fffffff // |x| mask
DATA avx2c<>+4(SB)/4, $1.0
DATA avx2c<>+8(SB)/4, $0.35355339059327373 // 1/(2√2)
DATA avx2c<>+12(SB)/4, $0.5
DATA avx2c<>+16(SB)/4, $0.17087277 // erfc C9 … C0
DATA avx2c<>+20(SB)/4, $(-0.82215223)
DATA avx2c<>+24(SB)/4, $1.48851587
DATA avx2c<>+28(SB)/4, $(-1.13520398)
DATA avx2c<>+32(SB)/4, $0.27886807
DATA avx2c<>+36(SB)/4, $(-0.18628806)
DATA avx2c<>+40(SB)/4, $0.09678418
DATA avx2c<>+44(SB)/4, $0.37409196
DATA avx2c<>+48(SB)/4, $1.00002368
DATA avx2c<>+52(SB)/4, $(-1.26551223)
DATA avx2c<>+56(SB)/4, $0xff7fffff // -MaxFloat32
DATA avx2c<>+60(SB)/4, $1.44269504088896341 // log2 e
DATA avx2c<>+64(SB)/4, $0.693359375 // ln2 hi
DATA avx2c<>+68(SB)/4, $(-2.12194440e-4) // ln2 lo
DATA avx2c<>+72(SB)/4, $1.9875691500e-4 // exp P0 … P5
DATA avx2c<>+76(SB)/4, $1.3981999507e-3
DATA avx2c<>+80(SB)/4, $8.3334519073e-3
DATA avx2c<>+84(SB)/4, $4.1665795894e-2
DATA avx2c<>+88(SB)/4, $1.6666665459e-1
DATA avx2c<>+92(SB)/4, $5.0000001201e-1
DATA avx2c<>+96(SB)/4, $(-87.33654) // exp underflow: below it e^x is 0
DATA avx2c<>+100(SB)/4, $88.0 // exp clamp
DATA avx2c<>+104(SB)/4, $0x7f // float32 exponent bias (an int32)
DATA avx2c<>+108(SB)/4, $0xff800000 // -Inf
GLOBL avx2c<>(SB), RODATA|NOPTR, $112

// EXP8(x, n, r, p, m) replaces the 8 lanes of x with e^x, exactly as
// expf: clamp, n = round(x·log2 e), r = x - n·ln2 (in two parts), a degree-7
// polynomial in r, then 2^n built in the exponent field. Lanes below the
// underflow bound (and NaN) become exactly 0 through the mask m.
#define EXP8(x, n, r, p, m) \
	VBROADCASTSS avx2c<>+96(SB), m; \
	VMAXPS m, x, r; \
	VCMPPS $0x1d, m, x, m; \
	VBROADCASTSS avx2c<>+100(SB), x; \
	VMINPS x, r, x; \
	VBROADCASTSS avx2c<>+60(SB), n; \
	VMULPS n, x, n; \
	VROUNDPS $0, n, n; \
	VBROADCASTSS avx2c<>+64(SB), p; \
	VMOVAPS x, r; \
	VFNMADD231PS p, n, r; \
	VBROADCASTSS avx2c<>+68(SB), p; \
	VFNMADD231PS p, n, r; \
	VBROADCASTSS avx2c<>+72(SB), p; \
	VBROADCASTSS avx2c<>+76(SB), x; \
	VFMADD213PS x, r, p; \
	VBROADCASTSS avx2c<>+80(SB), x; \
	VFMADD213PS x, r, p; \
	VBROADCASTSS avx2c<>+84(SB), x; \
	VFMADD213PS x, r, p; \
	VBROADCASTSS avx2c<>+88(SB), x; \
	VFMADD213PS x, r, p; \
	VBROADCASTSS avx2c<>+92(SB), x; \
	VFMADD213PS x, r, p; \
	VMULPS r, r, x; \
	VFMADD213PS r, x, p; \
	VBROADCASTSS avx2c<>+4(SB), x; \
	VADDPS x, p, p; \
	VCVTPS2DQ n, n; \
	VPBROADCASTD avx2c<>+104(SB), x; \
	VPADDD x, n, n; \
	VPSLLD $23, n, n; \
	VMULPS n, p, x; \
	VANDPS m, x, x

// HSUM8(y, x, t, tx) leaves the sum of y's 8 lanes in the low lane of x
// (the xmm half of y); t/tx is a scratch ymm and its xmm half.
#define HSUM8(y, x, t, tx) \
	VEXTRACTF128 $1, y, tx; \
	VADDPS tx, x, x; \
	VPERMILPS $0x4e, x, tx; \
	VADDPS tx, x, x; \
	VPERMILPS $0xb1, x, tx; \
	VADDSS tx, x, x

// func geluAVX2(x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JZ   geludone
	VBROADCASTSS avx2c<>+0(SB), Y12
	VBROADCASTSS avx2c<>+4(SB), Y13
	VBROADCASTSS avx2c<>+12(SB), Y14
	VBROADCASTSS avx2c<>+56(SB), Y15

geluloop:
	// Y0 x, Y2 t = 1/(1+|x|/(2√2)), Y3 the erfc polynomial in t.
	VMOVUPS (DI), Y0
	VANDPS Y12, Y0, Y1
	VBROADCASTSS avx2c<>+8(SB), Y2
	VFMADD213PS Y13, Y1, Y2
	VDIVPS Y2, Y13, Y2
	VBROADCASTSS avx2c<>+16(SB), Y3
	VBROADCASTSS avx2c<>+20(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+24(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+28(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+32(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+36(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+40(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+44(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+48(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	VBROADCASTSS avx2c<>+52(SB), Y4
	VFMADD213PS Y4, Y2, Y3
	// h = t·e^(P(t) - x²/2) / 2 = Φ(-|x|)
	VMULPS Y0, Y0, Y4
	VFNMADD231PS Y14, Y4, Y3
	EXP8(Y3, Y4, Y5, Y6, Y7)
	VMULPS Y2, Y3, Y3
	VMULPS Y14, Y3, Y3
	// x·(x < 0 ? h : 1-h), with x clamped to finite so -Inf·0 is -0; NaN
	// x passes through the max (second operand) and stays NaN.
	VSUBPS Y3, Y13, Y4
	VBLENDVPS Y0, Y3, Y4, Y4
	VMAXPS Y0, Y15, Y0
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ  geluloop

geludone:
	VZEROUPPER
	RET

// func dotsAVX2(s, q, k *float32, stride, n, hd int, scale float32) float32
// s[j] = scale·(q · k[j·stride:][:hd]) for j < n; returns max_j s[j].
// hd is a positive multiple of 8, n > 0.
//
// Keys go four at a time, one accumulator each (Y0-Y3), so the loop over d
// runs four independent FMA chains sharing each load of q; three VHADDPS
// and one 128-bit fold then reduce the four vectors into the four scores,
// in key order, far cheaper than four separate horizontal sums. The last
// n%4 keys go one by one. X14 keeps a running max per lane.
TEXT ·dotsAVX2(SB), NOSPLIT, $0-60
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R12
	MOVQ n+32(FP), CX
	MOVQ hd+40(FP), R9
	SHLQ $2, R9
	VBROADCASTSS scale+48(FP), X15
	VBROADCASTSS avx2c<>+108(SB), X14

dots4:
	CMPQ CX, $4
	JLT  dots1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ DX, R10
	XORQ AX, AX

dots4d:
	VMOVUPS (SI)(AX*1), Y4
	VFMADD231PS (R10), Y4, Y0
	VFMADD231PS (R10)(R8*1), Y4, Y1
	VFMADD231PS (R10)(R8*2), Y4, Y2
	VFMADD231PS (R10)(R12*1), Y4, Y3
	ADDQ $32, R10
	ADDQ $32, AX
	CMPQ AX, R9
	JLT  dots4d
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMULPS X15, X0, X0
	VMOVUPS X0, (DI)
	VMAXPS X0, X14, X14
	ADDQ $16, DI
	LEAQ (DX)(R8*4), DX
	SUBQ $4, CX
	JMP  dots4

dots1:
	TESTQ CX, CX
	JZ   dotsdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX

dots1d:
	VMOVUPS (SI)(AX*1), Y1
	VFMADD231PS (DX)(AX*1), Y1, Y0
	ADDQ $32, AX
	CMPQ AX, R9
	JLT  dots1d
	HSUM8(Y0, X0, Y1, X1)
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)
	VMAXSS X0, X14, X14
	ADDQ $4, DI
	ADDQ R8, DX
	DECQ CX
	JMP  dots1

dotsdone:
	VPERMILPS $0x4e, X14, X1
	VMAXPS X1, X14, X14
	VPERMILPS $0xb1, X14, X1
	VMAXSS X1, X14, X14
	VMOVSS X14, ret+56(FP)
	VZEROUPPER
	RET

// func expSumAVX2(x *float32, n int, sub float32) float32
// x[i] = e^(x[i]-sub) for i < n (a multiple of 8); returns the sum.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS sub+16(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   expsumdone

expsumloop:
	VMOVUPS (DI), Y0
	VSUBPS Y15, Y0, Y0
	EXP8(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y14, Y14
	ADDQ $32, DI
	DECQ CX
	JNZ  expsumloop

expsumdone:
	HSUM8(Y14, X14, Y1, X1)
	VMOVSS X14, ret+24(FP)
	VZEROUPPER
	RET

// func wsumAVX2(o, p, v *float32, stride, n, hd int, scale float32)
// o[d] = scale·Σ_j p[j]·v[j·stride+d] for d < hd (a positive multiple of
// 8), n > 0. A 32-column strip takes two keys per step into separate
// accumulators (Y0-Y3 even keys, Y4-Y7 odd), an 8-column strip four keys
// (Y0-Y3): either way 4-8 independent FMA chains instead of one per column
// vector, which is what the 4-cycle FMA latency needs.
TEXT ·wsumAVX2(SB), NOSPLIT, $0-52
	MOVQ o+0(FP), DI
	MOVQ v+16(FP), DX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R12
	MOVQ hd+40(FP), R9
	VBROADCASTSS scale+48(FP), Y15

wsum32:
	CMPQ R9, $32
	JLT  wsum8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ p+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ DX, R10

wsum32x2:
	CMPQ CX, $2
	JLT  wsum32x1
	VBROADCASTSS (SI), Y8
	VBROADCASTSS 4(SI), Y9
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS 32(R10), Y8, Y1
	VFMADD231PS 64(R10), Y8, Y2
	VFMADD231PS 96(R10), Y8, Y3
	VFMADD231PS (R10)(R8*1), Y9, Y4
	VFMADD231PS 32(R10)(R8*1), Y9, Y5
	VFMADD231PS 64(R10)(R8*1), Y9, Y6
	VFMADD231PS 96(R10)(R8*1), Y9, Y7
	ADDQ $8, SI
	LEAQ (R10)(R8*2), R10
	SUBQ $2, CX
	JMP  wsum32x2

wsum32x1:
	TESTQ CX, CX
	JZ   wsum32end
	VBROADCASTSS (SI), Y8
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS 32(R10), Y8, Y1
	VFMADD231PS 64(R10), Y8, Y2
	VFMADD231PS 96(R10), Y8, Y3

wsum32end:
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y6, Y2, Y2
	VADDPS Y7, Y3, Y3
	VMULPS Y15, Y0, Y0
	VMULPS Y15, Y1, Y1
	VMULPS Y15, Y2, Y2
	VMULPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, R9
	JMP  wsum32

wsum8:
	CMPQ R9, $8
	JLT  wsumdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ p+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ DX, R10

wsum8x4:
	CMPQ CX, $4
	JLT  wsum8x1
	VBROADCASTSS (SI), Y8
	VBROADCASTSS 4(SI), Y9
	VBROADCASTSS 8(SI), Y10
	VBROADCASTSS 12(SI), Y11
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS (R10)(R8*1), Y9, Y1
	VFMADD231PS (R10)(R8*2), Y10, Y2
	VFMADD231PS (R10)(R12*1), Y11, Y3
	ADDQ $16, SI
	LEAQ (R10)(R8*4), R10
	SUBQ $4, CX
	JMP  wsum8x4

wsum8x1:
	TESTQ CX, CX
	JZ   wsum8end
	VBROADCASTSS (SI), Y8
	VFMADD231PS (R10), Y8, Y0
	ADDQ $4, SI
	ADDQ R8, R10
	DECQ CX
	JMP  wsum8x1

wsum8end:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, R9
	JMP  wsum8

wsumdone:
	VZEROUPPER
	RET

// func layerNormAVX2(x, res *float32, dim int, gamma, beta *float32, eps float32)
// One row, in place; dim is a positive multiple of 8; res may be nil. Same
// three passes as layerNormRow: (residual add and) sum, sum of squared
// deviations, then scale and shift.
TEXT ·layerNormAVX2(SB), NOSPLIT, $0-44
	MOVQ x+0(FP), DI
	MOVQ res+8(FP), SI
	MOVQ dim+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ SI, SI
	JZ   lnsum

lnres:
	VMOVUPS (DI)(AX*1), Y2
	VADDPS (SI)(AX*1), Y2, Y2
	VMOVUPS Y2, (DI)(AX*1)
	VADDPS Y2, Y0, Y0
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  lnres
	JMP  lnmean

lnsum:
	VADDPS (DI)(AX*1), Y0, Y0
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  lnsum

lnmean:
	HSUM8(Y0, X0, Y2, X2)
	MOVQ dim+16(FP), DX
	VCVTSI2SSQ DX, X13, X13
	VDIVSS X13, X0, X0
	VBROADCASTSS X0, Y14 // mean
	XORQ AX, AX

lnvar:
	VMOVUPS (DI)(AX*1), Y2
	VSUBPS Y14, Y2, Y2
	VFMADD231PS Y2, Y2, Y1
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  lnvar
	HSUM8(Y1, X1, Y2, X2)
	VDIVSS X13, X1, X1
	VADDSS eps+40(FP), X1, X1
	VSQRTSS X1, X1, X1
	VMOVSS avx2c<>+4(SB), X2
	VDIVSS X1, X2, X2
	VBROADCASTSS X2, Y15 // 1/sqrt(var+eps)
	MOVQ gamma+24(FP), R8
	MOVQ beta+32(FP), R9
	XORQ AX, AX

lnscale:
	VMOVUPS (DI)(AX*1), Y2
	VSUBPS Y14, Y2, Y2
	VMULPS Y15, Y2, Y2
	VMOVUPS (R8)(AX*1), Y3
	VFMADD213PS (R9)(AX*1), Y3, Y2
	VMOVUPS Y2, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  lnscale
	VZEROUPPER
	RET

// func scaleMaxAVX2(x *float32, n int, scale float32) float32
// x[i] *= scale for i < n (a multiple of 8); returns max_i x[i] (-Inf for
// n = 0). Both attention levels use it on a row of raw scores: the pass is
// short next to the products around it, so 256-bit vectors do.
TEXT ·scaleMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y15
	VBROADCASTSS avx2c<>+108(SB), Y14
	VMOVAPS Y14, Y13
	SHRQ $4, CX
	JZ   scalemax8

scalemaxloop:
	// Two vectors per step into two running maxima.
	VMULPS (DI), Y15, Y0
	VMULPS 32(DI), Y15, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMAXPS Y0, Y14, Y14
	VMAXPS Y1, Y13, Y13
	ADDQ $64, DI
	DECQ CX
	JNZ  scalemaxloop

scalemax8:
	MOVQ n+8(FP), CX
	TESTQ $8, CX
	JZ   scalemaxdone
	VMULPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	VMAXPS Y0, Y14, Y14

scalemaxdone:
	VMAXPS Y13, Y14, Y14
	VEXTRACTF128 $1, Y14, X1
	VMAXPS X1, X14, X14
	VPERMILPS $0x4e, X14, X1
	VMAXPS X1, X14, X14
	VPERMILPS $0xb1, X14, X1
	VMAXPS X1, X14, X14
	VMOVSS X14, ret+24(FP)
	VZEROUPPER
	RET
