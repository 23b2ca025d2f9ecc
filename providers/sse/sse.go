// Package sse reads text/event-stream bodies (server-sent events), the
// framing both OpenAI's and Anthropic's streaming APIs use.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxEvent is the bound on one event, and on one line, of a Reader
// made by NewReader: 4 MiB.
const DefaultMaxEvent = 4 << 20

var (
	// ErrLineTooLong reports a line over the Reader's bound: a broken
	// upstream.
	ErrLineTooLong = errors.New("sse: line too long")
	// ErrEventTooLong reports an event over the Reader's bound, such as
	// data lines that never meet the blank line ending their event.
	ErrEventTooLong = errors.New("sse: event too long")
)

// Event is one server-sent event.
type Event struct {
	Name string // the "event:" field, "" for the default "message"
	Data []byte // the "data:" lines joined with '\n'; the caller's to keep
}

// Reader splits a text/event-stream body into events, following the
// WHATWG rules: lines end in LF, CRLF or CR, a line starting with ':' is a
// comment, "field: value" loses one space after the colon, data lines
// accumulate, and a blank line dispatches the event. Unknown fields (id,
// retry) are ignored.
//
// An upstream cannot make a Reader hold more than its bound, beside a
// fixed 64 KiB buffer and a few hundred bytes: a line longer than the
// bound is ErrLineTooLong, and an event whose data (the data lines'
// values and the '\n's joining them) and name together grow past it is
// ErrEventTooLong, reported as soon as the bound is crossed. Lines are
// parsed as they arrive, so comments, blank lines and ignored fields cost
// nothing however many or long they are. A Reader is not safe for
// concurrent use.
type Reader struct {
	r   *bufio.Reader
	max int   // the bound on one line and on one event, in bytes
	err error // sticky: once Next failed, it fails the same way

	// The line being read.
	n      int      // its length so far, without its end
	kind   lineKind // what its field is, once known
	field  [5]byte  // the field name's first bytes: "event" is the longest that matters
	nfield int      // the field name's length so far
	space  bool     // the value starts next: a space there is dropped
	skipLF bool     // the last line ended in CR: an LF now ends nothing (CRLF)

	// The event being read.
	data    []byte
	hasData bool
	mark    int    // len(data) before the data line being read, to drop it if cut
	markHas bool   // hasData before it
	name    string // the last "event:" value
	pending []byte // the "event:" value being read
	last    string // the last name read, reused to spare an allocation
	shared  bool   // the caller of NextShared does not keep data: reuse it
}

type lineKind uint8

const (
	kindField  lineKind = iota // the field name is still being read
	kindData                   // a data line: the value goes to data
	kindEvent                  // an event line: the value goes to pending
	kindIgnore                 // a comment, or a field without meaning here
)

// maxShared is the largest data buffer NextShared keeps for the next
// event; a larger one, left by a rare long event, is let go.
const maxShared = 64 << 10

// NewReader returns a Reader of r bounded by DefaultMaxEvent.
func NewReader(r io.Reader) *Reader {
	return NewReaderSize(r, DefaultMaxEvent)
}

// NewReaderSize returns a Reader of r that fails a line or an event over
// maxEvent bytes; zero or less means DefaultMaxEvent.
func NewReaderSize(r io.Reader, maxEvent int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: maxEvent}
}

// Reset makes s read r from its start, as a new Reader of the same bound
// would, keeping its buffers: a client can keep Readers for its streams
// rather than allocate one (and its 64 KiB buffer) per stream.
func (s *Reader) Reset(r io.Reader) {
	data := s.data[:0]
	if cap(data) > maxShared {
		data = nil
	}
	*s = Reader{r: s.r, max: s.max, data: data}
	s.r.Reset(r)
}

// NextShared is Next, but the event's Data is the Reader's: it is valid
// only until the next call, which reuses its memory. A stream read this
// way costs no allocation per event.
func (s *Reader) NextShared() (Event, error) {
	s.shared = true
	return s.next()
}

