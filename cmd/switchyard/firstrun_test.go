package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

// readmeCurl is the body of the README's first request.
const readmeCurl = `{"messages":[{"role":"user","content":"write a python function that reverses a string"}]}`

// On a fresh machine with no provider key, the first serve writes a config
// whose routes answer with the echo provider, and the README's first
// request gets a real answer naming the route the embedding chose.
func TestFirstRunAnswersTheREADMECurl(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "SWITCHYARD_MODELS": modelsRootOf(t)}
	addr, stop, logs := startServe(t, vars, "--listen", "127.0.0.1:0")
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	path := filepath.Join(home, ".config", "switchyard", "config.yaml")
	if !strings.Contains(logs.String(), "wrote a first config to "+path) || !strings.Contains(logs.String(), "echo provider") {
		t.Errorf("serve did not say what it wrote:\n%s", logs.String())
	}
	cfg, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Providers {
		if p.Kind != config.ProviderEcho {
			t.Errorf("provider %s of kind %s with no key in the environment", p.Name, p.Kind)
		}
	}

	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(readmeCurl))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s\n%s", resp.StatusCode, body, logs.String())
	}
	var answer struct {
		Choices []struct {
			Message struct{ Role, Content string }
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal(body, &answer); err != nil || len(answer.Choices) != 1 {
		t.Fatalf("answer %s: %v", body, err)
	}
	route := resp.Header.Get("X-Switchyard-Route")
	text := answer.Choices[0].Message.Content
	t.Logf("route %s, decided by %s, score %s\n%s", route, resp.Header.Get("X-Switchyard-Decided-By"), resp.Header.Get("X-Switchyard-Score"), text)
	if route != "code" || resp.Header.Get("X-Switchyard-Decided-By") != "embedding" {
		t.Errorf("a request for a python function took route %q (%s)", route, resp.Header.Get("X-Switchyard-Decided-By"))
	}
	if !strings.Contains(text, "route `"+route+"`") {
		t.Errorf("the echo answer does not name the route %q:\n%s", route, text)
	}
	if !strings.Contains(text, "reverses a string") || answer.Usage.PromptTokens == 0 || answer.Usage.CompletionTokens == 0 {
		t.Errorf("the echo answer lacks the request or its usage: %s", body)
	}

	// Every duration in the log carries its unit in its key.
	stopped = true
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	want := map[string][]string{
		"listening":       {"startup_ms"},
		"chat completion": {"took_ms", "decide_ms"},
		"shutting down":   {"grace_ms"},
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		var fields map[string]any
		if json.Unmarshal([]byte(line), &fields) != nil {
			continue
		}
		for _, old := range []string{"startup", "took", "decide", "grace"} {
			if _, ok := fields[old]; ok {
				t.Errorf("log field %q has no unit: %s", old, line)
			}
		}
		msg, _ := fields["message"].(string)
		for _, k := range want[msg] {
			if v, ok := fields[k].(float64); !ok || v < 0 || (k != "decide_ms" && v == 0) {
				t.Errorf("%q line: %s = %v: %s", msg, k, fields[k], line)
			}
		}
		delete(want, msg)
	}
	if len(want) > 0 {
		t.Errorf("log lines missing: %v\n%s", want, logs.String())
	}
}
