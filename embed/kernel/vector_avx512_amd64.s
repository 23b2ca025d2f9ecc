#include "textflag.h"

// AVX-512 kernels for GELU and the softmax pieces of attention. Constants
// are read with embedded broadcasts ({1to16}), so they cost no registers;
// partial vectors at the end of a row are handled with lane masks, which
// never fault on the masked-off lanes.

DATA avx512c<>+0(SB)/4, $0x7fffffff // |x| mask
DATA avx512c<>+4(SB)/4, $1.0
DATA avx512c<>+8(SB)/4, $0.35355339059327373 // 1/(2√2)
DATA avx512c<>+12(SB)/4, $0.5
DATA avx512c<>+16(SB)/4, $0.17087277 // erfc C9 … C0
DATA avx512c<>+20(SB)/4, $(-0.82215223)
DATA avx512c<>+24(SB)/4, $1.48851587
DATA avx512c<>+28(SB)/4, $(-1.13520398)
DATA avx512c<>+32(SB)/4, $0.27886807
DATA avx512c<>+36(SB)/4, $(-0.18628806)
DATA avx512c<>+40(SB)/4, $0.09678418
DATA avx512c<>+44(SB)/4, $0.37409196
DATA avx512c<>+48(SB)/4, $1.00002368
DATA avx512c<>+52(SB)/4, $(-1.26551223)
DATA avx512c<>+56(SB)/4, $0xff7fffff // -MaxFloat32
DATA avx512c<>+60(SB)/4, $1.44269504088896341 // log2 e
DATA avx512c<>+64(SB)/4, $0.693359375 // ln2 hi
DATA avx512c<>+68(SB)/4, $(-2.12194440e-4) // ln2 lo
DATA avx512c<>+72(SB)/4, $1.9875691500e-4 // exp P0 … P5
DATA avx512c<>+76(SB)/4, $1.3981999507e-3
DATA avx512c<>+80(SB)/4, $8.3334519073e-3
DATA avx512c<>+84(SB)/4, $4.1665795894e-2
DATA avx512c<>+88(SB)/4, $1.6666665459e-1
DATA avx512c<>+92(SB)/4, $5.0000001201e-1
DATA avx512c<>+96(SB)/4, $(-87.33654) // exp underflow: below it e^x is 0
DATA avx512c<>+100(SB)/4, $88.0 // exp clamp
DATA avx512c<>+104(SB)/4, $0xff800000 // -Inf
GLOBL avx512c<>(SB), RODATA|NOPTR, $108

// Lane order that undoes the 4x4 transpose left by dotsAVX512's reduction.
DATA dotsperm<>+0(SB)/4, $0
DATA dotsperm<>+4(SB)/4, $4
DATA dotsperm<>+8(SB)/4, $8
DATA dotsperm<>+12(SB)/4, $12
DATA dotsperm<>+16(SB)/4, $1
DATA dotsperm<>+20(SB)/4, $5
DATA dotsperm<>+24(SB)/4, $9
DATA dotsperm<>+28(SB)/4, $13
DATA dotsperm<>+32(SB)/4, $2
DATA dotsperm<>+36(SB)/4, $6
DATA dotsperm<>+40(SB)/4, $10
DATA dotsperm<>+44(SB)/4, $14
DATA dotsperm<>+48(SB)/4, $3
DATA dotsperm<>+52(SB)/4, $7
DATA dotsperm<>+56(SB)/4, $11
DATA dotsperm<>+60(SB)/4, $15
GLOBL dotsperm<>(SB), RODATA|NOPTR, $64

// EXP16(x, n, r, p, k) replaces the 16 lanes of x with e^x, the same
// formula as expf: n = round(x·log2 e), r = x - n·ln2 in two parts, a
// degree-7 polynomial in r, then VSCALEFPS multiplies by 2^n. Lanes below
// the underflow bound (and NaN) are zeroed through the mask k, so e^x is
// exactly 0 there, as in expf.
#define EXP16(x, n, r, p, k) \
	VCMPPS.BCST $0x1d, avx512c<>+96(SB), x, k; \
	VMAXPS.BCST avx512c<>+96(SB), x, x; \
	VMINPS.BCST avx512c<>+100(SB), x, x; \
	VMULPS.BCST avx512c<>+60(SB), x, n; \
	VRNDSCALEPS $0, n, n; \
	VMOVAPS x, r; \
	VFNMADD231PS.BCST avx512c<>+64(SB), n, r; \
	VFNMADD231PS.BCST avx512c<>+68(SB), n, r; \
	VBROADCASTSS avx512c<>+72(SB), p; \
	VFMADD213PS.BCST avx512c<>+76(SB), r, p; \
	VFMADD213PS.BCST avx512c<>+80(SB), r, p; \
	VFMADD213PS.BCST avx512c<>+84(SB), r, p; \
	VFMADD213PS.BCST avx512c<>+88(SB), r, p; \
	VFMADD213PS.BCST avx512c<>+92(SB), r, p; \
	VMULPS r, r, x; \
	VFMADD213PS r, x, p; \
	VADDPS.BCST avx512c<>+4(SB), p, p; \
	VSCALEFPS.Z n, p, k, x

