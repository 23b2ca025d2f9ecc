package providertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// OllamaScript is what a fake Ollama server answers on POST /api/chat.
type OllamaScript struct {
	// Status, unless 0 or 200, is the reply's status, with Ollama's error
	// body {"error": ErrorMessage}.
	Status int
	// ErrorMessage is the error body's message; "" means the status text.
	ErrorMessage string
	// Model names the model in replies; "" echoes the request's model.
	Model string
	// Chunks are the content deltas, one NDJSON line each; a non-streamed
	// reply joins them.
	Chunks []string
	// ToolCalls are sent on one line after the content lines (in the
	// message of a non-streamed reply).
	ToolCalls []api.ToolCall
	// DoneReason is the done line's done_reason; "" means "stop".
	DoneReason string
	// PromptEvalCount and EvalCount are the done line's token counts.
	PromptEvalCount, EvalCount int
	// CutAfter, when positive, aborts the connection after that many lines
	// (content lines, then the tool-call line), instead of sending the done
	// line; when negative, before anything is sent. A non-streamed reply
	// is aborted whenever CutAfter is not 0.
	CutAfter int
	// Delay is waited before each line, and before a non-streamed reply or
	// an error. The wait ends early when the client goes away.
	Delay time.Duration
}

// OllamaUpstream is a running fake Ollama server that answers every chat
// request with its script. It is safe for concurrent use and is closed
// when the test ends.
type OllamaUpstream struct {
	*httptest.Server // URL is the base URL, such as http://127.0.0.1:54321

	script OllamaScript
	ctx    context.Context // done when the test ends, to cut Delay short

	mu       sync.Mutex
	requests int
	last     []byte
}

// Ollama starts a fake Ollama server that speaks the /api/chat protocol:
// an NDJSON stream of api.ChatResponse lines ending with a done:true line
// carrying done_reason and token counts, or a single JSON object when the
// request says "stream": false.
func Ollama(t testing.TB, s OllamaScript) *OllamaUpstream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := &OllamaUpstream{script: s, ctx: ctx}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(func() {
		cancel() // first, or Close would wait for a handler in Delay
		u.Close()
	})
	return u
}

// Requests returns how many requests reached the server.
func (u *OllamaUpstream) Requests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests
}

// LastBody returns the body of the last request, nil before any.
func (u *OllamaUpstream) LastBody() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// LastRequest returns the last request body decoded, the zero value before
// any request.
func (u *OllamaUpstream) LastRequest() api.ChatRequest {
	var req api.ChatRequest
	if b := u.LastBody(); b != nil {
		_ = json.Unmarshal(b, &req)
	}
	return req
}

func (u *OllamaUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.requests++
	u.last = body
	u.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/api/chat" {
		http.NotFound(w, r)
		return
	}
	s := u.script
	if s.CutAfter < 0 {
		panic(http.ErrAbortHandler)
	}
	if s.Status != 0 && s.Status != http.StatusOK {
		msg := s.ErrorMessage
		if msg == "" {
			msg = http.StatusText(s.Status)
		}
		if u.wait(r) {
			ollamaError(w, s.Status, msg)
		}
		return
	}
	var req api.ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	model := s.Model
	if model == "" {
		model = req.Model
	}
	done := api.ChatResponse{
		Model:      model,
		CreatedAt:  time.Now().UTC(),
		Message:    api.Message{Role: "assistant"},
		Done:       true,
		DoneReason: s.DoneReason,
		Metrics: api.Metrics{
			TotalDuration:   time.Millisecond,
			PromptEvalCount: s.PromptEvalCount,
			EvalCount:       s.EvalCount,
		},
	}
	if done.DoneReason == "" {
		done.DoneReason = "stop"
	}

	if req.Stream != nil && !*req.Stream {
		if !u.wait(r) {
			return
		}
		if s.CutAfter != 0 {
			panic(http.ErrAbortHandler)
		}
		done.Message.Content = strings.Join(s.Chunks, "")
		done.Message.ToolCalls = s.ToolCalls
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(done)
		return
	}

	lines := make([]api.ChatResponse, 0, len(s.Chunks)+1)
	for _, c := range s.Chunks {
		lines = append(lines, api.ChatResponse{
			Model:     model,
			CreatedAt: time.Now().UTC(),
			Message:   api.Message{Role: "assistant", Content: c},
		})
	}
	if len(s.ToolCalls) > 0 {
		lines = append(lines, api.ChatResponse{
			Model:     model,
			CreatedAt: time.Now().UTC(),
			Message:   api.Message{Role: "assistant", ToolCalls: s.ToolCalls},
		})
	}
	lines = append(lines, done)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	for i, line := range lines {
		if !u.wait(r) {
			return
		}
		if s.CutAfter > 0 && (i == s.CutAfter || line.Done) {
			panic(http.ErrAbortHandler) // a reset, not a clean end
		}
		_ = enc.Encode(line) // one line per object
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// wait sleeps for the script's Delay; false means the client or the test
// went away first.
func (u *OllamaUpstream) wait(r *http.Request) bool {
	if u.script.Delay <= 0 {
		return true
	}
	t := time.NewTimer(u.script.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-u.ctx.Done():
	}
	return false
}

// ollamaError writes Ollama's error body.
func ollamaError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
