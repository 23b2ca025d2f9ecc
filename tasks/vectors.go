package tasks

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The vectors of the library's texts for the pinned model ship in the
// binary, so that start-up needs no embedding of them: one file for each
// arithmetic the model runs with (the embedder IDs differ, and so do the
// vectors, slightly). They are written by tasks/build (go run ./tasks/build
// -vectors) with the real model; a test checks a sample of each against it.
//
//go:embed vectors.bin vectors-int8.bin vectors-int8-w63.bin
var shippedFiles embed.FS

// ShippedModel is the embedder ID of vectors.bin, the model at fp32.
const ShippedModel = "local:all-MiniLM-L6-v2"

// shippedFile is the file of each shipped embedder ID.
var shippedFile = map[string]string{
	ShippedModel:               "vectors.bin",
	ShippedModel + "+int8":     "vectors-int8.bin",
	ShippedModel + "+int8-w63": "vectors-int8-w63.bin",
}

// ShippedFile is the file in tasks/ that holds (or would hold) the shipped
// vectors of the embedder ID model, and whether the binary ships any.
func ShippedFile(model string) (string, bool) {
	f, ok := shippedFile[model]
	return f, ok
}

// vectorsMagic starts a vectors file: format version 1.
const vectorsMagic = "SYTV1\n"

// Key is the key of a text in a vector file: the first 8 bytes of its
// SHA-256.
type Key [8]byte

// KeyOf returns text's key.
func KeyOf(text string) Key {
	sum := sha256.Sum256([]byte(text))
	var k Key
	copy(k[:], sum[:8])
	return k
}

// Vectors maps texts (by Key) to unit vectors. It is immutable once built
// and safe for concurrent use.
type Vectors struct {
	model string
	dim   int
	m     map[Key][]float32
}

// Model is the embedder ID the vectors come from.
func (v *Vectors) Model() string { return v.model }

// Len reports how many texts have a vector.
func (v *Vectors) Len() int { return len(v.m) }

// Get returns text's vector, if it has one.
func (v *Vectors) Get(text string) ([]float32, bool) {
	x, ok := v.m[KeyOf(text)]
	return x, ok
}

// get is a nil-safe lookup by key.
func (v *Vectors) get(k Key) ([]float32, bool) {
	if v == nil {
		return nil, false
	}
	x, ok := v.m[k]
	return x, ok
}

// Shipped returns the vectors that ship in the binary for the embedder ID
// model, or nil when none do.
func Shipped(model string) (*Vectors, error) {
	name, ok := shippedFile[model]
	if !ok {
		return nil, nil
	}
	b, err := shippedFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("tasks: shipped vectors: %w", err)
	}
	v, err := ReadVectors(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("tasks: shipped vectors %s: %w", name, err)
	}
	if v.model != model {
		return nil, fmt.Errorf("tasks: shipped vectors %s are %q's, want %q's", name, v.model, model)
	}
	return v, nil
}

