// Package safetensors reads tensors from a .safetensors file without copying
// them: the file is memory-mapped where the platform allows and each F32
// tensor is returned as a []float32 view of the mapping.
//
// The format is an 8-byte little-endian header length, a JSON header mapping
// tensor names to {dtype, shape, data_offsets}, then the raw data. Offsets
// are relative to the end of the header.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"unsafe"
)

// maxHeader bounds the JSON header so a corrupt length cannot make us
// allocate gigabytes; real headers are tens of kilobytes.
const maxHeader = 100 << 20

// Info describes one tensor.
type Info struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// Offsets are [begin, end) in bytes, relative to the data section.
	Offsets [2]int64 `json:"data_offsets"`
}

// File is an open safetensors file. Views returned by Float32 stay valid
// until Close; File is safe for concurrent reads.
type File struct {
	data    []byte // the whole file (mapped or read)
	unmap   func() error
	base    int64 // start of the data section
	tensors map[string]Info
}

// Open maps path and parses its header.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: open %s: %w", path, err)
	}
	f, err := parse(data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Parse reads a safetensors image already in memory. The returned File
// aliases data.
func Parse(data []byte) (*File, error) { return parse(data) }

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, errors.New("file too short for a header")
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > maxHeader || n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d exceeds file size %d", n, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	f := &File{data: data, base: int64(8 + n), tensors: make(map[string]Info, len(raw))}
	size := int64(len(data)) - f.base
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var ti Info
		if err := json.Unmarshal(msg, &ti); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		b, e := ti.Offsets[0], ti.Offsets[1]
		if b < 0 || e < b || e > size {
			return nil, fmt.Errorf("tensor %q: offsets [%d, %d) outside data of %d bytes", name, b, e, size)
		}
		elems := int64(1)
		for _, d := range ti.Shape {
			if d < 0 || (d > 0 && elems > (1<<40)/int64(d)) {
				return nil, fmt.Errorf("tensor %q: bad shape %v", name, ti.Shape)
			}
			elems *= int64(d)
		}
		if w := dtypeSize(ti.DType); w > 0 && elems*w != e-b {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, offsets give %d", name, ti.Shape, ti.DType, elems*w, e-b)
		}
		f.tensors[name] = ti
	}
	return f, nil
}

func dtypeSize(dt string) int64 {
	switch dt {
	case "F64", "I64", "U64":
		return 8
	case "F32", "I32", "U32":
		return 4
	case "F16", "BF16", "I16", "U16":
		return 2
	case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2":
		return 1
	}
	return 0
}

// Names lists the tensors in the file, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info describes tensor name.
func (f *File) Info(name string) (Info, bool) {
	ti, ok := f.tensors[name]
	return ti, ok
}

// Float32 returns tensor name as a view of the file, after checking that it
// is F32 and has the given shape. The view must not be written.
func (f *File) Float32(name string, shape ...int) ([]float32, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: tensor %q not found", name)
	}
	if ti.DType != "F32" {
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want F32", name, ti.DType)
	}
	if !sameShape(ti.Shape, shape) {
		return nil, fmt.Errorf("safetensors: tensor %q has shape %v, want %v", name, ti.Shape, shape)
	}
	b := f.data[f.base+ti.Offsets[0] : f.base+ti.Offsets[1]]
	if len(b) == 0 {
		return []float32{}, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		// Misaligned data cannot be viewed as float32; copy it instead.
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Release tells the OS that the bytes of tensor name will not be read again
// (after they were copied elsewhere), so the pages leave the process's
// resident set. Views of that tensor must not be used afterwards. It is a
// no-op where the file is not mapped.
func (f *File) Release(name string) {
	ti, ok := f.tensors[name]
	if !ok || f.unmap == nil {
		return
	}
	release(f.data[f.base+ti.Offsets[0] : f.base+ti.Offsets[1]])
}

// Close unmaps the file. Views returned by Float32 are invalid afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.data = nil, nil
	return err
}

// readWhole reads the whole file, where mapping is unavailable or fails.
func readWhole(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	return b, nil, err
}
