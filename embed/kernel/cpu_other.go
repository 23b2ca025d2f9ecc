//go:build !amd64

package kernel

// Supported reports whether this CPU can run level l.
func Supported(l Level) bool { return l == Generic }

func implFor(Level) impl { return genericImpl() }
