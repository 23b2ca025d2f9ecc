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

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/router/judge"
)

const judgeConfig = `
providers:
  - {name: up, kind: openai, base_url: %s}
  - {name: judge, kind: openai, base_url: %s}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates"]
    targets: [{provider: up, model: gpt-code}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: ["write a haiku about autumn rain", "tell me a bedtime story"]
    targets: [{provider: up, model: gpt-creative}]
  - name: chat
    targets: [{provider: up, model: gpt-chat}]
default_route: chat
routing: {threshold: 0.5, ground: false}
judge:
  provider: judge
  model: judge-small
  when: {below_threshold: true, margin: 0.03}
  timeout: %s
`

func writeJudgeConfig(t *testing.T, up, jdg *providertest.Upstream, timeout string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(judgeConfig, up.URL, jdg.URL, timeout)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func chooses(route string) providertest.Script {
	return providertest.Script{ToolCall: &providertest.ToolCall{Name: judge.Tool, Arguments: `{"route":"` + route + `"}`}}
}

// Through real HTTP: an unsure request is decided by the judge (header
// X-Switchyard-Decided-By: judge) and served by its route; the same text
// again is a cache hit; a confident one never reaches the judge; a slow
// judge costs its timeout and the embedding decision stands.
func TestJudgeThroughTheProxy(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "answer"})
	jdg := providertest.OpenAI(t, chooses("creative"), providertest.Script{Delay: 5 * time.Second})
	cfg, err := config.Load(writeJudgeConfig(t, up, jdg, "300ms"), func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := testRuntime(t, cfg)
	srv := httptest.NewServer(proxy.NewServer(zerolog.Nop(), rt.Proxy).Handler())
	t.Cleanup(srv.Close)

	ask := func(text string) (decidedBy, route string, took time.Duration) {
		t.Helper()
		body := `{"model":"auto","messages":[{"role":"user","content":` + mustQuote(text) + `}]}`
		start := time.Now()
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get(proxy.HeaderDecidedBy), resp.Header.Get(proxy.HeaderRoute), time.Since(start)
	}

	if by, route, _ := ask("the old lighthouse keeper and the sea"); by != "judge" || route != "creative" {
		t.Fatalf("unsure request: %s by %s, want creative by judge", route, by)
	}
	if jdg.Requests() != 1 {
		t.Fatalf("judge requests = %d, want 1", jdg.Requests())
	}
	if by, route, _ := ask("the old lighthouse keeper and the sea"); by != "judge" || route != "creative" || jdg.Requests() != 1 {
		t.Errorf("cached: %s by %s, %d judge requests", route, by, jdg.Requests())
	}
	if by, route, _ := ask("fix this stack trace"); by != "embedding" || route != "code" || jdg.Requests() != 1 {
		t.Errorf("confident: %s by %s, %d judge requests", route, by, jdg.Requests())
	}
	// The judge upstream now stalls: the timeout, then the embedding decision.
	by, route, took := ask("what a lovely afternoon we had")
	if by != "default" || route != "chat" || took > 2*time.Second {
		t.Errorf("stalled judge: %s by %s in %v", route, by, took)
	}
	// GET /admin/status reports the same counters.
	st := describe(rt).Judge
	if st == nil || st.Calls != 2 || st.CacheHits != 1 || st.Errors != 1 || st.P50MS <= 0 {
		t.Errorf("judge stats %+v", st)
	}
}

// describe is the runtime's part of GET /admin/status.
func describe(rt *gateway.Runtime) proxy.Status {
	var st proxy.Status
	rt.Describe(&st)
	return st
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRouteExplainShowsTheJudge(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "answer"})
	jdg := providertest.OpenAI(t, chooses("creative"))
	path := writeJudgeConfig(t, up, jdg, "2s")
	models := modelsRootOf(t)

	r := runCmd(t, nil, "", "route", "--config", path, "--models", models, "--explain", "the old lighthouse keeper and the sea")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"route: creative (judge", "text:  \"the old lighthouse keeper and the sea\"", `judge: "creative" (used`, "asked because no route cleared its threshold", "ROUTE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("route --explain lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCmd(t, nil, "", "route", "--config", path, "--models", models, "--json", "the old lighthouse keeper and the sea")
	var d decisionOut
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if d.DecidedBy != "judge" || d.Judge == nil || !d.Judge.Used || d.Judge.Answer != "creative" || len(d.Scores) != 2 {
		t.Errorf("route --json: %+v (judge %+v)", d, d.Judge)
	}
	r = runCmd(t, nil, "", "route", "--config", path, "--models", models, "--explain", "fix this stack trace")
	if !strings.Contains(r.stdout, "judge: not asked") {
		t.Errorf("confident route --explain:\n%s", r.stdout)
	}
}
