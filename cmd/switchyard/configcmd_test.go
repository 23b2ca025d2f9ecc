package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCheckConfig(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigCheckMASTypo: MAS would ignore a misspelt key and route
// differently; check fails and names the key it is near.
func TestConfigCheckMASTypo(t *testing.T) {
	path := writeCheckConfig(t, "mas.json", `{"baseURL": "https://api.example.com/v1", "apikey": "sk-secret-0123456789abcdef",
	  "models": [{"condtion": "programming, code examples", "model": "gpt-4"}, {"condition": "", "model": "gpt-4o-mini"}]}`)
	r := runCmd(t, nil, "", "config", "check", "--config", path)
	if r.code == 0 {
		t.Fatalf("config check accepted a MAS file with typos:\n%s", r.stdout)
	}
	for _, want := range []string{
		"apikey: unknown key, did you mean apiKey",
		"models[0].condtion: unknown key, did you mean condition",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "sk-secret-0123456789abcdef") {
		t.Error("config check printed the literal key")
	}
}

// TestConfigCheckWarnsOfUnsetKeyVariables: an unset api_key_env or
// headers_env is a warning, not a failure, and names the variable, never a
// value.
func TestConfigCheckWarnsOfUnsetKeyVariables(t *testing.T) {
	path := writeCheckConfig(t, "config.yaml", `
providers:
  - {name: openai, kind: openai, base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY,
     headers_env: {X-Gateway-Token: GATEWAY_TOKEN}}
routes:
  - {name: chat, targets: [{provider: openai, model: gpt-4o-mini}]}
default_route: chat
`)
	r := runCmd(t, nil, "", "config", "check", "--config", path)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (warnings do not fail the check):\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		path + `: warning: providers[0].api_key_env: OPENAI_API_KEY is unset or empty, so provider "openai" sends no API key`,
		path + `: warning: providers[0].headers_env[X-Gateway-Token]: GATEWAY_TOKEN is unset or empty, so provider "openai" sends no X-Gateway-Token header`,
		path + ": ok",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	vars := map[string]string{"OPENAI_API_KEY": "sk-live-0123456789abcdef", "GATEWAY_TOKEN": "tok-0123456789"}
	r = runCmd(t, vars, "", "config", "check", "--config", path)
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Errorf("exit %d with every variable set, want 0 and no warning:\n%s", r.code, r.stderr)
	}
	for _, v := range vars {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Errorf("config check printed the value of a variable")
		}
	}
}

// TestConfigWarningsLoggedAtServeStart: serve logs each warning once, at
// warn level, before it listens.
func TestConfigWarningsLoggedAtServeStart(t *testing.T) {
	path := writeCheckConfig(t, "config.yaml", `
listen: 127.0.0.1:0
providers: [{name: up, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: UP_KEY}]
routes: [{name: chat, targets: [{provider: up, model: m}]}]
default_route: chat
`)
	_, stop, logs := startServe(t, nil, "--config", path)
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	var warned int
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct{ Level, Message string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.Contains(line.Message, "UP_KEY") {
			warned++
			if want := fmt.Sprintf("providers[0].api_key_env: UP_KEY is unset or empty, so provider %q sends no API key", "up"); line.Level != "warn" || line.Message != want {
				t.Errorf("logged %s %q, want warn %q", line.Level, line.Message, want)
			}
		}
	}
	if warned != 1 {
		t.Errorf("the unset api_key_env was logged %d times, want once:\n%s", warned, logs.String())
	}
}
