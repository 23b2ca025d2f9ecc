package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// scrape reads addr's /metrics with key, by family name.
func scrape(t *testing.T, addr, key string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// want (a counter's, a gauge's, or a histogram's count); -1 when there is
// no such series.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsCountAKnownMix: after a known mix of requests (answered after
// a failover, streamed, refused for each reason), /metrics holds exactly
// the counts the mix implies.
func TestMetricsCountAKnownMix(t *testing.T) {
	bad := providertest.OpenAI(t, providertest.Script{Status: 500})
	good := providertest.OpenAI(t, providertest.Script{Chunks: []string{"a", "b"}, Usage: true}) // 5 + 2 tokens
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
providers:
  - {name: bad, kind: openai, base_url: %s, priority: 1, max_failures: 10}
  - {name: good, kind: openai, base_url: %s, priority: 2, models: [s]}
aliases:
  m: [{provider: bad, model: m}, {provider: good, model: m}]
api_keys:
  - {name: alice, key_env: ALICE_KEY}
  - {name: slow, key_env: SLOW_KEY, requests_per_minute: 1}
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {path: %s}
prices:
  m: {input: 1, output: 2}
`, bad.URL, good.URL, filepath.Join(dir, "usage.db"))
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ALICE_KEY": "sk-alice", "SLOW_KEY": "sk-slow", "ROOT_KEY": "sk-root"}
	addr, stop, logs := startServe(t, vars, "--config", path)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs.String())
		}
	}()
	post := func(key, body string, want int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s: %d %s, want %d", body, res.StatusCode, b, want)
		}
	}
	for range 3 { // bad answers 500, good answers: one retry, one failover each
		post("sk-alice", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 200)
	}
	for range 2 {
		post("sk-alice", `{"model":"s","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200)
	}
	post("sk-wrong", `{"model":"s","messages":[{"role":"user","content":"hi"}]}`, 401)
	post("sk-alice", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404)
	post("sk-alice", `{"model":"s","messages":"not a list"}`, 400)
	post("sk-slow", `{"model":"s","messages":[{"role":"user","content":"hi"}]}`, 200)
	post("sk-slow", `{"model":"s","messages":[{"role":"user","content":"hi"}]}`, 429)

	// Without the admin credentials: refused, the endpoints being on.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /metrics with no key: %v %v, want 401", res.StatusCode, err)
	}
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for { // the usage writer flushes within a second
		fams = scrape(t, addr, "sk-root")
		if value(fams, "switchyard_usage_rows_total", map[string]string{"outcome": "written"}) == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"switchyard_requests_total", map[string]string{"dialect": "openai", "decided_by": "explicit", "provider": "good", "model": "m", "status": "200"}, 3},
		{"switchyard_requests_total", map[string]string{"provider": "good", "model": "s", "status": "200"}, 3},
		{"switchyard_refused_requests_total", map[string]string{"reason": "unauthorized", "status": "401"}, 1},
		{"switchyard_refused_requests_total", map[string]string{"reason": "no_route", "status": "404"}, 1},
		{"switchyard_refused_requests_total", map[string]string{"reason": "invalid_request", "status": "400"}, 1},
		{"switchyard_refused_requests_total", map[string]string{"reason": "rate_limited", "status": "429"}, 1},
		{"switchyard_upstream_attempts_total", map[string]string{"provider": "bad", "model": "m", "outcome": "5xx"}, 3},
		{"switchyard_upstream_attempts_total", map[string]string{"provider": "good", "model": "m", "outcome": "ok"}, 3},
		{"switchyard_upstream_retries_total", nil, 3},
		{"switchyard_upstream_failovers_total", nil, 3},
		{"gen_ai_client_operation_duration_seconds", map[string]string{"gen_ai_provider_name": "bad", "error_type": "500"}, 3},
		{"gen_ai_server_time_to_first_token_seconds", map[string]string{"gen_ai_response_model": "s"}, 2},
		{"gen_ai_server_request_duration_seconds", map[string]string{"gen_ai_response_model": "m", "error_type": ""}, 3},
		{"gen_ai_client_token_usage", map[string]string{"gen_ai_provider_name": "good", "gen_ai_response_model": "m", "gen_ai_token_type": "input"}, 3},
		{"switchyard_tokens_total", map[string]string{"model": "m", "key": "alice", "type": "input"}, 15},
		{"switchyard_tokens_total", map[string]string{"model": "m", "key": "alice", "type": "output"}, 6},
		{"switchyard_tokens_total", map[string]string{"model": "s", "key": "slow", "type": "input"}, 5},
		// the 429 too: a key's limits are checked once the route is known
		{"switchyard_routing_decision_duration_seconds", map[string]string{"decided_by": "explicit"}, 7},
		{"switchyard_circuit_state", map[string]string{"provider": "bad", "model": "m", "state": "closed"}, 1},
		{"switchyard_circuit_state", map[string]string{"provider": "bad", "model": "m", "state": "open"}, 0},
		{"switchyard_circuit_consecutive_failures", map[string]string{"provider": "bad", "model": "m"}, 3},
		{"switchyard_usage_rows_total", map[string]string{"outcome": "written"}, 6},
		{"switchyard_usage_rows_total", map[string]string{"outcome": "dropped"}, 0},
		{"switchyard_config_generation", nil, 1},
	}
	for _, c := range checks {
		if got := value(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// 3 × (5 input × $1 + 2 output × $2) per million tokens.
	if got := value(fams, "switchyard_cost_usd_total", map[string]string{"model": "m", "key": "alice"}); got < 27e-6*(1-1e-9) || got > 27e-6*(1+1e-9) {
		t.Errorf("cost %v, want 2.7e-05", got)
	}
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), "sk-") || strings.Contains(l.GetValue(), "hi") && l.GetName() != "model" {
					t.Errorf("%s has label %s=%q: a secret or request text", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestMetricsOwnListener: with metrics.listen, /metrics, /healthz and
// /readyz are served there, open, and /metrics is gone from the main
// listener, whose API still needs its key.
func TestMetricsOwnListener(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	dir := t.TempDir()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
providers:
  - {name: up, kind: openai, base_url: %s, models: [m]}
api_keys:
  - {name: root, key_env: ROOT_KEY, roles: [admin]}
usage: {path: %s}
metrics: {listen: "127.0.0.1:0"}
`, up.URL, filepath.Join(dir, "usage.db"))
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, logs := startServe(t, map[string]string{"ROOT_KEY": "sk-root"}, "--config", path)
	defer stop()
	var maddr string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"metrics listening"`) {
			_, rest, _ := strings.Cut(line, `"addr":"`)
			maddr, _, _ = strings.Cut(rest, `"`)
		}
	}
	if maddr == "" {
		t.Fatalf("no metrics listener in the log:\n%s", logs.String())
	}
	fams := scrape(t, maddr, "")
	if value(fams, "switchyard_config_generation", nil) != 1 {
		t.Errorf("metrics on their own listener: generation %v", value(fams, "switchyard_config_generation", nil))
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		res, err := http.Get("http://" + maddr + p)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("%s on the metrics listener: %v %v", p, res, err)
		} else {
			res.Body.Close()
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer sk-root")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener: %v %v, want 404", res.StatusCode, err)
	}
	if res, err := http.Get("http://" + maddr + "/v1/models"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("the API on the metrics listener: %v %v, want 404", res.StatusCode, err)
	}
}