// GELU16 replaces the 16 lanes of Z0 with GELU(x) (see geluf): with
// t = 1/(1+|x|/(2√2)) and h = t·e^(P(t) - x²/2)/2 = Φ(-|x|), the result is
// x·(1-h) for x ≥ 0 and x·h for x < 0. x is clamped to the finite range
// before the last multiply so GELU(-Inf) is -0, not NaN; the operand order
// of that max lets a NaN x through. Needs Z29 = -MaxFloat32, Z30 = 0.5,
// Z31 = 1; clobbers Z1-Z6, K2, K3.
#define GELU16 \
	VPANDD.BCST avx512c<>+0(SB), Z0, Z1; \
	VMOVAPS Z31, Z2; \
	VFMADD231PS.BCST avx512c<>+8(SB), Z1, Z2; \
	VDIVPS Z2, Z31, Z2; \
	VBROADCASTSS avx512c<>+16(SB), Z3; \
	VFMADD213PS.BCST avx512c<>+20(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+24(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+28(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+32(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+36(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+40(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+44(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+48(SB), Z2, Z3; \
	VFMADD213PS.BCST avx512c<>+52(SB), Z2, Z3; \
	VMULPS Z0, Z0, Z4; \
	VFNMADD231PS Z30, Z4, Z3; \
	EXP16(Z3, Z4, Z5, Z6, K2); \
	VMULPS Z2, Z3, Z3; \
	VMULPS Z30, Z3, Z3; \
	VSUBPS Z3, Z31, Z4; \
	VPMOVD2M Z0, K3; \
	VMOVAPS Z3, K3, Z4; \
	VMAXPS Z0, Z29, Z0; \
	VMULPS Z4, Z0, Z0

// TAILMASK sets K1 to the low CX lanes (CX < 16); clobbers AX.
#define TAILMASK \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func geluAVX512(x *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), DX
	VBROADCASTSS avx512c<>+56(SB), Z29
	VBROADCASTSS avx512c<>+12(SB), Z30
	VBROADCASTSS avx512c<>+4(SB), Z31
	MOVQ DX, CX
	SHRQ $4, DX
	JZ   gelutail

geluloop:
	VMOVUPS (DI), Z0
	GELU16
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	DECQ DX
	JNZ  geluloop

gelutail:
	ANDQ $15, CX
	JZ   geludone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	GELU16
	VMOVUPS Z0, K1, (DI)

geludone:
	VZEROUPPER
	RET

// func expSumAVX512(x *float32, n int, sub float32) float32
// x[i] = e^(x[i]-sub) for i < n; returns the sum.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), DX
	VBROADCASTSS sub+16(FP), Z15
	VPXORD Z14, Z14, Z14
	MOVQ DX, CX
	SHRQ $4, DX
	JZ   expsumtail

expsumloop:
	VMOVUPS (DI), Z0
	VSUBPS Z15, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3, K2)
	VMOVUPS Z0, (DI)
	VADDPS Z0, Z14, Z14
	ADDQ $64, DI
	DECQ DX
	JNZ  expsumloop

expsumtail:
	ANDQ $15, CX
	JZ   expsumdone
	TAILMASK
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS Z15, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3, K2)
	VMOVUPS Z0, K1, (DI)
	VADDPS Z0, Z14, K1, Z14

expsumdone:
	VEXTRACTF32X8 $1, Z14, Y1
	VADDPS Y1, Y14, Y14
	VEXTRACTF128 $1, Y14, X1
	VADDPS X1, X14, X14
	VPERMILPS $0x4e, X14, X1
	VADDPS X1, X14, X14
	VPERMILPS $0xb1, X14, X1
	VADDSS X1, X14, X14
	VMOVSS X14, ret+24(FP)
	VZEROUPPER
	RET

// FOLD(lo, hi, a, b, t) halves the partial sums per key: a becomes the
// 128-bit lanes of a and b selected by lo plus those selected by hi (the
// complementary ones), so two vectors of partials for two (groups of) keys
// become one. t is scratch.
#define FOLD(lo, hi, a, b, t) \
	VSHUFF32X4 lo, b, a, t; \
	VSHUFF32X4 hi, b, a, a; \
	VADDPS t, a, a

// func dotsAVX512(s, q, k *float32, stride, n, hd int, scale float32) float32
// s[j] = scale·(q · k[j·stride:][:hd]) for j < n; returns max_j s[j].
// n and hd are positive multiples of 16.
//
// Sixteen keys at a time, one accumulator each (Z0-Z15), so the loop over
// d is 16 independent FMA chains sharing one load of q. The 16 per-key
// vectors are then reduced together rather than one by one: two rounds of
// 128-bit-lane shuffles halve the partials per key (16→8→4), a 4x4
// transpose-add inside the lanes finishes the sums, and one permute puts
// the 16 scores in key order. That is ~3 shuffles per key instead of the
// ~6 a per-key horizontal sum costs.
//
// GPRs: R11, BX, DX, R13 walk the keys of groups 0-3 (key 4g+i is at
// offset i·stride), R8 = stride and R12 = 3·stride in bytes, AX the offset
// into q, R9 = hd in bytes, R10 the first key of the block, CX the blocks.
TEXT ·dotsAVX512(SB), NOSPLIT, $0-60
	MOVQ s+0(FP), DI
	MOVQ q+8(FP), SI
	MOVQ k+16(FP), R10
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R12
	MOVQ n+32(FP), CX
	SHRQ $4, CX
	MOVQ hd+40(FP), R9
	SHLQ $2, R9
	VBROADCASTSS scale+48(FP), Z31
	VBROADCASTSS avx512c<>+104(SB), Z30
	VMOVUPS dotsperm<>(SB), Z29

dotsblock:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ R10, R11
	LEAQ (R11)(R8*4), BX
	LEAQ (BX)(R8*4), DX
	LEAQ (DX)(R8*4), R13
	XORQ AX, AX

dotsd:
	VMOVUPS (SI)(AX*1), Z16
	VFMADD231PS (R11), Z16, Z0
	VFMADD231PS (R11)(R8*1), Z16, Z1
	VFMADD231PS (R11)(R8*2), Z16, Z2
	VFMADD231PS (R11)(R12*1), Z16, Z3
	VFMADD231PS (BX), Z16, Z4
	VFMADD231PS (BX)(R8*1), Z16, Z5
	VFMADD231PS (BX)(R8*2), Z16, Z6
	VFMADD231PS (BX)(R12*1), Z16, Z7
	VFMADD231PS (DX), Z16, Z8
	VFMADD231PS (DX)(R8*1), Z16, Z9
	VFMADD231PS (DX)(R8*2), Z16, Z10
	VFMADD231PS (DX)(R12*1), Z16, Z11
	VFMADD231PS (R13), Z16, Z12
	VFMADD231PS (R13)(R8*1), Z16, Z13
	VFMADD231PS (R13)(R8*2), Z16, Z14
	VFMADD231PS (R13)(R12*1), Z16, Z15
	ADDQ $64, R11
	ADDQ $64, BX
	ADDQ $64, DX
	ADDQ $64, R13
	ADDQ $64, AX
	CMPQ AX, R9
	JLT  dotsd

	// 16 → 8 partials: Z(2i) = [key 2i | key 2i+1], 8 lanes each.
	FOLD($0x44, $0xee, Z0, Z1, Z16)
	FOLD($0x44, $0xee, Z2, Z3, Z17)
	FOLD($0x44, $0xee, Z4, Z5, Z18)
	FOLD($0x44, $0xee, Z6, Z7, Z19)
	FOLD($0x44, $0xee, Z8, Z9, Z20)
	FOLD($0x44, $0xee, Z10, Z11, Z21)
	FOLD($0x44, $0xee, Z12, Z13, Z22)
	FOLD($0x44, $0xee, Z14, Z15, Z23)
	// 8 → 4 partials: Z(4g) = keys 4g..4g+3, one 128-bit lane each.
	FOLD($0x88, $0xdd, Z0, Z2, Z16)
	FOLD($0x88, $0xdd, Z4, Z6, Z17)
	FOLD($0x88, $0xdd, Z8, Z10, Z18)
	FOLD($0x88, $0xdd, Z12, Z14, Z19)
	// 4 → 1 inside each lane: afterwards lane b, element g holds key 4g+b.
	VUNPCKLPS Z4, Z0, Z16
	VUNPCKHPS Z4, Z0, Z17
	VADDPS Z17, Z16, Z16
	VUNPCKLPS Z12, Z8, Z18
	VUNPCKHPS Z12, Z8, Z19
	VADDPS Z19, Z18, Z18
	VUNPCKLPD Z18, Z16, Z20
	VUNPCKHPD Z18, Z16, Z21
	VADDPS Z21, Z20, Z20
	VPERMPS Z20, Z29, Z20
	VMULPS Z31, Z20, Z20
	VMOVUPS Z20, (DI)
	VMAXPS Z20, Z30, Z30
	ADDQ $64, DI
	LEAQ (R10)(R8*8), R10
	LEAQ (R10)(R8*8), R10
	DECQ CX
	JNZ  dotsblock

	VMOVAPS Z30, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXSS X1, X0, X0
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// func wsumAVX512(o, p, v *float32, stride, n, hd int, scale float32)
// o[d] = scale·Σ_j p[j]·v[j·stride+d] for d < hd (a positive multiple of
// 16), n > 0. Keys go four at a time into separate accumulators, so a
// 32-column strip has 8 independent FMA chains (enough for two pipes with
// 4-cycle latency) and a 16-column strip 4; the four are summed at the end.
TEXT ·wsumAVX512(SB), NOSPLIT, $0-52
	MOVQ o+0(FP), DI
	MOVQ v+16(FP), DX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R12
	MOVQ hd+40(FP), R9
	VBROADCASTSS scale+48(FP), Z31

wsum32:
	CMPQ R9, $32
	JLT  wsum16
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ p+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ DX, R10

wsum32x4:
	CMPQ CX, $4
	JLT  wsum32x1
	VBROADCASTSS (SI), Z16
	VBROADCASTSS 4(SI), Z17
	VBROADCASTSS 8(SI), Z18
	VBROADCASTSS 12(SI), Z19
	VFMADD231PS (R10), Z16, Z0
	VFMADD231PS 64(R10), Z16, Z1
	VFMADD231PS (R10)(R8*1), Z17, Z2
	VFMADD231PS 64(R10)(R8*1), Z17, Z3
	VFMADD231PS (R10)(R8*2), Z18, Z4
	VFMADD231PS 64(R10)(R8*2), Z18, Z5
	VFMADD231PS (R10)(R12*1), Z19, Z6
	VFMADD231PS 64(R10)(R12*1), Z19, Z7
	ADDQ $16, SI
	LEAQ (R10)(R8*4), R10
	SUBQ $4, CX
	JMP  wsum32x4

wsum32x1:
	TESTQ CX, CX
	JZ   wsum32end
	VBROADCASTSS (SI), Z16
	VFMADD231PS (R10), Z16, Z0
	VFMADD231PS 64(R10), Z16, Z1
	ADDQ $4, SI
	ADDQ R8, R10
	DECQ CX
	JMP  wsum32x1

wsum32end:
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z4, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z7, Z5, Z5
	VADDPS Z5, Z1, Z1
	VMULPS Z31, Z0, Z0
	VMULPS Z31, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, R9
	JMP  wsum32

wsum16:
	CMPQ R9, $16
	JLT  wsumdone
	VPXORD Z0, Z0, Z0
	VPXORD Z2, Z2, Z2
	VPXORD Z4, Z4, Z4
	VPXORD Z6, Z6, Z6
	MOVQ p+8(FP), SI
	MOVQ n+32(FP), CX
	MOVQ DX, R10

wsum16x4:
	CMPQ CX, $4
	JLT  wsum16x1
	VBROADCASTSS (SI), Z16
	VBROADCASTSS 4(SI), Z17
	VBROADCASTSS 8(SI), Z18
	VBROADCASTSS 12(SI), Z19
	VFMADD231PS (R10), Z16, Z0
	VFMADD231PS (R10)(R8*1), Z17, Z2
	VFMADD231PS (R10)(R8*2), Z18, Z4
	VFMADD231PS (R10)(R12*1), Z19, Z6
	ADDQ $16, SI
	LEAQ (R10)(R8*4), R10
	SUBQ $4, CX
	JMP  wsum16x4

wsum16x1:
	TESTQ CX, CX
	JZ   wsum16end
	VBROADCASTSS (SI), Z16
	VFMADD231PS (R10), Z16, Z0
	ADDQ $4, SI
	ADDQ R8, R10
	DECQ CX
	JMP  wsum16x1

wsum16end:
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z4, Z0, Z0
	VMULPS Z31, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, R9
	JMP  wsum16

wsumdone:
	VZEROUPPER
	RET
