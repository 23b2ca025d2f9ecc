package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/sse"
)

// names lists the events' names, with the index of block events.
func names(evs []Event) string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Name)
	}
	return strings.Join(out, " ")
}

func TestStreamEncoderOrder(t *testing.T) {
	tests := []struct {
		name   string
		chunks []providers.Chunk
		want   string // events of the chunks, then "|", then Finish's
	}{
		{"usage before finish", []providers.Chunk{
			{Text: "a"}, {Usage: &providers.Usage{CompletionTokens: 1}}, {FinishReason: "stop"},
		}, "message_start content_block_start content_block_delta content_block_stop message_delta | message_stop"},
		{"finish then usage", []providers.Chunk{
			{Text: "a"}, {FinishReason: "stop"}, {Usage: &providers.Usage{CompletionTokens: 1}},
		}, "message_start content_block_start content_block_delta content_block_stop message_delta | message_stop"},
		{"role only", []providers.Chunk{{Role: "assistant"}}, "message_start | message_delta message_stop"},
		{"text after a tool call opens a new block", []providers.Chunk{
			{ToolCalls: json.RawMessage(`[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]`)}, {Text: "done"},
		}, "message_start content_block_start content_block_delta content_block_stop content_block_start content_block_delta | content_block_stop message_delta message_stop"},
		{"a fragment of a closed call is dropped", []providers.Chunk{
			{ToolCalls: json.RawMessage(`[{"index":0,"id":"a","function":{"name":"f","arguments":""}}]`)},
			{ToolCalls: json.RawMessage(`[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]`)},
			{ToolCalls: json.RawMessage(`[{"index":0,"function":{"arguments":"{}"}}]`)},
		}, "message_start content_block_start content_block_stop content_block_start content_block_delta | content_block_stop message_delta message_stop"},
		{"two calls in one chunk, one index", []providers.Chunk{
			{ToolCalls: json.RawMessage(`[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}},{"index":0,"id":"b","function":{"name":"g","arguments":"{}"}}]`)},
		}, "message_start content_block_start content_block_delta content_block_stop content_block_start content_block_delta | content_block_stop message_delta message_stop"},
		{"nothing after the end", []providers.Chunk{
			{FinishReason: "stop", Usage: &providers.Usage{}}, {Text: "late"},
		}, "message_start message_delta | message_stop"},
	}
	for _, tt := range tests {
		enc := NewStreamEncoder()
		var evs []Event
		for _, c := range tt.chunks {
			evs = append(evs, enc.Encode(c)...)
		}
		got := names(evs) + " | " + names(enc.Finish())
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		if evs := append(enc.Finish(), enc.Encode(providers.Chunk{Text: "x"})...); len(evs) != 0 {
			t.Errorf("%s: events after Finish: %s", tt.name, names(evs))
		}
	}
}

func TestStreamEncoderIndexes(t *testing.T) {
	enc := NewStreamEncoder()
	var evs []Event
	for _, c := range []providers.Chunk{
		{Text: "a"},
		{ToolCalls: json.RawMessage(`[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":""}}]`)},
		{ToolCalls: json.RawMessage(`[{"index":0,"function":{"arguments":"{\"x\":"}}]`)},
		{ToolCalls: json.RawMessage(`[{"index":0,"function":{"arguments":"1}"}}]`)},
		{ToolCalls: json.RawMessage(`[{"index":1,"type":"function","function":{"name":"g","arguments":"{}"}}]`)},
		{FinishReason: "tool_calls"},
	} {
		evs = append(evs, enc.Encode(c)...)
	}
	evs = append(evs, enc.Finish()...)
	var args []string
	for _, ev := range evs {
		var e struct {
			Index        *int
			ContentBlock struct{ Type, ID, Name string } `json:"content_block"`
			Delta        struct {
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			}
		}
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			t.Fatal(err)
		}
		switch ev.Name {
		case "content_block_start":
			args = append(args, e.ContentBlock.Type+":"+e.ContentBlock.ID+":"+e.ContentBlock.Name+"@"+itoa(*e.Index))
		case "content_block_delta":
			args = append(args, e.Delta.PartialJSON+"@"+itoa(*e.Index))
		case "message_delta":
			args = append(args, e.Delta.StopReason)
		}
	}
	want := `text::@0 @0 tool_use:c1:f@1 {"x":@1 1}@1 tool_use:toolu_1:g@2 {}@2 tool_use`
	if got := strings.Join(args, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPassThroughCompacts(t *testing.T) {
	evs := NewStreamEncoder().Encode(providers.Chunk{RawDialect: providers.DialectAnthropic, Raw: json.RawMessage("{\n \"type\": \"ping\"\n}")})
	if len(evs) != 1 || evs[0].Name != "ping" || string(evs[0].Data) != `{"type":"ping"}` {
		t.Errorf("events = %+v", evs)
	}
}

// decodeStream runs an SSE body through the reader and the decoder, as
// Client.Stream does, returning the chunks and how it ended: nil after
// message_stop, io.EOF for a cut stream, or the first error.
func decodeStream(body []byte) ([]providers.Chunk, error) {
	events := sse.NewReader(bytes.NewReader(body))
	dec := &streamDecoder{created: 1}
	var out []providers.Chunk
	for {
		ev, err := events.Next()
		if err != nil {
			return out, err
		}
		ch, done, err := dec.decode(ev.Data)
		if err != nil {
			return out, err
		}
		out = append(out, ch)
		if done {
			return out, nil
		}
	}
}

func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/anthropic/stream_in/*.sse")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"data: {\"type\":\"message_stop\"}\n\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"n\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},\"usage\":null}\n\n",
		"data: {\"type\":\"error\",\"error\":{\"type\":\"x\"}}\r\n\r\n", "data: [DONE]\n\n", ": comment\n\n", "data: {\"type\":1}\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		chunks, err := decodeStream(body)
		var ue *upstreamError
		if errors.As(err, &ue) && !json.Valid(ue.body) {
			t.Fatalf("error event body %q", ue.body)
		}
		if err == nil && (len(chunks) == 0 || !strings.Contains(string(chunks[len(chunks)-1].Raw), "message_stop")) {
			t.Fatalf("ended without message_stop: %q", body)
		}
		// Every chunk must encode for a client of either kind.
		through, translated := NewStreamEncoder(), NewStreamEncoder()
		for _, ch := range chunks {
			if !json.Valid(ch.Raw) || (ch.ToolCalls != nil && !json.Valid(ch.ToolCalls)) {
				t.Fatalf("chunk %+v", ch)
			}
			if ch.RawDialect != providers.DialectAnthropic || ch.Created != 1 {
				t.Fatalf("chunk %+v", ch)
			}
			evs := through.Encode(ch)
			ch.Raw, ch.RawDialect = nil, ""
			evs = append(evs, translated.Encode(ch)...)
			for _, ev := range evs {
				if !json.Valid(ev.Data) || bytes.ContainsAny(ev.Data, "\r\n") {
					t.Fatalf("event %s data %q", ev.Name, ev.Data)
				}
			}
		}
		for _, ev := range append(through.Finish(), translated.Finish()...) {
			if !json.Valid(ev.Data) {
				t.Fatalf("event %s data %q", ev.Name, ev.Data)
			}
		}
	})
}
