package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
	"github.com/switchyard-router/switchyard/usage"
)

// Event is one request as the live-traffic screen shows it.
type Event struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"request_id,omitempty"`
	Key        string    `json:"key,omitempty"`
	Dialect    string    `json:"dialect"`
	Route      string    `json:"route,omitempty"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	Score      float64   `json:"score,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	Model      string    `json:"model,omitempty"`
	Status     int       `json:"status"`
	Refused    string    `json:"refused,omitempty"` // why, for a request refused before any upstream call
	Stream     bool      `json:"stream,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
	TTFTMS     float64   `json:"ttft_ms,omitempty"`
	Prompt     int       `json:"prompt_tokens,omitempty"`
	Completion int       `json:"completion_tokens,omitempty"`
	Cost       float64   `json:"cost,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
}

// Attempt is one upstream call of an Event.
type Attempt struct {
	Target string  `json:"target"`
	Status int     `json:"status"`
	MS     float64 `json:"ms"`
	Error  string  `json:"error,omitempty"`
}

// Feed fans each request out to the live-traffic screens watching. With
// none watching it costs an atomic load per request; a screen that reads
// too slowly loses events (counted) rather than slowing a request. It
// implements proxy.Observer and is safe for concurrent use.
type Feed struct {
	watchers atomic.Int32
	mu       sync.Mutex
	subs     map[chan []byte]struct{}
	dropped  atomic.Uint64
}

// NewFeed returns a feed with no one watching.
func NewFeed() *Feed { return &Feed{subs: map[chan []byte]struct{}{}} }

// Decided implements proxy.Observer; the feed shows requests as they end.
func (f *Feed) Decided(router.Decision) {}

// Served implements proxy.Observer.
func (f *Feed) Served(rec usage.Record, attempts []providers.Attempt) {
	if f.watchers.Load() == 0 {
		return
	}
	e := Event{Time: rec.Time, RequestID: rec.RequestID, Key: rec.Key, Dialect: rec.Dialect, Route: rec.Route, DecidedBy: rec.DecidedBy,
		Score: rec.Score, Provider: rec.Provider, Model: rec.Model, Status: rec.Status, Stream: rec.Stream,
		LatencyMS: ms(rec.Latency), TTFTMS: ms(rec.TTFT), Prompt: rec.PromptTokens, Completion: rec.CompletionTokens, Cost: rec.Cost}
	for _, a := range attempts {
		at := Attempt{Target: a.Target, Status: a.Status, MS: ms(a.Duration)}
		if a.Err != nil {
			at.Error = clip(a.Err.Error(), 300)
		}
		e.Attempts = append(e.Attempts, at)
	}
	f.publish(e)
}

// Refused implements proxy.Observer.
func (f *Feed) Refused(dialect string, status int, reason string) {
	if f.watchers.Load() == 0 {
		return
	}
	f.publish(Event{Time: time.Now(), Dialect: dialect, Status: status, Refused: reason})
}

func (f *Feed) publish(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- b:
		default:
			f.dropped.Add(1)
		}
	}
}

// ServeHTTP streams the feed as server-sent events, one "request" event
// per request, until the client goes; a comment every 15 s keeps proxies
// from closing an idle stream. The caller checks the credentials.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch := make(chan []byte, 256)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	f.watchers.Add(1)
	defer func() {
		f.watchers.Add(-1)
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}()
	rc.SetWriteDeadline(time.Time{}) // a feed outlives server.write_timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(": switchyard live traffic\n\n"))
	rc.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	var buf []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			// Coalesce: what arrives within batchWait goes out in one
			// write and one flush, so a busy gateway pays a few writes a
			// second per watcher, not one per request.
			buf = appendEvent(buf[:0], b)
			deadline := time.NewTimer(batchWait)
		collect:
			for len(buf) < maxBatch {
				select {
				case b := <-ch:
					buf = appendEvent(buf, b)
				case <-deadline.C:
					break collect
				case <-r.Context().Done():
					deadline.Stop()
					return
				}
			}
			deadline.Stop()
			if _, err := w.Write(buf); err != nil {
				return
			}
			rc.Flush()
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			rc.Flush()
		}
	}
}

// batchWait is how long events are gathered before they are sent; the
// screen is at most this much behind. maxBatch bounds one write.
const (
	batchWait = 100 * time.Millisecond
	maxBatch  = 256 << 10
)

func appendEvent(buf, data []byte) []byte {
	buf = append(buf, "event: request\ndata: "...)
	buf = append(buf, data...)
	return append(buf, '\n', '\n')
}

// Watching is how many screens watch the feed now.
func (f *Feed) Watching() int { return int(f.watchers.Load()) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
