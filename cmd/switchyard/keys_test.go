package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// keysStack serves explicit model m (and alias "other") from a fake
// upstream, with the client keys of TestClientKeys.
func keysStack(t *testing.T, upstreamURL string, extraKeys string) (addr string) {
	t.Helper()
	bobHash := sha256.Sum256([]byte("sk-bob"))
	cfg := fmt.Sprintf(`
listen: 127.0.0.1:0
providers:
  - {name: up, kind: openai, base_url: %s, models: [m, other]}
api_keys:
  - {name: alice, key_env: ALICE_KEY, models: [m], requests_per_minute: 2}
  - {name: bob, sha256: %s, expires: "2020-01-01T00:00:00Z"}
  - {name: carol, key_env: CAROL_KEY, disabled: true}
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
%s`, upstreamURL, hex.EncodeToString(bobHash[:]), extraKeys)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ALICE_KEY": "sk-alice", "CAROL_KEY": "sk-carol", "ROOT_KEY": "sk-root", "TOK_KEY": "sk-tok"}
	addr, stop, logs := startServe(t, vars, "--config", path)
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	return addr
}

func openAIWith(addr, key string) openai.Client {
	opts := []option.RequestOption{option.WithBaseURL("http://" + addr + "/v1/"), option.WithMaxRetries(0)}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	return openai.NewClient(opts...)
}

func statusOfSDK(err error) (int, string) {
	var oe *openai.Error
	if errors.As(err, &oe) {
		return oe.StatusCode, oe.Message
	}
	var ae *anthropic.Error
	if errors.As(err, &ae) {
		return ae.StatusCode, ae.Error()
	}
	return 0, fmt.Sprint(err)
}

// TestClientKeys: with keys configured, every API request needs a valid
// one, in either dialect, and gets each dialect's own 401, 403 and 429.
func TestClientKeys(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok", Usage: true})
	addr := keysStack(t, up.URL, "")
	ask := func(key, model string) error {
		c := openAIWith(addr, key)
		_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		return err
	}
	for _, tt := range []struct {
		name, key string
	}{{"missing", ""}, {"wrong", "sk-wrong"}, {"expired", "sk-bob"}, {"disabled", "sk-carol"}} {
		if code, msg := statusOfSDK(ask(tt.key, "m")); code != http.StatusUnauthorized {
			t.Errorf("%s key: status %d (%s), want 401", tt.name, code, msg)
		}
	}
	if code, msg := statusOfSDK(ask("sk-alice", "other")); code != http.StatusForbidden {
		t.Errorf("alice asking for a model outside her list: %d (%s), want 403", code, msg)
	}
	if err := ask("sk-alice", "m"); err != nil {
		t.Fatalf("alice, model m: %v", err)
	}
	// Her second request of the minute fits; the third does not.
	if err := ask("sk-alice", "m"); err != nil {
		t.Fatalf("alice, second request: %v", err)
	}
	var resp *http.Response
	alice := openAIWith(addr, "sk-alice")
	_, err := alice.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithResponseInto(&resp))
	code, msg := statusOfSDK(err)
	if code != http.StatusTooManyRequests || resp == nil {
		t.Fatalf("third request in a minute: %d (%s), want 429", code, msg)
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > 120 {
		t.Errorf("Retry-After %q, want 1–120 s", resp.Header.Get("Retry-After"))
	}
	// The Anthropic SDK sends x-api-key; a bare "Authorization: sk-…"
	// (ModelSwitch's clients) works too.
	ac := anthropic.NewClient(aoption.WithBaseURL("http://"+addr), aoption.WithAPIKey("sk-root"), aoption.WithMaxRetries(0))
	if _, err := ac.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "other", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}); err != nil {
		t.Errorf("anthropic client with an x-api-key: %v", err)
	}
	ac = anthropic.NewClient(aoption.WithBaseURL("http://"+addr), aoption.WithAPIKey("sk-nope"), aoption.WithMaxRetries(0))
	_, err = ac.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "m", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		t.Errorf("anthropic client with a wrong key: %v, want a 401 in Anthropic's shape", err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/v1/models", nil)
	req.Header.Set("Authorization", "sk-root")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("bare Authorization: sk-…: %v %v, want 200", res, err)
	} else {
		res.Body.Close()
	}
	// Admin endpoints: an admin-role key opens them, a user key does not.
	for key, want := range map[string]int{"sk-root": 200, "sk-alice": 401, "": 401} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/admin/status", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("/admin/status with key %q: %d, want %d", key, res.StatusCode, want)
		}
	}
}

