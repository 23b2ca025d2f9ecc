// Package wordpiece owns the first step of the in-process embedding model:
// turning text into BERT token ids exactly as Hugging Face's `tokenizers`
// library does for a WordPiece model (all-MiniLM-L6-v2 and other
// BERT-family sentence encoders).
//
// The tokenizer is configured from the model's own files (tokenizer.json,
// or vocab.txt with BERT-uncased defaults) and refuses configurations it
// cannot reproduce faithfully, because a tokenizer that is silently a
// little wrong yields embeddings that are silently a little wrong.
//
// The pipeline is HF's: added (special) tokens are split out of the raw
// text first, then each remaining span is normalised (BertNormalizer),
// split on whitespace and punctuation (BertPreTokenizer), and cut into
// greedy longest-match WordPiece pieces. One consequence worth knowing: a
// literal "[SEP]" or "[MASK]" in user text becomes that special token, as
// it does in Python.
package wordpiece

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Tokenizer is a BERT WordPiece tokenizer. It is immutable after Load and
// safe for concurrent use.
type Tokenizer struct {
	words    map[string]int32 // pieces that may start a word
	subwords map[string]int32 // continuation pieces, keyed without the "##" prefix
	maxPiece int              // bytes in the longest key of words or subwords

	maxWordChars int // longer words (in chars) become a single unk
	unk, cls     int32
	sep, pad     int32
	size         int // one more than the largest id

	norm normalizer

	// added tokens are matched on the raw text before normalisation,
	// leftmost-longest, as HF's AddedVocabulary does for tokens with
	// normalized=false. first marks the bytes they can start with so
	// the scan skips everything else; firstByte is that byte when there
	// is only one, else -1.
	added     []addedToken
	first     [256]bool
	firstByte int

	scratch sync.Pool // *encoder; keeps Encode to one allocation
}

type addedToken struct {
	text string
	id   int32
}

// VocabSize returns one more than the largest id Encode can return, i.e.
// the number of rows the model's token embedding table needs.
func (t *Tokenizer) VocabSize() int { return t.size }

// PadID returns the id of the padding token, for batching.
func (t *Tokenizer) PadID() int32 { return t.pad }

// Encode returns the token ids of text framed as [CLS] … [SEP], keeping
// only the first maxLen-2 content tokens so that the result has at most
// maxLen ids (sentence-transformers truncates the same way; the model uses
// 256). Invalid UTF-8 is read as U+FFFD, which normalisation drops. Encode
// panics if maxLen < 2, since no valid sequence fits.
func (t *Tokenizer) Encode(text string, maxLen int) []int32 {
	if maxLen < 2 {
		panic("wordpiece: Encode called with maxLen < 2")
	}
	e, _ := t.scratch.Get().(*encoder)
	if e == nil {
		e = &encoder{t: t}
	}
	e.ids = append(e.ids[:0], t.cls)
	e.limit = maxLen - 1 // room for [SEP]
	e.encode(text)
	if len(e.ids) > e.limit {
		e.ids = e.ids[:e.limit] // the last word's pieces may overshoot
	}
	out := make([]int32, len(e.ids)+1)
	copy(out, e.ids)
	out[len(e.ids)] = t.sep
	e.reset()
	t.scratch.Put(e)
	return out
}

// encoder is the per-call state of Encode: the normalisation stages are
// chained method calls that stream runes into the current word, so no
// normalised copy of the text is ever built.
type encoder struct {
	t     *Tokenizer
	ids   []int32
	limit int // stop once len(ids) reaches it

	word      []byte // the current pre-token, normalised
	wordChars int    // chars seen in the current word (word stops growing past the limit)

	// marks holds the non-starters that follow the last starter, waiting
	// for canonical reordering; only used when stripping accents.
	marks  []mark
	decomp []rune
	lower  []rune
}

type mark struct {
	r   rune
	ccc uint8
}

// maxKeptScratch bounds the buffers an encoder keeps between calls, so
// one pathological input does not pin memory in the pool.
const maxKeptScratch = 4096

func (e *encoder) reset() {
	if cap(e.marks) > maxKeptScratch {
		e.marks = nil
	}
	if cap(e.ids) > maxKeptScratch {
		e.ids = nil
	}
	e.marks = e.marks[:0]
	e.word = e.word[:0]
	e.wordChars = 0
}

func (e *encoder) full() bool { return len(e.ids) >= e.limit }

// encode splits text on added tokens and runs the pipeline on the spans
// between them. HF would tokenise everything and then truncate; stopping
// once the budget is spent gives the same prefix because no token depends
// on text after it.
func (e *encoder) encode(text string) {
	t := e.t
	for !e.full() {
		i, tok := t.nextAdded(text)
		e.span(text[:i])
		if tok == nil || e.full() {
			return
		}
		e.ids = append(e.ids, tok.id)
		text = text[i+len(tok.text):]
	}
}

// nextAdded finds the leftmost added token in s, preferring the longest
// at that position. It returns len(s) and nil when there is none.
func (t *Tokenizer) nextAdded(s string) (int, *addedToken) {
	if len(t.added) == 0 {
		return len(s), nil
	}
	for i := 0; i < len(s); i++ {
		if t.firstByte >= 0 {
			// BERT's specials all start with '[': let IndexByte skip
			// ahead, so a long prompt costs little before truncation.
			j := strings.IndexByte(s[i:], byte(t.firstByte))
			if j < 0 {
				break
			}
			i += j
		} else if !t.first[s[i]] {
			continue
		}
		var best *addedToken
		for j := range t.added {
			a := &t.added[j]
			if len(s)-i >= len(a.text) && s[i:i+len(a.text)] == a.text && (best == nil || len(a.text) > len(best.text)) {
				best = a
			}
		}
		if best != nil {
			return i, best
		}
	}
	return len(s), nil
}

