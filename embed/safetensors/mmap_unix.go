//go:build unix

package safetensors

import (
	"os"

	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps path read-only. Mapping, rather than reading, keeps the 47 MB
// word-embedding table out of the resident set except for the rows that are
// actually looked up.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return []byte{}, nil, nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return readWhole(path)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}

// release drops b's pages from the resident set. The start is rounded up to
// a page boundary so that neighbouring tensors stay mapped in.
func release(b []byte) {
	page := uintptr(os.Getpagesize())
	if len(b) == 0 {
		return
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	aligned := (start + page - 1) &^ (page - 1)
	skip := int(aligned - start)
	if skip >= len(b) {
		return
	}
	n := (len(b) - skip) &^ int(page-1)
	if n > 0 {
		_ = unix.Madvise(b[skip:skip+n], unix.MADV_DONTNEED)
	}
}
