package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault kinds the flaky upstream injects, with their share of injected
// failures (percent). Each one happens before the first content chunk, so
// a healthy target can still serve the request.
var faultKinds = []struct {
	name  string
	share int
}{
	{"500", 15},
	{"502", 5},
	{"503", 5},
	{"503+Retry-After:1", 2},
	{"reset (RST before headers)", 10},
	{"closed before headers", 8},
	{"malformed body", 18},
	{"stall before first content", 8},
	// Hostile upstreams (issue 12): each must cost switchyard bounded
	// memory and time, and show the client nothing of it.
	{"500 with secrets in its body", 8},
	{"redirect (307)", 6},
	{"data lines without end of event / endless body", 6},
	{"endless role-only chunks", 6},
	{"8 MiB of CRs", 3},
}

// secret is what the hostile upstream puts in its error bodies; no client
// may ever see it.
const secret = "hunter2"

// answerWords is what every upstream answers, one word per stream chunk.
var answerWords = strings.Fields("The quick brown fox jumps over the lazy dog.")

func answerText(prefix string) string { return prefix + strings.Join(answerWords, " ") }

// upstream is an OpenAI-compatible fake. The flaky one fails a share of
// requests in one of faultKinds, and cuts a share of its streams after
// the first content chunk; the healthy one never fails.
type upstream struct {
	name       string
	prefix     string        // starts every answer, so the client can tell who served
	failRate   float64       // share of requests that fail before any content
	cutRate    float64       // share of streams cut after the first content chunk
	chunkDelay time.Duration // between stream chunks

	requests atomic.Int64
	cuts     atomic.Int64
	mu       sync.Mutex
	faults   map[string]int64
}

func newUpstream(name string, failRate, cutRate float64, chunkDelay time.Duration) *upstream {
	return &upstream{name: name, prefix: "[" + name + "] ", failRate: failRate, cutRate: cutRate,
		chunkDelay: chunkDelay, faults: map[string]int64{}}
}

func (u *upstream) faultCounts() map[string]int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]int64, len(u.faults))
	for k, v := range u.faults {
		out[k] = v
	}
	return out
}

func (u *upstream) pickFault() string {
	if u.failRate <= 0 || rand.Float64() >= u.failRate {
		return ""
	}
	n := rand.IntN(100)
	for _, k := range faultKinds {
		if n < k.share {
			return k.name
		}
		n -= k.share
	}
	return faultKinds[0].name
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.NotFound(w, r)
		return
	}
	u.requests.Add(1)
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if f := u.pickFault(); f != "" {
		u.mu.Lock()
		u.faults[f]++
		u.mu.Unlock()
		u.fail(w, r, f, req.Stream)
		return
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-soak","object":"chat.completion","created":1700000000,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}`,
			req.Model, answerText(u.prefix), len(answerWords), 5+len(answerWords))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	event := func(delta string, finish string) {
		fin := "null"
		if finish != "" {
			fin = `"` + finish + `"`
		}
		fmt.Fprintf(w, `data: {"id":"chatcmpl-soak","object":"chat.completion.chunk","created":1700000000,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n",
			req.Model, delta, fin)
		rc.Flush()
	}
	event(`{"role":"assistant","content":""}`, "")
	cut := u.cutRate > 0 && rand.Float64() < u.cutRate
	for i, word := range answerWords {
		if i > 0 {
			if !sleepCtx(r, u.chunkDelay) {
				return
			}
		}
		text := word
		if i == 0 {
			text = u.prefix + word
		} else {
			text = " " + word
		}
		b, _ := json.Marshal(map[string]string{"content": text})
		event(string(b), "")
		if cut && i == 0 {
			u.cuts.Add(1)
			if rand.IntN(2) == 0 {
				panic(http.ErrAbortHandler) // the connection drops mid-stream
			}
			return // the body ends cleanly, without a finish chunk or [DONE]
		}
	}
	event(`{}`, "stop")
	io.WriteString(w, "data: [DONE]\n\n")
	rc.Flush()
}

// fail answers with fault f.
func (u *upstream) fail(w http.ResponseWriter, r *http.Request, f string, stream bool) {
	errBody := func(status int, typ string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"soak: injected %d","type":%q}}`, status, typ)
	}
	switch f {
	case "500":
		errBody(500, "server_error")
	case "502":
		errBody(502, "server_error")
	case "503":
		errBody(503, "server_error")
	case "503+Retry-After:1":
		w.Header().Set("Retry-After", "1")
		errBody(503, "server_error")
	case "reset (RST before headers)":
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST, not FIN
		}
		conn.Close()
	case "closed before headers":
		panic(http.ErrAbortHandler)
	case "malformed body":
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"id\":\"chatcmpl-soak\",\"choices\":[\n\n")
		} else {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-soak","choices":[{"message":`)
		}
	case "500 with secrets in its body":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		fmt.Fprintf(w, `{"error":{"message":"db password=%s at 10.9.8.7:5432, key sk-UPSTREAM-0123456789abcdef","type":"server_error"}}`, secret)
	case "redirect (307)":
		w.Header().Set("Location", "http://127.0.0.1:9/steal")
		w.WriteHeader(http.StatusTemporaryRedirect)
	case "data lines without end of event / endless body":
		line := []byte("data: " + strings.Repeat("x", 1000) + "\n")
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
			line = []byte(`{"id":"` + strings.Repeat("x", 1000) + `",`)
		}
		for r.Context().Err() == nil {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	case "endless role-only chunks":
		if !stream {
			sleepCtx(r, time.Minute)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := []byte(`data: {"id":"chatcmpl-soak","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}` + "\n\n")
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case "8 MiB of CRs":
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write([]byte(strings.Repeat("\r", 8<<20)))
		sleepCtx(r, time.Minute)
	case "stall before first content":
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, `data: {"id":"chatcmpl-soak","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
			http.NewResponseController(w).Flush()
		}
		sleepCtx(r, time.Minute) // until switchyard gives up on us
	}
}

// sleepCtx waits d or until the request's client goes away (false).
func sleepCtx(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
