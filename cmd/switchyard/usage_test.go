package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/usage"
)

// TestUsageRows: every chat request leaves one row in the usage store,
// with the tokens the upstream reported (all three upstream kinds,
// streamed or not, from either client dialect), the cost the price table
// gives, and the key that asked; /admin/usage and `switchyard stats`
// agree with a direct count of the rows.
func TestUsageRows(t *testing.T) {
	oa := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b", "c"}, Usage: true}) // 5 + 3
	an := providertest.Anthropic(t, providertest.Script{Chunks: []string{"a", "b"}})                // 5 + 2
	ol := providertest.Ollama(t, providertest.OllamaScript{Chunks: []string{"x"}, PromptEvalCount: 11, EvalCount: 7})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
listen: 127.0.0.1:0
providers:
  - {name: oa, kind: openai, base_url: %s, models: [m-oa]}
  - {name: an, kind: anthropic, base_url: %s, models: [m-an]}
  - {name: ol, kind: ollama, base_url: %s, models: [m-ol]}
api_keys:
  - {name: alice, key_env: ALICE_KEY}
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {queue: 100}
prices:
  m-oa: {input: 1, output: 2}
  m-an: {input: 3, output: 4}
`, oa.URL, an.URL, ol.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ALICE_KEY": "sk-alice", "ROOT_KEY": "sk-root", "XDG_DATA_HOME": dir}
	addr, stop, logs := startServe(t, vars, "--config", path)

	post := func(path, key, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", path, body, res.StatusCode, b)
		}
	}
	type want struct{ prompt, completion int }
	wants := map[string]want{"m-oa": {5, 3}, "m-an": {5, 2}, "m-ol": {11, 7}}
	for _, model := range []string{"m-oa", "m-an", "m-ol"} {
		for _, stream := range []bool{false, true} {
			post("/v1/chat/completions", "sk-alice", fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream))
		}
	}
	post("/v1/messages", "sk-root", `{"model":"m-an","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)

	// /admin/usage, once the writer has flushed (within a second).
	var admin struct {
		Groups []usage.Group `json:"groups"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/admin/usage?by=key", nil)
		req.Header.Set("Authorization", "Bearer sk-root")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/admin/usage: %d %s", res.StatusCode, b)
		}
		admin.Groups = nil
		json.Unmarshal(b, &admin)
		total := int64(0)
		for _, g := range admin.Groups {
			total += g.Requests
		}
		if total == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/admin/usage counts %d requests, want 7: %s", total, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}

	store, err := usage.OpenSQLite(t.Context(), filepath.Join(dir, "switchyard", "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	byModel, err := store.Summary(t.Context(), time.Now().Add(-time.Hour), "model")
	if err != nil {
		t.Fatal(err)
	}
	prices := usage.Prices{"m-oa": {Input: 1, Output: 2}, "m-an": {Input: 3, Output: 4}}
	if len(byModel) != 3 {
		t.Fatalf("rows by model: %+v, want the 3 models", byModel)
	}
	for _, g := range byModel {
		w, ok := wants[g.Name]
		if !ok {
			t.Errorf("a row for model %q", g.Name)
			continue
		}
		n := int64(2)
		if g.Name == "m-an" {
			n = 3 // and the Anthropic client's request
		}
		if g.Requests != n || g.PromptTokens != n*int64(w.prompt) || g.CompletionTokens != n*int64(w.completion) {
			t.Errorf("model %s: %+v, want %d requests of %d + %d tokens", g.Name, g, n, w.prompt, w.completion)
		}
		wantCost := float64(n) * prices.Cost(g.Name, w.prompt, w.completion, 0)
		if math.Abs(g.Cost-wantCost) > 1e-12 {
			t.Errorf("model %s: cost %v, want %v", g.Name, g.Cost, wantCost)
		}
	}
	// The admin endpoint's view, by key, matched the rows.
	byKey, _ := store.Summary(t.Context(), time.Now().Add(-time.Hour), "key")
	if fmt.Sprint(byKey) != fmt.Sprint(admin.Groups) {
		t.Errorf("/admin/usage by key %+v, the store %+v", admin.Groups, byKey)
	}
	// switchyard stats prints the same counts.
	var out bytes.Buffer
	code := run(t.Context(), []string{"stats", "--db", filepath.Join(dir, "switchyard", "usage.db"), "--by", "key", "--json"},
		env{getenv: func(string) string { return "" }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	var stats struct {
		Groups []usage.Group `json:"groups"`
	}
	if code != 0 || json.Unmarshal(out.Bytes(), &stats) != nil || fmt.Sprint(stats.Groups) != fmt.Sprint(byKey) {
		t.Errorf("stats exited %d with %s, want the store's %+v", code, out.Bytes(), byKey)
	}
}

// TestConversationLog: with conversation_log on, each chat request's body
// and answer (whole, or a stream's text) are logged, and `switchyard logs`
// reads them back, filtered by key.
func TestConversationLog(t *testing.T) {
	oa := providertest.OpenAI(t, providertest.Script{Chunks: []string{"Hel", "lo"}})
	dir := t.TempDir()
	logPath := filepath.Join(dir, "conv.jsonl")
	cfg := fmt.Sprintf(`
listen: 127.0.0.1:0
providers:
  - {name: oa, kind: openai, base_url: %s, models: [m]}
api_keys:
  - {name: alice, key_env: ALICE_KEY}
  - {name: bob, key_env: BOB_KEY}
conversation_log: {enabled: true, path: %s}
`, oa.URL, logPath)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, logs := startServe(t, map[string]string{"ALICE_KEY": "sk-alice", "BOB_KEY": "sk-bob", "XDG_DATA_HOME": dir}, "--config", path)
	for _, c := range []struct{ key, body string }{
		{"sk-alice", `{"model":"m","messages":[{"role":"user","content":"first question"}]}`},
		{"sk-alice", `{"model":"m","stream":true,"messages":[{"role":"user","content":"second question"}]}`},
		{"sk-bob", `{"model":"m","messages":[{"role":"user","content":"bob's question"}]}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+c.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	var out bytes.Buffer
	code := run(t.Context(), []string{"logs", "--file", logPath, "--key", "alice", "--json"},
		env{getenv: func(string) string { return "" }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	if code != 0 {
		t.Fatalf("logs exited %d", code)
	}
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("logs line %q: %v", line, err)
		}
		got = append(got, e)
	}
	if len(got) != 2 {
		t.Fatalf("alice's entries: %d, want 2:\n%s", len(got), out.String())
	}
	whole, _ := json.Marshal(got[0])
	if !strings.Contains(string(whole), "first question") || !strings.Contains(string(whole), "Hello") {
		t.Errorf("first entry lacks the question or the answer: %s", whole)
	}
	if got[1]["text"] != "Hello" || !strings.Contains(fmt.Sprint(got[1]["request"]), "second question") {
		t.Errorf("streamed entry: text %v, request %v; want Hello and the question", got[1]["text"], got[1]["request"])
	}
}
