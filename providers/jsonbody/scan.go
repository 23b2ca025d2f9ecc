package jsonbody

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner below walks JSON that is already known to be valid (checked
// with Valid), slicing values out of it without copying or
// allocating: the hot paths (upstream answers, every streamed chunk) read
// the few fields they need this way instead of decoding whole objects
// into maps and structs.

// Members iterates the members of a JSON object. Make one with
// ObjectMembers; its zero value yields nothing.
type Members struct {
	b []byte
	i int
}

// ObjectMembers returns an iterator over the members of raw, which must be
// valid JSON; it yields nothing when raw is not an object.
func ObjectMembers(raw []byte) Members {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return Members{}
	}
	return Members{b: raw, i: i + 1}
}

// Next returns the next member: its key, quoted as it is in the input,
// and its value, both slices of the input. ok is false after the last.
func (m *Members) Next() (key, val []byte, ok bool) {
	i := skipSpace(m.b, m.i)
	if i < len(m.b) && m.b[i] == ',' {
		i = skipSpace(m.b, i+1)
	}
	if i >= len(m.b) || m.b[i] != '"' {
		m.i = len(m.b)
		return nil, nil, false
	}
	end := stringEnd(m.b, i)
	key = m.b[i:end:end]
	i = skipSpace(m.b, end)
	i = skipSpace(m.b, i+1) // past ':'
	end = valueEnd(m.b, i)
	m.i = end
	return key, m.b[i:end:end], true
}

// Elements iterates the elements of a JSON array. Make one with
// ArrayElements; its zero value yields nothing.
type Elements struct {
	b []byte
	i int
}

// ArrayElements returns an iterator over the elements of raw, which must
// be valid JSON; it yields nothing when raw is not an array.
func ArrayElements(raw []byte) Elements {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return Elements{}
	}
	return Elements{b: raw, i: i + 1}
}

// Next returns the next element, a slice of the input; ok is false after
// the last.
func (e *Elements) Next() (val []byte, ok bool) {
	i := skipSpace(e.b, e.i)
	if i < len(e.b) && e.b[i] == ',' {
		i = skipSpace(e.b, i+1)
	}
	if i >= len(e.b) || e.b[i] == ']' {
		e.i = len(e.b)
		return nil, false
	}
	end := valueEnd(e.b, i)
	e.i = end
	return e.b[i:end:end], true
}

// KeyIs reports whether key, quoted as Members.Next returns it, names
// name exactly, as a Go map key of the decoded object would.
func KeyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	return string(AppendUnquoted(nil, key)) == name
}

// Plain reports whether the JSON string raw (quotes included) decodes to
// its own bytes between the quotes: no escapes and valid UTF-8.
func Plain(raw []byte) bool {
	s := raw[1 : len(raw)-1]
	return bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// AppendUnquoted appends the decoded value of the JSON string raw (quotes
// included, valid JSON) to dst, as encoding/json decodes it: escapes
// resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD.
func AppendUnquoted(dst, raw []byte) []byte {
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			i++
			switch s[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+1:])
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
						r2 = hex4(s[i+3:])
					}
					if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
						r = d
						i += 6
					} else {
						r = unicode.ReplacementChar
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, s[i])
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// hex4 decodes the four hex digits at the start of b; -1 if they are not.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i].
// A byte loop: most strings (keys, ids) are shorter than what makes
// bytes.IndexByte pay for its call.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // the escaped byte
		}
	}
	return len(b)
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// AppendCompact appends the valid JSON src to dst as json.Marshal writes
// a json.RawMessage: white space between tokens removed, and '<', '>',
// '&', U+2028 and U+2029 escaped.
func AppendCompact(dst, src []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[src[i+2]&0xF])
			i += 2
			start = i + 1
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, src[start:i]...)
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}

// AppendString appends s as a JSON string, as json.Marshal writes it.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // the rare string that needs escapes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
