package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

const testAdminToken = "test-admin-token"

// reloadConfig is a config with route code (to upstream a) and default
// route chat (to a), the admin endpoints on, and extra providers and
// routes appended to their lists.
func reloadConfig(a *providertest.Upstream, providers, routes string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {token_env: TEST_ADMIN_TOKEN}
providers:
  - {name: a, kind: openai, base_url: %s}
%s
routes:
  - {name: code, condition: "programming, debugging, software errors", targets: [{provider: a, model: a-code}]}
  - {name: chat, targets: [{provider: a, model: a-chat}]}
%s
default_route: chat
# These tests are about reloading: routing as before grounding, so their
# requests route by the conditions and examples written here alone.
routing: {ground: false, threshold: 0.35, aggregation: max}
server: {shutdown_grace: 10s}
`, a.URL, providers, routes)
}

// withMath adds provider b and a route math served by it.
func withMath(a, b *providertest.Upstream) string {
	return reloadConfig(a, fmt.Sprintf("  - {name: b, kind: openai, base_url: %s}", b.URL), `  - name: math
    condition: "mathematics, equations, algebra, arithmetic"
    examples: ["solve for x in 3x + 7 = 22", "what is the derivative of x^2"]
    targets: [{provider: b, model: b-math}]`)
}

// replaceFile writes data next to path and renames it over path, as
// editors do.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startReloadable writes cfg and serves it with the admin token set.
func startReloadable(t *testing.T, cfg string) (addr, path string, logs *lockedBuffer) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	models := modelsRootOf(t)
	addr, stop, logs := startServe(t, map[string]string{"TEST_ADMIN_TOKEN": testAdminToken}, "--config", path, "--models", models)
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	})
	return addr, path, logs
}

// admin calls an admin endpoint with token ("" sends none).
func admin(t *testing.T, addr, method, path, body, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func status(t *testing.T, addr string) proxy.Status {
	t.Helper()
	code, b := admin(t, addr, http.MethodGet, "/admin/status", "", testAdminToken)
	if code != http.StatusOK {
		t.Fatalf("/admin/status: %d %s", code, b)
	}
	var st proxy.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitStatus polls /admin/status until ok holds.
func waitStatus(t *testing.T, addr string, what string, ok func(proxy.Status) bool) proxy.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := status(t, addr)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status %+v, last reload %+v", what, st, st.LastReload)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ask sends a non-streaming chat and returns the model header.
func ask(t *testing.T, addr, text string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]}`, text)
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(proxy.HeaderModel)
}

const mathQuestion = "solve the equation 5x - 3 = 12 for x"

// A valid edit takes effect, while a stream that started before it
// finishes on the old runtime; only the new utterances are embedded.
func TestReloadValidEditKeepsStreamsAndAddsRoutes(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "old", Chunks: []string{"o", "l", "d"}, ChunkDelay: 600 * time.Millisecond})
	b := providertest.OpenAI(t, providertest.Script{Text: "new"})
	addr, path, logs := startReloadable(t, reloadConfig(a, "", ""))

	if code, model := ask(t, addr, mathQuestion); code != http.StatusOK || model != "a/a-chat" {
		t.Fatalf("before the reload: %d %q", code, model)
	}
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first event: %q %v", line, err)
	}
	before := status(t, addr)

	// An in-place write, as `echo > file` does.
	if err := os.WriteFile(path, []byte(withMath(a, b)), 0o644); err != nil {
		t.Fatal(err)
	}
	after := waitStatus(t, addr, "generation 2", func(s proxy.Status) bool { return s.Generation == 2 })

	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("stream cut by the reload: %v", err)
	}
	if !strings.Contains(string(rest), "data: [DONE]") {
		t.Fatalf("stream did not complete across the reload:\n%s", rest)
	}
	if !after.LastReload.OK || after.LastReload.Trigger != "file" || !after.LastReload.EmbedderReused {
		t.Errorf("last reload %+v", after.LastReload)
	}
	if strings.Join(after.Routes, ",") != "code,chat,math" {
		t.Errorf("routes after reload %v", after.Routes)
	}
	// The embedder and its cache carried over: code's utterances were
	// hits, and only math's condition, its 4 facets and its two examples
	// were embedded.
	if before.Cache == nil || after.Cache == nil {
		t.Fatal("no cache stats")
	}
	if d := after.Cache.Misses - before.Cache.Misses; d != 7 {
		t.Errorf("reload embedded %d texts, want 7 (the new route's)", d)
	}
	if after.Cache.Hits <= before.Cache.Hits {
		t.Errorf("reload had no cache hits: %+v → %+v", before.Cache, after.Cache)
	}
	if code, model := ask(t, addr, mathQuestion); code != http.StatusOK || model != "b/b-math" {
		t.Errorf("after the reload: %d %q, want b/b-math", code, model)
	}
	if b.Requests() != 1 {
		t.Errorf("new upstream got %d requests, want 1", b.Requests())
	}
	if !strings.Contains(logs.String(), `"message":"reloaded"`) {
		t.Errorf("no reload log line:\n%s", logs.String())
	}
}

