package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/anthropic")

// dir is where the golden files live, at the repository's root.
const dir = "../../testdata/anthropic"

// golden compares got with the golden file for input (its extension
// replaced by .golden), or rewrites it with -update.
func golden(t *testing.T, input string, got []byte) {
	t.Helper()
	path := strings.TrimSuffix(input, filepath.Ext(input)) + ".golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./providers/anthropic -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// inputs returns the input files of one golden directory.
func inputs(t *testing.T, sub, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, sub, "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs in %s: %v", sub, err)
	}
	return files
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenToOpenAI: an Anthropic client's request, as the canonical
// form, as OpenAI fields, and back as the body an Anthropic upstream
// would get from those OpenAI fields.
func TestGoldenToOpenAI(t *testing.T) {
	for _, in := range inputs(t, "to_openai", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			req, err := ParseRequest(bytes.NewReader(read(t, in)))
			if err != nil {
				t.Fatal(err)
			}
			if req.Dialect != providers.DialectAnthropic || !bytes.Equal(mustMarshal(req.Fields), mustMarshal(fieldsOf(t, read(t, in)))) {
				t.Errorf("dialect %q, fields not kept byte for byte", req.Dialect)
			}
			openAI := *req
			openAI.Dialect, openAI.Fields, openAI.Translated = providers.DialectOpenAI, req.Translated, nil
			var dropped []string
			back, err := requestBody(openAI.WithModel("claude-back"), req.Stream, nil, func(f string) { dropped = append(dropped, f) })
			if err != nil {
				t.Fatal(err)
			}
			golden(t, in, indent(t, map[string]any{
				"model":      req.Model,
				"stream":     req.Stream,
				"canonical":  req.Messages,
				"openai":     req.Translated,
				"back":       json.RawMessage(back),
				"back_drops": dropped,
			}))
		})
	}
}

// TestGoldenFromOpenAI: an OpenAI client's request, as the body an
// Anthropic upstream gets, with the fields left out.
func TestGoldenFromOpenAI(t *testing.T) {
	for _, in := range inputs(t, "from_openai", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			req := openAIRequest(t, read(t, in)).WithModel("claude-sonnet-4-5")
			dropped := []string{}
			body, err := requestBody(req, req.Stream, nil, func(f string) { dropped = append(dropped, f) })
			if err != nil {
				t.Fatal(err)
			}
			golden(t, in, indent(t, map[string]any{"body": json.RawMessage(body), "dropped": dropped}))
		})
	}
}

// TestGoldenAnswer: an Anthropic upstream's answer, through the client,
// in the canonical form.
func TestGoldenAnswer(t *testing.T) {
	for _, in := range inputs(t, "answer", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body := read(t, in)
			up := providertest.Anthropic(t, providertest.Script{Body: string(body)})
			resp, err := New("golden", up.URL, "k", up.Client()).Complete(t.Context(), anthropicRequest(t))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Raw, body) || resp.RawDialect != providers.DialectAnthropic || resp.Created == 0 {
				t.Errorf("raw %q (%s), created %d", resp.RawDialect, resp.Raw, resp.Created)
			}
			if got := Message(resp); !bytes.Equal(got, body) {
				t.Errorf("Message does not pass the raw answer through: %s", got)
			}
			resp.Raw, resp.Created = nil, 0
			golden(t, in, indent(t, resp))
		})
	}
}

// TestGoldenMessage: a canonical answer (from another dialect) encoded for
// an Anthropic client.
func TestGoldenMessage(t *testing.T) {
	for _, in := range inputs(t, "message", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var resp providers.Response
			if err := json.Unmarshal(read(t, in), &resp); err != nil {
				t.Fatal(err)
			}
			golden(t, in, indent(t, json.RawMessage(Message(&resp))))
		})
	}
}

// TestGoldenStreamIn: an Anthropic upstream's stream, through the client,
// as canonical chunks and how it ended.
func TestGoldenStreamIn(t *testing.T) {
	for _, in := range inputs(t, "stream_in", ".sse") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body := read(t, in)
			up := providertest.Anthropic(t, providertest.Script{Body: string(body)})
			var out bytes.Buffer
			var raws [][]byte
			err := New("golden", up.URL, "k", up.Client()).Stream(t.Context(), anthropicRequest(t), func(ch providers.Chunk) error {
				if ch.RawDialect != providers.DialectAnthropic || ch.Created == 0 {
					t.Errorf("chunk dialect %q, created %d", ch.RawDialect, ch.Created)
				}
				raws = append(raws, ch.Raw)
				ch.Raw, ch.RawDialect, ch.Created = nil, "", 0
				b, _ := json.Marshal(ch)
				out.Write(b)
				out.WriteByte('\n')
				return nil
			})
			fmt.Fprintf(&out, "end: %s\n", ending(err))
			golden(t, in, out.Bytes())
			// Raw is each event's data, in order.
			for i, r := range raws {
				if !bytes.Contains(body, append([]byte("data: "), r...)) {
					t.Errorf("chunk %d raw %s is not an event's data", i, r)
				}
			}
		})
	}
}

