package wordpiece

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// BERT-uncased defaults, used for a bare vocab.txt, which carries no
// configuration of its own (they are what transformers' BertTokenizer
// assumes).
const (
	defaultPrefix       = "##"
	defaultMaxWordChars = 100
	defaultUnk          = "[UNK]"
	defaultCLS          = "[CLS]"
	defaultSEP          = "[SEP]"
	defaultPad          = "[PAD]"
	defaultMask         = "[MASK]"
)

// Load reads a tokenizer from path: a Hugging Face tokenizer.json, a
// vocab.txt (any *.txt: one token per line, id = line number, with
// BERT-uncased settings), or a model directory, where tokenizer.json is
// preferred over vocab.txt because it states the settings explicitly.
func Load(path string) (*Tokenizer, error) {
	t, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: load %s: %w", path, err)
	}
	return t, nil
}

func load(path string) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		dir := path
		path = filepath.Join(dir, "tokenizer.json")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			path = filepath.Join(dir, "vocab.txt")
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		return fromVocabTxt(data)
	}
	return fromTokenizerJSON(data)
}

// config is everything needed to build a Tokenizer, whichever file it
// came from.
type config struct {
	vocab        map[string]int32
	prefix       string
	maxWordChars int
	unk          string
	cls, sep     int32
	pad          int32
	norm         normalizer
	added        []addedToken
}

