package modelstore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// realModelDir returns the installed all-MiniLM-L6-v2, from
// $SWITCHYARD_MODEL_DIR or the default root, skipping the test when neither
// holds it. An explicitly named directory must hold it.
func realModelDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("SWITCHYARD_MODEL_DIR"); dir != "" {
		return dir
	}
	root, err := Root(os.Getenv)
	if err != nil {
		t.Skip(err)
	}
	dir := MiniLM().Dir(root)
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		t.Skipf("real model not installed (run scripts/fetch-model.sh): %v", err)
	}
	return dir
}

func TestRealModel(t *testing.T) {
	dir := realModelDir(t)
	m := MiniLM()

	start := time.Now()
	rep, err := Verify(t.Context(), dir, m)
	t.Logf("Verify %s: %v", dir, time.Since(start))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Status != StatusOK {
			t.Errorf("%s: %v", f.File.Path, f.Status)
		}
	}

	// The loader facts in the manifest agree with the model's own config.
	var st struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	var pool struct {
		Dim  int  `json:"word_embedding_dimension"`
		Mean bool `json:"pooling_mode_mean_tokens"`
	}
	var cfg struct {
		Hidden int `json:"hidden_size"`
	}
	for name, v := range map[string]any{"sentence_bert_config.json": &st, "1_Pooling/config.json": &pool, "config.json": &cfg} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			continue // optional
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if st.MaxSeqLength != 0 && st.MaxSeqLength != m.MaxSeqLen {
		t.Errorf("max_seq_length %d, manifest %d", st.MaxSeqLength, m.MaxSeqLen)
	}
	if pool.Dim != 0 && (pool.Dim != m.Dim || !pool.Mean || m.Pooling != "mean") {
		t.Errorf("pooling config %+v, manifest dim %d pooling %s", pool, m.Dim, m.Pooling)
	}
	if cfg.Hidden != m.Dim {
		t.Errorf("hidden_size %d, manifest dim %d", cfg.Hidden, m.Dim)
	}

	// Installing from the real files exercises the real pins end to end, and
	// List sees the result as intact.
	root := t.TempDir()
	if err := PullLocal(t.Context(), dir, m.Dir(root), m, nil); err != nil {
		t.Fatal(err)
	}
	got, err := List(t.Context(), root)
	if err != nil || len(got) != 1 || got[0].Status() != "ok" || got[0].Size < m.Files[0].Size {
		t.Fatalf("List = %+v, %v", got, err)
	}
}

// BenchmarkVerifyRealModel measures the check every model load pays.
func BenchmarkVerifyRealModel(b *testing.B) {
	dir := realModelDir(b)
	m := MiniLM()
	b.SetBytes(m.Files[0].Size)
	for b.Loop() {
		if _, err := Verify(b.Context(), dir, m); err != nil {
			b.Fatal(err)
		}
	}
}