// An invalid edit keeps the old config serving, and /admin/status shows
// every problem.
func TestReloadInvalidEditKeepsOldConfig(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "old"})
	addr, path, logs := startReloadable(t, reloadConfig(a, "", ""))

	bad := strings.Replace(reloadConfig(a, "", ""), "{provider: a, model: a-code}", "{provider: opnai, model: a-code}", 1)
	bad = strings.Replace(bad, "default_route: chat", "default_route: nowhere", 1)
	replaceFile(t, path, bad)
	st := waitStatus(t, addr, "a failed reload", func(s proxy.Status) bool { return s.LastReload != nil })
	if st.LastReload.OK || st.Generation != 1 || st.LastReload.Generation != 1 {
		t.Fatalf("invalid config was taken: %+v", st.LastReload)
	}
	joined := strings.Join(st.LastReload.Errors, "\n")
	for _, want := range []string{`routes[0].targets[0].provider: unknown provider "opnai"`, "default_route"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
	if len(st.LastReload.Errors) < 2 {
		t.Errorf("want every problem listed, got %q", st.LastReload.Errors)
	}
	if code, model := ask(t, addr, "hello"); code != http.StatusOK || model != "a/a-chat" {
		t.Errorf("old config no longer serves: %d %q", code, model)
	}
	if !strings.Contains(logs.String(), "unknown provider") || !strings.Contains(logs.String(), "previous configuration keeps serving") {
		t.Errorf("problems not logged:\n%s", logs.String())
	}

	// POST /admin/reload on the same file: 422 with the problems.
	code, body := admin(t, addr, http.MethodPost, "/admin/reload", "", testAdminToken)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "opnai") || !strings.Contains(string(body), `"error"`) {
		t.Errorf("/admin/reload of an invalid config: %d %s", code, body)
	}

	// Fixing the file recovers.
	replaceFile(t, path, reloadConfig(a, "", ""))
	waitStatus(t, addr, "a good reload", func(s proxy.Status) bool { return s.Generation == 2 && s.LastReload.OK })
}

// A file replaced by rename is still watched: later edits, by rename or
// in place, take effect too.
func TestReloadSurvivesRenameReplace(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "a"})
	b := providertest.OpenAI(t, providertest.Script{Text: "b"})
	addr, path, _ := startReloadable(t, reloadConfig(a, "", ""))

	replaceFile(t, path, withMath(a, b))
	waitStatus(t, addr, "generation 2", func(s proxy.Status) bool { return s.Generation == 2 })
	if _, model := ask(t, addr, mathQuestion); model != "b/b-math" {
		t.Errorf("after the first replace: %q, want b/b-math", model)
	}

	replaceFile(t, path, reloadConfig(a, "", ""))
	st := waitStatus(t, addr, "generation 3", func(s proxy.Status) bool { return s.Generation == 3 })
	if strings.Join(st.Routes, ",") != "code,chat" {
		t.Errorf("routes after the second replace: %v", st.Routes)
	}
	if _, model := ask(t, addr, mathQuestion); model != "a/a-chat" {
		t.Errorf("after the second replace: %q, want a/a-chat", model)
	}

	if err := os.WriteFile(path, []byte(withMath(a, b)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, addr, "generation 4", func(s proxy.Status) bool { return s.Generation == 4 })
}

// SIGHUP reloads.
func TestReloadOnSIGHUP(t *testing.T) {
	// Our own registration too, so that a SIGHUP can never reach a process
	// with no handler (which would kill the test binary).
	mine := make(chan os.Signal, 1)
	signal.Notify(mine, syscall.SIGHUP)
	defer signal.Stop(mine)

	a := providertest.OpenAI(t, providertest.Script{Text: "a"})
	addr, _, _ := startReloadable(t, reloadConfig(a, "", ""))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, addr, "a reload", func(s proxy.Status) bool { return s.Generation >= 2 })
	if st.LastReload.Trigger != "signal" || !st.LastReload.OK {
		t.Errorf("last reload %+v, want an ok signal reload", st.LastReload)
	}
}

