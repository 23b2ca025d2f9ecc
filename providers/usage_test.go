package providers_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

// TestUsageDetails: OpenAI's cached and reasoning token details are read
// into the canonical usage (the usage store prices cached tokens apart).
func TestUsageDetails(t *testing.T) {
	var u providers.Usage
	err := json.Unmarshal([]byte(`{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
		"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":256}}`), &u)
	want := providers.Usage{PromptTokens: 2006, CompletionTokens: 300, TotalTokens: 2306, CachedTokens: 1920, ReasoningTokens: 256}
	if err != nil || u != want {
		t.Errorf("usage %+v (%v), want %+v", u, err, want)
	}
	var plain providers.Usage
	if err := json.Unmarshal([]byte(`{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}`), &plain); err != nil ||
		plain != (providers.Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6}) {
		t.Errorf("plain usage %+v (%v)", plain, err)
	}
}
