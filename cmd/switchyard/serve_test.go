package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// lockedBuffer collects a running command's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs `switchyard serve` in-process and returns its address once
// it logs that it is listening, and a function that stops it and returns
// its exit status.
func startServe(t *testing.T, vars map[string]string, args ...string) (addr string, stop func() int, logs *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), env{
			getenv:  func(k string) string { return vars[k] },
			environ: func() []string { return nil },
			stdin:   strings.NewReader(""),
			stdout:  io.Discard,
			stderr:  logs,
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not listen within 30s:\n%s", logs.String())
		}
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "listening" {
				addr = line.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() int { cancel(); return <-done }, logs
}

func TestServeRoutesAndShutsDownGracefully(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "served", Chunks: []string{"a", "b", "c"}, ChunkDelay: 300 * time.Millisecond})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
listen: 127.0.0.1:0
providers: [{name: up, kind: openai, base_url: %s}]
routes:
  - {name: code, condition: "programming, debugging", targets: [{provider: up, model: m1}]}
  - {name: chat, targets: [{provider: up, model: m2}]}
default_route: chat
server: {shutdown_grace: 10s}
`, up.URL)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	models := modelsRootOf(t)
	addr, stop, logs := startServe(t, nil, "--config", path, "--models", models)

	// A stream in flight when shutdown begins must still complete.
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if !strings.Contains(string(body), "data: [DONE]") {
		t.Fatalf("stream did not complete during shutdown:\n%s", body)
	}
	if code := <-stopped; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	// One log line per request, with the routing facts.
	if !strings.Contains(logs.String(), `"message":"chat completion"`) || !strings.Contains(logs.String(), `"route":"chat"`) ||
		!strings.Contains(logs.String(), `"target":"up/m2"`) {
		t.Errorf("request log line missing or incomplete:\n%s", logs.String())
	}
}

func TestFirstServeWritesAConfig(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": home, "SWITCHYARD_MODELS": modelsRootOf(t)}
	addr, stop, logs := startServe(t, vars, "--listen", "127.0.0.1:0")
	path := filepath.Join(home, "switchyard", "config.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no config written: %v", err)
	}
	if !strings.Contains(logs.String(), "wrote a first config to "+path) {
		t.Errorf("serve did not say where it wrote the config:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + addr + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"code"`) {
		t.Errorf("models of the first config: %s", b)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}

func TestConfigCheckReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := `
providers: [{name: openai, kind: openai, base_url: "https://api.openai.com/v1"}]
routes:
  - {name: code, condition: "programming", targets: [{provider: opnai, model: gpt-4o}]}
  - {name: chat, targets: []}
default_route: nowhere
routing: {treshold: 0.3}
`
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "", "config", "check", "--config", path)
	if r.code == 0 {
		t.Fatal("config check accepted a bad config")
	}
	for _, want := range []string{
		`routes[0].targets[0].provider: unknown provider "opnai"`,
		"routes[1].targets",
		"default_route",
		"routing.treshold",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestConfigCheckMasksMASKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mas.json")
	mas := `{"baseURL": "https://api.example.com/v1", "apiKey": "sk-secret-0123456789abcdef",
	  "models": [{"condition": "programming, code examples, debugging", "model": "gpt-4"}, {"condition": "", "model": "gpt-4o-mini"}]}`
	if err := os.WriteFile(path, []byte(mas), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "", "config", "check", "--config", path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "sk-secret-0123456789abcdef") {
		t.Fatal("config check printed the literal key")
	}
	if !strings.Contains(r.stdout, "gpt-4") || !strings.Contains(r.stdout, "default_route: gpt-4o-mini") {
		t.Errorf("effective config of a MAS file:\n%s", r.stdout)
	}
}

func TestRouteCommandExplainsTheDecision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(exampleConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	models := modelsRootOf(t)
	r := runCmd(t, nil, "", "route", "--config", path, "--models", models, "--json", "translate this paragraph into Spanish please")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var d decisionOut
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("route --json: %v\n%s", err, r.stdout)
	}
	if d.Route != "translation" || d.DecidedBy != "embedding" || len(d.Scores) < 5 || len(d.Targets) == 0 || d.TookMS <= 0 {
		t.Fatalf("decision %+v", d)
	}
	if d.Scores[0].Route != "translation" || d.Scores[0].Score < d.Scores[1].Score {
		t.Errorf("scores not sorted with the winner first: %+v", d.Scores)
	}
	r = runCmd(t, nil, "", "route", "--config", path, "--models", models, "hi there, how is your day going?")
	if r.code != 0 || !strings.Contains(r.stdout, "route: chat (") {
		t.Errorf("human output:\n%s%s", r.stdout, r.stderr)
	}
}

func exampleConfig(t *testing.T) string {
	t.Helper()
	return string(config.Example())
}
