package eval

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/switchyard-router/switchyard/classifier"
	"github.com/switchyard-router/switchyard/embed"
)

// BatchSize is how many texts Store.Vectors sends to the embedder per call:
// large enough for the local model's batched path, small enough to keep
// progress and memory bounded.
const BatchSize = 256

// Store serves text vectors from an append-only file on disk, embedding
// only the texts it has not seen, so a rerun over the same corpus costs no
// model calls and an edited corpus costs only its new lines. Records are
// keyed by the SHA-256 of the text; the file lives in
// dir/<hash of the embedder ID>/vectors-<dim>.bin, so vectors of different
// models never mix. A Store is not safe for concurrent use, and two
// processes should not fill one directory at the same time.
type Store struct {
	e    embed.Embedder
	path string // "" keeps nothing on disk
}

// NewStore returns a Store for e under dir; an empty dir caches nothing.
func NewStore(e embed.Embedder, dir string) *Store {
	s := &Store{e: e}
	if dir != "" {
		sum := sha256.Sum256([]byte(e.ID()))
		s.path = filepath.Join(dir, hex.EncodeToString(sum[:8]), fmt.Sprintf("vectors-%d.bin", e.Dim()))
	}
	return s
}

// Path is the store's file, or "" when it keeps nothing on disk.
func (s *Store) Path() string { return s.path }

// record layout: sha256(text), then Dim() little-endian float32s.
func (s *Store) load() (map[[32]byte][]float32, error) {
	out := map[[32]byte][]float32{}
	if s.path == "" {
		return out, nil
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eval: open vector cache: %w", err)
	}
	defer f.Close()
	dim := s.e.Dim()
	rec := make([]byte, 32+4*dim)
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		// A torn last record (an interrupted run) is dropped, not an error:
		// its text is embedded again.
		if _, err := io.ReadFull(r, rec); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return nil, fmt.Errorf("eval: read vector cache: %w", err)
		}
		var key [32]byte
		copy(key[:], rec)
		v := make([]float32, dim)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rec[32+4*i:]))
		}
		out[key] = v
	}
}

func (s *Store) appendAll(keys [][32]byte, vecs [][]float32) error {
	if s.path == "" || len(keys) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("eval: vector cache: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("eval: vector cache: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf [4]byte
	for i, k := range keys {
		w.Write(k[:])
		for _, x := range vecs[i] {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			w.Write(buf[:])
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("eval: write vector cache: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("eval: write vector cache: %w", err)
	}
	return nil
}

// Vectors returns a map from each text to its vector, embedding the texts
// the cache lacks in batches of BatchSize and appending them to the cache
// after each batch (an interrupted run keeps what it paid for). embedded
// is how many texts were sent to the embedder.
func (s *Store) Vectors(ctx context.Context, texts []string) (vecs map[string][]float32, embedded int, err error) {
	have, err := s.load()
	if err != nil {
		return nil, 0, err
	}
	dim := s.e.Dim()
	vecs = make(map[string][]float32, len(texts))
	var missing []string
	for _, t := range texts {
		if _, done := vecs[t]; done {
			continue
		}
		if v, ok := have[sha256.Sum256([]byte(t))]; ok {
			vecs[t] = v
			continue
		}
		vecs[t] = nil // claimed: a repeated text is embedded once
		missing = append(missing, t)
	}
	for start := 0; start < len(missing); start += BatchSize {
		batch := missing[start:min(start+BatchSize, len(missing))]
		got, err := s.e.Embed(ctx, batch)
		if err != nil {
			return nil, embedded, fmt.Errorf("eval: embed %d texts: %w", len(batch), err)
		}
		if len(got) != len(batch) {
			return nil, embedded, fmt.Errorf("eval: embedder returned %d vectors for %d texts", len(got), len(batch))
		}
		keys := make([][32]byte, len(batch))
		for i, t := range batch {
			if len(got[i]) != dim {
				return nil, embedded, fmt.Errorf("eval: embedder returned a %d-dimension vector, want %d", len(got[i]), dim)
			}
			keys[i] = sha256.Sum256([]byte(t))
			vecs[t] = got[i]
		}
		embedded += len(batch)
		if err := s.appendAll(keys, got); err != nil {
			return nil, embedded, err
		}
	}
	return vecs, embedded, nil
}

// VectorClassifier adapts a classifier to router.Classifier for texts whose
// vectors are already known, so a router decides an example exactly as it
// would a live request, without embedding it again.
type VectorClassifier struct {
	Classifier *classifier.Classifier
	Vectors    map[string][]float32 // text → vector
}

// Classify scores the stored vector of text; a text with none is an error.
func (v VectorClassifier) Classify(ctx context.Context, text string) (classifier.Match, error) {
	vec, ok := v.Vectors[text]
	if !ok || vec == nil {
		return classifier.Match{}, fmt.Errorf("eval: no vector for %q", text)
	}
	if !v.Classifier.Segmenting() {
		return v.Classifier.ClassifyVector(ctx, vec)
	}
	segs := classifier.Segments(text)
	vecs := [][]float32{vec}
	for _, sg := range segs {
		sv, ok := v.Vectors[sg]
		if !ok || sv == nil {
			return classifier.Match{}, fmt.Errorf("eval: no vector for segment %q", sg)
		}
		vecs = append(vecs, sv)
	}
	return v.Classifier.ClassifyVectors(ctx, vecs, segs)
}
