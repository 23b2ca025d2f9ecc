package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

// chunkSeeds are chunks as upstreams send them, and the odd ones the fast
// decoder leaves to encoding/json.
var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel\nlo \"x\" \u00e9 \ud83d\ude00 \ud800 é"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":3}}}`,
	`{"id":"c","choices":[{"index":1,"delta":{"content":"b"}},{"index":0,"delta":{"content":"a","tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"think","reasoning":" more"}}]}`,
	`{"ID":"upper","Choices":[{"Index":0,"Delta":{"Content":"x"}}]}`,
	`{"id":"a","id":"b","choices":null}`,
	`{"id":1}`,
	`{"created":1.5}`,
	`{"created":-12,"model":null,"choices":[null,{"index":0,"delta":null},{"index":0,"delta":{"content":7}}]}`,
	`{"error":{"message":"boom","code":503}}`,
	`{"error":null,"choices":[{"index":0,"delta":{"content":"ok"}}]}`,
	`{"usage":null,"choices":[{"index":0,"message":{"role":"assistant"},"delta":{"content":"m"}}]}`,
	` { "id" : "sp" , "choices" : [ { "index" : 0 , "delta" : { "content" : "s" } } ] } `,
	`{"id":"k\u0065y","m\u006fdel":"esc","choices":[{"index":0,"delta":{"content":"\/\\\b\f\r\t"}}]}`,
	`{"id":"bad utf8 ` + "\xff" + `","choices":[{"index":0,"delta":{"content":"` + "\xe2\x82" + `"}}]}`,
	`[1]`, `{"id":`, `{}`, `{"choices":{}}`, `{"choices":[1]}`, `{"created":99999999999999999999}`,
}

// FuzzChunkDecoder checks that the fast chunk decoder makes of every input
// what parseChunk (encoding/json) makes of it.
func FuzzChunkDecoder(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := parseChunk(data)
		var d chunkDecoder
		got, gotErr := d.decode(data)
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("%q: error %v, want %v", data, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
		}
	})
}

// TestChunkDecoderArena checks that a stream's chunks stay whole while
// later ones are decoded: each one's strings and Raw are its own.
func TestChunkDecoderArena(t *testing.T) {
	var d chunkDecoder
	var got []string
	buf := make([]byte, 0, 256)
	for i := range 2000 {
		buf = append(buf[:0], `{"id":"c","choices":[{"index":0,"delta":{"content":"w`...)
		buf = append(buf, byte('a'+i%26), '\\', 'n')
		buf = append(buf, `"}}]}`...)
		ch, err := d.decode(buf) // buf is reused, as the SSE reader's is
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ch.Text)
	}
	for i, s := range got {
		if want := "w" + string(rune('a'+i%26)) + "\n"; s != want {
			t.Fatalf("chunk %d: %q, want %q", i, s, want)
		}
	}
}

// FuzzCompletionDecoder checks that parseCompletionFast makes of every
// answer what parseCompletion (encoding/json) makes of it.
func FuzzCompletionDecoder(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`,
		`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}]}`,
		`{"id":"c","choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"a\nb"},{"type":"image_url","image_url":{"url":"x"}}]}},{"message":7}]}`,
		`{"choices":[]}`, `{"error":{"message":"boom"}}`, `{"choices":[null]}`, `{"choices":[{"message":null}]}`,
		`{"Choices":[{"message":{"content":"x"}}]}`, `{"id":"a","id":"b","choices":[{"message":{}}]}`,
		`{"choices":[{"message":{"content":{"a":1}}}]}`,
		`{"choices":[{"message":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":5}}}`,
		`{"choices":[{"message":{}}],"usage":{"prompt_tokens":null,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":1.5}}}`,
		`{"choices":[{"message":{}}],"usage":{"Prompt_Tokens":1,"prompt_tokens":2}}`, `{"created":"1","choices":[{"message":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := parseCompletion(body)
		got, gotErr := parseCompletionFast(body)
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Fatalf("%q: error %v, want %v", body, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
		}
	})
}

// requestBodyMap is requestBody as it was, by json.Marshal of a map: the
// reference FuzzRequestBody checks requestBody against.
func requestBodyMap(req *providers.Request, stream bool, exclude []string) ([]byte, error) {
	src := req.OpenAI()
	fields := make(map[string]json.RawMessage, len(src)+2)
	for k, v := range src {
		fields[k] = v
	}
	for _, k := range exclude {
		if k != "model" && k != "messages" {
			delete(fields, k)
		}
	}
	fields["model"] = mustMarshal(req.Model)
	if _, ok := fields["messages"]; !ok {
		msgs := make([]wireMessage, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = encodeMessage(m)
		}
		fields["messages"] = mustMarshal(msgs)
	}
	if stream {
		fields["stream"] = json.RawMessage("true")
		if !slices.Contains(exclude, "stream_options") {
			fields["stream_options"] = withIncludeUsage(fields["stream_options"])
		}
	} else {
		delete(fields, "stream")
		delete(fields, "stream_options")
	}
	return json.Marshal(fields)
}

// FuzzRequestBody checks that requestBody writes what json.Marshal of the
// map of fields wrote.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"model":"bench-model","messages":[{"role":"user","content":"hello, how are you?"}],"max_tokens":16}`,
		"{\"messages\" : [ {\"role\":\"user\", \"content\" : \"a <b> & \u2028 \\\" \\\\ \"} ],\n \"stream\":true, \"stream_options\": {\"x\":1},\"thinking\":{}}",
		`{"z":1,"a\u003c":2,"é":3,"messages":[],"tools":[{"type":"function"}],"stream":false}`,
	} {
		f.Add([]byte(s), "gpt-4o", false, "thinking")
		f.Add([]byte(s), "m<&>\"é", true, "stream_options")
	}
	f.Fuzz(func(t *testing.T, body []byte, model string, stream bool, exclude string) {
		req, err := ParseRequest(bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Model = model
		ex := strings.Split(exclude, ",")
		want, wantErr := requestBodyMap(req, stream, ex)
		got, err := requestBody(req, stream, ex)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, want %v", body, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", body, got, want)
		}
	})
}
