// Package tokencount counts the tokens of text in OpenAI's cl100k_base
// encoding, as tiktoken's EncodeOrdinary does, in time linear in the
// text's length whatever its content, for count_tokens estimates.
package tokencount

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"unicode"
	"unicode/utf8"

	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding is the encoding count_tokens estimates with. Claude's own
// tokenizer is not public; OpenAI's cl100k_base is a real BPE of similar
// vocabulary size, so its counts are close for English and code (and the
// header says so, so nobody mistakes them for Anthropic's).
const Encoding = "cl100k_base"

// Bounds on the work one count_tokens request can cause. The body is
// bounded (Runtime.MaxBody, 4 MiB by default); with these, counting it
// costs time linear in its size whatever its content (one 4 MiB word,
// random base64, CJK without spaces), and stops soon after the client
// leaves. proxy's BenchmarkCountTokens4MiB measures the cost.
const (
	// maxPieceBytes caps what one BPE merge sees. tiktoken's pre-tokenizer
	// makes one piece of a whole run of letters (a 4 MiB "word", or CJK
	// text without punctuation); a longer piece is cut, at a rune
	// boundary, into pieces of at most this size, which may cost a token
	// at each cut. Words, numbers and punctuation runs of real text are far
	// shorter, so their counts are tiktoken's exactly.
	maxPieceBytes = 1024
	// cancelCheckBytes is how much text is counted between two looks at
	// the request's context: a few milliseconds of work at most.
	cancelCheckBytes = 64 << 10
)

// Encoder counts cl100k_base tokens as tiktoken's EncodeOrdinary would
// (but for pieces cut at maxPieceBytes), without tiktoken-go's costs: its
// regexp2 pre-tokenizer (some 0.5 s a megabyte) and its merge loop
// (quadratic in a piece's length: 38 s of CPU for a 100 KB word). It is
// immutable and safe for concurrent use.
type Encoder struct {
	ranks map[string]int // token bytes → rank, which is also merge priority
	// merges maps two tokens' ranks, left<<32 | right, to the rank of the
	// token their bytes make together, for every such pair: a merge
	// looks up two numbers rather than hashing bytes.
	merges map[uint64]int32
	// bytes and pairs hold the ranks of the one- and two-byte tokens,
	// indexed by their bytes (-1: none), so a merge's first round needs
	// no map.
	bytes [1 << 8]int32
	pairs [1 << 16]int32
}

// cl100k loads the ranks once, on the first count_tokens request, from the
// BPE file compiled into tiktoken-go-loader (whose SHA-256 matches
// OpenAI's published file): never from the network. Loading and building
// the tables takes some 0.2 s of CPU; they hold about 13 MB.
var cl100k = sync.OnceValues(func() (*Encoder, error) {
	ranks, err := tiktokenloader.NewOfflineLoader().LoadTiktokenBpe(Encoding + ".tiktoken")
	if err != nil {
		return nil, fmt.Errorf("load Encoder %s: %w", Encoding, err)
	}
	t := &Encoder{ranks: ranks, merges: make(map[uint64]int32)}
	for i := range t.pairs {
		t.pairs[i] = -1
	}
	for tok, rank := range ranks {
		switch len(tok) {
		case 1:
			t.bytes[tok[0]] = int32(rank)
		case 2:
			t.pairs[int(tok[0])<<8|int(tok[1])] = int32(rank)
		}
		for i := 1; i < len(tok); i++ {
			left, ok := ranks[tok[:i]]
			right, ok2 := ranks[tok[i:]]
			if ok && ok2 {
				t.merges[uint64(left)<<32|uint64(right)] = int32(rank)
			}
		}
	}
	return t, nil
})

// Tally is one count in progress: the tokens so far, the merge state it
// reuses from piece to piece, and the context error that stopped it.
type Tally struct {
	tok   *Encoder
	n     int   // tokens so far
	err   error // once set, Add does nothing
	since int   // bytes counted since ctx was last looked at
	bpe   merger
}

