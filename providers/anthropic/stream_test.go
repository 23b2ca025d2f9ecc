package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

		// Memory: the body repeated to 8 times a 1 KiB event bound,
		// decoded and encoded as Client.Stream and the proxy do, holds one
		// event's worth per field at most, and only events with content
		// add state. The SSE reader's own bound is FuzzSSEReader's.
		const bound = 1 << 10
		events := sse.NewReaderSize(&repeatReader{unit: body, left: 8 * bound}, bound)
		dec := &streamDecoder{created: 1}
		through, translated = NewStreamEncoder(), NewStreamEncoder()
		withContent := 0
		for {
			ev, err := events.Next()
			if err != nil {
				break
			}
			// Past an error or message_stop Client.Stream would stop;
			// going on gives state more events to grow on.
			ch, _, err := dec.decode(ev.Data)
			if err != nil {
				continue
			}
			if ch.HasContent() {
				withContent++
			}
			through.Encode(ch)
			ch.Raw, ch.RawDialect = nil, ""
			translated.Encode(ch)
			if len(dec.tools) > withContent || len(dec.id)+len(dec.model) > 2*bound ||
				len(through.openID) > bound || len(translated.openID) > bound {
				t.Fatalf("state grew: %d tool blocks for %d events with content, id and model %d bytes, open ids %d and %d bytes",
					len(dec.tools), withContent, len(dec.id)+len(dec.model), len(through.openID), len(translated.openID))
			}
		}
	})
}

// TestStreamPingsHoldNothing: an upstream that sends ping after ping adds
// nothing to what the reader, the decoder and the encoders hold. (Such an
// upstream was seen to grow a request to 1.6 GB: the chunks were the
// caller's, held back by providers.Chain until content came.)
func TestStreamPingsHoldNothing(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n"
	ping := "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	const pings = 200_000 // 7.2 MB
	events := sse.NewReader(io.MultiReader(strings.NewReader(start), &repeatReader{unit: []byte(ping), left: pings * len(ping)}))
	dec := &streamDecoder{created: 1}
	through, translated := NewStreamEncoder(), NewStreamEncoder()
	next := func() bool {
		ev, err := events.Next()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		ch, _, err := dec.decode(ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		if ch.HasContent() {
			t.Fatalf("chunk with content: %+v", ch)
		}
		through.Encode(ch)
		ch.Raw, ch.RawDialect = nil, ""
		translated.Encode(ch)
		return true
	}
	next() // message_start
	next() // the first ping
	decBefore, throughBefore, translatedBefore := *dec, *through, *translated
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 2
	for next() {
		n++
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n != pings+1 {
		t.Errorf("%d events, want %d", n, pings+1)
	}
	if dec.id != decBefore.id || dec.model != decBefore.model || dec.prompt != decBefore.prompt || len(dec.tools) != 0 {
		t.Errorf("decoder state changed: %+v, was %+v", *dec, decBefore)
	}
	if *through != throughBefore || *translated != translatedBefore {
		t.Errorf("encoder state changed: %+v and %+v, was %+v and %+v", *through, *translated, throughBefore, translatedBefore)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the heap grew by %d bytes over %d pings, want at most 1 MiB", grew, pings)
	}
	runtime.KeepAlive(events)
}

// repeatReader yields unit again and again, left bytes in all.
type repeatReader struct {
	unit []byte
	left int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 || len(r.unit) == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := min(copy(p[n:], r.unit[r.off:]), r.left)
		n += c
		r.left -= c
		r.off = (r.off + c) % len(r.unit)
	}
	return n, nil
}