// span tokenises a stretch of text that contains no added token.
func (e *encoder) span(s string) {
	n := &e.t.norm
	for _, r := range s {
		if e.full() {
			return
		}
		if r < utf8.RuneSelf {
			e.ascii(byte(r))
			continue
		}
		// Clean text.
		if n.clean {
			if r == 0xFFFD || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		// Pad CJK ideographs.
		if n.chinese && isChinese(r) {
			e.decomposed(' ')
			e.decomposed(r)
			e.decomposed(' ')
			continue
		}
		e.decomposed(r)
	}
	e.flushMarks()
	e.endWord()
}

// ascii is the whole pipeline for one ASCII char, which is most input:
// none is a CJK ideograph, none decomposes or is a mark, so each step is
// a comparison. It must agree with the general path through span.
func (e *encoder) ascii(c byte) {
	n := &e.t.norm
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r',
		(c == '\v' || c == '\f') && !n.clean: // Rust's whitespace; clean_text drops them as controls
		e.flushMarks()
		e.endWord()
	case (c < 0x20 || c == 0x7f) && n.clean:
		// A dropped control is not a starter: marks after it still
		// reorder with those before it, as in HF.
	case isPunct(rune(c)):
		e.flushMarks()
		e.endWord()
		e.addRune(rune(c))
		e.endWord()
	default:
		e.flushMarks()
		if n.lower && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		e.wordChars++
		if e.wordChars <= e.t.maxWordChars {
			e.word = append(e.word, c)
		}
	}
}

// decomposed runs the NFD step when accents are stripped: starters pass
// through, and the non-starters after each starter are released in
// canonical order once the next starter arrives.
func (e *encoder) decomposed(r rune) {
	if !e.t.norm.strip {
		e.cased(r)
		return
	}
	if r < utf8.RuneSelf {
		e.flushMarks()
		e.cased(r)
		return
	}
	e.decomp = decompose(e.decomp[:0], r)
	for _, c := range e.decomp {
		ccc := combiningClass(c)
		if ccc == 0 {
			e.flushMarks()
			e.cased(c)
			continue
		}
		// Insertion keeps equal classes in input order, as the
		// canonical ordering algorithm requires.
		i := len(e.marks)
		e.marks = append(e.marks, mark{})
		for i > 0 && e.marks[i-1].ccc > ccc {
			e.marks[i] = e.marks[i-1]
			i--
		}
		e.marks[i] = mark{c, ccc}
	}
}

func (e *encoder) flushMarks() {
	for _, m := range e.marks {
		e.cased(m.r)
	}
	e.marks = e.marks[:0]
}

// cased drops nonspacing marks (when stripping accents) and lower-cases.
func (e *encoder) cased(r rune) {
	n := &e.t.norm
	if r < utf8.RuneSelf {
		if n.lower && 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		e.pretoken(r)
		return
	}
	if n.strip && isNonspacingMark(r) {
		return
	}
	if !n.lower {
		e.pretoken(r)
		return
	}
	e.lower = appendLower(e.lower[:0], r)
	for _, c := range e.lower {
		e.pretoken(c)
	}
}

// pretoken is BertPreTokenizer: whitespace ends a word and is dropped;
// each punctuation char is a word of its own.
func (e *encoder) pretoken(r rune) {
	if r == ' ' || isWhitespace(r) {
		e.endWord()
		return
	}
	if isPunct(r) {
		e.endWord()
		e.addRune(r)
		e.endWord()
		return
	}
	e.addRune(r)
}

func (e *encoder) addRune(r rune) {
	e.wordChars++
	// Past the limit the word is [UNK] whatever it holds, so stop
	// buffering: a megabyte without spaces costs no memory.
	if e.wordChars <= e.t.maxWordChars {
		e.word = utf8.AppendRune(e.word, r)
	}
}

func (e *encoder) endWord() {
	if e.wordChars == 0 {
		return
	}
	if !e.full() {
		e.wordPiece()
	}
	e.word = e.word[:0]
	e.wordChars = 0
}

// wordPiece appends the greedy longest-match-first pieces of the current
// word, or a single unk if the word is too long or any part of it matches
// no piece. Candidates longer than the longest vocabulary entry are
// skipped, which cannot change the result.
func (e *encoder) wordPiece() {
	t := e.t
	if e.wordChars > t.maxWordChars {
		e.ids = append(e.ids, t.unk)
		return
	}
	w := e.word
	mark := len(e.ids)
	for start := 0; start < len(w); {
		pieces := t.words
		if start > 0 {
			pieces = t.subwords
		}
		end := min(len(w), start+t.maxPiece)
		for end < len(w) && !utf8.RuneStart(w[end]) {
			end--
		}
		found := false
		for end > start {
			if id, ok := pieces[string(w[start:end])]; ok {
				e.ids = append(e.ids, id)
				found = true
				break
			}
			_, size := utf8.DecodeLastRune(w[start:end])
			end -= size
		}
		if !found {
			e.ids = append(e.ids[:mark], t.unk)
			return
		}
		start = end
	}
}
