package eval

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"sync/atomic"
	"testing"
)

// countingEmbedder makes a deterministic vector from each text's hash and
// counts what it is asked to embed.
type countingEmbedder struct {
	calls, texts atomic.Int64
	largest      atomic.Int64
}

func (c *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	if n := int64(len(texts)); n > c.largest.Load() {
		c.largest.Store(n)
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		h := fnv.New64a()
		h.Write([]byte(t))
		s := h.Sum64()
		out[i] = []float32{float32(s & 0xff), float32(s >> 8 & 0xff), float32(s >> 16 & 0xff), 1}
	}
	return out, nil
}

func (*countingEmbedder) ID() string { return "fake" }
func (*countingEmbedder) Dim() int   { return 4 }

func TestStoreSecondRunEmbedsNothing(t *testing.T) {
	dir := t.TempDir()
	var texts []string
	for i := range 600 {
		texts = append(texts, fmt.Sprintf("text %d", i))
	}
	texts = append(texts, "text 7") // a repeat is embedded once

	first := &countingEmbedder{}
	v1, n, err := NewStore(first, dir).Vectors(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n != 600 || first.texts.Load() != 600 || first.calls.Load() != 3 || first.largest.Load() > BatchSize {
		t.Fatalf("first run embedded %d texts (reported %d) in %d calls of at most %d, want 600 in 3 of at most %d",
			first.texts.Load(), n, first.calls.Load(), first.largest.Load(), BatchSize)
	}

	second := &countingEmbedder{}
	v2, n, err := NewStore(second, dir).Vectors(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || second.calls.Load() != 0 {
		t.Fatalf("second run made %d embed calls (%d texts), want none", second.calls.Load(), n)
	}
	for _, tx := range texts {
		if !slices.Equal(v1[tx], v2[tx]) {
			t.Fatalf("%q: cached %v, embedded %v", tx, v2[tx], v1[tx])
		}
	}

	// One new text costs one embedding; a torn record at the end (an
	// interrupted run) is dropped, not fatal.
	f, err := os.OpenFile(NewStore(second, dir).Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3})
	f.Close()
	third := &countingEmbedder{}
	if _, n, err := NewStore(third, dir).Vectors(t.Context(), append(texts, "new")); err != nil || n != 1 {
		t.Fatalf("third run: embedded %d, err %v; want 1, nil", n, err)
	}
}

func TestStoreWithoutDir(t *testing.T) {
	e := &countingEmbedder{}
	s := NewStore(e, "")
	for range 2 {
		if _, _, err := s.Vectors(t.Context(), []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Path() != "" || e.texts.Load() != 4 {
		t.Fatalf("path %q, embedded %d; want no file and 4", s.Path(), e.texts.Load())
	}
}

type otherModel struct{ countingEmbedder }

func (*otherModel) ID() string { return "other" }

func TestStoreKeepsModelsApart(t *testing.T) {
	dir := t.TempDir()
	if NewStore(&countingEmbedder{}, dir).Path() == NewStore(&otherModel{}, dir).Path() {
		t.Fatal("two embedder IDs share a cache file")
	}
}