// Add counts the tokens of s, looking at ctx every cancelCheckBytes.
func (c *Tally) Add(ctx context.Context, s string) {
	if c.err != nil {
		return
	}
	for p := range pieces(s) {
		c.n += c.bpe.count(c.tok, p)
		if c.since += len(p); c.since >= cancelCheckBytes {
			c.since = 0
			if c.err = ctx.Err(); c.err != nil {
				return
			}
		}
	}
}

// pieces splits s as cl100k_base's pre-tokenizer does, the regular
// expression
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// matched leftmost-first as tiktoken-go's regexp2 does (\s is
// unicode.IsSpace, \p{L} IsLetter, \p{N} IsNumber), in time linear in
// len(s); then it cuts pieces longer than maxPieceBytes.
func pieces(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for s != "" {
			p := s[:pieceLen(s)]
			s = s[len(p):]
			for len(p) > maxPieceBytes {
				cut := maxPieceBytes
				for !utf8.RuneStart(p[cut]) {
					cut--
				}
				if !yield(p[:cut]) {
					return
				}
				p = p[cut:]
			}
			if !yield(p) {
				return
			}
		}
	}
}

// Rune classes of the pre-tokenizer. newline (\r or \n) is also white
// space.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
	classNewline
)

func classOf(r rune) int {
	switch {
	case r == '\r' || r == '\n':
		return classNewline
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			return classLetter
		case '0' <= r && r <= '9':
			return classNumber
		case r == ' ' || '\t' <= r && r <= '\f': // \t \n \v \f
			return classSpace
		}
		return classOther
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// next returns the first rune of s, its class and its width; class -1 and
// width 0 at the end of s.
func next(s string) (rune, int, int) {
	if s == "" {
		return 0, -1, 0
	}
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), classOf(rune(s[0])), 1
	}
	r, w := utf8.DecodeRuneInString(s)
	return r, classOf(r), w
}

// run returns the length of the prefix of s whose runes are all of class
// want.
func run(s string, want int) int {
	i := 0
	for {
		_, c, w := next(s[i:])
		if c != want {
			return i
		}
		i += w
	}
}

