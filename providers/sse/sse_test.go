package sse

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(r io.Reader) ([]Event, error) {
	s := NewReader(r)
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
	_, err = readAll(strings.NewReader("data: " + strings.Repeat("x", maxLine+1) + "\n\n"))
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("too long line: err = %v, want ErrLineTooLong", err)
	}
}

func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\ndata: b\r\n\r\n", ": c\n\nevent: e\ndata: x\n\n", "data:\n\n", "data: [DONE]\n", "data: {\"a\":1}\r\n\r\nid: 1\n",
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
	})
}
