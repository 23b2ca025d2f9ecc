// Command upstream is a fake OpenAI chat-completions server for bench/load.sh:
// as cheap as an HTTP server can be, so that it is never the bottleneck of a
// gateway measurement. Every answer is built once at start-up.
//
// It serves POST /v1/chat/completions (a JSON completion, or with
// "stream":true an SSE stream of a few chunks and [DONE]) and GET /v1/models.
// The request body is read and discarded; the model name is not checked.
//
// usage: upstream -listen 127.0.0.1:PORT [-model NAME] [-chunks N]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9100", "address to listen on")
	model := flag.String("model", "bench-model", "model name in answers and in /v1/models")
	chunks := flag.Int("chunks", 4, "content chunks in a stream, before the finish chunk")
	flag.Parse()

	a := newAnswers(*model, *chunks)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", a.chat)
	mux.HandleFunc("GET /v1/models", a.models)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// answers holds pre-encoded bodies; it is read-only after newAnswers.
type answers struct {
	completion []byte   // the non-stream JSON body
	stream     [][]byte // SSE events, "data: ...\n\n" each, [DONE] last
	modelList  []byte
}

func newAnswers(model string, chunks int) *answers {
	const id = "chatcmpl-bench"
	a := &answers{
		completion: fmt.Appendf(nil, `{"id":%q,"object":"chat.completion","created":1700000000,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`, id, model),
		modelList: fmt.Appendf(nil, `{"object":"list","data":[{"id":%q,"object":"model","created":1700000000,"owned_by":"bench"}]}`, model),
	}
	event := func(delta, finish string) []byte {
		return fmt.Appendf(nil, `data: {"id":%q,"object":"chat.completion.chunk","created":1700000000,"model":%q,`+
			`"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", id, model, delta, finish)
	}
	a.stream = append(a.stream, event(`{"role":"assistant","content":"Hello"}`, "null"))
	for i := 1; i < chunks; i++ {
		a.stream = append(a.stream, event(`{"content":" word`+strconv.Itoa(i)+`"}`, "null"))
	}
	a.stream = append(a.stream, event(`{}`, `"stop"`), []byte("data: [DONE]\n\n"))
	return a
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (a *answers) chat(w http.ResponseWriter, r *http.Request) {
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufs.Put(buf)
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 1<<20)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !isStream(buf.Bytes()) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(a.completion))}
		w.Write(a.completion)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	f, _ := w.(http.Flusher)
	for _, ev := range a.stream {
		if _, err := w.Write(ev); err != nil {
			return
		}
		if f != nil {
			f.Flush() // one event per write, as a real upstream sends them
		}
	}
}

// isStream reports whether the body asks for a stream, without decoding the
// JSON: a gateway may write `"stream":true` or `"stream": true`.
func isStream(body []byte) bool {
	i := bytes.Index(body, []byte(`"stream"`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(body[i+len(`"stream"`):], " \t\r\n:")
	return bytes.HasPrefix(rest, []byte("true"))
}

func (a *answers) models(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(a.modelList)
}