// ending describes how a stream ended.
func ending(err error) string {
	var pe *providers.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &pe):
		return fmt.Sprintf("status %d, retryable %v, type %q: %v", pe.Status, pe.Retryable, pe.Type, pe.Err)
	default:
		return "error: " + err.Error()
	}
}

// TestGoldenStreamOut: canonical chunks encoded for an Anthropic client,
// then Finish.
func TestGoldenStreamOut(t *testing.T) {
	for _, in := range inputs(t, "stream_out", ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			var chunks []providers.Chunk
			if err := json.Unmarshal(read(t, in), &chunks); err != nil {
				t.Fatal(err)
			}
			enc := NewStreamEncoder()
			var evs []Event
			for _, c := range chunks {
				evs = append(evs, enc.Encode(c)...)
			}
			evs = append(evs, enc.Finish()...)
			if again := enc.Finish(); len(again) != 0 {
				t.Errorf("Finish twice: %v", again)
			}
			golden(t, in, sseBody(t, evs))
		})
	}
}

// sseBody writes events as an SSE body, checking each one's data is a
// JSON object whose type is its name.
func sseBody(t *testing.T, evs []Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range evs {
		var head struct{ Type string }
		if err := json.Unmarshal(ev.Data, &head); err != nil || head.Type != ev.Name {
			t.Errorf("event %s has data %s", ev.Name, ev.Data)
		}
		fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", ev.Name, ev.Data)
	}
	return b.Bytes()
}

// TestGoldenErrors: error bodies for an Anthropic client, by status.
func TestGoldenErrors(t *testing.T) {
	var b bytes.Buffer
	for _, status := range []int{400, 401, 402, 403, 404, 413, 422, 429, 499, 500, 502, 503, 504, 529} {
		fmt.Fprintf(&b, "%d %s\n", status, NewError(status, "something failed", ""))
	}
	fmt.Fprintf(&b, "typed %s\n", NewError(400, "bad", "request_too_large"))
	ev := ErrorEvent(529, "Overloaded")
	fmt.Fprintf(&b, "event: %s\ndata: %s\n", ev.Name, ev.Data)
	golden(t, filepath.Join(dir, "errors.txt"), b.Bytes())
}

func fieldsOf(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var f map[string]json.RawMessage
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// openAIRequest builds the canonical request an OpenAI client's body
// parses to, as far as these tests need (this package does not import the
// openai one).
func openAIRequest(t *testing.T, body []byte) *providers.Request {
	t.Helper()
	req := &providers.Request{Fields: fieldsOf(t, body), Dialect: providers.DialectOpenAI}
	json.Unmarshal(req.Fields["model"], &req.Model)
	json.Unmarshal(req.Fields["stream"], &req.Stream)
	var msgs []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCalls  json.RawMessage `json:"tool_calls"`
		ToolCallID string          `json:"tool_call_id"`
		Name       string          `json:"name"`
	}
	if err := json.Unmarshal(req.Fields["messages"], &msgs); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		c := providers.Message{Role: m.Role, ToolCallID: m.ToolCallID, Name: m.Name}
		if kind(m.ToolCalls) == '[' {
			c.ToolCalls = m.ToolCalls
		}
		switch kind(m.Content) {
		case '"':
			var s string
			json.Unmarshal(m.Content, &s)
			c.Parts = []providers.Part{{Type: "text", Text: s}}
		case '[':
			var parts []struct {
				Type     string `json:"type"`
				Text     string `json:"text"`
				ImageURL struct {
					URL string `json:"url"`
				} `json:"image_url"`
			}
			if err := json.Unmarshal(m.Content, &parts); err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				c.Parts = append(c.Parts, providers.Part{Type: p.Type, Text: p.Text, URL: p.ImageURL.URL})
			}
		}
		req.Messages = append(req.Messages, c)
	}
	return req
}

// anthropicRequest is a small Anthropic client request for the model
// "claude-x".
func anthropicRequest(t *testing.T) *providers.Request {
	t.Helper()
	req, err := ParseRequest(strings.NewReader(`{"model":"auto","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return req.WithModel("claude-x")
}