// Next returns the next event with data. At the end of the body it
// returns io.EOF, after dispatching data left without its blank line (some
// upstreams end with "data: [DONE]\n"); a last line cut before its end is
// dropped, since it may be incomplete. After an error, Next returns it
// again.
func (s *Reader) Next() (Event, error) {
	s.shared = false
	return s.next()
}

func (s *Reader) next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	for {
		buf, err := s.buffered()
		if len(buf) == 0 {
			return s.end(err)
		}
		ev, ok, used, err := s.scan(buf)
		s.r.Discard(used)
		if err != nil {
			return s.fail(err)
		}
		if ok {
			return ev, nil
		}
	}
}

// scan parses the lines in buf up to the first event they complete,
// reporting how many bytes of buf it used. It allocates only what the
// event keeps: a run of CRs, say, is a run of empty lines, each handled in
// place.
func (s *Reader) scan(buf []byte) (ev Event, ok bool, used int, err error) {
	lf := bytes.IndexByte(buf, '\n') // the next LF, or -1: searched again only once passed
	for used < len(buf) {
		if s.skipLF {
			s.skipLF = false
			if buf[used] == '\n' {
				used++
				continue
			}
		}
		if lf >= 0 && lf < used {
			if lf = bytes.IndexByte(buf[used:], '\n'); lf >= 0 {
				lf += used
			}
		}
		end := len(buf)
		if lf >= 0 {
			end = lf
		}
		if i := bytes.IndexByte(buf[used:end], '\r'); i >= 0 {
			end = used + i
		} else if lf < 0 {
			return ev, false, len(buf), s.feed(buf[used:]) // the line goes on
		}
		if end == used && s.n == 0 && !s.hasData {
			// A blank line ending nothing, as between events: the
			// common case of floods of keep-alives and CRs, kept short.
			s.skipLF = buf[end] == '\r'
			used++
			s.name = ""
			continue
		}
		err = s.feed(buf[used:end])
		s.skipLF = buf[end] == '\r'
		used = end + 1
		if err != nil {
			return ev, false, used, err
		}
		if ok, err = s.endLine(); err != nil || ok {
			if ok {
				ev = s.dispatch()
			}
			return ev, ok, used, err
		}
	}
	return ev, false, used, nil
}

// buffered returns what is buffered, reading more if nothing is.
func (s *Reader) buffered() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return s.r.Peek(s.r.Buffered())
}

// end handles the end of the body, or a read error.
func (s *Reader) end(err error) (Event, error) {
	if err != io.EOF {
		return s.fail(err)
	}
	// A line without its end may be cut short: drop it.
	if s.kind == kindData {
		s.data, s.hasData = s.data[:s.mark], s.markHas
	}
	s.err = io.EOF
	if s.hasData {
		return s.dispatch(), nil
	}
	return Event{}, io.EOF
}

func (s *Reader) fail(err error) (Event, error) {
	s.err = err
	s.data, s.pending = nil, nil
	return Event{}, err
}

// feed reads part of a line, c, which holds no line end.
func (s *Reader) feed(c []byte) error {
	// Only the bytes within the bound are taken, so that what crosses the
	// bound first is reported, however the body was cut into reads.
	over := s.n+len(c) > s.max
	if over {
		c = c[:s.max-s.n]
	}
	s.n += len(c)
	if s.kind == kindField {
		i := bytes.IndexByte(c, ':')
		name := c
		if i >= 0 {
			name = c[:i]
		}
		if s.nfield < len(s.field) {
			copy(s.field[s.nfield:], name)
		}
		s.nfield = min(s.nfield+len(name), len(s.field)+1) // past len(field): too long to matter
		if i < 0 {
			c = nil
		} else {
			if err := s.startValue(); err != nil {
				return err
			}
			s.space = true
			c = c[i+1:]
		}
	}
	if s.space && len(c) > 0 {
		s.space = false
		if c[0] == ' ' {
			c = c[1:]
		}
	}
	var err error
	switch s.kind {
	case kindData:
		err = s.appendData(c)
	case kindEvent:
		err = s.appendName(c)
	}
	if err == nil && over {
		err = ErrLineTooLong
	}
	return err
}

