package proxy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// The expected counts are cl100k_base's, checked against OpenAI's Python
// tiktoken 0.14 (whose check of the ranks file's SHA-256 passed on the
// copy tiktoken-go-loader embeds):
//
//	"Hello, world!"                        4
//	"You are a helpful assistant."         6
//	"What is the weather in Paris?"        7
//	"get_weather"                          2
//	"Get the current weather for a city"   7
//	`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`  18
//	`{"city":"Paris"}`                     5
//	"Sunny, 22°C"                          6
//	"<|endoftext|>" as plain text          7
//
// plus 3 per message, 3 per tool and 3 for the reply.
func TestCountTokens(t *testing.T) {
	const schema = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`
	const conversation = `"system":"You are a helpful assistant.","messages":[
		{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Sunny, 22°C"}]}]`
	tests := []struct {
		name string
		body string
		want int
	}{
		{"one message", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, world!"}]}`, 3 + 3 + 4},
		{"text blocks", `{"messages":[{"role":"user","content":[{"type":"text","text":"Hello, world!"}]}]}`, 3 + 3 + 4},
		{"special tokens are text", `{"messages":[{"role":"user","content":"<|endoftext|>"}]}`, 3 + 3 + 7},
		{"system, tool use and result, tools", `{"model":"auto",` + conversation + `,
			"tools":[{"name":"get_weather","description":"Get the current weather for a city","input_schema":` + schema + `}]}`,
			3 + (3 + 6) + (3 + 7) + (3 + 2 + 5) + (3 + 6) + (3 + 2 + 7 + 18)},
		{"pretty-printed schema counts as compact", `{"model":"auto",` + conversation + `,
			"tools":[{"name":"get_weather","description":"Get the current weather for a city","input_schema":{
				"type": "object",
				"properties": {"city": {"type": "string"}},
				"required": ["city"]
			}}]}`,
			3 + (3 + 6) + (3 + 7) + (3 + 2 + 5) + (3 + 6) + (3 + 2 + 7 + 18)},
	}
	up := providertest.OpenAI(t)
	stub := &stubRouter{dec: routed(target("up", up))}
	ts, _ := serve(t, &proxy.Runtime{Router: stub})
	for _, tt := range tests {
		for _, path := range []string{"/v1/messages/count_tokens", "/anthropic/v1/messages/count_tokens"} {
			t.Run(tt.name+path, func(t *testing.T) {
				res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+path, tt.body,
					"x-api-key", "anything", "anthropic-version", "2023-06-01")

				if res.status != http.StatusOK {
					t.Fatalf("status = %d, body %s", res.status, res.body)
				}
				if got := res.header.Get(proxy.HeaderTokenEstimate); got != "cl100k_base" {
					t.Errorf("%s = %q, want cl100k_base", proxy.HeaderTokenEstimate, got)
				}
				if ct := res.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var got map[string]int
				if err := json.Unmarshal(res.body, &got); err != nil || len(got) != 1 {
					t.Fatalf("body %s, want {\"input_tokens\": N} (%v)", res.body, err)
				}
				if got["input_tokens"] != tt.want {
					t.Errorf("input_tokens = %d, want %d", got["input_tokens"], tt.want)
				}
			})
		}
	}
	if n := stub.calls.Load(); n != 0 {
		t.Errorf("router called %d times: counting tokens routes nothing", n)
	}
	if n := up.Requests(); n != 0 {
		t.Errorf("upstream called %d times: counting tokens calls no upstream", n)
	}
}

// TestCountTokensGrows: more text, more tokens, and a long text costs
// about what its size says (cl100k_base averages 3–5 bytes a token on
// English).
func TestCountTokensGrows(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	count := func(text string) int {
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": text}}})
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/count_tokens", string(body))
		var got struct {
			InputTokens int `json:"input_tokens"`
		}
		if res.status != http.StatusOK || json.Unmarshal(res.body, &got) != nil {
			t.Fatalf("status %d, body %s", res.status, res.body)
		}
		return got.InputTokens
	}
	sentence := "The quick brown fox jumps over the lazy dog. "
	one, ten := count(sentence), count(strings.Repeat(sentence, 10))
	if one <= 6 || ten <= one {
		t.Errorf("counts %d for one sentence, %d for ten: want growth", one, ten)
	}
	if n := len(strings.Repeat(sentence, 10)); ten < n/5 || ten > n/3 {
		t.Errorf("%d tokens for %d bytes of English, want between a fifth and a third", ten, n)
	}
}

func TestCountTokensBadRequest(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	for body, field := range map[string]string{
		`{"model":"auto"}`: "messages",
		`{"messages":[{"role":"robot","content":"hi"}]}`: "messages[0].role",
		`{"messages":`: "invalid JSON",
	} {
		res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/count_tokens", body)
		e := wantAnthropicError(t, res, http.StatusBadRequest)
		if e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, field) {
			t.Errorf("%s: error = %+v, want invalid_request_error naming %s", body, e.Error, field)
		}
	}
}

// maxBody is the default limit on a request body, 4 MiB.
const maxBody = 4 << 20

// hugeTexts make text for bodies of the default limit that costs most to
// count: one word (a single piece for tiktoken's pre-tokenizer, whose
// merges were quadratic in its length), random letters, base64, Unicode
// and CJK, a run of spaces; and, for comparison, English and Go.
var hugeTexts = []struct {
	name string
	text func(tb testing.TB, rng *rand.Rand, n int) string
}{
	{"word", func(_ testing.TB, _ *rand.Rand, n int) string { return strings.Repeat("a", n) }},
	{"letters", func(_ testing.TB, rng *rand.Rand, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}},
	{"base64", func(_ testing.TB, rng *rand.Rand, n int) string { return randomBase64(rng, n) }},
	{"unicode", func(_ testing.TB, rng *rand.Rand, n int) string {
		var b strings.Builder
		for b.Len() < n {
			if r := rune(rng.IntN(utf8.MaxRune + 1)); utf8.ValidRune(r) && r >= ' ' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}},
	{"cjk", func(_ testing.TB, rng *rand.Rand, n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteRune(rune(0x4E00 + rng.IntN(0x9FFF-0x4E00)))
		}
		return b.String()
	}},
	{"spaces", func(_ testing.TB, _ *rand.Rand, n int) string { return strings.Repeat(" ", n) }},
	{"english", func(tb testing.TB, _ *rand.Rand, n int) string {
		return repeatFiles(tb, n, filepath.Join("..", "README.md"))
	}},
	{"code", func(tb testing.TB, _ *rand.Rand, n int) string {
		files, _ := filepath.Glob("*.go")
		return repeatFiles(tb, n, files...)
	}},
}

// randomBase64 returns n bytes of the base64 of random bytes.
func randomBase64(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)[:n]
}

