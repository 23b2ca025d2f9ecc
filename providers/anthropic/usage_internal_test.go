package anthropic

import (
	"os"
	"testing"
)

// TestCachedTokens: Anthropic's cache reads are the canonical usage's
// cached tokens, within the prompt's count.
func TestCachedTokens(t *testing.T) {
	body, err := os.ReadFile("../../testdata/anthropic/answer/text.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := parseAnswer(body)
	if err != nil {
		t.Fatal(err)
	}
	if u := resp.Usage; u.CachedTokens != 200 || u.PromptTokens < 200 {
		t.Errorf("usage %+v, want 200 cached tokens within the prompt's", u)
	}
	d := &streamDecoder{}
	if _, _, err := d.decode([]byte(`{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5,"cache_read_input_tokens":40,"output_tokens":1}}}`)); err != nil {
		t.Fatal(err)
	}
	ch, _, err := d.decode([]byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`))
	if err != nil || ch.Usage == nil || ch.Usage.CachedTokens != 40 || ch.Usage.PromptTokens != 45 {
		t.Errorf("stream usage %+v (%v), want 45 prompt tokens of which 40 cached", ch.Usage, err)
	}
}
