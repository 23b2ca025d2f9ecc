package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// TestServeFromAIProxyEnv: with no config file and AI Proxy's variables
// set, serve takes its endpoints from ENDPOINTS (an OpenAI-compatible
// one and an OCF node), writes no example config, and serves the models
// both discover, on chat and on /v1/embeddings, with API_KEY sent
// upstream.
func TestServeFromAIProxyEnv(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "from openai"})
	node := providertest.OCF(t, []string{"Qwen/Qwen2.5-7B-Instruct"}, providertest.Script{Text: "from ocf"})
	home := t.TempDir()
	vars := map[string]string{
		"XDG_CONFIG_HOME": home, "XDG_DATA_HOME": home, "XDG_STATE_HOME": home,
		"ENDPOINTS": `[{"url":"` + up.URL + `/v1"},{"url":"` + node.URL() + `","type":"ocf"}]`,
		"API_KEY":   "sk-aiproxy-test",
	}
	addr, stop, logs := startServe(t, vars, "--listen", "127.0.0.1:0")
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	}()
	if _, err := os.Stat(filepath.Join(home, "switchyard", "config.yaml")); err == nil {
		t.Error("an example config was written although the environment configured the server")
	}
	if !strings.Contains(logs.String(), "AI Proxy") {
		t.Errorf("serve did not log where its config came from:\n%s", logs.String())
	}
	post := func(path, body string) string {
		t.Helper()
		resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %s\n%s", path, resp.StatusCode, b, logs.String())
		}
		return string(b)
	}
	if b := post("/v1/chat/completions", `{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"hi"}]}`); !strings.Contains(b, "from ocf") {
		t.Errorf("chat to the OCF model: %s", b)
	}
	// The fake OpenAI upstream lists the models of its package's fixture.
	models := getBody(t, "http://"+addr+"/v1/models")
	if !strings.Contains(models, "Qwen/Qwen2.5-7B-Instruct") {
		t.Errorf("/v1/models lacks the OCF model: %s", models)
	}
	if b := post("/v1/embeddings", `{"model":"Qwen/Qwen2.5-7B-Instruct","input":"a"}`); !strings.Contains(b, `"embedding"`) {
		t.Errorf("embeddings: %s", b)
	}
	if got := node.LastHeader().Get("Authorization"); got != "Bearer sk-aiproxy-test" {
		t.Errorf("the OCF node got Authorization %q, want API_KEY's", got)
	}
	eps := getBody(t, "http://"+addr+"/v1/endpoints")
	if !strings.Contains(eps, `"kind":"ocf"`) || !strings.Contains(eps, `"kind":"openai"`) || strings.Contains(eps, "sk-aiproxy") {
		t.Errorf("endpoints: %s", eps)
	}
	// A config file written at the default path takes over.
	path := filepath.Join(home, "switchyard", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("providers: [{name: from-file, kind: openai, base_url: "+up.URL+", models: [m]}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(getBody(t, "http://"+addr+"/v1/endpoints"), `"id":"from-file"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the config file written later was not loaded:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