// TestTokenLimitUnderConcurrency: 200 concurrent streamed requests
// against 10,000 tokens per minute, each using 99 tokens (the fake
// upstream's usage: 4 prompt, 95 completion, max_tokens 95): the tokens
// the granted requests used exceed the limit by at most one request's.
func TestTokenLimitUnderConcurrency(t *testing.T) {
	const perRequest, limit = 99, 10000
	var served atomic.Int64
	srv := httptest.NewServer(usageUpstream(perRequest, &served))
	t.Cleanup(srv.Close)
	addr := keysStack(t, srv.URL+"/v1", "  - {name: tok, key_env: TOK_KEY, tokens_per_minute: "+strconv.Itoa(limit)+"}\n")
	c := openAIWith(addr, "sk-tok")
	var wg sync.WaitGroup
	var granted, refused atomic.Int64
	for range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model: "m", MaxTokens: openai.Int(95),
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				if code, _ := statusOfSDK(err); code == http.StatusTooManyRequests {
					refused.Add(1)
					return
				}
				t.Errorf("stream: %v", err)
				return
			}
			granted.Add(1)
		})
	}
	wg.Wait()
	used := served.Load() * perRequest
	t.Logf("granted %d, refused %d; tokens used %d of %d", granted.Load(), refused.Load(), used, limit)
	if used > limit+perRequest {
		t.Errorf("tokens used %d, want at most the limit %d + one request's %d", used, limit, perRequest)
	}
	if granted.Load() < limit/perRequest/2 {
		t.Errorf("only %d requests granted; the limit allows about %d", granted.Load(), limit/perRequest)
	}
}

// usageUpstream streams a two-word answer whose final chunk reports
// total tokens (4 of prompt), and counts the answers it sent in full.
func usageUpstream(total int, served *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(delta, finish string) {
			fmt.Fprintf(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", delta, finish)
		}
		chunk(`{"role":"assistant","content":"to"}`, "null")
		chunk(`{"content":"kens"}`, `"stop"`)
		fmt.Fprintf(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":%d,"total_tokens":%d}}`+"\n\n", total-4, total)
		io.WriteString(w, "data: [DONE]\n\n")
		served.Add(1)
	})
}

