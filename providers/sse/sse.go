// Package sse reads text/event-stream bodies (server-sent events), the
// framing both OpenAI's and Anthropic's streaming APIs use.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxLine bounds one SSE line, so a broken upstream cannot make the
// gateway buffer without limit.
const maxLine = 8 << 20

// ErrLineTooLong reports a line over 8 MiB: a broken upstream.
var ErrLineTooLong = errors.New("sse: line too long")

// Event is one server-sent event.
type Event struct {
	Name string // the "event:" field, "" for the default "message"
	Data []byte // the "data:" lines joined with '\n'
}

// Reader splits a text/event-stream body into events, following the
// WHATWG rules: lines end in LF, CRLF or CR, a line starting with ':' is a
// comment, "field: value" loses one space after the colon, data lines
// accumulate, and a blank line dispatches the event. Unknown fields (id,
// retry) are ignored. Lines are read up to an LF, so a stream that ends its
// lines with lone CRs only is parsed right but dispatched late.
type Reader struct {
	r       *bufio.Reader
	line    []byte
	pending [][]byte // lines split from line at lone CRs, not yet returned
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next event with data. At the end of the body it
// returns io.EOF, after dispatching data left without its blank line (some
// upstreams end with "data: [DONE]\n"); a last line cut before its newline
// is dropped, since it may be incomplete.
func (s *Reader) Next() (Event, error) {
	var ev Event
	var data []byte
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && hasData {
				ev.Data = data
				return ev, nil
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = data
				return ev, nil
			}
			ev = Event{} // an event without data is not dispatched
			continue
		}
		field, value := parseLine(line)
		switch field {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			ev.Name = string(value)
		}
	}
}

// parseLine splits one non-empty SSE line into its field and value; a
// comment has field "".
func parseLine(line []byte) (field string, value []byte) {
	if line[0] == ':' {
		return "", nil
	}
	name, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return string(name), value
}

// readLine returns the next complete line without its terminator. It
// returns io.EOF at the end of the body, also when the last line has no
// terminator (it may be cut short).
func (s *Reader) readLine() ([]byte, error) {
	if len(s.pending) == 0 {
		if err := s.readSegment(); err != nil {
			return nil, err
		}
	}
	line := s.pending[0]
	s.pending = s.pending[1:]
	return line, nil
}

// readSegment reads up to the next LF and splits what it read into lines
// at each CR, a CRLF ending counting as one.
func (s *Reader) readSegment() error {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(s.line)+len(chunk) > maxLine {
			return ErrLineTooLong
		}
		s.line = append(s.line, chunk...)
		switch err {
		case nil:
			seg := bytes.TrimSuffix(s.line[:len(s.line)-1], []byte{'\r'})
			s.pending = append(s.pending[:0], bytes.Split(seg, []byte{'\r'})...)
			return nil
		case bufio.ErrBufferFull:
		default:
			return err
		}
	}
}
