package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// discoveringUpstream is an OpenAI-compatible upstream that lists models
// (GET /v1/models) and answers every chat with the model it was asked for.
type discoveringUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	models []string
	asked  []string // the model of every chat request
	lists  int
}

func newDiscoveringUpstream(t *testing.T, models ...string) *discoveringUpstream {
	t.Helper()
	u := &discoveringUpstream{models: models}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		defer u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			u.lists++
			var data []map[string]string
			for _, m := range u.models {
				data = append(data, map[string]string{"id": m, "object": "model"})
			}
			json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
		case "/v1/chat/completions":
			var body struct{ Model string }
			json.NewDecoder(r.Body).Decode(&body)
			u.asked = append(u.asked, body.Model)
			fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"hi from %s"},"finish_reason":"stop"}]}`, body.Model, body.Model)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *discoveringUpstream) snapshot() (asked []string, lists int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.asked...), u.lists
}

// discoveryConfig serves m1 at up, and whatever disc lists, without
// routes (so no embedder), with the admin endpoints on.
func discoveryConfig(up, disc string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {token_env: TEST_ADMIN_TOKEN}
providers:
  - {name: up, kind: openai, base_url: %s, models: [m1]}
  - {name: disc, kind: openai, base_url: %s, discover: true}
server: {shutdown_grace: 5s}
`, up, disc)
}

// startDiscovery serves cfg with the admin token set.
func startDiscovery(t *testing.T, cfg string) (addr, path string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, logs := startServe(t, map[string]string{"TEST_ADMIN_TOKEN": testAdminToken}, "--config", path)
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	return addr, path
}

// chatModel asks addr for model and returns the status and body.
func chatModel(t *testing.T, addr, model string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}]}`, model)
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A model only a discovering provider lists is served, listed in GET
// /v1/models, and its target's circuit breaker survives a reload.
func TestDiscoveredModelIsServedAndListed(t *testing.T) {
	up := providertest.OpenAI(t)
	disc := newDiscoveringUpstream(t, "llama3.2:latest", "m1")
	addr, _ := startDiscovery(t, discoveryConfig(up.URL, disc.URL))

	if code, body := chatModel(t, addr, "llama3.2:latest"); code != http.StatusOK || !strings.Contains(body, "hi from llama3.2:latest") {
		t.Fatalf("discovered model: %d %s", code, body)
	}
	if code, body := chatModel(t, addr, "no-such-model"); code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Errorf("unknown model: %d %s, want an OpenAI-format 404", code, body)
	}
	// m1 is configured at up: discovery does not take it over.
	if code, _ := chatModel(t, addr, "m1"); code != http.StatusOK || up.Requests() != 1 {
		t.Errorf("configured model: %d, %d requests at up", code, up.Requests())
	}
	if asked, _ := disc.snapshot(); strings.Join(asked, ",") != "llama3.2:latest" {
		t.Errorf("disc was asked for %q", asked)
	}

	resp, err := http.Get("http://" + addr + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID, OwnedBy string } `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	var got []string
	for _, m := range list.Data {
		got = append(got, m.ID)
	}
	// Each served model is listed bare and as provider/model.
	if want := "auto m1 up/m1 llama3.2:latest disc/llama3.2:latest disc/m1"; strings.Join(got, " ") != want {
		t.Errorf("models = %q, want %s", got, want)
	}

	code, b := admin(t, addr, http.MethodPost, "/admin/reload", "", testAdminToken)
	if code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, b)
	}
	if code, _ := chatModel(t, addr, "llama3.2:latest"); code != http.StatusOK {
		t.Fatalf("after reload: %d", code)
	}
	code, b = admin(t, addr, http.MethodGet, "/admin/providers", "", testAdminToken)
	var pr providersReport
	if err := json.Unmarshal(b, &pr); code != http.StatusOK || err != nil {
		t.Fatalf("/admin/providers: %d %s", code, b)
	}
	var found bool
	for _, ts := range pr.Targets {
		if ts.Provider == "disc" && ts.Model == "llama3.2:latest" {
			found = true
			if ts.Requests != 2 {
				t.Errorf("disc/llama3.2:latest requests = %d, want 2: the reload kept its record", ts.Requests)
			}
		}
	}
	if !found || len(pr.Discovery) != 1 || pr.Discovery[0].Provider != "disc" || pr.Discovery[0].Models != 2 {
		t.Errorf("/admin/providers = %s", b)
	}

	// A refresh picks up a new model at once.
	disc.mu.Lock()
	disc.models = append(disc.models, "qwen2.5:7b")
	disc.mu.Unlock()
	code, b = admin(t, addr, http.MethodPost, "/admin/models/refresh", "", testAdminToken)
	if code != http.StatusOK || !strings.Contains(string(b), `"qwen2.5:7b"`) {
		t.Fatalf("refresh: %d %s", code, b)
	}
	if code, _ := chatModel(t, addr, "qwen2.5:7b"); code != http.StatusOK {
		t.Errorf("model added by the refresh: %d", code)
	}
}

