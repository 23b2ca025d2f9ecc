package abuse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// answer is what a client got from one request.
type answer struct {
	status int
	header http.Header
	body   []byte // a non-stream body (capped at 1 MiB); empty for a stream
	err    error  // a transport error, if any
	took   time.Duration
	stream *sseResult // set when the answer was an event stream
}

// errorMessage is error.message of a JSON error body (OpenAI's and
// Anthropic's shapes both have it), or "".
func (a answer) errorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body, &e) != nil {
		return ""
	}
	return e.Error.Message
}

// describe is a one-line account of the answer for messages and the
// summary table.
func (a answer) describe() string {
	switch {
	case a.err != nil:
		return "transport error: " + a.err.Error()
	case a.stream != nil:
		s := a.stream
		out := fmt.Sprintf("%d stream, %d events", a.status, s.events)
		if s.errMsg != "" {
			out += ", in-band error " + quote(s.errMsg, 120)
		}
		if s.done {
			out += ", completed"
		}
		if s.readErr != nil {
			out += ", read error: " + s.readErr.Error()
		}
		return out
	default:
		if m := a.errorMessage(); m != "" {
			return fmt.Sprintf("%d %s", a.status, quote(m, 120))
		}
		return fmt.Sprintf("%d %s", a.status, quote(string(a.body), 120))
	}
}

// isError reports whether the client was told of a failure: a non-2xx
// answer with a JSON error body, or a stream that carried an error event
// and did not complete.
func (a answer) isError() bool {
	if a.err != nil {
		return false
	}
	if a.stream != nil {
		return a.stream.errMsg != "" && !a.stream.done
	}
	return a.status >= 400 && a.errorMessage() != ""
}

// visible is every byte of the answer a client can see: headers and body
// (or the raw event stream, up to what was kept).
func (a answer) visible() string {
	var b strings.Builder
	for k, vs := range a.header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.Write(a.body)
	if a.stream != nil {
		b.WriteString(a.stream.raw.String())
	}
	return b.String()
}

func quote(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// chatBody is a minimal chat request for model.
func chatBody(model string, stream bool) []byte {
	return []byte(fmt.Sprintf(`{"model":%q,"stream":%t,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, model, stream))
}

// send posts body to base+path and reads the answer: an event stream is
// scanned as it arrives (not kept whole), anything else is read up to
// 1 MiB. The request is abandoned after limit.
func send(hc *http.Client, base, path string, body []byte, limit time.Duration) answer {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.Contains(path, "/messages") {
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("x-api-key", "client-key")
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		a.stream = readSSE(resp.Body)
	} else {
		a.body, a.err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	a.took = time.Since(start)
	return a
}

// sseResult is what readSSE found in an event stream.
type sseResult struct {
	events     int          // events (blank-line separated) with data
	dataLines  int          // data: lines
	multiData  int          // events with more than one data: line
	badJSON    []string     // data lines that are neither JSON nor [DONE] (first 5)
	badUTF8    int          // lines that are not valid UTF-8
	errMsg     string       // the first in-band error's message
	done       bool         // [DONE] (OpenAI) or message_stop (Anthropic) seen
	text       bytes.Buffer // OpenAI delta.content or Anthropic text_delta text, up to 1 MiB
	raw        bytes.Buffer // the stream's first 256 KiB
	bytes      int64
	longest    int // longest line, bytes
	readErr    error
	eventNames []string // Anthropic event: names, first 20
}

// readSSE scans an event stream to its end, checking every line.
func readSSE(r io.Reader) *sseResult {
	res := &sseResult{}
	br := bufio.NewReaderSize(r, 64<<10)
	dataInEvent := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than 64 KiB: keep reading it, and count it.
			n := len(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += len(line)
			}
			res.bytes += int64(n)
			if n > res.longest {
				res.longest = n
			}
			res.badJSON = appendCapped(res.badJSON, fmt.Sprintf("(a %d-byte line)", n))
			if err != nil {
				res.readErr = nonEOF(err)
				return res
			}
			continue
		}
		res.bytes += int64(len(line))
		if res.raw.Len() < 256<<10 {
			res.raw.Write(line)
		}
		if len(line) > res.longest {
			res.longest = len(line)
		}
		if len(line) > 0 && !utf8.Valid(line) {
			res.badUTF8++
		}
		text := strings.TrimRight(string(line), "\r\n")
		switch {
		case text == "":
			if dataInEvent > 0 {
				res.events++
			}
			if dataInEvent > 1 {
				res.multiData++
			}
			dataInEvent = 0
		case strings.HasPrefix(text, "event:"):
			if len(res.eventNames) < 20 {
				res.eventNames = append(res.eventNames, strings.TrimSpace(text[len("event:"):]))
			}
		case strings.HasPrefix(text, "data:"):
			dataInEvent++
			res.dataLines++
			res.data(strings.TrimSpace(text[len("data:"):]))
		}
		if err != nil {
			if dataInEvent > 0 {
				res.events++
			}
			res.readErr = nonEOF(err)
			return res
		}
	}
}

// data checks one data: line.
func (res *sseResult) data(d string) {
	if d == "[DONE]" {
		res.done = true
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
		Delta struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"delta"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(d), &ev); err != nil {
		res.badJSON = appendCapped(res.badJSON, quote(d, 80))
		return
	}
	if ev.Error != nil && res.errMsg == "" {
		res.errMsg = ev.Error.Message
		if res.errMsg == "" {
			res.errMsg = "(error event without a message)"
		}
	}
	if ev.Type == "message_stop" {
		res.done = true
	}
	if res.text.Len() < 1<<20 {
		for _, c := range ev.Choices {
			res.text.WriteString(c.Delta.Content)
		}
		if ev.Delta.Type == "text_delta" {
			res.text.WriteString(ev.Delta.Text)
		}
	}
}

func appendCapped(list []string, s string) []string {
	if len(list) < 5 {
		list = append(list, s)
	}
	return list
}

func nonEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
