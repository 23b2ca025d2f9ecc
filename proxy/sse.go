package proxy

import (
	"net/http"
)

// sseWriter writes server-sent events, sending the stream's headers lazily
// with the first event and flushing after every event, so each chunk
// reaches the client as soon as the upstream sent it.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func newSSE(w http.ResponseWriter) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

// send writes one "data:" event. data must be a single line (JSON is).
func (s *sseWriter) send(data []byte) error { return s.event("", data) }

// event writes one event named name ("" = unnamed, as OpenAI's are) with
// data, which must be a single line (JSON is).
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
	buf := make([]byte, 0, len(name)+len(data)+16)
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if _, err := s.w.Write(buf); err != nil {
		return err
	}
	return s.rc.Flush()
}
