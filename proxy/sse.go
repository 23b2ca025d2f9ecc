package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"
)

// sseWriter writes server-sent events, sending the stream's headers lazily
// with the first event and flushing after every event, so each chunk
// reaches the client as soon as the upstream sent it. Every event is
// re-framed: its data is made one line of valid UTF-8 (cleanJSON), so an
// upstream's multi-line event or invalid bytes never reach the client as
// they came. Each write must finish within writeTimeout (0 = no bound), so
// a client that stops reading is dropped rather than held.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration
	started      bool
	buf          []byte
}

func newSSE(w http.ResponseWriter, writeTimeout time.Duration) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w), writeTimeout: writeTimeout}
}

// send writes one unnamed "data:" event, as OpenAI's are.
func (s *sseWriter) send(data []byte) error { return s.event("", data) }

// event writes one event named name ("" = unnamed) with data.
func (s *sseWriter) event(name string, data []byte) error {
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("Connection", "keep-alive")
		// Proxies such as nginx buffer responses unless told not to.
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	data = cleanJSON(data)
	buf := s.buf[:0]
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if cap(buf) <= 64<<10 {
		s.buf = buf // reuse for the next event; a huge one is let go
	}
	if s.writeTimeout > 0 {
		s.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

// cleanJSON returns data as one line of valid UTF-8: as it is in the
// common case (checked without allocating), else with its line breaks
// (which valid JSON has only as white space between tokens) removed and
// invalid bytes replaced by U+FFFD, as Go's JSON decoder reads them.
func cleanJSON(data []byte) []byte {
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') < 0 && utf8.Valid(data) {
		return data
	}
	data = validUTF8(data)
	var b bytes.Buffer
	if json.Compact(&b, data) == nil {
		return b.Bytes()
	}
	// Not JSON: keep it one line.
	return bytes.Join(bytes.FieldsFunc(data, func(r rune) bool { return r == '\r' || r == '\n' }), []byte(" "))
}

// validUTF8 returns b with invalid UTF-8 replaced by U+FFFD, as Go's JSON
// decoder reads it; b itself (no copy) when it is valid, as it nearly
// always is.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}
