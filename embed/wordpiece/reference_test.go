package wordpiece

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/switchyard-router/switchyard/embed/modeltest"
)

func loadModel(t testing.TB, file string) *Tokenizer {
	t.Helper()
	tok, err := Load(filepath.Join(modeltest.Dir(t), file))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type reference struct {
	MaxSeqLength int `json:"max_seq_length"`
	Inputs       []struct {
		Name string  `json:"name"`
		Text string  `json:"text"`
		IDs  []int32 `json:"ids"`
	} `json:"inputs"`
}

// loadReference reads the ids recorded by scripts/reference.py from
// sentence-transformers itself.
func loadReference(t testing.TB) *reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "embed", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("parse reference.json: %v", err)
	}
	if len(ref.Inputs) == 0 || ref.MaxSeqLength < 2 {
		t.Fatalf("reference.json has %d inputs and max_seq_length %d", len(ref.Inputs), ref.MaxSeqLength)
	}
	return &ref
}

func TestReferenceParity(t *testing.T) {
	ref := loadReference(t)
	// vocab.txt with BERT-uncased defaults must agree with the model's
	// explicit tokenizer.json.
	for _, file := range []string{"tokenizer.json", "vocab.txt"} {
		t.Run(file, func(t *testing.T) {
			tok := loadModel(t, file)
			for _, in := range ref.Inputs {
				if got := tok.Encode(in.Text, ref.MaxSeqLength); !slices.Equal(got, in.IDs) {
					t.Errorf("%s: %q\n got %v\nwant %v", in.Name, in.Text, got, in.IDs)
				}
			}
		})
	}
}

func TestReferenceCoversTruncation(t *testing.T) {
	ref := loadReference(t)
	var full, short int
	for _, in := range ref.Inputs {
		switch n := len(in.IDs); {
		case n == ref.MaxSeqLength:
			full++
		case n <= 16:
			short++
		}
	}
	if full < 3 || short < 3 {
		t.Errorf("reference.json has %d inputs at max_seq_length and %d short ones; want several of each", full, short)
	}
}

func TestModelAccessors(t *testing.T) {
	for _, file := range []string{"tokenizer.json", "vocab.txt", ""} {
		tok := loadModel(t, file) // "" loads the directory
		if got := tok.VocabSize(); got != 30522 {
			t.Errorf("Load(%q).VocabSize() = %d, want 30522", file, got)
		}
		if got := tok.PadID(); got != 0 {
			t.Errorf("Load(%q).PadID() = %d, want 0", file, got)
		}
	}
}

// TestConcurrentEncode is for -race: the pooled scratch state must never
// be shared between calls.
func TestConcurrentEncode(t *testing.T) {
	ref := loadReference(t)
	tok := loadModel(t, "tokenizer.json")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 * len(ref.Inputs) {
				in := ref.Inputs[(i+g)%len(ref.Inputs)]
				if got := tok.Encode(in.Text, ref.MaxSeqLength); !slices.Equal(got, in.IDs) {
					t.Errorf("%s: concurrent Encode differs", in.Name)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzEncode(f *testing.F) {
	tok := loadModel(f, "tokenizer.json")
	for _, s := range []string{
		"", "Hello, world!", "café naïve İ ß", "中文 한국어 日本語", "[CLS][SEP]x[MASK]",
		"a\u0301\u0315\u0300", "\xff\xfe invalid", "👨\u200d👩\u200d👧", "x\u0000y\u200bz", "##", "[SE",
	} {
		f.Add(s, uint16(256))
		f.Add(s, uint16(3))
	}
	f.Fuzz(func(t *testing.T, text string, n uint16) {
		maxLen := 2 + int(n%600)
		ids := tok.Encode(text, maxLen)
		if len(ids) < 2 || len(ids) > maxLen {
			t.Fatalf("len %d, maxLen %d", len(ids), maxLen)
		}
		if ids[0] != tok.cls || ids[len(ids)-1] != tok.sep {
			t.Fatalf("not framed by [CLS] … [SEP]: %v", ids)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() {
				t.Fatalf("id %d outside vocab of %d", id, tok.VocabSize())
			}
		}
		if again := tok.Encode(text, maxLen); !slices.Equal(ids, again) {
			t.Fatalf("not deterministic: %v then %v", ids, again)
		}
		// Truncation keeps a prefix: a longer budget never changes the
		// tokens a shorter one kept.
		long := tok.Encode(text, maxLen+50)
		if body := ids[:len(ids)-1]; !slices.Equal(body, long[:min(len(body), len(long))]) {
			t.Fatalf("maxLen %d gives %v, not a prefix of %v", maxLen, ids, long)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	tok := loadModel(b, "tokenizer.json")
	long := ""
	for range 40 {
		long += "The router embeds each prompt and picks the closest route. "
	}
	for _, bc := range []struct{ name, text string }{
		// 16 tokens including [CLS] and [SEP].
		{"16tok", "Please route this short request to the cheapest model that answers it."},
		{"accents-cjk", "Ångström café naïve — 東京で美味しいラーメンを食べたい"},
		{"truncated-256", long},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				tok.Encode(bc.text, 256)
			}
		})
	}
}
