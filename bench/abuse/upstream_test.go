package abuse

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// upstream is a fake upstream in this process that counts its requests
// and the bytes its handler wrote.
type upstream struct {
	*httptest.Server
	requests atomic.Int64
	written  atomic.Int64 // bytes written by handlers that use w (see writer)
	mu       sync.Mutex
	seen     []seenRequest
}

// seenRequest is what the upstream recorded of one request.
type seenRequest struct {
	Method, Path string
	Header       http.Header
}

// newUpstream serves h on a loopback port until t ends. Cleanup closes
// the client connections first, so that a handler that streams forever
// sees its context end.
func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
		u.mu.Unlock()
		h(&countingWriter{ResponseWriter: w, n: &u.written}, r)
	}))
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
	})
	return u
}

// requestsSeen returns a copy of the recorded requests.
func (u *upstream) requestsSeen() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

// countingWriter counts the bytes a handler wrote.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// startSSE writes the headers of an event stream.
func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush(w)
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// repeat writes piece to w until the request ends or a write fails,
// flushing every flushEvery pieces.
func repeat(w http.ResponseWriter, r *http.Request, piece string, flushEvery int) {
	buf := []byte(strings.Repeat(piece, flushEvery))
	for r.Context().Err() == nil {
		if _, err := w.Write(buf); err != nil {
			return
		}
		flush(w)
	}
}

// hang blocks until the request ends.
func hang(r *http.Request) { <-r.Context().Done() }

// Canonical upstream answers.
const (
	openAIChunkHello   = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}`
	openAIChunkStop    = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	openAIRoleOnly     = `{"choices":[{"index":0,"delta":{"role":"assistant"}}]}`
	anthropicStart     = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}}`
	anthropicBlockOpen = `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
	anthropicDeltaHi   = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`
)

// openAICompletion is a whole non-streamed answer with content.
func openAICompletion(content string) string {
	return `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		content + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
}

// hangingListener accepts connections and never reads from or writes to
// them, until t ends.
func hangingListener(t *testing.T) (addr string, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), accepted
}
