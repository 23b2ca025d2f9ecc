package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// build writes a safetensors image holding the given F32 tensors, laid out in
// argument order, with pad zero bytes after the header.
func build(t *testing.T, header map[string]any, data []byte) []byte {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

func f32bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestOpenReadsTensors(t *testing.T) {
	data := append(f32bytes(1, 2, 3, 4, 5, 6), f32bytes(-1.5)...)
	img := build(t, map[string]any{
		"__metadata__": map[string]string{"format": "pt"},
		"w":            map[string]any{"dtype": "F32", "shape": []int{2, 3}, "data_offsets": []int{0, 24}},
		"b":            map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{24, 28}},
	}, data)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); strings.Join(got, ",") != "b,w" {
		t.Fatalf("Names = %v, want [b w]", got)
	}
	w, err := f.Float32("w", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{1, 2, 3, 4, 5, 6} {
		if w[i] != want {
			t.Fatalf("w[%d] = %v, want %v", i, w[i], want)
		}
	}
	b, err := f.Float32("b", 1)
	if err != nil || b[0] != -1.5 {
		t.Fatalf("b = %v, %v; want [-1.5]", b, err)
	}
	if _, err := f.Float32("w", 3, 2); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("wrong shape: err = %v, want a shape error", err)
	}
	if _, err := f.Float32("missing"); err == nil {
		t.Fatal("missing tensor: no error")
	}
}

func TestParseRejectsCorruptHeaders(t *testing.T) {
	tests := []struct {
		name string
		img  []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"length past end", binary.LittleEndian.AppendUint64(nil, 1<<20), "exceeds"},
		{"not json", append(binary.LittleEndian.AppendUint64(nil, 3), "{x}"...), "header"},
		{"offsets past data", build(t, map[string]any{
			"w": map[string]any{"dtype": "F32", "shape": []int{4}, "data_offsets": []int{0, 16}},
		}, f32bytes(1, 2)), "outside data"},
		{"shape disagrees with offsets", build(t, map[string]any{
			"w": map[string]any{"dtype": "F32", "shape": []int{3}, "data_offsets": []int{0, 8}},
		}, f32bytes(1, 2)), "needs 12 bytes"},
		{"negative dim", build(t, map[string]any{
			"w": map[string]any{"dtype": "F32", "shape": []int{-1}, "data_offsets": []int{0, 0}},
		}, nil), "bad shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.img)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFloat32CopiesMisalignedData(t *testing.T) {
	// A header whose length is not a multiple of 4 leaves the data section
	// misaligned; the reader must copy rather than alias.
	hdr := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for len(hdr)%4 != 1 {
		hdr += " "
	}
	img := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	img = append(img, hdr...)
	img = append(img, f32bytes(7, 8)...)
	f, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.Float32("w", 2)
	if err != nil || w[0] != 7 || w[1] != 8 {
		t.Fatalf("w = %v, %v; want [7 8]", w, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 52), `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`...))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, img []byte) {
		file, err := Parse(img)
		if err != nil {
			return
		}
		// Every tensor the parser accepted must be readable within bounds.
		for _, name := range file.Names() {
			ti, _ := file.Info(name)
			if ti.DType == "F32" {
				if _, err := file.Float32(name, ti.Shape...); err != nil {
					t.Fatalf("accepted tensor %q unreadable: %v", name, err)
				}
			}
		}
	})
}
