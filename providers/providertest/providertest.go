// Package providertest runs fake upstreams for tests, in the spirit of
// net/http/httptest: real HTTP servers on the loopback interface that
// answer in one dialect as a Script says, and record what they received.
package providertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Script says how a fake upstream answers one request. The zero Script
// answers "Hello" with status 200, streamed when the request asks for it.
type Script struct {
	// Status is the response status; 0 = 200. Any status of 300 or more
	// gets the dialect's error body, unless Body is set.
	Status int
	// Body, when set, is sent as is with Status instead of a generated
	// answer, as text/event-stream for a 2xx to a stream request, else as
	// application/json.
	Body string
	// ContentType, when set, replaces the Content-Type of a Body.
	ContentType string
	// Text is the whole answer; "" = the Chunks joined, or "Hello".
	Text string
	// Chunks are a stream's content deltas, one event each; nil = Text in
	// one chunk.
	Chunks []string
	// CutAfter, when above 0, ends the stream cleanly after that many
	// content chunks, with no finish chunk and no [DONE]: a cut stream.
	CutAfter int
	// Delay is the wait before the response headers. A client that goes
	// away during it is counted by Canceled.
	Delay time.Duration
	// ChunkDelay is the wait before each stream chunk after the first.
	ChunkDelay time.Duration
	// FirstChunkDelay, when above 0, makes a stream send a role-only
	// chunk (no content) at once and then wait this long before the first
	// content chunk: an upstream that stalls after its headers.
	FirstChunkDelay time.Duration
	// RetryAfter is the Retry-After header's value, "" = none.
	RetryAfter string
	// Malformed makes a 2xx answer garbage: a truncated JSON body, or a
	// stream whose first event is not JSON.
	Malformed bool
	// Usage adds token counts: in the body, or as a final stream chunk.
	// (The Anthropic fake always reports usage, as Anthropic does.)
	Usage bool
	// ToolCall, when set, makes the answer a call of this tool, with
	// finish reason tool_calls (stop_reason tool_use), instead of text;
	// text comes before it only when Text or Chunks is set. A stream sends
	// the call's arguments in ArgChunks fragments, and CutAfter counts
	// them as content chunks after the text's.
	ToolCall *ToolCall
}

// ToolCall is a tool call a fake upstream answers with.
type ToolCall struct {
	// ID is the call's id; "" = "call_fake" (OpenAI) or "toolu_fake"
	// (Anthropic).
	ID string
	// Name is the tool's name; "" = "get_weather".
	Name string
	// Arguments is the whole JSON arguments; "" = ArgChunks joined, or
	// "{}".
	Arguments string
	// ArgChunks are a stream's argument fragments, one event each; nil =
	// Arguments in one fragment.
	ArgChunks []string
}

// call returns the tool call with its defaults filled in.
func (s Script) call(defaultID string) ToolCall {
	c := *s.ToolCall
	if c.ID == "" {
		c.ID = defaultID
	}
	if c.Name == "" {
		c.Name = "get_weather"
	}
	if c.Arguments == "" {
		for _, a := range c.ArgChunks {
			c.Arguments += a
		}
	}
	if c.Arguments == "" {
		c.Arguments = "{}"
	}
	if c.ArgChunks == nil {
		c.ArgChunks = []string{c.Arguments}
	}
	return c
}

// hasText reports whether the answer has text: always without a tool
// call, only when asked for with one.
func (s Script) hasText() bool {
	return s.ToolCall == nil || s.Text != "" || s.Chunks != nil
}

// text returns the answer and its stream chunks.
func (s Script) text() (string, []string) {
	chunks := s.Chunks
	text := s.Text
	if text == "" {
		for _, c := range chunks {
			text += c
		}
	}
	if text == "" {
		text = "Hello"
	}
	if chunks == nil {
		chunks = []string{text}
	}
	return text, chunks
}

// Upstream is a running fake upstream. Its methods are safe for
// concurrent use. The server is closed when the test ends.
type Upstream struct {
	*httptest.Server

	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	canceled int
}

// Requests returns how many requests the upstream has received.
func (u *Upstream) Requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.bodies)
}

// Bodies returns the bodies of the requests received, in order.
func (u *Upstream) Bodies() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.bodies...)
}

// LastBody returns the body of the last request received, or nil.
func (u *Upstream) LastBody() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		return nil
	}
	return u.bodies[len(u.bodies)-1]
}

// LastHeader returns the headers of the last request received, or nil.
func (u *Upstream) LastHeader() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		return nil
	}
	return u.headers[len(u.headers)-1]
}

// Canceled returns how many requests the client abandoned while the
// upstream was still waiting to answer (Delay, ChunkDelay).
func (u *Upstream) Canceled() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.canceled
}

// record stores a request and returns its index, from 0.
func (u *Upstream) record(r *http.Request, body []byte) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bodies = append(u.bodies, body)
	u.headers = append(u.headers, r.Header.Clone())
	return len(u.bodies) - 1
}

// pause waits for d, or reports false (and counts a cancellation) when the
// client goes away first.
func (u *Upstream) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		u.mu.Lock()
		u.canceled++
		u.mu.Unlock()
		return false
	}
}

// start runs h on a new server closed at the end of the test.
func start(t testing.TB, u *Upstream, h http.Handler) *Upstream {
	t.Helper()
	u.Server = httptest.NewServer(h)
	t.Cleanup(u.Close)
	return u
}

// pick returns the script for request n: scripts in order, the last one
// repeated; the zero Script when there are none.
func pick(scripts []Script, n int) Script {
	if len(scripts) == 0 {
		return Script{}
	}
	return scripts[min(n, len(scripts)-1)]
}

// Refused returns a base URL where nothing listens, for connection-refused
// tests.
func Refused(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("providertest: listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// canned writes what s fixes whatever the request asked: its Retry-After
// header, then its Body with its Status (as text/event-stream for a 2xx
// to a stream request, unless ContentType says otherwise), or, for a
// Status of 300 or more, the dialect's error body (writeError). It
// reports whether it wrote the answer.
func (s Script) canned(w http.ResponseWriter, stream bool, writeError func(http.ResponseWriter, int, string)) bool {
	if s.RetryAfter != "" {
		w.Header().Set("Retry-After", s.RetryAfter)
	}
	status := s.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case s.Body != "":
		ct := "application/json"
		if stream && status < 300 {
			ct = "text/event-stream"
		}
		if s.ContentType != "" {
			ct = s.ContentType
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		io.WriteString(w, s.Body)
	case status >= 300:
		writeError(w, status, "fake upstream: status "+strconv.Itoa(status))
	default:
		return false
	}
	return true
}