// EmbedFunc embeds texts, one vector per text, in order.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// Resolve returns vectors for every text in texts from the model whose
// embedder ID is model: those in base (the shipped vectors, when they are
// that model's), then those in the disk cache file under cacheDir (""
// for none), and the rest embedded with embed, in batches, and appended to
// the cache file. The result holds base's vectors too.
func Resolve(ctx context.Context, model string, base *Vectors, texts []string, embed EmbedFunc, cacheDir string) (*Vectors, error) {
	if base != nil && base.model != model {
		base = nil
	}
	var missing []string
	seen := map[Key]bool{}
	for _, t := range texts {
		k := KeyOf(t)
		if _, ok := base.get(k); !ok && !seen[k] {
			seen[k] = true
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 && base != nil {
		return base, nil // the common case: the shipped vectors cover it all
	}
	out := &Vectors{model: model, m: map[Key][]float32{}}
	if base != nil {
		out.dim = base.dim
		for k, x := range base.m {
			out.m[k] = x
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	var path string
	if cacheDir != "" {
		path = filepath.Join(cacheDir, cacheName(model))
		if f, err := os.Open(path); err == nil {
			cached, err := ReadVectors(bufio.NewReader(f))
			f.Close()
			if err == nil && cached.model == model && (out.dim == 0 || cached.dim == out.dim) {
				out.dim = cached.dim
				for k, x := range cached.m {
					out.m[k] = x
				}
			}
		}
		kept := missing[:0]
		for _, t := range missing {
			if _, ok := out.m[KeyOf(t)]; !ok {
				kept = append(kept, t)
			}
		}
		missing = kept
	}
	if len(missing) == 0 {
		return out, nil
	}
	if embed == nil {
		return nil, fmt.Errorf("tasks: %d library texts have no vector for %s and nothing can embed them", len(missing), model)
	}
	const batch = 64
	added := map[Key][]float32{}
	for i := 0; i < len(missing); i += batch {
		part := missing[i:min(i+batch, len(missing))]
		vecs, err := embed(ctx, part)
		if err != nil {
			return nil, fmt.Errorf("tasks: embed library texts: %w", err)
		}
		if len(vecs) != len(part) {
			return nil, fmt.Errorf("tasks: embed returned %d vectors for %d texts", len(vecs), len(part))
		}
		for j, x := range vecs {
			u := unit(x)
			if u == nil || (out.dim != 0 && len(u) != out.dim) {
				return nil, fmt.Errorf("tasks: embedding of %q is zero or of the wrong dimension", clip(part[j]))
			}
			out.dim = len(u)
			k := KeyOf(part[j])
			out.m[k], added[k] = u, u
		}
	}
	if path != "" {
		// A cache that cannot be written costs the next start the same
		// embedding again, nothing more.
		_ = writeCache(path, model, out.dim, out.m)
	}
	return out, nil
}

// cacheName is the cache file of one embedder.
func cacheName(model string) string {
	sum := sha256.Sum256([]byte(model))
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, model)
	if len(safe) > 48 {
		safe = safe[:48]
	}
	return fmt.Sprintf("%s-%x.vec", safe, sum[:4])
}

func writeCache(path, model string, dim int, m map[Key][]float32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vec.tmp*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	if err := WriteVectors(w, model, dim, m); err == nil {
		err = w.Flush()
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteVectors writes m in the vector file format: a header (magic, model
// ID, dimension, count), then per text its Key, a float32 scale and dim
// int8 components (x ≈ scale·q), keys in ascending order so that the file
// is reproducible. Quantised to 8 bits, a shipped vector keeps a cosine of
// at least 0.995 with the model's own (ground's
// TestShippedVectorsAreTheModels checks a sample).
func WriteVectors(w io.Writer, model string, dim int, m map[Key][]float32) error {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortKeys(keys)
	if _, err := fmt.Fprintf(w, "%s%s\n%d %d\n", vectorsMagic, model, dim, len(keys)); err != nil {
		return err
	}
	buf := make([]byte, 8+4+dim)
	for _, k := range keys {
		x := m[k]
		if len(x) != dim {
			return fmt.Errorf("vector of dimension %d, want %d", len(x), dim)
		}
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		scale := amax / 127
		copy(buf, k[:])
		binary.LittleEndian.PutUint32(buf[8:], math.Float32bits(scale))
		for i, v := range x {
			q := 0.0
			if scale > 0 {
				q = math.Round(float64(v / scale))
			}
			buf[12+i] = byte(int8(max(-127, min(127, q))))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// ReadVectors reads a vector file written by WriteVectors; the vectors come
// back unit length.
func ReadVectors(r io.Reader) (*Vectors, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(vectorsMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != vectorsMagic {
		return nil, errors.New("not a vector file")
	}
	model, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("vector file header: %w", err)
	}
	var dim, n int
	if _, err := fmt.Fscanf(br, "%d %d\n", &dim, &n); err != nil {
		return nil, fmt.Errorf("vector file header: %w", err)
	}
	if dim <= 0 || dim > 1<<14 || n < 0 || n > 1<<24 {
		return nil, fmt.Errorf("vector file header: dimension %d, count %d", dim, n)
	}
	v := &Vectors{model: strings.TrimSuffix(model, "\n"), dim: dim, m: make(map[Key][]float32, n)}
	buf := make([]byte, 8+4+dim)
	// One backing array for all vectors: one allocation, compact in memory.
	all := make([]float32, n*dim)
	for i := range n {
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("vector file: entry %d: %w", i, err)
		}
		var k Key
		copy(k[:], buf[:8])
		scale := math.Float32frombits(binary.LittleEndian.Uint32(buf[8:]))
		x := all[i*dim : (i+1)*dim : (i+1)*dim]
		for j := range x {
			x[j] = scale * float32(int8(buf[12+j]))
		}
		if u := unit(x); u != nil {
			copy(x, u)
		}
		v.m[k] = x
	}
	return v, nil
}

func sortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int { return bytes.Compare(a[:], b[:]) })
}

// unit returns x scaled to unit length, or nil for a zero or non-finite
// vector.
func unit(x []float32) []float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil
	}
	n := float32(1 / math.Sqrt(s))
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = v * n
	}
	return out
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