// pieceLen returns the length of the first piece of s, which is not
// empty: the alternatives of the expression above, in its order.
func pieceLen(s string) int {
	r, c, w := next(s)
	// 's 't 're 've 'm 'll 'd, in either case.
	if r == '\'' && len(s) > 1 {
		switch s[1] | 0x20 {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v':
			if len(s) > 2 && s[2]|0x20 == 'e' {
				return 3
			}
		case 'l':
			if len(s) > 2 && s[2]|0x20 == 'l' {
				return 3
			}
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == classLetter {
		return w + run(s[w:], classLetter)
	}
	if c == classOther || c == classSpace {
		if _, c1, w1 := next(s[w:]); c1 == classLetter {
			return w + w1 + run(s[w+w1:], classLetter)
		}
	}
	// \p{N}{1,3}
	if c == classNumber {
		n := w
		for range 2 {
			_, c1, w1 := next(s[n:])
			if c1 != classNumber {
				break
			}
			n += w1
		}
		return n
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	start := 0
	if r == ' ' {
		if _, c1, _ := next(s[1:]); c1 == classOther {
			start = 1
		}
	}
	if _, c0, _ := next(s[start:]); c0 == classOther {
		n := start + run(s[start:], classOther)
		for n < len(s) && (s[n] == '\r' || s[n] == '\n') {
			n++
		}
		return n
	}
	// White space from here on. \s*[\r\n]+ ends after the run's last
	// newline, if it has one.
	end, lastNewline, lastWidth := 0, -1, 0
	for {
		_, c1, w1 := next(s[end:])
		if c1 != classSpace && c1 != classNewline {
			break
		}
		if c1 == classNewline {
			lastNewline = end
		}
		end, lastWidth = end+w1, w1
	}
	switch {
	case lastNewline >= 0:
		return lastNewline + 1
	case end == len(s) || end == lastWidth:
		// \s+(?!\S) at the end of s, or \s+ for a lone space before a
		// non-space.
		return end
	}
	// \s+(?!\S): leave the last space to the word or symbol after it.
	return end - lastWidth
}

// merger runs byte-pair merges; its slices are reused from one piece to
// the next. The zero value is ready to use.
type merger struct {
	next []int32 // start of the part after the part starting at i
	prev []int32 // start of the part before it, or -1
	tok  []int32 // rank of the part starting at i, the token it is
	rank []int32 // rank of the part at i merged with its successor, or -1 (none, or i merged away)
	// heap holds the merge candidates, each the part starting at pos and
	// its successor, whose concatenation is the token of rank, as
	// rank<<32 | pos: the smallest is the one tiktoken merges first, the
	// lowest rank and, of equal ranks, the leftmost.
	heap []uint64
}

// count returns how many tokens piece (at most maxPieceBytes long)
// encodes to: the parts left when, starting from single bytes, the
// adjacent pair that forms the lowest-ranked token is merged until no
// pair forms a token. That is tiktoken's merge, with a heap instead of a
// scan of all parts per merge: O(n log n) rather than O(n²).
func (m *merger) count(tok *Encoder, piece string) int {
	if _, ok := tok.ranks[piece]; ok {
		return 1
	}
	n := int32(len(piece))
	m.next, m.prev, m.tok, m.rank, m.heap = m.next[:0], m.prev[:0], m.tok[:0], m.rank[:0], m.heap[:0]
	rankOf := func(left, right int32) int32 {
		if r, ok := tok.merges[uint64(m.tok[left])<<32|uint64(m.tok[right])]; ok {
			return r
		}
		return -1
	}
	for i := range n {
		m.next = append(m.next, i+1)
		m.prev = append(m.prev, i-1)
		m.tok = append(m.tok, tok.bytes[piece[i]])
		r := int32(-1)
		if i+1 < n {
			r = tok.pairs[int(piece[i])<<8|int(piece[i+1])]
		}
		m.rank = append(m.rank, -1)
		m.set(i, r)
	}
	parts := int(n)
	for len(m.heap) > 0 {
		rank, i := m.pop()
		if m.rank[i] != rank {
			continue // stale: a merge since changed this part
		}
		j := m.next[i]
		k := m.next[j]
		m.next[i], m.tok[i], m.rank[i], m.rank[j] = k, rank, -1, -1
		if k < n {
			m.prev[k] = i
			m.set(i, rankOf(i, k))
		}
		if h := m.prev[i]; h >= 0 {
			m.set(h, rankOf(h, i))
		}
		parts--
	}
	return parts
}

func (m *merger) set(pos, rank int32) {
	m.rank[pos] = rank
	if rank >= 0 {
		m.push(rank, pos)
	}
}

func (m *merger) push(rank, pos int32) {
	h := append(m.heap, uint64(rank)<<32|uint64(pos))
	for i := len(h) - 1; i > 0; {
		up := (i - 1) / 2
		if h[i] >= h[up] {
			break
		}
		h[i], h[up] = h[up], h[i]
		i = up
	}
	m.heap = h
}

func (m *merger) pop() (rank, pos int32) {
	h := m.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l] < h[least] {
			least = l
		}
		if r < len(h) && h[r] < h[least] {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	m.heap = h
	return int32(top >> 32), int32(top)
}

// CL100K returns the cl100k_base encoder, loaded on the first call.
func CL100K() (*Encoder, error) { return cl100k() }

// NewTally starts a count with e.
func (e *Encoder) NewTally() *Tally { return &Tally{tok: e} }

// Plus adds n tokens that are not text (framing overheads).
func (c *Tally) Plus(n int) { c.n += n }

// Total returns the tokens counted, or the context error that stopped
// the count.
func (c *Tally) Total() (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	return c.n, nil
}