// fromVocabTxt reads one token per line, id = line number. Only "\n" is
// stripped, as transformers' load_vocab does, and a repeated token keeps
// its last id.
func fromVocabTxt(data []byte) (*Tokenizer, error) {
	c := config{
		vocab:        make(map[string]int32),
		prefix:       defaultPrefix,
		maxWordChars: defaultMaxWordChars,
		unk:          defaultUnk,
		norm:         normalizer{clean: true, chinese: true, strip: true, lower: true},
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	sc.Split(splitLF)
	var id int32
	for sc.Scan() {
		c.vocab[sc.Text()] = id
		id++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read vocab.txt: %w", err)
	}
	lookup := func(tok string) (int32, error) {
		id, ok := c.vocab[tok]
		if !ok {
			return 0, fmt.Errorf("vocab.txt has no %s token", tok)
		}
		return id, nil
	}
	var err error
	if c.cls, err = lookup(defaultCLS); err != nil {
		return nil, err
	}
	if c.sep, err = lookup(defaultSEP); err != nil {
		return nil, err
	}
	if c.pad, err = lookup(defaultPad); err != nil {
		return nil, err
	}
	// transformers registers the special tokens as added tokens, so they
	// are matched in raw text just as with tokenizer.json.
	for _, s := range []string{defaultPad, defaultUnk, defaultCLS, defaultSEP, defaultMask} {
		if id, ok := c.vocab[s]; ok {
			c.added = append(c.added, addedToken{s, id})
		}
	}
	return c.build()
}

// splitLF is bufio.ScanLines without its "\r" stripping.
func splitLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// tokenizerJSON is the subset of HF's tokenizer.json that affects
// encoding a single sequence. Truncation and padding are left out on
// purpose: sentence-transformers overrides them, and Encode takes maxLen.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type   string `json:"type"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
		// BertProcessing stores [token, id] pairs.
		CLS []json.RawMessage `json:"cls"`
		SEP []json.RawMessage `json:"sep"`
	} `json:"post_processor"`
	Padding *struct {
		PadID int64 `json:"pad_id"`
	} `json:"padding"`
	Model struct {
		Type                    string           `json:"type"`
		Vocab                   map[string]int64 `json:"vocab"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
	} `json:"model"`
}

func fromTokenizerJSON(data []byte) (*Tokenizer, error) {
	var j tokenizerJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	m := &j.Model
	if m.Type != "WordPiece" {
		return nil, fmt.Errorf("model type %q is not supported, only WordPiece", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("model has an empty vocab")
	}
	c := config{
		vocab:        make(map[string]int32, len(m.Vocab)),
		prefix:       defaultPrefix,
		maxWordChars: defaultMaxWordChars,
		unk:          defaultUnk,
	}
	for tok, id := range m.Vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("token %q has id %d out of range", tok, id)
		}
		c.vocab[tok] = int32(id)
	}
	if m.UnkToken != nil {
		c.unk = *m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil {
		c.prefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil {
		c.maxWordChars = *m.MaxInputCharsPerWord
	}

	// A missing normalizer means none; the pipeline with every step off
	// is the identity.
	if n := j.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer %q is not supported, only BertNormalizer", n.Type)
		}
		// Absent fields take the serde defaults of HF's BertNormalizer.
		c.norm = normalizer{clean: true, chinese: true, lower: true}
		if n.CleanText != nil {
			c.norm.clean = *n.CleanText
		}
		if n.HandleChineseChars != nil {
			c.norm.chinese = *n.HandleChineseChars
		}
		if n.Lowercase != nil {
			c.norm.lower = *n.Lowercase
		}
		c.norm.strip = c.norm.lower // null follows lowercase, as in the original BERT
		if n.StripAccents != nil {
			c.norm.strip = *n.StripAccents
		}
	}
	if p := j.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		typ := "null"
		if p != nil {
			typ = fmt.Sprintf("%q", p.Type)
		}
		return nil, fmt.Errorf("pre_tokenizer %s is not supported, only BertPreTokenizer", typ)
	}

	for _, a := range j.AddedTokens {
		// lstrip/rstrip/single_word change how matches absorb or
		// require the text around them, and normalized tokens are
		// matched after normalisation; none occur in BERT's files.
		if a.SingleWord || a.LStrip || a.RStrip || a.Normalized {
			return nil, fmt.Errorf("added token %q: single_word, lstrip, rstrip and normalized are not supported", a.Content)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("added token %d is empty", a.ID)
		}
		if a.ID < 0 || a.ID > math.MaxInt32 {
			return nil, fmt.Errorf("added token %q has id %d out of range", a.Content, a.ID)
		}
		c.added = append(c.added, addedToken{a.Content, int32(a.ID)})
	}
	added := func(tok string) (int32, bool) {
		for _, a := range c.added {
			if a.text == tok {
				return a.id, true
			}
		}
		id, ok := c.vocab[tok]
		return id, ok
	}

	var err error
	if c.cls, c.sep, err = postProcessor(&j); err != nil {
		return nil, err
	}
	switch id, ok := added(defaultPad); {
	case j.Padding != nil:
		if j.Padding.PadID < 0 || j.Padding.PadID > math.MaxInt32 {
			return nil, fmt.Errorf("pad id %d out of range", j.Padding.PadID)
		}
		c.pad = int32(j.Padding.PadID)
	case ok:
		c.pad = id
	default:
		return nil, errors.New("no padding configuration and no [PAD] token")
	}
	return c.build()
}

// postProcessor extracts the ids framing a single sequence. Only the
// [CLS] $A [SEP] shape is accepted: Encode promises exactly that frame.
func postProcessor(j *tokenizerJSON) (cls, sep int32, err error) {
	p := j.PostProcessor
	if p == nil {
		return 0, 0, errors.New("post_processor is null; a [CLS] … [SEP] template is required")
	}
	switch p.Type {
	case "TemplateProcessing":
		s := p.Single
		if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[2].SpecialToken == nil {
			return 0, 0, errors.New("post_processor template is not [special] $A [special]")
		}
		id := func(name string) (int32, error) {
			st, ok := p.SpecialTokens[name]
			if !ok || len(st.IDs) != 1 || st.IDs[0] < 0 || st.IDs[0] > math.MaxInt32 {
				return 0, fmt.Errorf("post_processor special token %q must map to exactly one id", name)
			}
			return int32(st.IDs[0]), nil
		}
		if cls, err = id(s[0].SpecialToken.ID); err != nil {
			return 0, 0, err
		}
		if sep, err = id(s[2].SpecialToken.ID); err != nil {
			return 0, 0, err
		}
		return cls, sep, nil
	case "BertProcessing":
		pair := func(name string, raw []json.RawMessage) (int32, error) {
			var id int64
			if len(raw) != 2 || json.Unmarshal(raw[1], &id) != nil || id < 0 || id > math.MaxInt32 {
				return 0, fmt.Errorf("post_processor %s must be [token, id]", name)
			}
			return int32(id), nil
		}
		if cls, err = pair("cls", p.CLS); err != nil {
			return 0, 0, err
		}
		if sep, err = pair("sep", p.SEP); err != nil {
			return 0, 0, err
		}
		return cls, sep, nil
	}
	return 0, 0, fmt.Errorf("post_processor %q is not supported, only TemplateProcessing and BertProcessing", p.Type)
}

// build validates c and indexes the vocabulary for the greedy search.
func (c *config) build() (*Tokenizer, error) {
	unk, ok := c.vocab[c.unk]
	if !ok {
		return nil, fmt.Errorf("unk token %q is not in the vocab", c.unk)
	}
	if c.maxWordChars < 1 {
		return nil, fmt.Errorf("max_input_chars_per_word %d must be positive", c.maxWordChars)
	}
	t := &Tokenizer{
		words:        make(map[string]int32, len(c.vocab)),
		subwords:     make(map[string]int32),
		maxWordChars: c.maxWordChars,
		unk:          unk,
		cls:          c.cls,
		sep:          c.sep,
		pad:          c.pad,
		norm:         c.norm,
		added:        c.added,
	}
	maxID := max(unk, c.cls, c.sep, c.pad)
	for tok, id := range c.vocab {
		maxID = max(maxID, id)
		t.words[tok] = id
		t.maxPiece = max(t.maxPiece, len(tok))
		if rest, ok := strings.CutPrefix(tok, c.prefix); ok && rest != "" {
			t.subwords[rest] = id
		}
	}
	t.firstByte = -1
	for i, a := range t.added {
		maxID = max(maxID, a.id)
		t.first[a.text[0]] = true
		switch {
		case i == 0:
			t.firstByte = int(a.text[0])
		case t.firstByte != int(a.text[0]):
			t.firstByte = -1
		}
	}
	t.size = int(maxID) + 1
	return t, nil
}
