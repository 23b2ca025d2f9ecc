package kernel

import "math"

// Scalar float32 versions of the two transcendental functions the model
// needs. The SIMD kernels evaluate exactly these formulas lane by lane, so
// the portable path and the tails of vector loops agree with the assembly to
// a few ulps, and none of them pays for float64 math.Exp/math.Erf, which
// cost more than the surrounding arithmetic.

// Range-reduction and polynomial constants of expf (Cephes-style): e^x =
// 2^n · e^r with n = round(x·log2 e) and |r| ≤ ln2/2; ln 2 is split in two
// so that n·expLn2Hi is exact. The polynomial is a minimax fit of
// (e^r - 1 - r)/r² on that interval; together the relative error is ~1e-7.
const (
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	// expUnderflow is where e^x leaves the normal float32 range; below it
	// expf returns exactly 0 (the true value is < 1.2e-38).
	expUnderflow = -87.33654
	// expClampHi keeps 2^n representable. Callers only pass x ≤ 0.
	expClampHi = 88.0
)

// expf returns e^x for x ≤ 88 with relative error about 1e-7, and exactly 0
// for x < -87.34 (including -Inf).
func expf(x float32) float32 {
	if !(x >= expUnderflow) { // also catches NaN, which the model never produces
		if x != x {
			return x
		}
		return 0
	}
	x = min(x, expClampHi)
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - n*expLn2Hi
	r -= n * expLn2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*(r*r) + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Coefficients of erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0: a
// Chebyshev fit whose relative error is below 1.2e-7 for every z ≥ 0, so it
// stays accurate deep in the tail where GELU(x) = x·erfc(-x/√2)/2 is tiny.
const (
	erfcC0 = -1.26551223
	erfcC1 = 1.00002368
	erfcC2 = 0.37409196
	erfcC3 = 0.09678418
	erfcC4 = -0.18628806
	erfcC5 = 0.27886807
	erfcC6 = -1.13520398
	erfcC7 = 1.48851587
	erfcC8 = -0.82215223
	erfcC9 = 0.17087277
	// geluHalfInvSqrt2 folds z = |x|/√2 into t = 1/(1 + z/2).
	geluHalfInvSqrt2 = 0.35355339059327373
)

// geluf returns x·Φ(x) = x/2·(1 + erf(x/√2)). With h = Φ(-|x|) =
// erfc(|x|/√2)/2 it is x·(1-h) for x ≥ 0 and x·h for x < 0; computing h
// from erfc (rather than 1 - erf) keeps full relative accuracy for negative
// x. GELU(±Inf) is ±Inf·(1 or 0): the multiplicand is clamped to the finite
// range so -Inf gives -0 instead of NaN.
func geluf(x float32) float32 {
	ax := float32(math.Abs(float64(x)))
	t := 1 / (1 + ax*geluHalfInvSqrt2)
	p := float32(erfcC9)
	p = p*t + erfcC8
	p = p*t + erfcC7
	p = p*t + erfcC6
	p = p*t + erfcC5
	p = p*t + erfcC4
	p = p*t + erfcC3
	p = p*t + erfcC2
	p = p*t + erfcC1
	p = p*t + erfcC0
	h := 0.5 * t * expf(p-0.5*x*x)
	if x < 0 {
		return max(x, -math.MaxFloat32) * h
	}
	return x * (1 - h)
}
