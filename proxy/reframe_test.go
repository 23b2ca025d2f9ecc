package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router"
)

// TestStreamReframed: an OpenAI upstream's event spread over several
// data: lines, and one with invalid UTF-8, reach an OpenAI client as one
// line of valid JSON each: SSE is re-framed, never passed through raw.
func TestStreamReframed(t *testing.T) {
	body := "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\n" +
		"data: \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \xff\xfe\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: [DONE]\n\n"
	up := providertest.OpenAI(t, providertest.Script{Body: body})
	ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})

	res := chat(t, ts, streamBody)

	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var text strings.Builder
	for _, ev := range events(t, res.body) { // fails on a data line with a raw newline
		if ev == "[DONE]" {
			continue
		}
		if !utf8.ValidString(ev) {
			t.Fatalf("event is not valid UTF-8: %q", ev)
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if got := text.String(); got != "Hello \uFFFD" {
		t.Errorf("text %q, want the invalid bytes as U+FFFD", got)
	}
}

// TestEchoedInputIsClipped: a huge model name or path is not sent back
// whole in the error.
func TestEchoedInputIsClipped(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	rtr, err := router.New(nil, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := serve(t, &proxy.Runtime{Router: rtr})

	res := chat(t, ts, `{"model":"`+long+`","messages":[{"role":"user","content":"hi"}]}`)
	if res.status != http.StatusNotFound || len(res.body) > 2048 {
		t.Errorf("unknown 3 MB model: status %d, %d bytes of body; want a 404 under 2 KB", res.status, len(res.body))
	}
	res = do(t, t.Context(), ts.Client(), http.MethodGet, ts.URL+"/"+strings.Repeat("p", 100<<10), "")
	if res.status != http.StatusNotFound || len(res.body) > 2048 {
		t.Errorf("100 KB path: status %d, %d bytes of body; want a 404 under 2 KB", res.status, len(res.body))
	}
}

// TestStreamUsageAskedAndStripped: switchyard asks an OpenAI upstream for
// its usage chunk (for limits and accounting) whatever the client asked,
// and passes that chunk on only to a client that asked for it.
func TestStreamUsageAskedAndStripped(t *testing.T) {
	for _, asked := range []bool{false, true} {
		up := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}, Usage: true})
		ts, _ := serve(t, &proxy.Runtime{Router: &stubRouter{dec: routed(target("up", up))}})
		body := streamBody
		if asked {
			body = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
		}

		res := chat(t, ts, body)

		var sent struct {
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(up.LastBody(), &sent); err != nil || !sent.StreamOptions.IncludeUsage {
			t.Errorf("client asked %v: upstream got %s, want stream_options.include_usage true", asked, up.LastBody())
		}
		usageChunks := 0
		for _, ev := range events(t, res.body) {
			if strings.Contains(ev, `"usage":{`) {
				usageChunks++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[asked]; usageChunks != want {
			t.Errorf("client asked %v: %d usage chunks reached it, want %d: %s", asked, usageChunks, want, res.body)
		}
	}
}
