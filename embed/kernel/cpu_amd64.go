package kernel

import "golang.org/x/sys/cpu"

// Supported reports whether this CPU can run level l.
func Supported(l Level) bool {
	switch l {
	case Generic:
		return true
	case AVX2:
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA
	case AVX512:
		// The AVX-512 level also runs AVX2 code for kernels where 512-bit
		// vectors do not pay (see implFor), hence the AVX2 requirement.
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL &&
			cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return false
}

// implFor returns level l's kernels.
func implFor(l Level) impl {
	switch l {
	case AVX2:
		return impl{
			panel:     avx2Panel,
			matmul:    matmulAVX2,
			layerNorm: layerNormVecAVX2,
			gelu:      geluVecAVX2,
			attention: attentionVecAVX2,

			qpanel:     avx2Int8Pan,
			qspec:      avx2Spec,
			minMax:     minMaxVecAVX2,
			quantize:   quantizeVecAVX2,
			matmulInt8: matmulInt8AVX2,
		}
	case AVX512:
		k := impl{
			panel:     avx512Panel,
			matmul:    matmulAVX512,
			layerNorm: layerNormVecAVX2, // memory-bound: 512-bit vectors gain nothing
			gelu:      geluVecAVX512,
			attention: attentionVecAVX512,

			qpanel:     vnniPanel,
			qspec:      fullSpec,
			minMax:     minMaxVecAVX512,
			quantize:   quantizeVecAVX512,
			matmulInt8: matmulInt8VNNI,
		}
		if !cpu.X86.HasAVX512VNNI {
			k = withoutVNNI(k)
		}
		return k
	}
	return genericImpl()
}

// withoutVNNI gives AVX-512 kernels without VNNI (Skylake-SP) the AVX2
// integer matmul, whose three-instruction dot product gains nothing from
// 512-bit vectors; the quantizer stays AVX-512.
func withoutVNNI(k impl) impl {
	k.qpanel, k.qspec, k.matmulInt8 = avx2Int8Pan, avx2Spec, matmulInt8AVX2
	return k
}