// startValue learns what the line's field is, once its name is read.
func (s *Reader) startValue() error {
	n := s.nfield
	if n > len(s.field) {
		n = 0 // too long to name a field that matters, like a comment's ""
	}
	switch string(s.field[:n]) {
	case "data":
		s.kind = kindData
		s.mark, s.markHas = len(s.data), s.hasData
		if s.hasData {
			if err := s.appendData([]byte{'\n'}); err != nil {
				return err
			}
		}
		s.hasData = true
	case "event":
		s.kind = kindEvent
	default:
		s.kind = kindIgnore
	}
	return nil
}

// endLine finishes the line just read, reporting whether it dispatches
// the event.
func (s *Reader) endLine() (bool, error) {
	blank := s.n == 0
	if s.kind == kindField && !blank {
		// A field without a colon: the whole line is its name.
		if err := s.startValue(); err != nil {
			return false, err
		}
	}
	if s.kind == kindEvent {
		s.name = s.last
		if string(s.pending) != s.last {
			s.name = string(s.pending)
			if len(s.name) <= 64 {
				s.last = s.name // a long name is not kept past its event
			}
		}
		s.pending = s.pending[:0]
		if cap(s.pending) > 256 {
			s.pending = nil // a long name does not pin its buffer
		}
	}
	s.n, s.kind, s.nfield, s.space = 0, kindField, 0, false
	if !blank {
		return false, nil
	}
	if !s.hasData {
		s.name = "" // an event without data is not dispatched
	}
	return s.hasData, nil
}

func (s *Reader) dispatch() Event {
	ev := Event{Name: s.name, Data: s.data}
	if len(ev.Data) == 0 {
		ev.Data = nil
	}
	s.data, s.hasData, s.name = nil, false, ""
	if s.shared && len(ev.Data) > 0 && cap(ev.Data) <= maxShared {
		s.data = ev.Data[:0]
	}
	return ev
}

// appendData adds p to the event's data, within the bound.
func (s *Reader) appendData(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if len(s.data)+len(s.name)+len(p) > s.max {
		return ErrEventTooLong
	}
	s.data = grow(s.data, len(p), s.max-len(s.name))
	s.data = append(s.data, p...)
	return nil
}

// appendName adds p to the event name being read, within the bound.
func (s *Reader) appendName(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if len(s.data)+len(s.name)+len(s.pending)+len(p) > s.max {
		return ErrEventTooLong
	}
	limit := s.max - cap(s.data) - len(s.name)
	if len(s.pending)+len(p) > limit {
		// Room the data reserved but does not use would take the
		// name past the bound: give it back.
		s.data = append([]byte(nil), s.data...)
		limit = s.max - len(s.data) - len(s.name)
	}
	s.pending = grow(s.pending, len(p), limit)
	s.pending = append(s.pending, p...)
	return nil
}

// grow makes room for n more bytes in b, doubling its capacity but never
// past limit, which the caller checked leaves room for n: so a buffer
// filling up to the bound is copied O(log bound) times, not once per line.
func grow(b []byte, n, limit int) []byte {
	if len(b)+n <= cap(b) {
		return b
	}
	nb := make([]byte, len(b), min(max(2*cap(b), len(b)+n), limit))
	copy(nb, b)
	return nb
}

// held is what the Reader holds for the event being read, beside its
// fixed buffer: what the bound limits, give or take the 256 bytes an
// event name's buffer may keep.
func (s *Reader) held() int {
	return cap(s.data) + len(s.name) + cap(s.pending)
}