// TestRunTimeKeys: keys created and revoked while the server runs, through
// /admin/keys (at once) and `switchyard keys` in another process (within
// the refresh period), are honoured; a revoked key gets a 401.
func TestRunTimeKeys(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nproviders:\n  - {name: up, kind: openai, base_url: %s, models: [m]}\n"+
		"api_keys:\n  - {name: root, key_env: ROOT_KEY, roles: [admin]}\n", up.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, logs := startServe(t, map[string]string{"ROOT_KEY": "sk-root", "XDG_DATA_HOME": dir}, "--config", path)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	}()
	call := func(method, path, key, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	chat := func(key string) int {
		code, _ := call(http.MethodPost, "/v1/chat/completions", key, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		return code
	}
	code, b := call(http.MethodPost, "/admin/keys", "sk-root", `{"name":"dave","models":["m"],"requests_per_minute":100}`)
	var created struct{ Key string }
	if code != http.StatusCreated || json.Unmarshal(b, &created) != nil || !strings.HasPrefix(created.Key, "sk-sy-") {
		t.Fatalf("POST /admin/keys: %d %s", code, b)
	}
	if code := chat(created.Key); code != http.StatusOK {
		t.Fatalf("the new key: %d, want 200", code)
	}
	if code, b := call(http.MethodGet, "/admin/keys", "sk-root", ""); code != 200 || strings.Contains(string(b), created.Key) || !strings.Contains(string(b), `"dave"`) {
		t.Errorf("GET /admin/keys: %d %s; want dave listed, its secret not", code, b)
	}
	if code, _ := call(http.MethodPost, "/admin/keys", "sk-root", `{"name":"dave"}`); code != http.StatusConflict {
		t.Errorf("a second key named dave: %d, want 409", code)
	}
	if code, _ := call(http.MethodDelete, "/admin/keys/dave", "sk-root", ""); code != http.StatusOK {
		t.Fatalf("DELETE /admin/keys/dave: %d", code)
	}
	if code := chat(created.Key); code != http.StatusUnauthorized {
		t.Errorf("the revoked key: %d, want 401", code)
	}

	// Another process: switchyard keys create, against the same file.
	db := filepath.Join(dir, "switchyard", "usage.db")
	var out bytes.Buffer
	cli := env{getenv: func(string) string { return "" }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}
	if code := run(t.Context(), []string{"keys", "create", "erin", "--db", db, "--rpm", "5"}, cli); code != 0 {
		t.Fatalf("keys create exited %d", code)
	}
	secret := strings.TrimSpace(out.String())
	deadline := time.Now().Add(3 * gateway.KeyRefresh)
	for chat(secret) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("a key created by another process was not accepted within %v", 3*gateway.KeyRefresh)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out.Reset()
	if code := run(t.Context(), []string{"keys", "list", "--db", db}, cli); code != 0 || !strings.Contains(out.String(), "erin") || !strings.Contains(out.String(), "revoked") {
		t.Errorf("keys list exited %d:\n%s", code, out.String())
	}
}

// TestDailyBudget: a key's requests run until its spend (the usage rows'
// cost) reaches its daily budget; the next is refused with a 429, and
// still is after a restart.
func TestDailyBudget(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok", Usage: true}) // 5 + 1 tokens
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
listen: 127.0.0.1:0
providers:
  - {name: up, kind: openai, base_url: %s, models: [m]}
api_keys:
  - {name: frugal, key_env: FRUGAL_KEY, budget_day: 0.0001}
prices:
  m: {input: 10, output: 10}   # 6 tokens: $0.00006 a request
`, up.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"FRUGAL_KEY": "sk-frugal", "XDG_DATA_HOME": dir}
	ask := func(addr string) int {
		c := openAIWith(addr, "sk-frugal")
		_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		code, _ := statusOfSDK(err)
		if err == nil {
			code = 200
		}
		return code
	}
	addr, stop, logs := startServe(t, vars, "--config", path)
	got := []int{ask(addr), ask(addr), ask(addr)}
	if fmt.Sprint(got) != "[200 200 429]" {
		t.Errorf("three requests at $0.00006 under a $0.0001 day: %v, want [200 200 429]", got)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	addr, stop, logs = startServe(t, vars, "--config", path)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	}()
	if code := ask(addr); code != http.StatusTooManyRequests {
		t.Errorf("after a restart: %d, want 429 (the day's spend is read from the usage store)", code)
	}
}

// TestGenerateKey: auth.generate_key makes the first start print one admin
// key, which the API then requires; a second start prints none.
func TestGenerateKey(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nproviders:\n  - {name: up, kind: openai, base_url: %s, models: [m]}\nauth: {generate_key: true}\n", up.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_DATA_HOME": dir}
	addr, stop, logs := startServe(t, vars, "--config", path)
	secret := regexp.MustCompile(`sk-sy-[0-9a-f]{48}`).FindString(logs.String())
	if secret == "" {
		t.Fatalf("no key printed on the first start:\n%s", logs.String())
	}
	ask := func(key string) int {
		c := openAIWith(addr, key)
		_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "m", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if err == nil {
			return 200
		}
		code, _ := statusOfSDK(err)
		return code
	}
	if got := []int{ask(""), ask(secret)}; fmt.Sprint(got) != "[401 200]" {
		t.Errorf("no key, the generated key: %v, want [401 200]", got)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	_, stop, logs = startServe(t, vars, "--config", path)
	defer stop()
	if strings.Contains(logs.String(), "sk-sy-") {
		t.Error("a second start printed another key")
	}
}
