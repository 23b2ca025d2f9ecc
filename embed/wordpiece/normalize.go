package wordpiece

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer holds the four switches of Hugging Face's BertNormalizer. The
// steps always run in HF's order (clean, CJK padding, strip accents,
// lowercase), because the order is observable: accents are stripped before
// lower-casing, so 'İ' becomes "i" rather than Rust's two-char "i̇".
type normalizer struct {
	clean   bool // drop NUL, U+FFFD and control chars; map whitespace to ' '
	chinese bool // pad CJK ideographs with spaces so each is its own word
	strip   bool // NFD, then drop nonspacing marks (Mn)
	lower   bool // per-char full lower-casing, as Rust's char::to_lowercase
}

// isWhitespace is Rust's char::is_whitespace (the White_Space property),
// which is what both BertNormalizer and BertPreTokenizer call. Go's
// unicode.IsSpace implements the same property.
func isWhitespace(r rune) bool {
	return unicode.IsSpace(r)
}

// isControl is BertNormalizer's is_control: the Unicode "Other" categories
// Cc, Cf, Co and Cs (not Cn: unassigned code points survive), except the
// three whitespace controls. HF's table comes from the unicode_categories
// crate, which predates Go's Unicode 15 tables, hence the corrections.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	if unicode.Is(controlNotHF, r) {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunct is BertPreTokenizer's punctuation test: any ASCII punctuation
// (which, unlike Unicode's P*, includes symbols such as $ + < = > ^ ` | ~)
// or a char in a Unicode P* category, as HF's older tables classify it.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126
	}
	if unicode.Is(punctNotHF, r) {
		return false
	}
	return unicode.IsPunct(r) || unicode.Is(punctOnlyHF, r)
}

// isNonspacingMark is the Mn test used when stripping accents, with HF's
// table.
func isNonspacingMark(r rune) bool {
	if unicode.Is(markNotHF, r) {
		return false
	}
	return unicode.Is(unicode.Mn, r) || unicode.Is(markOnlyHF, r)
}

// isChinese reports whether r is in the CJK ranges of HF's BertNormalizer.
// They differ from Google's original BERT in one place: the fifth range
// starts at U+2B920, not U+2B820, so U+2B820–U+2B91F is not padded.
func isChinese(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// appendLower appends Rust's char::to_lowercase of r. Go's unicode.ToLower
// is the simple mapping; Rust's is the full one, which differs only for
// U+0130 'İ' (→ "i" + U+0307 COMBINING DOT ABOVE).
func appendLower(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	if l, ok := lowerHF(r); ok {
		return append(dst, l)
	}
	return append(dst, unicode.ToLower(r))
}

// Hangul syllable decomposition constants (Unicode §3.12). x/text's
// Properties.Decomposition does not cover Hangul, which NFD decomposes
// algorithmically into conjoining jamo; the vocabulary holds the jamo.
const (
	hangulBase  = 0xAC00
	hangulCount = 11172
	jamoLBase   = 0x1100
	jamoVBase   = 0x1161
	jamoTBase   = 0x11A7
	jamoVCount  = 21
	jamoTCount  = 28
	jamoNCount  = jamoVCount * jamoTCount
)

// decompose appends the full canonical decomposition of r. It is done per
// rune rather than with norm.NFD.Append because x/text inserts U+034F after
// 30 consecutive non-starters (the stream-safe format), which would split
// the canonical reordering that HF applies to the whole run.
func decompose(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf {
		return append(dst, r)
	}
	if s := r - hangulBase; s >= 0 && s < hangulCount {
		dst = append(dst, jamoLBase+s/jamoNCount, jamoVBase+(s%jamoNCount)/jamoTCount)
		if t := s % jamoTCount; t != 0 {
			dst = append(dst, jamoTBase+t)
		}
		return dst
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFD.Properties(buf[:n]).Decomposition()
	if d == nil || noDecompHF(r) {
		return append(dst, r)
	}
	for len(d) > 0 {
		c, size := utf8.DecodeRune(d)
		dst = append(dst, c)
		d = d[size:]
	}
	return dst
}

// combiningClass returns the canonical combining class of r, as HF's
// tables have it.
func combiningClass(r rune) uint8 {
	if r < 0x300 { // nothing below U+0300 combines
		return 0
	}
	if unicode.Is(cccZeroHF, r) {
		return 0
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	return norm.NFD.Properties(buf[:n]).CCC()
}
