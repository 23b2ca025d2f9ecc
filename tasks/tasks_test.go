package tasks_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/tasks"
)

func TestLibrary(t *testing.T) {
	lib, err := tasks.Load()
	if err != nil {
		t.Fatal(err)
	}
	if lib.Len() < 7000 {
		t.Errorf("library has %d prompts", lib.Len())
	}
	written := map[string]bool{"advice": true, "creative_writing": true, "brainstorming": true, "business_writing": true, "humanities": true}
	for _, ty := range lib.Types() {
		ps := lib.Prompts(ty.Name)
		if len(ty.Phrases) == 0 {
			t.Errorf("%s has no phrases", ty.Name)
		}
		min := 150
		if written[ty.Name] {
			min = 100
		}
		if len(ps) < min {
			t.Errorf("%s has %d prompts, want at least %d", ty.Name, len(ps), min)
		}
		for _, p := range ps {
			if strings.TrimSpace(p.Text) == "" || p.Type != ty.Name || p.Source == "" {
				t.Fatalf("bad row %+v", p)
			}
		}
	}
	sample := lib.Sample(0)
	if n := len(sample["math"]); n != tasks.DefaultSample {
		t.Errorf("math sample %d", n)
	}
	again := lib.Sample(0)
	if sample["math"][7] != again["math"][7] {
		t.Error("Sample is not deterministic")
	}
}

func norm(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// The library must hold nothing switchyard is measured on: no row of any
// split but train of any shared dataset, and none of the project's eval
// corpus.
func TestLibraryHoldsNoEvaluationRow(t *testing.T) {
	files, _ := filepath.Glob("../../shared/datasets/*/*.jsonl")
	if len(files) == 0 {
		t.Skip("../shared/datasets is not beside the repository")
	}
	files = append(files, "../testdata/eval/corpus.jsonl")
	lib, err := tasks.Load()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, ty := range lib.Types() {
		for _, p := range lib.Prompts(ty.Name) {
			have[norm(p.Text)] = true
		}
	}
	checked := 0
	for _, f := range files {
		if filepath.Base(f) == "train.jsonl" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var r struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(sc.Bytes(), &r) != nil || r.Text == "" {
				continue
			}
			checked++
			if have[norm(r.Text)] {
				t.Errorf("%s: %q is in the library", f, r.Text)
			}
		}
	}
	if checked < 10000 {
		t.Errorf("checked only %d evaluation rows", checked)
	}
}

func TestVectorsRoundTrip(t *testing.T) {
	m := map[tasks.Key][]float32{}
	want := map[string][]float32{}
	for i, text := range []string{"a", "b", "c"} {
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(math.Sin(float64(i*8 + j + 1)))
		}
		m[tasks.KeyOf(text)] = v
		want[text] = v
	}
	var buf bytes.Buffer
	if err := tasks.WriteVectors(&buf, "test:model", 8, m); err != nil {
		t.Fatal(err)
	}
	v, err := tasks.ReadVectors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if v.Model() != "test:model" || v.Len() != 3 {
		t.Fatalf("model %q, %d vectors", v.Model(), v.Len())
	}
	for text, w := range want {
		got, ok := v.Get(text)
		if !ok {
			t.Fatalf("no vector for %q", text)
		}
		if c := cosine(got, w); c < 0.999 {
			t.Errorf("%q: cosine %v after quantisation", text, c)
		}
	}
	if _, err := tasks.ReadVectors(strings.NewReader("SYTV1\nx\n99999999 1\n")); err == nil {
		t.Error("a bad header was read")
	}
	if _, err := tasks.ReadVectors(strings.NewReader("not vectors")); err == nil {
		t.Error("garbage was read")
	}
}

// Resolve takes the base vectors of its model, embeds the rest once, and
// finds them in its cache the next time.
func TestResolveCaches(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	embed := func(_ context.Context, texts []string) ([][]float32, error) {
		calls += len(texts)
		out := make([][]float32, len(texts))
		for i, s := range texts {
			out[i] = []float32{float32(len(s)), 1, 0}
		}
		return out, nil
	}
	texts := []string{"one", "three", "three"}
	v, err := tasks.Resolve(t.Context(), "fake:m", nil, texts, embed, dir)
	if err != nil || calls != 2 || v.Len() != 2 {
		t.Fatalf("first resolve: %v, %d calls, %d vectors", err, calls, v.Len())
	}
	v, err = tasks.Resolve(t.Context(), "fake:m", nil, texts, embed, dir)
	if err != nil || calls != 2 || v.Len() != 2 {
		t.Fatalf("second resolve: %v, %d calls (want none new), %d vectors", err, calls, v.Len())
	}
	// A base of the model that covers every text is used as it is.
	if again, err := tasks.Resolve(t.Context(), "fake:m", v, []string{"one"}, nil, ""); err != nil || again != v {
		t.Errorf("a covering base was not returned as it is: %p, %v", again, err)
	}
	if _, err := tasks.Resolve(t.Context(), "fake:m", nil, []string{"new"}, nil, ""); err == nil {
		t.Error("a missing vector with nothing to embed it was not an error")
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}
