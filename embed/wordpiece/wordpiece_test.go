package wordpiece

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testVocab is a tiny vocabulary whose pieces make each rule visible in
// the output. Ids follow the slice order.
var testVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"a", "b", "c", "x", "y", "i", "ab", "##b", "##c", "##bc", "##y",
	"un", "##aff", "##able", "hello", "world", "cafe", "naive", "angstrom",
	"strasse", "istanbul", "中", "国", "ᄒ", "##ᅡ", "##ᆫ", "##\u0307",
	"x\U0001D165\U0001D16D", "sep", "[", "]", "$", "+", "¿", "!", ",", "#", "€", "abcdefghij",
}

// baseConfig is a minimal tokenizer.json in HF's format, as a map so
// tests can break one field at a time.
func baseConfig() map[string]any {
	vocab := map[string]any{}
	for i, tok := range testVocab {
		vocab[tok] = i
	}
	var added []any
	for i, tok := range testVocab[:5] {
		added = append(added, map[string]any{
			"id": i, "content": tok, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true,
		})
	}
	return map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": nil, "lowercase": true,
		},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type": "TemplateProcessing",
			"single": []any{
				map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}},
				map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
				map[string]any{"SpecialToken": map[string]any{"id": "[SEP]", "type_id": 0}},
			},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{2}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{3}, "tokens": []string{"[SEP]"}},
			},
		},
		"decoder": nil,
		"model": map[string]any{
			"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 10, "vocab": vocab,
		},
	}
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadConfig(t *testing.T, cfg map[string]any) *Tokenizer {
	t.Helper()
	tok, err := Load(writeConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pieces encodes text and spells the ids back as tokens, without the
// [CLS]/[SEP] frame.
func pieces(tok *Tokenizer, text string, maxLen int) string {
	ids := tok.Encode(text, maxLen)
	var out []string
	for _, id := range ids[1 : len(ids)-1] {
		out = append(out, testVocab[id])
	}
	return strings.Join(out, " ")
}

func TestEncodeRules(t *testing.T) {
	tok := loadConfig(t, baseConfig())
	tests := []struct {
		name, text, want string
	}{
		// clean_text
		{"nul, U+FFFD and controls are dropped", "a\x00b\ufffdc\x07\u200b\ue000", "ab ##c"},
		{"tab, newline and CR separate words", "a\tb\nc\rx", "a b c x"},
		{"unicode spaces separate words", "a\u00a0b\u3000c\u2003x\u2028y", "a b c x y"},
		{"format chars join what they split", "hel\u200blo wor\u00adld", "hello world"},
		// handle_chinese_chars
		{"CJK ideographs are words of their own", "a中国b", "a 中 国 b"},
		{"hangul is not padded", "a한", "[UNK]"},
		// strip accents (NFD, drop Mn) and lowercase
		{"accents", "Café NAÏVE Ångström", "cafe naive angstrom"},
		{"accent as combining mark", "cafe\u0301", "cafe"},
		{"hangul decomposes to jamo", "한", "ᄒ ##ᅡ ##ᆫ"},
		{"dotted capital I strips to i", "İSTANBUL", "istanbul"},
		{"sharp s is not folded", "straße", "[UNK]"},
		{"canonical reordering", "x\U0001D16D\U0001D165", "x\U0001D165\U0001D16D"},
		// BertPreTokenizer
		{"ascii symbols are punctuation", "a$b+c", "a $ b + c"},
		{"unicode punctuation", "¿a!", "¿ a !"},
		{"currency is not punctuation", "a€", "[UNK]"},
		{"punctuation runs split per char", "!!,", "! ! ,"},
		{"hash is punctuation, not a prefix", "##b", "# # b"},
		// WordPiece
		{"greedy longest match", "unaffable", "un ##aff ##able"},
		{"longest piece wins", "abc", "ab ##c"},
		{"continuation uses the prefix table", "abbc", "ab ##bc"},
		{"an unmatchable piece makes the word unk", "abz", "[UNK]"},
		{"max_input_chars_per_word is inclusive", "abcdefghij", "abcdefghij"},
		{"longer words are unk", "abcdefghijk", "[UNK]"},
		{"the limit counts chars after normalisation", "ABCDEFGHÏJ", "abcdefghij"},
		// added tokens, matched on raw text
		{"special tokens in text", "x[SEP]y [MASK]", "x [SEP] y [MASK]"},
		{"special tokens are case-sensitive", "[sep]", "[ sep ]"},
		{"special tokens split words", "ab[UNK]bc", "ab [UNK] b ##c"},
		{"empty", "", ""},
		{"whitespace only", " \t\n ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pieces(tok, tt.text, 512); got != tt.want {
				t.Errorf("Encode(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestLowercaseWithoutStrip(t *testing.T) {
	cfg := baseConfig()
	cfg["normalizer"].(map[string]any)["strip_accents"] = false
	tok := loadConfig(t, cfg)
	// Rust's char::to_lowercase expands 'İ' to "i" + U+0307, and with
	// accents kept the dot survives.
	if got, want := pieces(tok, "İ", 16), "i ##\u0307"; got != want {
		t.Errorf("Encode(İ) = %q, want %q", got, want)
	}
	if got, want := pieces(tok, "Café", 16), "[UNK]"; got != want {
		t.Errorf("Encode(Café) = %q, want %q", got, want)
	}
}

func TestCasedConfig(t *testing.T) {
	cfg := baseConfig()
	n := cfg["normalizer"].(map[string]any)
	n["lowercase"] = false
	n["handle_chinese_chars"] = false
	tok := loadConfig(t, cfg)
	if got, want := pieces(tok, "Hello hello a中", 16), "[UNK] hello [UNK]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTruncation(t *testing.T) {
	tok := loadConfig(t, baseConfig())
	tests := []struct {
		text   string
		maxLen int
		want   string
	}{
		{"a b c", 2, ""},
		{"a b c", 3, "a"},
		{"a b c", 5, "a b c"},
		{"a b c", 6, "a b c"},
		{"unaffable x", 4, "un ##aff"}, // a word's pieces can be cut
		{"a [SEP] b", 4, "a [SEP]"},
	}
	for _, tt := range tests {
		if got := pieces(tok, tt.text, tt.maxLen); got != tt.want {
			t.Errorf("Encode(%q, %d) = %q, want %q", tt.text, tt.maxLen, got, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Encode with maxLen 1 did not panic")
		}
	}()
	tok.Encode("a", 1)
}

func TestVocabTxt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := os.WriteFile(path, []byte(strings.Join(testVocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pieces(tok, "Café unaffable x[SEP]y 中", 64), "cafe un ##aff ##able x [SEP] y 中"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := tok.VocabSize(); got != len(testVocab) {
		t.Errorf("VocabSize() = %d, want %d", got, len(testVocab))
	}
	if got := tok.PadID(); got != 0 {
		t.Errorf("PadID() = %d, want 0", got)
	}
	// vocab.txt carries no settings, so max_input_chars_per_word is
	// BERT's 100.
	if got := pieces(tok, "a"+strings.Repeat("b", 99), 4); got != "ab ##b" {
		t.Errorf("100-char word: got %q", got)
	}
	if got := pieces(tok, "a"+strings.Repeat("b", 100), 4); got != "[UNK]" {
		t.Errorf("101-char word: got %q", got)
	}
}

func TestBertProcessing(t *testing.T) {
	cfg := baseConfig()
	cfg["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}}
	tok := loadConfig(t, cfg)
	if ids := tok.Encode("a", 8); len(ids) != 3 || ids[0] != 2 || ids[2] != 3 {
		t.Errorf("Encode = %v, want [2 5 3]", ids)
	}
}

func TestLoadRejects(t *testing.T) {
	set := func(path string, v any) func(map[string]any) {
		return func(cfg map[string]any) {
			keys := strings.Split(path, ".")
			m := cfg
			for _, k := range keys[:len(keys)-1] {
				m = m[k].(map[string]any)
			}
			m[keys[len(keys)-1]] = v
		}
	}
	tests := []struct {
		name   string
		mutate func(map[string]any)
		want   string // a fragment of the error
	}{
		{"BPE model", set("model.type", "BPE"), "model type"},
		{"no model type", set("model.type", ""), "model type"},
		{"empty vocab", set("model.vocab", map[string]any{}), "empty vocab"},
		{"unk not in vocab", set("model.unk_token", "<unk>"), "unk token"},
		{"negative id", set("model.vocab", map[string]any{"[UNK]": -1}), "out of range"},
		{"zero max chars", set("model.max_input_chars_per_word", 0), "max_input_chars_per_word"},
		{"other normalizer", set("normalizer", map[string]any{"type": "Lowercase"}), "normalizer"},
		{"no pre-tokenizer", set("pre_tokenizer", nil), "pre_tokenizer"},
		{"other pre-tokenizer", set("pre_tokenizer", map[string]any{"type": "Whitespace"}), "pre_tokenizer"},
		{"no post-processor", set("post_processor", nil), "post_processor"},
		{"roberta post-processor", set("post_processor", map[string]any{"type": "RobertaProcessing"}), "post_processor"},
		{"template without specials", set("post_processor.single", []any{map[string]any{"Sequence": map[string]any{"id": "A"}}}), "template"},
		{"unknown special", set("post_processor.special_tokens", map[string]any{}), "special token"},
		{"lstrip added token", set("added_tokens", []any{map[string]any{"id": 4, "content": "[MASK]", "lstrip": true}}), "lstrip"},
		{"normalized added token", set("added_tokens", []any{map[string]any{"id": 9, "content": "foo", "normalized": true}}), "normalized"},
		{"empty added token", set("added_tokens", []any{map[string]any{"id": 9, "content": ""}}), "empty"},
		{"wrong field type", set("model.vocab", []any{"a", "b"}), "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.mutate(cfg)
			path := writeConfig(t, cfg)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "wordpiece: load "+path+": ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name the file and %q", msg, tt.want)
			}
		})
	}

	dir := t.TempDir()
	for name, content := range map[string]string{
		"not-json.json":     "{\"model\": ",
		"array.json":        "[]",
		"no-cls.txt":        "[PAD]\n[UNK]\n[SEP]\n",
		"no-unk.txt":        "[PAD]\n[CLS]\n[SEP]\n",
		"empty.txt":         "",
		"empty-object.json": "{}",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("Load(%s) succeeded", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

func TestAddedTokensLeftmostLongest(t *testing.T) {
	cfg := baseConfig()
	added := cfg["added_tokens"].([]any)
	cfg["added_tokens"] = append(added,
		map[string]any{"id": 8, "content": "<x>"},  // spelled back as "x"
		map[string]any{"id": 9, "content": "<x>>"}, // spelled back as "y"
	)
	tok := loadConfig(t, cfg)
	tests := []struct{ text, want string }{
		{"a<x>b", "a x b"},
		{"a<x>>b", "a y b"},
		{"<x><x>>[SEP]", "x y [SEP]"},
		{"<X> <x", "[UNK] x [UNK] [UNK] x"}, // no match: "<" and ">" are not in the vocab
	}
	for _, tt := range tests {
		if got := pieces(tok, tt.text, 64); got != tt.want {
			t.Errorf("Encode(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