func TestAdminEndpoints(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "a"})
	b := providertest.OpenAI(t, providertest.Script{Text: "b"})
	addr, _, _ := startReloadable(t, withMath(a, b))

	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{http.MethodGet, "/admin/status", "", http.StatusUnauthorized},
		{http.MethodGet, "/admin/status", "wrong", http.StatusUnauthorized},
		{http.MethodPost, "/admin/reload", "wrong", http.StatusUnauthorized},
		{http.MethodPost, "/admin/explain", "", http.StatusUnauthorized},
	} {
		if code, body := admin(t, addr, tc.method, tc.path, "{}", tc.token); code != tc.want {
			t.Errorf("%s %s token %q: %d, want %d: %s", tc.method, tc.path, tc.token, code, tc.want, body)
		}
	}

	code, body := admin(t, addr, http.MethodPost, "/admin/reload", "", testAdminToken)
	var res proxy.ReloadResult
	if code != http.StatusOK || json.Unmarshal(body, &res) != nil || !res.OK || res.Generation != 2 || res.Trigger != "admin" || !res.EmbedderReused {
		t.Errorf("/admin/reload: %d %s", code, body)
	}

	code, body = admin(t, addr, http.MethodPost, "/admin/explain",
		fmt.Sprintf(`{"model":"auto","stream":true,"messages":[{"role":"user","content":%q}]}`, mathQuestion), testAdminToken)
	if code != http.StatusOK {
		t.Fatalf("/admin/explain: %d %s", code, body)
	}
	var ex struct {
		Route     string
		DecidedBy string `json:"decided_by"`
		Score     float64
		Margin    *float64
		Scores    []struct {
			Route            string
			Score, Threshold float64
			Nearest          string
		}
		Chain      []string
		DecisionMS float64 `json:"decision_ms"`
	}
	if err := json.Unmarshal(body, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Route != "math" || ex.DecidedBy != "embedding" || ex.Margin == nil || len(ex.Scores) != 2 ||
		ex.Scores[0].Route != "math" || ex.Scores[0].Nearest == "" || ex.Scores[0].Threshold != 0.35 ||
		strings.Join(ex.Chain, ",") != "b/b-math" || ex.DecisionMS <= 0 {
		t.Errorf("explain: %s", body)
	}
	if a.Requests()+b.Requests() != 0 {
		t.Errorf("explain called an upstream")
	}
}

func TestAdminOffWithoutToken(t *testing.T) {
	a := providertest.OpenAI(t)
	cfg := strings.Replace(reloadConfig(a, "", ""), "admin: {token_env: TEST_ADMIN_TOKEN}", "", 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, _ := startServe(t, map[string]string{"TEST_ADMIN_TOKEN": testAdminToken}, "--config", path, "--models", modelsRootOf(t))
	defer stop()
	for _, p := range []string{"/admin/status", "/admin/reload", "/admin/explain"} {
		if code, body := admin(t, addr, http.MethodPost, p, "{}", testAdminToken); code != http.StatusNotFound {
			t.Errorf("%s with admin off: %d %s", p, code, body)
		}
	}
}

// A changed embedder section builds a new embedder; the old one is kept
// open until exit, so requests that hold it cannot fail.
func TestReloadNewEmbedder(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "a"})
	b := providertest.OpenAI(t, providertest.Script{Text: "b"})
	addr, path, _ := startReloadable(t, withMath(a, b))
	replaceFile(t, path, withMath(a, b)+"embedder: {cache_size: 100}\n")
	st := waitStatus(t, addr, "generation 2", func(s proxy.Status) bool { return s.Generation == 2 })
	if !st.LastReload.OK || st.LastReload.EmbedderReused {
		t.Errorf("last reload %+v, want ok with a new embedder", st.LastReload)
	}
	// code: condition + 3 facets; math: condition + 4 facets + 2 examples.
	if st.Cache == nil || st.Cache.Hits != 0 || st.Cache.Misses != 11 {
		t.Errorf("new cache %+v, want the 11 utterances embedded afresh", st.Cache)
	}
	if _, model := ask(t, addr, mathQuestion); model != "b/b-math" {
		t.Errorf("after the new embedder: %q, want b/b-math", model)
	}
}

// TestReloadReleasesReplacedEmbedders: twenty reloads that each build a
// new embedder (the model loaded afresh) leave the heap within 20 % of
// its level with one: a replaced embedder is closed and let go once its
// runtime's last request is done, not kept until exit.
func TestReloadReleasesReplacedEmbedders(t *testing.T) {
	a := providertest.OpenAI(t, providertest.Script{Text: "a"})
	b := providertest.OpenAI(t, providertest.Script{Text: "b"})
	addr, path, _ := startReloadable(t, withMath(a, b))
	gen := int64(1)
	reloadWith := func(cacheSize int) {
		t.Helper()
		replaceFile(t, path, withMath(a, b)+fmt.Sprintf("embedder: {cache_size: %d}\n", cacheSize))
		gen++
		want := gen
		st := waitStatus(t, addr, fmt.Sprintf("generation %d", want), func(s proxy.Status) bool { return s.Generation >= want })
		gen = st.Generation
		if !st.LastReload.OK || st.LastReload.EmbedderReused {
			t.Fatalf("reload %+v, want ok with a new embedder", st.LastReload)
		}
		if _, model := ask(t, addr, mathQuestion); model != "b/b-math" {
			t.Fatalf("after reload %d: %q, want b/b-math", gen, model)
		}
	}
	heap := func() uint64 {
		// Retired embedders close within a poll of their runtime's drain.
		time.Sleep(300 * time.Millisecond)
		runtime.GC()
		debug.FreeOSMemory()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	reloadWith(100)
	base := heap()
	for i := range 20 {
		reloadWith(101 + i)
	}
	after := heap()
	t.Logf("heap in use: %d MB with one replaced embedder, %d MB after 20 more", base>>20, after>>20)
	if float64(after) > 1.2*float64(base) {
		t.Errorf("heap in use grew from %d MB to %d MB over 20 embedder reloads, want within 20%%", base>>20, after>>20)
	}
}
