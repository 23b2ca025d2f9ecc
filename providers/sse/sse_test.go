package sse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(r io.Reader) ([]Event, error) {
	return readAllSize(r, 0)
}

func readAllSize(r io.Reader, maxEvent int) ([]Event, error) {
	s := NewReaderSize(r, maxEvent)
	var evs []Event
	for {
		ev, err := s.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		{"one event", "data: a\n\n", []Event{{Data: []byte("a")}}},
		{"two events", "data: a\n\ndata: b\n\n", []Event{{Data: []byte("a")}, {Data: []byte("b")}}},
		{"multi-line data", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}},
		{"CRLF", "data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", []Event{{Data: []byte("a\nb")}, {Data: []byte("c")}}},
		{"lone CR", "data: a\rdata: b\r\rdata: c\n\n", []Event{{Data: []byte("a\nb")}, {Data: []byte("c")}}},
		{"CR before CRLF", "data:\r\r\ndata:\n", []Event{{}, {}}},
		{"comments and keep-alives", ": ping\n\n:\ndata: x\n: inside\n\n", []Event{{Data: []byte("x")}}},
		{"event name", "event: error\ndata: {}\n\n", []Event{{Name: "error", Data: []byte("{}")}}},
		{"event name does not leak", "event: ping\n\ndata: y\n\n", []Event{{Data: []byte("y")}}},
		{"no space after colon", "data:x\n\n", []Event{{Data: []byte("x")}}},
		{"only one space is stripped", "data:  x\n\n", []Event{{Data: []byte(" x")}}},
		{"field without colon", "data\n\n", []Event{{}}},
		{"id and retry are ignored", "id: 7\nretry: 100\ndata: x\n\n", []Event{{Data: []byte("x")}}},
		{"last event without blank line", "data: a\n\ndata: [DONE]\n", []Event{{Data: []byte("a")}, {Data: []byte("[DONE]")}}},
		{"cut mid-line is dropped", "data: a\n\ndata: [DO", []Event{{Data: []byte("a")}}},
		{"empty body", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time too, so no line relies on a single Read.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAll(r)
				if err != io.EOF {
					t.Errorf("err = %v, want io.EOF", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("events = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestSSEReaderLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the bufio buffer
	got, err := readAll(strings.NewReader("data: " + long + "\n\n"))
	if err != io.EOF || len(got) != 1 || string(got[0].Data) != long {
		t.Errorf("long line: %d events, err %v", len(got), err)
	}
	_, err = readAll(strings.NewReader("data: " + strings.Repeat("x", DefaultMaxEvent+1) + "\n\n"))
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("too long line: err = %v, want ErrLineTooLong", err)
	}
}

func TestSSEReaderBounds(t *testing.T) {
	const bound = 16
	tests := []struct {
		name string
		in   string
		want []Event
		err  error
	}{
		{"line at the bound", "data: 0123456789\n\n", []Event{{Data: []byte("0123456789")}}, io.EOF},
		{"line over the bound", "data: 0123456789a\n\n", nil, ErrLineTooLong},
		{"comment at the bound", ":0123456789abcde\ndata: x\n\n", []Event{{Data: []byte("x")}}, io.EOF},
		{"comment over the bound", ":0123456789abcdef\ndata: x\n\n", nil, ErrLineTooLong},
		{"field name over the bound", "0123456789abcdefg\n", nil, ErrLineTooLong},
		{"cut line over the bound", "data: a\n\ndata: 0123456789a", []Event{{Data: []byte("a")}}, ErrLineTooLong},
		{"event at the bound", "data: 0123456789\ndata: 01234\n\n", []Event{{Data: []byte("0123456789\n01234")}}, io.EOF},
		{"event over the bound", "data: 0123456789\ndata: 012345\n\n", nil, ErrEventTooLong},
		{"separator over the bound", "data: 0123456789\ndata: 01234\ndata\n\n", nil, ErrEventTooLong},
		{"data without its blank line", "data: 012345678\ndata: 0123\ndata", []Event{{Data: []byte("012345678\n0123")}}, io.EOF},
		{"a cut line crosses the bound too", "data: 012345678\ndata: 0123\ndata: 01", nil, ErrEventTooLong},
		{"each event has the bound", "data: 0123456789\n\ndata: 0123456789\n\n", []Event{{Data: []byte("0123456789")}, {Data: []byte("0123456789")}}, io.EOF},
		{"name and data at the bound", "event: 012345678\ndata: 0123456\n\n", []Event{{Name: "012345678", Data: []byte("0123456")}}, io.EOF},
		{"name and data over the bound", "event: 012345678\ndata: 01234567\n\n", nil, ErrEventTooLong},
		{"name after data over the bound", "data: 01234567\nevent: 012345678\n\n", nil, ErrEventTooLong},
		{"a name read counts beside the one it replaces", "event: 012345678\nevent: 01234567\ndata: 0\n\n", nil, ErrEventTooLong},
		{"names of undispatched events do not count", "event: 012345678\n\nevent: 012345678\n\ndata: 0123456789\n\n", []Event{{Data: []byte("0123456789")}}, io.EOF},
		{"ignored fields do not count", "id: 0123456789\nretry: 012345678\n: 0123456789\ndata: 0123456789\n\n", []Event{{Data: []byte("0123456789")}}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAllSize(r, bound)
				if err != tt.err || !reflect.DeepEqual(got, tt.want) {
					t.Errorf("events %q, err %v; want %q, %v", got, err, tt.want, tt.err)
				}
			}
			// The reference agrees, so the fuzzer checks against a model
			// that is itself tested.
			got, err := refParse([]byte(tt.in), bound)
			if err != tt.err || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reference: events %q, err %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestSSEReaderErrorIsSticky(t *testing.T) {
	s := NewReaderSize(strings.NewReader("data: 0123456789\n\ndata: 1\n\n"), 8)
	for range 2 {
		if _, err := s.Next(); err != ErrLineTooLong {
			t.Fatalf("err = %v, want ErrLineTooLong", err)
		}
	}
}

// TestSSEReaderFloods sends what broken upstreams were seen to send, each
// far past the bound, and checks what the Reader holds and how far it
// reads before it fails.
func TestSSEReaderFloods(t *testing.T) {
	const bound = DefaultMaxEvent
	// Sizes are 4 times the bound or more; the floods that carry no
	// event stay at 16 MiB, as -race makes each line slow.
	tests := []struct {
		name    string
		unit    string // repeated up to size bytes
		size    int
		err     error
		maxRead int // bytes the Reader may read before it fails; 0 means all
		maxHeld int // bytes it may hold at any time for the event
	}{
		// Each 8-byte line adds 2 bytes of data ("x" and a '\n'), so the
		// bound is crossed 4 times into the body, plus what the buffer
		// read ahead.
		{"data lines without a blank line", "data: x\n", 64 << 20, ErrEventTooLong, 4*bound + 64<<10, bound},
		{"one endless data line", "data: xxxxxxxx", 64 << 20, ErrLineTooLong, bound + 64<<10, bound},
		{"one endless comment", ": xxxxxxxx", 64 << 20, ErrLineTooLong, bound + 64<<10, 0},
		{"comments", ": ping\n\n", 64 << 20, io.EOF, 0, 0},
		{"comments without blank lines", ": ping\n", 16 << 20, io.EOF, 0, 0},
		{"event lines without data", "event: ping\n", 16 << 20, io.EOF, 0, 256},
		{"ignored fields", "id: 1\nretry: 2\nx\n", 16 << 20, io.EOF, 0, 0},
		{"blank lines", "\r\n", 16 << 20, io.EOF, 0, 0},
		{"lone CRs", "\r", 16 << 20, io.EOF, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &repeat{unit: []byte(tt.unit), left: tt.size}
			p := &probe{r: src}
			s := NewReader(p)
			held := 0
			p.check = func() { held = max(held, s.held()) }
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n := 0
			var err error
			for err == nil {
				_, err = s.Next()
				p.check()
				n++
			}
			runtime.ReadMemStats(&after)
			if err != tt.err {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if tt.maxRead > 0 && src.read > tt.maxRead {
				t.Errorf("read %d bytes before failing, want at most %d", src.read, tt.maxRead)
			}
			if held > tt.maxHeld {
				t.Errorf("held %d bytes, want at most %d", held, tt.maxHeld)
			}
			// Growing to the bound copies what was held O(log bound)
			// times, not once per line.
			allocated := int(after.TotalAlloc - before.TotalAlloc)
			if allocated > 3*tt.maxHeld+1<<20 {
				t.Errorf("allocated %d bytes, want at most %d", allocated, 3*tt.maxHeld+1<<20)
			}
			t.Logf("%d events, read %d MiB, held at most %d bytes, allocated %d bytes", n-1, src.read>>20, held, allocated)
		})
	}
}

// TestSSEReaderCRsDoNotAllocate: a run of CRs is a run of blank lines; it
// used to be split into one slice header per CR once an LF ended it.
func TestSSEReaderCRsDoNotAllocate(t *testing.T) {
	in := append(bytes.Repeat([]byte{'\r'}, 8<<20), "data: x\n\n"...)
	run := func() {
		evs, err := readAll(bytes.NewReader(in))
		if err != io.EOF || len(evs) != 1 || string(evs[0].Data) != "x" {
			t.Fatalf("events %q, err %v", evs, err)
		}
	}
	if n := testing.AllocsPerRun(2, run); n > 10 {
		t.Errorf("%v allocations per run, want at most 10", n)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for %d bytes of CRs, want at most 1 MiB", got, len(in))
	}
}

// repeat yields unit again and again, left bytes in all, counting them.
type repeat struct {
	unit  []byte
	left  int
	read  int
	most  int    // bytes one Read returns at most; 0 means no limit
	block []byte // unit repeated to 64 KiB or more, to copy from
	off   int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.left <= 0 || len(r.unit) == 0 {
		return 0, io.EOF
	}
	if r.block == nil {
		r.block = bytes.Repeat(r.unit, (64<<10)/len(r.unit)+1)
	}
	if r.most > 0 && len(p) > r.most {
		p = p[:r.most]
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := min(copy(p[n:], r.block[r.off:]), r.left)
		n += c
		r.left -= c
		r.off = (r.off + c) % len(r.block)
	}
	r.read += n
	return n, nil
}

// probe calls check before each read, to see what the Reader holds while
// Next runs.
type probe struct {
	r     io.Reader
	check func()
}

func (p *probe) Read(b []byte) (int, error) {
	p.check()
	return p.r.Read(b)
}

// refParse is the Reader's specification, a whole line at a time: the
// WHATWG rules as Reader's doc states them, the bound applied to each
// line and event in order, of which the first crossed is the error.
func refParse(in []byte, bound int) ([]Event, error) {
	var evs []Event
	var data []byte
	hasData, name := false, ""
	for len(in) > 0 {
		line, ended := in, false
		if i := bytes.IndexAny(in, "\r\n"); i >= 0 {
			line, ended, in = in[:i], true, in[i+1:]
			if line[:i+1][i] == '\r' && len(in) > 0 && in[0] == '\n' {
				in = in[1:]
			}
		} else {
			in = nil
		}
		blank := len(line) == 0
		tooLong := len(line) > bound
		if tooLong {
			line = line[:bound] // the bytes past the bound are never taken
		}
		// The line's effect, kept if it ends: a cut last line is dropped,
		// but it may still cross the bound first.
		d, h, nm := data, hasData, name
		field, value, colon := bytes.Cut(line, []byte{':'})
		if colon && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		if colon || (ended && !blank) {
			switch string(field) {
			case "data":
				if h {
					if len(d)+len(nm)+1 > bound {
						return evs, ErrEventTooLong
					}
					d = append(d, '\n')
				}
				h = true
				if len(d)+len(nm)+len(value) > bound {
					return evs, ErrEventTooLong
				}
				d = append(d, value...)
			case "event":
				if len(d)+len(nm)+len(value) > bound { // the name read counts beside the one it replaces
					return evs, ErrEventTooLong
				}
				nm = string(value)
			}
		}
		if tooLong {
			return evs, ErrLineTooLong
		}
		if !ended {
			break
		}
		data, hasData, name = d, h, nm
		if blank {
			if hasData {
				if len(data) == 0 {
					data = nil
				}
				evs = append(evs, Event{Name: name, Data: data})
			}
			data, hasData, name = nil, false, ""
		}
	}
	if hasData {
		if len(data) == 0 {
			data = nil
		}
		evs = append(evs, Event{Name: name, Data: data})
	}
	return evs, io.EOF
}

func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\ndata: b\r\n\r\n", ": c\n\nevent: e\ndata: x\n\n", "data:\n\n", "data: [DONE]\n", "data: {\"a\":1}\r\n\r\nid: 1\n",
		"data: a\rdata: b\r\revent: n\revent: m\ndata\n\n", "data: 0123456789abcdef", "event: 0123456789\ndata: 0\n", "\r\r\n\n:\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := readAll(strings.NewReader(string(in)))
		if err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
		n := 0
		for _, ev := range evs {
			n += len(ev.Data)
			if strings.Contains(string(ev.Data), "\r") {
				t.Fatalf("data keeps a CR: %q", ev.Data)
			}
		}
		if n > len(in) {
			t.Fatalf("%d bytes of data out of %d bytes in", n, len(in))
		}

		// The Reader parses as the line-at-a-time reference does, at
		// bounds the input crosses too, however the body is cut into reads.
		for _, bound := range []int{1, 7, 64, len(in)/2 + 1} {
			want, wantErr := refParse(in, bound)
			for _, r := range []io.Reader{bytes.NewReader(in), iotest.OneByteReader(bytes.NewReader(in))} {
				got, err := readAllSize(r, bound)
				if err != wantErr || !reflect.DeepEqual(got, want) {
					t.Fatalf("bound %d: events %q, err %v; the reference has %q, %v", bound, got, err, want, wantErr)
				}
			}
		}

		// Memory: the input repeated to 16 times the bound holds no more
		// than the bound, looked at every KiB read.
		const bound = 4 << 10
		p := &probe{r: &repeat{unit: in, left: 16 * bound, most: 1 << 10}}
		s := NewReaderSize(p, bound)
		p.check = func() {
			if h := s.held(); h > bound+256 {
				t.Fatalf("the Reader holds %d bytes, over the bound %d", h, bound)
			}
		}
		for {
			ev, err := s.Next()
			p.check()
			if err != nil {
				if err != io.EOF && err != ErrLineTooLong && err != ErrEventTooLong {
					t.Fatalf("err = %v", err)
				}
				break
			}
			if len(ev.Data)+len(ev.Name) > bound {
				t.Fatalf("an event of %d bytes, over the bound %d", len(ev.Data)+len(ev.Name), bound)
			}
		}
	})
}

// TestNextShared checks that NextShared reads the events Next reads,
// reusing one buffer for their data.
func TestNextShared(t *testing.T) {
	const body = "data: the longest one\n\nevent: x\ndata: two\ndata: lines\n\n: comment\ndata: [DONE]\n\n"
	want := []Event{{Data: []byte("the longest one")}, {Name: "x", Data: []byte("two\nlines")}, {Data: []byte("[DONE]")}}
	r := NewReader(strings.NewReader(body))
	var first *byte
	for i, w := range want {
		ev, err := r.NextShared()
		if err != nil || ev.Name != w.Name || string(ev.Data) != string(w.Data) {
			t.Fatalf("event %d: %q %q %v, want %q %q", i, ev.Name, ev.Data, err, w.Name, w.Data)
		}
		if i == 0 {
			first = &ev.Data[:1][0]
		} else if &ev.Data[:1][0] != first {
			t.Errorf("event %d: data in a new buffer", i)
		}
	}
	if _, err := r.NextShared(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}

// TestReset checks that a Reader reset onto a new body reads it as a new
// Reader would, whatever state the last body left it in.
func TestReset(t *testing.T) {
	r := NewReaderSize(strings.NewReader("event: a\ndata: cut in the mid"), 64)
	if _, err := r.NextShared(); err != io.EOF {
		t.Fatalf("first body: %v", err)
	}
	r.Reset(strings.NewReader("data: x\n\nevent: y\ndata: z\n\n"))
	for _, want := range []Event{{Data: []byte("x")}, {Name: "y", Data: []byte("z")}} {
		ev, err := r.NextShared()
		if err != nil || ev.Name != want.Name || string(ev.Data) != string(want.Data) {
			t.Fatalf("got %q %q %v, want %q %q", ev.Name, ev.Data, err, want.Name, want.Data)
		}
	}
	r.Reset(strings.NewReader("data: " + strings.Repeat("x", 65) + "\n\n"))
	if _, err := r.NextShared(); err != ErrLineTooLong {
		t.Fatalf("bound after Reset: %v, want ErrLineTooLong", err)
	}
}