func TestStatusCommand(t *testing.T) {
	up := providertest.OpenAI(t)
	disc := newDiscoveringUpstream(t, "llama3.2:latest")
	addr, path := startDiscovery(t, discoveryConfig(up.URL, disc.URL))
	if code, _ := chatModel(t, addr, "m1"); code != http.StatusOK {
		t.Fatal("chat failed")
	}
	if code, _ := chatModel(t, addr, "llama3.2:latest"); code != http.StatusOK {
		t.Fatal("chat failed")
	}
	vars := map[string]string{"TEST_ADMIN_TOKEN": testAdminToken}
	url := "http://" + addr

	t.Run("table", func(t *testing.T) {
		r := runCmd(t, vars, "", "status", "--url", url, "--config", path)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{
			"server:", url, "generation 1", "embedder:",
			"PROVIDER", "MODEL", "CIRCUIT", "ERROR RATE", "P50 MS", "REQUESTS", "LAST ERROR",
			"DISCOVERING", "REFRESHED",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
		var rows []string
		for line := range strings.Lines(r.stdout) {
			f := strings.Fields(line)
			if len(f) >= 6 && (f[0] == "up" || f[0] == "disc") && f[2] == providers.CircuitClosed {
				rows = append(rows, f[0]+"/"+f[1])
			}
		}
		if strings.Join(rows, " ") != "disc/llama3.2:latest up/m1" {
			t.Errorf("target rows %q in:\n%s", rows, r.stdout)
		}
	})

	t.Run("json", func(t *testing.T) {
		r := runCmd(t, vars, "", "status", "--url", url+"/", "--token-env", "TEST_ADMIN_TOKEN", "--json")
		var out struct {
			Status struct {
				Generation int64 `json:"generation"`
			} `json:"status"`
			Providers providersReport `json:"providers"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil {
			t.Fatalf("exit %d, %v: %s %s", r.code, err, r.stdout, r.stderr)
		}
		if out.Status.Generation != 1 || len(out.Providers.Targets) != 2 || out.Providers.Targets[1].Requests != 1 {
			t.Errorf("json = %s", r.stdout)
		}
	})

	t.Run("default url and token from the config", func(t *testing.T) {
		// The config listens on port 0, so its address is not the
		// server's: the command must try it and say it cannot connect.
		r := runCmd(t, vars, "", "status", "--config", path)
		if r.code == 0 || !strings.Contains(r.stderr, "cannot reach switchyard at http://127.0.0.1:0") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"wrong token", map[string]string{"TEST_ADMIN_TOKEN": "nope"}, []string{"--url", url, "--config", path}, "refused the admin token in $TEST_ADMIN_TOKEN (401)"},
		{"no token", nil, []string{"--url", url, "--config", path}, "$TEST_ADMIN_TOKEN is not set"},
		{"server down", vars, []string{"--url", providertest.Refused(t), "--token-env", "TEST_ADMIN_TOKEN"}, "cannot reach switchyard"},
		{"admin off", map[string]string{"SWITCHYARD_ADMIN_TOKEN": "x"}, []string{"--url", up.URL}, "404"},
		{"bad config", vars, []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, tc.vars, "", append([]string{"status"}, tc.args...)...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want failure saying %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		":8080":          "127.0.0.1:8080",
		"0.0.0.0:9000":   "127.0.0.1:9000",
		"[::]:9000":      "127.0.0.1:9000",
		"example.com:80": "example.com:80",
		"[::1]:8080":     "[::1]:8080",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}
