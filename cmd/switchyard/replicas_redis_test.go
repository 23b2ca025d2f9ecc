package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
	"github.com/switchyard-router/switchyard/shared/sharedtest"
)

// TestReplicasShareRedis: two servers with one Redis (state.redis) act as
// one: a conversation routed on one keeps its route on the other, a key's
// requests per minute hold across both, and a circuit opened on one is
// skipped by the other within a second.
func TestReplicasShareRedis(t *testing.T) {
	redis := sharedtest.URL(t)
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	bad := providertest.OpenAI(t, providertest.Script{Status: 500})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
providers:
  - {name: up, kind: openai, base_url: %s, priority: 2}
  - {name: bad, kind: openai, base_url: %s, priority: 1, max_failures: 1, recovery_interval: 1m}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace", "write a function that parses dates"]
    targets: [{provider: up, model: gpt-code}]
  - name: chat
    targets: [{provider: up, model: gpt-chat}]
default_route: chat
routing: {threshold: 0.5, ground: false, sticky: {enabled: true}}
aliases:
  flaky: [{provider: bad, model: m}, {provider: up, model: m}]
api_keys:
  - {name: team, key_env: TEAM_KEY, requests_per_minute: 600}
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {enabled: false}
state: {redis: {url: %q, prefix: %q}}
`, up.URL, bad.URL, redis, "test-"+filepath.Base(dir)+":")
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"TEAM_KEY": "sk-team", "ROOT_KEY": "sk-root"}
	var addrs [2]string
	for i := range addrs {
		addr, stop, logs := startServe(t, vars, "--config", path, "--models", modelsRootOf(t))
		addrs[i] = addr
		defer func() {
			if code := stop(); code != 0 {
				t.Errorf("replica %d exited %d:\n%s", i, code, logs.String())
			}
		}()
	}
	chat := func(addr, key, model, text, session string) (int, http.Header) {
		t.Helper()
		body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, text)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if session != "" {
			req.Header.Set(proxy.HeaderSession, session)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header
	}

	// Sticky: the follow-up alone goes to chat; in the conversation begun
	// on the other replica it stays on code.
	if _, h := chat(addrs[1], "sk-root", "auto", "make it shorter", ""); h.Get(proxy.HeaderRoute) != "chat" {
		t.Fatalf("the follow-up alone went to %q, want chat (else this test shows nothing)", h.Get(proxy.HeaderRoute))
	}
	if _, h := chat(addrs[0], "sk-root", "auto", "write a python function that parses dates", "conv-1"); h.Get(proxy.HeaderRoute) != "code" {
		t.Fatalf("the first turn went to %q, want code", h.Get(proxy.HeaderRoute))
	}
	if _, h := chat(addrs[1], "sk-root", "auto", "make it shorter", "conv-1"); h.Get(proxy.HeaderRoute) != "code" || h.Get(proxy.HeaderDecidedBy) != "sticky" {
		t.Errorf("the follow-up on the other replica: %s by %s, want code by sticky", h.Get(proxy.HeaderRoute), h.Get(proxy.HeaderDecidedBy))
	}

	// Limits: 600 per minute is 10 a second with a burst of 10, shared:
	// 30 requests in quick succession over both replicas get the burst
	// (and what the time they took paid back), not 10 on each.
	okN, limited := 0, 0
	begin := time.Now()
	for i := range 30 {
		switch code, _ := chat(addrs[i%2], "sk-team", "gpt-chat", "hi", ""); code {
		case http.StatusOK:
			okN++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if paid := int(time.Since(begin) / (100 * time.Millisecond)); okN < 10 || okN > 11+paid {
		t.Errorf("%d answered, %d limited across two replicas in %v; want the burst of 10 (+%d)", okN, limited, time.Since(begin), paid)
	}

	// Circuits: bad fails once on replica 0 and opens there; replica 1
	// skips it within a second.
	if code, h := chat(addrs[0], "sk-root", "flaky", "hi", ""); code != http.StatusOK || h.Get(proxy.HeaderModel) != "up/m" {
		t.Fatalf("flaky on replica 0: %d from %q", code, h.Get(proxy.HeaderModel))
	}
	opened := time.Now()
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addrs[1]+"/admin/providers", nil)
		req.Header.Set("Authorization", "Bearer sk-root")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var pr struct {
			Targets []struct{ Provider, Model, State string }
		}
		json.Unmarshal(b, &pr)
		open := false
		for _, tg := range pr.Targets {
			open = open || tg.Provider == "bad" && tg.Model == "m" && tg.State == "open"
		}
		if open {
			break
		}
		if time.Since(opened) > time.Second {
			t.Fatalf("replica 1 did not open bad/m within 1s: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("replica 1 opened bad/m %v after replica 0 did", time.Since(opened).Round(time.Millisecond))
	before := bad.Requests()
	if code, h := chat(addrs[1], "sk-root", "flaky", "hi", ""); code != http.StatusOK || h.Get(proxy.HeaderModel) != "up/m" || bad.Requests() != before {
		t.Errorf("flaky on replica 1: %d from %q, bad asked %d more times; want up/m and bad skipped", code, h.Get(proxy.HeaderModel), bad.Requests()-before)
	}
}
