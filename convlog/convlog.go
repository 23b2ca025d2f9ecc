// Package convlog owns the conversation log: one JSON line per chat
// request with what the client sent and what it got back, written off the
// request path to a file rotated by size, with content redaction; and the
// reading of it for `switchyard logs`.
package convlog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Entry is one logged request.
type Entry struct {
	Time      time.Time       `json:"time"`
	RequestID string          `json:"request_id"`
	Key       string          `json:"key,omitempty"`
	Dialect   string          `json:"dialect"`
	Route     string          `json:"route,omitempty"`
	DecidedBy string          `json:"decided_by,omitempty"`
	Target    string          `json:"target,omitempty"` // provider/model that answered
	Status    int             `json:"status"`
	Stream    bool            `json:"stream"`
	LatencyMS float64         `json:"latency_ms"`
	Request   json.RawMessage `json:"request"`          // the client's body
	Answer    json.RawMessage `json:"answer,omitempty"` // the whole answer, as the client got it
	// Streamed answers are logged as their text and tool calls.
	Text      string          `json:"text,omitempty"`
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// Redaction modes.
const (
	RedactNone    = "none"    // log everything
	RedactContent = "content" // replace message and answer text by its length
)

// Options tune a Log; zero fields take the defaults.
type Options struct {
	Path       string // the file; required
	MaxSizeMB  int    // rotate past this size; default 100
	MaxBackups int    // rotated files kept; default 5
	Redact     string // RedactNone (default) or RedactContent
	Queue      int    // entries waiting to be written; default 1000
}

// Log writes entries on its own goroutine; Add never blocks (a full queue
// drops the entry and counts it). It is safe for concurrent use.
type Log struct {
	out     *lumberjack.Logger
	redact  string
	queue   chan Entry
	dropped atomic.Uint64
	done    chan struct{}
	once    sync.Once
}

// Open starts a log at o.Path.
func Open(o Options) (*Log, error) {
	if o.Path == "" {
		return nil, fmt.Errorf("conversation log: no path")
	}
	if o.MaxSizeMB <= 0 {
		o.MaxSizeMB = 100
	}
	if o.MaxBackups <= 0 {
		o.MaxBackups = 5
	}
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Redact == "" {
		o.Redact = RedactNone
	}
	f, err := os.OpenFile(o.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("conversation log: %w", err)
	}
	f.Close()
	l := &Log{
		out:    &lumberjack.Logger{Filename: o.Path, MaxSize: o.MaxSizeMB, MaxBackups: o.MaxBackups},
		redact: o.Redact, queue: make(chan Entry, o.Queue), done: make(chan struct{}),
	}
	go l.run()
	return l, nil
}

// Add queues e; it never blocks.
func (l *Log) Add(e Entry) {
	select {
	case l.queue <- e:
	default:
		l.dropped.Add(1)
	}
}

// Dropped is how many entries a full queue cost.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is queued and closes the file.
func (l *Log) Close(ctx context.Context) error {
	l.once.Do(func() { close(l.queue) })
	select {
	case <-l.done:
		return l.out.Close()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log) run() {
	defer close(l.done)
	w := bufio.NewWriter(l.out)
	enc := json.NewEncoder(w)
	for e := range l.queue {
		if l.redact == RedactContent {
			e = redact(e)
		}
		enc.Encode(e)
		if len(l.queue) == 0 {
			w.Flush()
		}
	}
	w.Flush()
}

// redact replaces every string value under "content" and "text" (and the
// system prompt) in the request and answer, and the streamed text, by
// "[N chars]": roles, models, tool names and the shape stay.
func redact(e Entry) Entry {
	e.Request = redactJSON(e.Request)
	e.Answer = redactJSON(e.Answer)
	if e.Text != "" {
		e.Text = fmt.Sprintf("[%d chars]", len(e.Text))
	}
	e.ToolCalls = redactJSON(e.ToolCalls)
	return e
}

func redactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return json.RawMessage(fmt.Sprintf(`"[%d bytes]"`, len(raw)))
	}
	out, _ := json.Marshal(walk(v, ""))
	return out
}

func walk(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			x[k] = walk(vv, k)
		}
		return x
	case []any:
		for i, vv := range x {
			x[i] = walk(vv, key)
		}
		return x
	case string:
		switch key {
		case "content", "text", "system", "arguments", "thinking", "reasoning_content", "partial_json":
			return fmt.Sprintf("[%d chars]", len(x))
		}
	}
	return v
}

// Filter selects entries for Read.
type Filter struct {
	Key, Route string // "" = any
	RequestID  string // "" = any
}

func (f Filter) match(e Entry) bool {
	return (f.Key == "" || e.Key == f.Key) && (f.Route == "" || e.Route == f.Route) && (f.RequestID == "" || e.RequestID == f.RequestID)
}

// Find returns the entry of request id from the log's current file (the
// newest match; rotated files are not read), and whether there is one.
// An entry is in the file a moment after its request ends.
func (l *Log) Find(id string) (Entry, bool, error) {
	f, err := os.Open(l.out.Filename)
	if errors.Is(err, os.ErrNotExist) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	defer f.Close()
	var found Entry
	ok := false
	err = Read(f, Filter{RequestID: id}, func(e Entry) error {
		found, ok = e, true
		return nil
	})
	return found, ok, err
}

// Read calls fn for every entry of r that f selects, in order. Lines that
// are not entries are skipped.
func Read(r io.Reader, f Filter, fn func(Entry) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var e Entry
			if json.Unmarshal(line, &e) == nil && f.match(e) {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
