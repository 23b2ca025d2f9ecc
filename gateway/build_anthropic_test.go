package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/anthropic"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// TestBuildAnthropicProvider: kind anthropic becomes an anthropic.Client
// with the provider's key, timeout, headers (secret ones from the
// environment), exclusions and anthropic-version, and it lists models for
// health checks and discovery.
func TestBuildAnthropicProvider(t *testing.T) {
	up := providertest.Anthropic(t)
	cfg := &config.Config{Providers: []config.Provider{{
		Name: "claude", Kind: config.ProviderAnthropic, BaseURL: up.URL, APIKeyEnv: "ANTHROPIC_API_KEY",
		Timeout:       time.Minute,
		Headers:       map[string]string{"anthropic-version": "2024-01-01", "anthropic-beta": "tools-2024"},
		HeadersEnv:    map[string]string{"X-Gateway-Token": "GATEWAY_TOKEN"},
		ExcludeParams: []string{"top_k"},
	}}}
	vars := map[string]string{"ANTHROPIC_API_KEY": "sk-ant-test", "GATEWAY_TOKEN": "gw"}
	provs, err := BuildProviders(cfg, Env{Getenv: func(k string) string { return vars[k] }}, up.Client())
	if err != nil {
		t.Fatal(err)
	}
	c, ok := provs["claude"].(*anthropic.Client)
	if !ok {
		t.Fatalf("provider is %T, want *anthropic.Client", provs["claude"])
	}
	if c.Timeout != time.Minute || c.Version != "2024-01-01" || !slices.Equal(c.Exclude, []string{"top_k"}) {
		t.Errorf("client timeout %v, version %q, exclude %q", c.Timeout, c.Version, c.Exclude)
	}

	models, err := c.ListModels(t.Context())
	if err != nil || !slices.Equal(models, providertest.AnthropicModels()) {
		t.Fatalf("ListModels = %q, %v; want the upstream's list", models, err)
	}
	h := up.LastHeader()
	for k, want := range map[string]string{
		"X-Api-Key":         "sk-ant-test",
		"Anthropic-Version": "2024-01-01",
		"Anthropic-Beta":    "tools-2024",
		"X-Gateway-Token":   "gw",
	} {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("upstream header %s = %q, want just %q", k, got, want)
		}
	}

	resp, err := c.Complete(t.Context(), &providers.Request{Model: "claude-fake-small",
		Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: "hi"}}}},
		Dialect:  providers.DialectAnthropic,
		Fields: map[string]json.RawMessage{"model": json.RawMessage(`"auto"`), "top_k": json.RawMessage("5"),
			"messages": json.RawMessage(`[{"role":"user","content":"hi"}]`)}})
	if err != nil || resp.Message.Text() != "Hello" {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	if b := string(up.LastBody()); strings.Contains(b, "top_k") || !strings.Contains(b, `"messages"`) {
		t.Errorf("upstream got %s, want top_k excluded", b)
	}
}