// repeatFiles returns the files' contents, repeated to at least n bytes.
func repeatFiles(tb testing.TB, n int, files ...string) string {
	tb.Helper()
	var b strings.Builder
	for b.Len() < n {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			b.Write(data)
		}
	}
	return b.String()
}

// hugeBody is a count_tokens request of one user message, text cut so
// that the body is at most size bytes.
func hugeBody(tb testing.TB, text string, size int) []byte {
	tb.Helper()
	for {
		body, err := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": text}}})
		if err != nil {
			tb.Fatal(err)
		}
		over := len(body) - size
		if over <= 0 {
			return body
		}
		cut := len(text) - over
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
}

// manyMessages is a body of maxBody bytes made of short messages.
func manyMessages(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	msg := `{"role":"user","content":"What is the weather in Paris today? I'm packing for a trip."},`
	for b.Len()+len(msg)+2 <= maxBody {
		b.WriteString(msg)
	}
	b.Truncate(b.Len() - 1)
	b.WriteString("]}")
	return b.Bytes()
}

// TestCountTokensHugeBody: a body of the default limit, one word or
// random base64, is answered with a plausible count (how fast is for
// BenchmarkCountTokens4MiB). Under the race detector the body is a
// sixteenth of that, still a word tiktoken-go took minutes over.
func TestCountTokensHugeBody(t *testing.T) {
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{}})
	size := maxBody
	if raceEnabled {
		size /= 16
	}
	for _, tt := range []struct {
		name string
		text string
	}{
		{"word", strings.Repeat("a", size)},
		{"base64", randomBase64(rand.New(rand.NewChaCha8([32]byte{})), size)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := hugeBody(t, tt.text, size)
			res := do(t, t.Context(), ts.Client(), http.MethodPost, ts.URL+"/v1/messages/count_tokens", string(body))
			var got struct {
				InputTokens int `json:"input_tokens"`
			}
			if res.status != http.StatusOK || json.Unmarshal(res.body, &got) != nil {
				t.Fatalf("status %d, body %.200s", res.status, res.body)
			}
			// Such text averages at most 16 bytes a token (the word: 8
			// a's a token), and no token is shorter than a byte.
			if n := len(body); got.InputTokens < n/16 || got.InputTokens > n {
				t.Errorf("%d tokens for a body of %d bytes, want between %d and %d", got.InputTokens, n, n/16, n)
			}
		})
	}
}

// BenchmarkCountTokens4MiB posts bodies of the default 4 MiB limit to
// count_tokens: parsing, counting and answering, which must stay well
// under a second for any text.
func BenchmarkCountTokens4MiB(b *testing.B) {
	ts := httptest.NewServer(proxy.NewServer(zerolog.Nop(), &proxy.Runtime{Router: &stubRouter{}}).Handler())
	b.Cleanup(ts.Close)
	run := func(b *testing.B, body []byte) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			res, err := ts.Client().Post(ts.URL+"/v1/messages/count_tokens", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			answer, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d, body %.200s", res.StatusCode, answer)
			}
		}
	}
	for _, tt := range hugeTexts {
		b.Run(tt.name, func(b *testing.B) {
			text := tt.text(b, rand.New(rand.NewChaCha8([32]byte{})), maxBody)
			run(b, hugeBody(b, text, maxBody))
		})
	}
	b.Run("messages", func(b *testing.B) { run(b, manyMessages(b)) })
}
