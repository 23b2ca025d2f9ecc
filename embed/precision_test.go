package embed

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchyard-router/switchyard/embed/kernel"
)

// int8Levels lists the SIMD paths with an int8 kernel of their own; the
// portable path is checked against them in embed/kernel, and running the
// model on it here would only repeat that, 50x slower.
func int8Levels() []kernel.Level {
	var out []kernel.Level
	for _, l := range levels() {
		if l != kernel.Generic {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []kernel.Level{kernel.Generic}
	}
	return out
}

// TestInt8ParityWithSentenceTransformers holds the int8 linear layers to
// the sentence-transformers reference vectors, at a tolerance int8 can
// meet: the float32 path is held to 0.9999.
func TestInt8ParityWithSentenceTransformers(t *testing.T) {
	ref := loadReference(t)
	texts := make([]string, len(ref.Inputs))
	for i, in := range ref.Inputs {
		texts[i] = in.Text
	}
	for _, level := range int8Levels() {
		t.Run(level.String(), func(t *testing.T) {
			m := openModel(t, LocalOptions{Level: level, ForceLevel: true, Precision: kernel.Int8})
			vecs, err := m.Embed(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			cs := make([]float64, len(vecs))
			for i, in := range ref.Inputs {
				cs[i] = cos(vecs[i], in.Embedding)
				if cs[i] < 0.98 {
					t.Errorf("%s: int8 cosine with sentence-transformers %.5f < 0.98", in.Name, cs[i])
				}
			}
			st := cosineStats(cs)
			if st.median < 0.995 {
				t.Errorf("median int8 cosine with sentence-transformers %.5f < 0.995", st.median)
			}
			t.Logf("%s int8 vs sentence-transformers over %d inputs: %s", level, len(cs), st)
		})
	}
}

func TestPrecisionChangesTheID(t *testing.T) {
	f := openModel(t, LocalOptions{})
	q := openModel(t, LocalOptions{Precision: kernel.Int8})
	if f.ID() != "local:all-MiniLM-L6-v2" {
		t.Errorf("fp32 ID = %q; the vectors shipped and cached under local:all-MiniLM-L6-v2 are fp32", f.ID())
	}
	if q.ID() == f.ID() {
		t.Errorf("int8 and fp32 share the ID %q, so caches would mix their vectors", q.ID())
	}
	if f.Precision() != kernel.FP32 || q.Precision() != kernel.Int8 {
		t.Errorf("Precision() = %v, %v; want fp32, int8", f.Precision(), q.Precision())
	}
	// The AVX2 kernel's narrower weights give other vectors than the
	// full-range paths (a cosine near 0.998), so they get another ID. The
	// full-range paths share one: their integer products agree exactly,
	// and only the float32 rounding of attention and LayerNorm differs,
	// which at most flips a code here and there (a cosine above 0.9999).
	ids := map[string][]float32{}
	for _, level := range levels() {
		m := openModel(t, LocalOptions{Level: level, ForceLevel: true, Precision: kernel.Int8})
		v, err := m.Embed(t.Context(), []string{"the same text on every path"})
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := ids[m.ID()]; ok && cos(prev, v[0]) < 0.9999 {
			t.Errorf("%s: ID %q is shared with a path whose vector differs (cosine %.6f)", level, m.ID(), cos(prev, v[0]))
		}
		ids[m.ID()] = v[0]
	}
}

// TestInt8AccuracyOnRealTexts measures cosine(fp32, int8) over the texts
// of the llm_tasks validation split (read from the shared datasets beside
// the repository, or $SWITCHYARD_DATASETS): real prompts, of every length
// up to the model's limit.
func TestInt8AccuracyOnRealTexts(t *testing.T) {
	texts := sharedTexts(t, "llm_tasks", "val")
	f := openModel(t, LocalOptions{})
	want, err := f.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range int8Levels() {
		t.Run(level.String(), func(t *testing.T) {
			q := openModel(t, LocalOptions{Level: level, ForceLevel: true, Precision: kernel.Int8})
			got, err := q.Embed(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			cs := make([]float64, len(texts))
			for i := range texts {
				cs[i] = cos(got[i], want[i])
			}
			st := cosineStats(cs)
			t.Logf("%s cosine(fp32, int8) over %d llm_tasks val texts: %s", level, len(cs), st)
			if st.median < 0.995 || st.p1 < 0.98 {
				t.Errorf("int8 is too far from fp32: median %.5f (want ≥ 0.995), p1 %.5f (want ≥ 0.98)", st.median, st.p1)
			}
		})
	}
}

type stats struct{ min, p1, median, mean float64 }

func cosineStats(cs []float64) stats {
	s := slices.Clone(cs)
	slices.Sort(s)
	var sum float64
	for _, c := range s {
		sum += c
	}
	return stats{min: s[0], p1: s[len(s)/100], median: s[len(s)/2], mean: sum / float64(len(s))}
}

func (s stats) String() string {
	return "min " + f5(s.min) + ", p1 " + f5(s.p1) + ", median " + f5(s.median) + ", mean " + f5(s.mean)
}

func f5(x float64) string {
	b, _ := json.Marshal(math.Round(x*1e5) / 1e5)
	return string(b)
}

// sharedTexts reads the texts of one split of a shared dataset, from
// $SWITCHYARD_DATASETS, else ../shared/datasets beside the repository,
// else /work/shared/datasets (where bench/eval.sh looks too). The datasets
// are never copied into the repository; without them the test is skipped.
func sharedTexts(t *testing.T, name, split string) []string {
	t.Helper()
	roots := []string{filepath.Join("..", "..", "shared", "datasets"), "/work/shared/datasets"}
	if env := os.Getenv("SWITCHYARD_DATASETS"); env != "" {
		roots = []string{env}
	}
	var path string
	for _, root := range roots {
		path = filepath.Join(root, name, split+".jsonl")
		if _, err := os.Stat(path); err == nil {
			break
		}
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is not there (set SWITCHYARD_DATASETS to the shared datasets)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		texts = append(texts, row.Text)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(texts) < 100 {
		t.Fatalf("%s has %d texts, want ≥ 100", path, len(texts))
	}
	return texts
}
