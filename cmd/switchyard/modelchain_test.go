package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// answeredBy asks a running server for model and returns the target that
// answered (X-Switchyard-Model).
func answeredBy(t *testing.T, addr, model string) string {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, model)
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", model, resp.StatusCode)
	}
	return resp.Header.Get(proxy.HeaderModel)
}

// TestModelPriorityHotReload: the CLI edits an alias's chain order in the
// file, and the running server serves from the new order.
func TestModelPriorityHotReload(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "from a"})
	b := providertest.OpenAI(t, providertest.Script{Text: "from b"})
	path := filepath.Join(t.TempDir(), "config.yaml")
	text := fmt.Sprintf(`listen: 127.0.0.1:0
admin: {token_env: TEST_ADMIN_TOKEN}
providers:
  - {name: a, kind: openai, base_url: %s}
  - {name: b, kind: openai, base_url: %s}
aliases:
  # tried in order
  fast:
    - {provider: a, model: m1}   # first for now
    - {model: b/m2}
`, a.URL, b.URL)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"TEST_ADMIN_TOKEN": testAdminToken}
	addr, stop, logs := startServe(t, vars, "--config", path)
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	if got := answeredBy(t, addr, "fast"); got != "a/m1" {
		t.Fatalf("before: answered by %q, want a/m1", got)
	}

	r := runCmd(t, vars, "", "model", "priority", "list", "--alias", "fast", "--config", path)
	if r.code != 0 || !strings.Contains(r.stdout, "1  a/m1") || !strings.Contains(r.stdout, "2  b/m2") || !strings.Contains(r.stdout, "fallback priority") {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Both providers answer a test through the server.
	r = runCmd(t, vars, "", "providers", "test", "--config", path, "--url", "http://"+addr)
	if r.code != 0 || strings.Count(r.stdout, " ok ") != 2 {
		t.Fatalf("providers test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = runCmd(t, vars, "", "model", "priority", "b/m2", "--position", "1", "--alias", "fast", "--config", path)
	if r.code != 0 {
		t.Fatalf("priority: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "  # tried in order\n  fast:\n    - {model: b/m2}\n    - {provider: a, model: m1}   # first for now\n") {
		t.Errorf("edited file:\n%s", data)
	}
	deadline := time.Now().Add(20 * time.Second)
	for answeredBy(t, addr, "fast") != "b/m2" {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not pick the new order up:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	r = runCmd(t, vars, "", "model", "priority", "remove", "a/m1", "--alias", "fast", "--config", path)
	if r.code != 0 {
		t.Fatalf("remove: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cfg, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ts := cfg.Aliases["fast"]; len(ts) != 1 || ts[0].Provider != "b" || ts[0].Model != "m2" {
		t.Errorf("after remove: %+v", ts)
	}
	r = runCmd(t, vars, "", "model", "priority", "remove", "b/m2", "--alias", "fast", "--config", path)
	if r.code == 0 || !strings.Contains(r.stderr, "at least one target") {
		t.Errorf("removing the last target: exit %d %s", r.code, r.stderr)
	}

	// model list: the config's names, then the embedding section.
	r = runCmd(t, vars, "", "model", "list", "--config", path, "--url", "http://"+addr, "--models", t.TempDir())
	for _, want := range []string{"fast", "alias", "b/m2", "no embedding models"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("model list lacks %q: exit %d\n%s%s", want, r.code, r.stdout, r.stderr)
		}
	}
}

func TestModelListDiscoveredAndDirectTest(t *testing.T) {
	// A provider that lists its models, and one that is down.
	lister := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/models") {
			fmt.Fprint(w, `{"object":"list","data":[{"id":"llama-3.3-70b"},{"id":"qwen3"}]}`)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(lister.Close)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, fmt.Appendf(nil, `listen: 127.0.0.1:0
providers:
  - {name: groq, kind: openai, base_url: %s, discover: true, models: [qwen3, gone]}
  - {name: down, kind: openai, base_url: %s}
`, lister.URL, providertest.Refused(t)), 0o644)
	addr, stop, logs := startServe(t, nil, "--config", path)
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	r := runCmd(t, nil, "", "model", "list", "--embedding=false", "--config", path, "--url", "http://"+addr, "--models", t.TempDir())
	for _, want := range []string{"groq/qwen3", "groq/llama-3.3-70b  discovered"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("model list lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	r = runCmd(t, nil, "", "providers", "test", "--direct", "--config", path)
	if r.code != 1 || !strings.Contains(r.stdout, "2 models; not among them: gone") || !strings.Contains(r.stdout, "down      list models  FAIL") {
		t.Errorf("providers test --direct: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, nil, "", "providers", "test", "groq", "--direct", "--config", path)
	if r.code != 0 || strings.Contains(r.stdout, "down") {
		t.Errorf("providers test groq --direct: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestConfigClaudeCode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("listen: 0.0.0.0:9090\napi_keys: [{name: me, key_env: MY_KEY}]\n"), 0o644)
	r := runCmd(t, nil, "", "config", "claude-code", "--config", path)
	var out struct{ Env map[string]string }
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	want := map[string]string{
		"ANTHROPIC_BASE_URL": "http://127.0.0.1:9090", "ANTHROPIC_AUTH_TOKEN": claudePlaceholder,
		"ANTHROPIC_MODEL": "auto", "ANTHROPIC_DEFAULT_SONNET_MODEL": "auto", "ANTHROPIC_DEFAULT_OPUS_MODEL": "auto",
		"ANTHROPIC_DEFAULT_HAIKU_MODEL": "auto", "ANTHROPIC_SMALL_FAST_MODEL": "auto",
	}
	for k, v := range want {
		if out.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, out.Env[k], v)
		}
	}
	if !strings.Contains(r.stderr, "needs a client key") {
		t.Errorf("no note about the key: %s", r.stderr)
	}

	// --write merges into an existing file, keeping everything else.
	home := t.TempDir()
	settings := filepath.Join(home, ".claude", "settings.json")
	os.MkdirAll(filepath.Dir(settings), 0o700)
	before := `{"permissions": {"allow": ["Bash(go test:*)"]}, "env": {"DISABLE_TELEMETRY": "1", "ANTHROPIC_MODEL": "old"}, "theme": "dark"}`
	os.WriteFile(settings, []byte(before), 0o600)
	vars := map[string]string{"HOME": home, "MY_KEY": "sk-mine"}
	r = runCmd(t, vars, "", "config", "claude-code", "--config", path, "--key-env", "MY_KEY", "--model", "openai/gpt-4o", "--small-model", "fast", "--write")
	if r.code != 0 {
		t.Fatalf("--write: exit %d\n%s", r.code, r.stderr)
	}
	var got struct {
		Permissions struct{ Allow []string }
		Theme       string
		Env         map[string]string
	}
	data, _ := os.ReadFile(settings)
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("written file: %v\n%s", err, data)
	}
	if got.Theme != "dark" || len(got.Permissions.Allow) != 1 || got.Env["DISABLE_TELEMETRY"] != "1" ||
		got.Env["ANTHROPIC_MODEL"] != "openai/gpt-4o" || got.Env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] != "fast" || got.Env["ANTHROPIC_AUTH_TOKEN"] != "sk-mine" {
		t.Errorf("merged settings:\n%s", data)
	}
	backups, _ := filepath.Glob(settings + ".bak-*")
	if len(backups) != 1 {
		t.Fatalf("backups %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != before {
		t.Errorf("backup holds %s", b)
	}
	if info, _ := os.Stat(settings); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode().Perm())
	}

	// A file that is not a JSON object is left alone.
	os.WriteFile(settings, []byte(`["x"]`), 0o600)
	r = runCmd(t, vars, "", "config", "claude-code", "--config", path, "--write")
	if data, _ := os.ReadFile(settings); r.code == 0 || string(data) != `["x"]` {
		t.Errorf("exit %d, file %s", r.code, data)
	}
}

func FuzzMergeClaudeSettings(f *testing.F) {
	for _, s := range []string{"", "{}", `{"env": null}`, `{"env": {"A": 1}, "x": [1, {"y": "z"}]}`, `{"env": "s"}`, "[]", "null", `{"a":1}{`} {
		f.Add(s)
	}
	vars := map[string]string{"ANTHROPIC_BASE_URL": "http://127.0.0.1:8080", "ANTHROPIC_MODEL": "auto"}
	f.Fuzz(func(t *testing.T, doc string) {
		out, err := mergeClaudeSettings([]byte(doc), vars)
		if err != nil {
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(out, &top); err != nil {
			t.Fatalf("output is not an object: %v\n%s", err, out)
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(top["env"], &env); err != nil {
			t.Fatalf("env: %v", err)
		}
		for k, v := range vars {
			var got string
			if json.Unmarshal(env[k], &got); got != v {
				t.Fatalf("%s = %s", k, env[k])
			}
		}
		// Every other top-level key survives.
		var in map[string]json.RawMessage
		if json.Unmarshal([]byte(doc), &in) == nil {
			for k := range in {
				if _, ok := top[k]; !ok {
					t.Fatalf("lost key %q", k)
				}
			}
		}
	})
}
