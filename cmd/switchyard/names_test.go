package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// Router-Maestro's names (provider/model), fallback strategies and
// ModelSwitch's paths, through the real stack: the config loaded from a
// file, the runtime built as serve builds it, the official SDKs as
// clients, fake upstreams behind.

// namesStack is switchyard built from a config, with its health registry.
type namesStack struct {
	url string
	reg *providers.Registry
	rt  *gateway.Runtime
}

func newNamesStack(t *testing.T, cfgText string) *namesStack {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	reg := providers.NewRegistry()
	rt, err := gateway.Build(t.Context(), cfg, gateway.Env{}, "", reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(func() { rt.Close() })
	t.Cleanup(srv.Close)
	return &namesStack{url: srv.URL, reg: reg, rt: rt}
}

func (s *namesStack) openAI(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.url+base), option.WithAPIKey("sk-client"), option.WithMaxRetries(0))
}

// upstreamModel is the model field of the last request u received.
func upstreamModel(t *testing.T, u *providertest.Upstream) string {
	t.Helper()
	var body struct{ Model string }
	if err := json.Unmarshal(u.LastBody(), &body); err != nil {
		t.Fatalf("upstream body: %v", err)
	}
	return body.Model
}

func TestProviderModelNames(t *testing.T) {
	openaiUp := providertest.OpenAI(t, providertest.Script{Text: "from openai"})
	groqUp := providertest.OpenAI(t, providertest.Script{Text: "from groq"})
	s := newNamesStack(t, fmt.Sprintf(`
providers:
  - {name: openai, kind: openai, base_url: %s}
  - {name: groq, kind: openai, base_url: %s, models: [gpt-4o]}
aliases:
  # A target may write its provider in the model.
  mini: [{model: openai/gpt-4o-mini}]
  # A literal name wins over the provider/model reading.
  openai/special: [{provider: groq, model: special-upstream}]
`, openaiUp.URL, groqUp.URL))
	c := s.openAI("/v1/")
	tests := []struct {
		model        string
		up           *providertest.Upstream
		wantUpstream string
		wantText     string
	}{
		// gpt-4o is configured only at groq: the prefix still sends it to openai.
		{"openai/gpt-4o", openaiUp, "gpt-4o", "from openai"},
		// A model listed nowhere.
		{"openai/o3-pro", openaiUp, "o3-pro", "from openai"},
		// Cut at the first slash only.
		{"groq/meta-llama/Llama-3.3-70B", groqUp, "meta-llama/Llama-3.3-70B", "from groq"},
		{"mini", openaiUp, "gpt-4o-mini", "from openai"},
		{"openai/special", groqUp, "special-upstream", "from groq"},
		// The bare name keeps its configured chain.
		{"gpt-4o", groqUp, "gpt-4o", "from groq"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				before := tt.up.Requests()
				var resp *http.Response
				text := ""
				if stream {
					st := c.Chat.Completions.NewStreaming(t.Context(), userParams(tt.model, "hi"), option.WithResponseInto(&resp))
					for st.Next() {
						for _, ch := range st.Current().Choices {
							text += ch.Delta.Content
						}
					}
					if err := st.Err(); err != nil {
						t.Fatalf("stream: %v", err)
					}
					st.Close()
				} else {
					got, err := c.Chat.Completions.New(t.Context(), userParams(tt.model, "hi"), option.WithResponseInto(&resp))
					if err != nil {
						t.Fatal(err)
					}
					text = got.Choices[0].Message.Content
				}
				if text != tt.wantText || tt.up.Requests() != before+1 {
					t.Errorf("stream=%v: answer %q (upstream requests %d→%d), want %q from the right upstream", stream, text, before, tt.up.Requests(), tt.wantText)
				}
				if got := upstreamModel(t, tt.up); got != tt.wantUpstream {
					t.Errorf("stream=%v: upstream got model %q, want %q", stream, got, tt.wantUpstream)
				}
			}
		})
	}

	t.Run("unknown provider is a 404", func(t *testing.T) {
		_, err := c.Chat.Completions.New(t.Context(), userParams("nosuch/gpt-4o", "hi"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("err = %v, want a 404", err)
		}
	})

	t.Run("health registry keys the target provider/model", func(t *testing.T) {
		var names []string
		for _, st := range s.reg.Status(time.Now()) {
			names = append(names, st.Provider+"/"+st.Model)
		}
		for _, want := range []string{"openai/o3-pro", "groq/meta-llama/Llama-3.3-70B", "openai/gpt-4o"} {
			if !slices.Contains(names, want) {
				t.Errorf("registry has %v, want %s among them", names, want)
			}
		}
	})

	t.Run("models list provider/model", func(t *testing.T) {
		page, err := c.Models.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID+"@"+m.OwnedBy)
		}
		for _, want := range []string{"gpt-4o@groq", "groq/gpt-4o@groq", "openai/gpt-4o-mini@openai", "mini@switchyard"} {
			if !slices.Contains(ids, want) {
				t.Errorf("models %v lack %s", ids, want)
			}
		}
	})
}

func TestProviderModelConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(`
providers:
  - {name: openai, kind: openai, base_url: http://127.0.0.1:1/v1}
aliases:
  a: [{model: opnai/gpt-4o}]
  b: [{model: gpt-4o}]
judge: {model: anthropic/claude-haiku}
`), 0o644)
	_, err := config.Load(path, nil, nil)
	if err == nil {
		t.Fatal("config loaded")
	}
	for _, want := range []string{
		`aliases[a][0].model: "opnai/gpt-4o" names no provider: "opnai" is not a provider, did you mean "openai"`,
		`aliases[b][0].provider: required`,
		`judge.model: "anthropic/claude-haiku" names no provider`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestKeyAllowListProviderModel(t *testing.T) {
	openaiUp := providertest.OpenAI(t)
	groqUp := providertest.OpenAI(t)
	s := newNamesStack(t, fmt.Sprintf(`
providers:
  - {name: openai, kind: openai, base_url: %s}
  - {name: groq, kind: openai, base_url: %s, models: [gpt-4o]}
`, openaiUp.URL, groqUp.URL))
	keys := map[string][]string{
		"sk-model":    {"gpt-4o"},        // the model at any provider
		"sk-pinned":   {"openai/gpt-4o"}, // the model at openai only
		"sk-provider": {"groq/*"},        // anything at groq
	}
	var ks []auth.Key
	for secret, models := range keys {
		ks = append(ks, auth.Key{Name: secret, Roles: []string{auth.RoleUser}, Enabled: true, Models: models}.WithHash(auth.Hash(secret)))
	}
	live, err := auth.NewLive(t.Context(), ks, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.rt.Proxy.Keys = live
	tests := []struct {
		key, model string
		want       int
	}{
		{"sk-model", "openai/gpt-4o", 200},
		{"sk-model", "gpt-4o", 200},
		{"sk-model", "openai/gpt-4o-mini", 403},
		{"sk-pinned", "openai/gpt-4o", 200},
		{"sk-pinned", "gpt-4o", 403}, // served by groq: not what the key names
		{"sk-pinned", "groq/gpt-4o", 403},
		{"sk-provider", "groq/llama-3", 200},
		{"sk-provider", "groq/gpt-4o", 200},
		{"sk-provider", "openai/gpt-4o", 403},
		{"sk-provider", "gpt-4o", 403},
	}
	for _, tt := range tests {
		c := openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey(tt.key), option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(t.Context(), userParams(tt.model, "hi"))
		got := 200
		var apiErr *openai.Error
		if errors.As(err, &apiErr) {
			got = apiErr.StatusCode
		} else if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("key %v asking for %s: status %d, want %d (%v)", keys[tt.key], tt.model, got, tt.want, err)
		}
	}
}

// sameModelConfig: route "work" tries gpt-4o at primary, then a different
// model (claude) at other; backup also serves gpt-4o (its models list).
func sameModelConfig(primary, backup, other, fallback string) string {
	return fmt.Sprintf(`
providers:
  - {name: primary, kind: openai, base_url: %s}
  - {name: backup, kind: openai, base_url: %s, models: [gpt-4o]}
  - {name: other, kind: openai, base_url: %s}
routes:
  - name: work
    targets:
      - {provider: primary, model: gpt-4o}
      - {provider: other, model: claude-sonnet}
    fallback: %s
default_route: work
routing: {max_retries: 0}
`, primary, backup, other, fallback)
}

func TestFallbackStrategies(t *testing.T) {
	tests := []struct {
		fallback string
		// requests each upstream gets, and the answer
		wantPrimary, wantBackup, wantOther int
		wantText                           string
		wantStatus                         int
	}{
		// The same model on another provider before a different model.
		{"same-model", 1, 1, 0, "from backup", 200},
		// Today's behaviour: the next target, a different model.
		{"priority", 1, 0, 1, "from other", 200},
		// No second attempt: the 503 is the answer.
		{"none", 1, 0, 0, "", 503},
	}
	for _, tt := range tests {
		t.Run(tt.fallback, func(t *testing.T) {
			primary := providertest.OpenAI(t, providertest.Script{Status: 503})
			backup := providertest.OpenAI(t, providertest.Script{Text: "from backup"})
			other := providertest.OpenAI(t, providertest.Script{Text: "from other"})
			s := newNamesStack(t, sameModelConfig(primary.URL, backup.URL, other.URL, tt.fallback))
			for _, stream := range []bool{false, true} {
				p0, b0, o0 := primary.Requests(), backup.Requests(), other.Requests()
				c := s.openAI("/v1/")
				var text string
				var err error
				if stream {
					st := c.Chat.Completions.NewStreaming(t.Context(), userParams("work", "hi"))
					for st.Next() {
						for _, ch := range st.Current().Choices {
							text += ch.Delta.Content
						}
					}
					err = st.Err()
					st.Close()
				} else {
					var got *openai.ChatCompletion
					if got, err = c.Chat.Completions.New(t.Context(), userParams("work", "hi")); err == nil {
						text = got.Choices[0].Message.Content
					}
				}
				status := 200
				var apiErr *openai.Error
				if errors.As(err, &apiErr) {
					status = apiErr.StatusCode
				} else if err != nil {
					t.Fatal(err)
				}
				if status != tt.wantStatus || text != tt.wantText {
					t.Errorf("stream=%v: status %d %q, want %d %q", stream, status, text, tt.wantStatus, tt.wantText)
				}
				if p, b, o := primary.Requests()-p0, backup.Requests()-b0, other.Requests()-o0; p != tt.wantPrimary || b != tt.wantBackup || o != tt.wantOther {
					t.Errorf("stream=%v: requests primary %d backup %d other %d, want %d %d %d", stream, p, b, o, tt.wantPrimary, tt.wantBackup, tt.wantOther)
				}
				if tt.wantBackup > 0 {
					if got := upstreamModel(t, backup); got != "gpt-4o" {
						t.Errorf("backup got model %q, want gpt-4o", got)
					}
				}
			}
		})
	}
}

// TestSameModelFallbackOnAliases: alias_fallback sets an alias's strategy,
// and a discovered provider serving the model counts as one that serves it.
func TestSameModelFallbackOnAliases(t *testing.T) {
	primary := providertest.OpenAI(t, providertest.Script{Status: 500})
	found := providertest.OpenAI(t, providertest.Script{Text: "from discovered"})
	other := providertest.OpenAI(t, providertest.Script{Text: "from other"})
	// found serves chat through the fake and lists gpt-4o at GET /models.
	lister := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/models") {
			fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4o","object":"model"}]}`)
			return
		}
		target, _ := url.Parse(found.URL)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(lister.Close)
	s := newNamesStack(t, fmt.Sprintf(`
providers:
  - {name: primary, kind: openai, base_url: %s}
  - {name: found, kind: openai, base_url: %s, discover: true}
  - {name: other, kind: openai, base_url: %s}
aliases:
  smart: [{model: primary/gpt-4o}, {model: other/claude-sonnet}]
  plain: [{model: primary/gpt-4o}, {model: other/claude-sonnet}]
alias_fallback: {smart: same-model}
routing: {max_retries: 0}
`, primary.URL, lister.URL, other.URL))
	c := s.openAI("/v1/")
	for model, want := range map[string]string{"smart": "from discovered", "plain": "from other"} {
		got, err := c.Chat.Completions.New(t.Context(), userParams(model, "hi"))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if got.Choices[0].Message.Content != want {
			t.Errorf("%s: answer %q, want %q", model, got.Choices[0].Message.Content, want)
		}
	}
}

func TestFallbackConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(`
providers:
  - {name: openai, kind: openai, base_url: http://127.0.0.1:1/v1}
routes:
  - {name: r, targets: [{model: openai/x}], fallback: same_model}
default_route: r
aliases:
  a: [{model: openai/x}]
alias_fallback: {a: nonee, b: none}
routing: {fallback: sideways}
`), 0o644)
	_, err := config.Load(path, nil, nil)
	if err == nil {
		t.Fatal("config loaded")
	}
	for _, want := range []string{
		`routes[0].fallback: unknown fallback strategy "same_model", did you mean "same-model"`,
		`alias_fallback[a]: unknown fallback strategy "nonee", did you mean "none"`,
		`alias_fallback[b]: unknown alias "b"`,
		`routing.fallback: unknown fallback strategy "sideways" (want priority, same-model, none)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestModelSwitchPaths: clients whose base URL ends in /openai,
// /openai/v1 or /anthropic, as ModelSwitch's users configure them.
func TestModelSwitchPaths(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "hello there"})
	s := newNamesStack(t, fmt.Sprintf(`
providers:
  - {name: openai, kind: openai, base_url: %s, models: [gpt-4o]}
`, up.URL))
	for _, base := range []string{"/openai/", "/openai/v1/"} {
		c := s.openAI(base)
		got, err := c.Chat.Completions.New(t.Context(), userParams("openai/gpt-4o", "hi"))
		if err != nil || got.Choices[0].Message.Content != "hello there" {
			t.Fatalf("%s chat: %v %+v", base, err, got)
		}
		page, err := c.Models.List(t.Context())
		if err != nil || !slices.ContainsFunc(page.Data, func(m openai.Model) bool { return m.ID == "openai/gpt-4o" }) {
			t.Fatalf("%s models: %v %+v", base, err, page)
		}
	}
	ac := anthropic.NewClient(anthropicoption.WithBaseURL(s.url+"/anthropic/"), anthropicoption.WithAPIKey("sk-client"), anthropicoption.WithMaxRetries(0))
	// The SDK posts to {base}v1/messages; ModelSwitch's clients post to
	// /anthropic/messages, so both are served.
	msg, err := ac.Messages.New(t.Context(), anthropic.MessageNewParams{
		Model: "openai/gpt-4o", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil || len(msg.Content) == 0 || msg.Content[0].Text != "hello there" {
		t.Fatalf("anthropic SDK: %v %+v", err, msg)
	}
	for _, path := range []string{"/anthropic/messages", "/anthropic/v1/messages"} {
		res, err := http.Post(s.url+path, "application/json", strings.NewReader(`{"model":"openai/gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Type    string
			Content []struct{ Text string }
		}
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		if res.StatusCode != 200 || m.Type != "message" || len(m.Content) == 0 || m.Content[0].Text != "hello there" {
			t.Errorf("POST %s: %d %+v", path, res.StatusCode, m)
		}
	}
	// Errors on /anthropic/* come in Anthropic's shape.
	for _, path := range []string{"/anthropic/messages", "/anthropic/nothing"} {
		res, err := http.Post(s.url+path, "application/json", strings.NewReader(`{"model":"nosuch/x","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Type  string
			Error struct{ Type, Message string }
		}
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || e.Type != "error" || e.Error.Type != "not_found_error" {
			t.Errorf("POST %s: %d %+v, want an Anthropic not_found_error", path, res.StatusCode, e)
		}
	}
}
