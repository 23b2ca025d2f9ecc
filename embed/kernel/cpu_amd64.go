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
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	}
	return false
}

// implFor returns level l's kernels. Until the assembly lands every level
// runs the portable code.
func implFor(Level) impl { return genericImpl }
