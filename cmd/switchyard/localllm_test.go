package main

// Tests against a real LLM: a local OpenAI-compatible server named by
// SWITCHYARD_LLM_URL (and SWITCHYARD_LLM_MODEL, the id it lists). They
// skip without it; scripts/llm-e2e.sh starts llama.cpp's server on a small
// model (scripts/fetch-llm.sh) and runs them. The model is weak: these
// tests check the plumbing against a real model's answers (the judge's
// answer always parses, no request fails because of it), not the quality
// of its choices, which they only log.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/gateway"
	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/proxy"
)

// localLLM returns the local server's base URL and model id, or skips t.
func localLLM(t *testing.T) (url, model string) {
	t.Helper()
	url = os.Getenv("SWITCHYARD_LLM_URL")
	if url == "" {
		t.Skip("SWITCHYARD_LLM_URL is not set: run bash scripts/llm-e2e.sh")
	}
	model = os.Getenv("SWITCHYARD_LLM_MODEL")
	if model == "" {
		model = "local" // llama.cpp's server answers with its one model whatever the name
	}
	return url, model
}

// localJudgeConfig has three routes with conditions and a judge at the
// local server, asked about every request with its cache off, so every
// request is a real call.
const localJudgeConfig = `
providers:
  - {name: up, kind: openai, base_url: %s}
  - {name: llm, kind: openai, base_url: %s}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    targets: [{provider: up, model: gpt-code}]
  - name: math
    condition: "mathematics, equations, arithmetic, calculus, proofs"
    targets: [{provider: up, model: gpt-math}]
  - name: chat
    condition: "casual conversation, greetings, opinions, recommendations"
    targets: [{provider: up, model: gpt-chat}]
default_route: chat
judge:
  provider: llm
  model: %s
  when: {always: true}
  timeout: %s
  cache_size: 0
`

// logLines keeps each line a zerolog.Logger writes; safe for concurrent
// use, as the proxy logs from its handlers' goroutines.
type logLines struct {
	mu    sync.Mutex
	lines [][]byte
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, bytes.Clone(p))
	return len(p), nil
}

// completionLog is the part of the proxy's per-request log line read here.
type completionLog struct {
	Message     string  `json:"message"`
	Route       string  `json:"route"`
	DecidedBy   string  `json:"decided_by"`
	Status      int     `json:"status"`
	JudgeAnswer string  `json:"judge_answer"`
	JudgeUsed   bool    `json:"judge_used"`
	JudgeMS     float64 `json:"judge_ms"`
	JudgeError  *string `json:"judge_error"` // nil = the judge was not asked
}

// completion waits for the n-th (from 1) "chat completion" line: the proxy
// writes it after the response, so it may come a moment after the client
// has read it.
func (l *logLines) completion(t *testing.T, n int) completionLog {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []completionLog
		l.mu.Lock()
		for _, line := range l.lines {
			var c completionLog
			if json.Unmarshal(line, &c) == nil && c.Message == "chat completion" {
				got = append(got, c)
			}
		}
		l.mu.Unlock()
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line for request %d (have %d)", n, len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// localJudgeServer builds the serving runtime of localJudgeConfig, with
// the judge's timeout, behind the real proxy, its log kept in the
// returned logLines.
func localJudgeServer(t *testing.T, timeout string) (*httptest.Server, *gateway.Runtime, *logLines) {
	t.Helper()
	url, model := localLLM(t)
	up := providertest.OpenAI(t, providertest.Script{Text: "answer"})
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(localJudgeConfig, up.URL, url, mustQuote(model), timeout)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := testRuntime(t, cfg)
	if rt.Judge == nil {
		t.Fatal("the runtime has no judge")
	}
	logs := &logLines{}
	srv := httptest.NewServer(proxy.NewServer(zerolog.New(logs), rt.Proxy).Handler())
	t.Cleanup(srv.Close)
	return srv, rt, logs
}

// postChat sends one auto-routed request and returns its status, its
// X-Switchyard-Route and X-Switchyard-Decided-By headers, and its time.
func postChat(t *testing.T, srv *httptest.Server, text string) (status int, route, decidedBy string, took time.Duration) {
	t.Helper()
	body := `{"model":"auto","messages":[{"role":"user","content":` + mustQuote(text) + `}]}`
	start := time.Now()
	resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(proxy.HeaderRoute), resp.Header.Get(proxy.HeaderDecidedBy), time.Since(start)
}

// The judge end to end with judge.when.always: every request, however
// sure the embedding, is put to the local model through the real proxy;
// each answer parses to a route or none and decides the request
// (X-Switchyard-Decided-By: judge), and every request succeeds.
func TestLocalLLMJudge(t *testing.T) {
	srv, rt, logs := localJudgeServer(t, "120s")
	texts := []string{
		"write a python function that reverses a linked list",
		"why does my Go program panic with assignment to entry in nil map?",
		"what is the derivative of x^3 * sin(x)?",
		"solve 2x + 7 = 19 for x",
		"hi! how was your weekend?",
		"recommend a good science fiction novel for a long flight",
	}
	answers := []string{"code", "math", "chat", "none"}
	var judgeMS []float64
	for i, text := range texts {
		status, route, by, took := postChat(t, srv, text)
		line := logs.completion(t, i+1)
		t.Logf("%-62q → judge %-5q route %-5s by %-9s judge %6.0f ms, request %v", text, line.JudgeAnswer, route, by, line.JudgeMS, took.Round(time.Millisecond))
		if status != http.StatusOK || line.Status != http.StatusOK {
			t.Errorf("%q: status %d (logged %d), want 200", text, status, line.Status)
		}
		if line.JudgeError == nil {
			t.Errorf("%q: the judge was not asked (always is on)", text)
			continue
		}
		if *line.JudgeError != "" || !slices.Contains(answers, line.JudgeAnswer) {
			t.Errorf("%q: judge answered %q, error %q; want one of %v", text, line.JudgeAnswer, *line.JudgeError, answers)
			continue
		}
		want := line.JudgeAnswer
		if want == "none" {
			want = "chat" // default_route
		}
		if by != "judge" || !line.JudgeUsed || route != want {
			t.Errorf("%q: %s by %s (judge used %v), want %s by judge", text, route, by, line.JudgeUsed, want)
		}
		judgeMS = append(judgeMS, line.JudgeMS)
	}
	st := rt.Judge.Stats()
	if st.Calls != uint64(len(texts)) || st.Errors != 0 || st.CacheHits != 0 {
		t.Errorf("judge stats %+v, want %d calls, no errors, no cache hits", st, len(texts))
	}
	if len(judgeMS) > 0 {
		slices.Sort(judgeMS)
		t.Logf("judge latency over %d requests: min %.0f ms, p50 %.0f ms, max %.0f ms", len(judgeMS), judgeMS[0], judgeMS[len(judgeMS)/2], judgeMS[len(judgeMS)-1])
	}
}

// A real model that cannot answer within the judge's timeout costs the
// request that timeout, not an error: the embedding decision stands.
func TestLocalLLMJudgeTimeout(t *testing.T) {
	srv, rt, logs := localJudgeServer(t, "5ms")
	status, route, by, took := postChat(t, srv, "what is the integral of 1/x?")
	line := logs.completion(t, 1)
	if line.JudgeError == nil {
		t.Fatalf("route %s by %s: the judge was not asked", route, by)
	}
	t.Logf("route %s by %s in %v; judge error %q", route, by, took.Round(time.Millisecond), *line.JudgeError)
	if status != http.StatusOK || by == "judge" || route == "" {
		t.Errorf("status %d, %s by %s; want 200 by the embedding (or default)", status, route, by)
	}
	if *line.JudgeError == "" || line.JudgeUsed {
		t.Errorf("judge error %v, used %v; want a timeout", line.JudgeError, line.JudgeUsed)
	}
	if st := rt.Judge.Stats(); st.Calls != 1 || st.Errors != 1 {
		t.Errorf("judge stats %+v, want 1 call, 1 error", st)
	}
}

// localExpandConfig has routes with conditions, one with an example
// already, and comments that --write must keep.
const localExpandConfig = `# routes for the expand test
providers:
  - {name: llm, kind: openai, base_url: %s} # the local server
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: ["fix this stack trace"] # kept
    targets: [{provider: llm, model: %s}]
  - name: math
    condition: "mathematics, equations, arithmetic, calculus, proofs"
    targets: [{provider: llm, model: %s}]
  - name: chat
    targets: [{provider: llm, model: %s}]
default_route: chat
`

// switchyard routes expand --write against the local model: the routes
// asked about gain examples that are usable requests (non-empty, at most
// 300 characters, distinct, none repeating what the route had), the
// route's own example and the file's comments stay, and the file still
// loads. What the examples say is the model's business; they are logged.
func TestLocalLLMExpand(t *testing.T) {
	url, model := localLLM(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	m := mustQuote(model)
	if err := os.WriteFile(path, []byte(fmt.Sprintf(localExpandConfig, url, m, m, m)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := runCmd(t, nil, "", "routes", "expand", "--config", path, "--models", modelsRootOf(t),
		"--provider", "llm", "--model", model, "--route", "code", "--route", "math",
		"--n", "4", "--near-misses", "0", "--write")
	t.Logf("routes expand took %v:\n%s", time.Since(start).Round(time.Millisecond), r.stderr)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("the expanded config does not load: %v\n%s", err, data)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# routes for the expand test", "# the local server", "# kept"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the file lost the comment %q:\n%s", want, data)
		}
	}
	gained := 0
	for _, rt := range cfg.Routes {
		var before []string
		switch rt.Name {
		case "code":
			before = []string{"fix this stack trace"}
		case "math":
		default:
			if len(rt.Examples) != 0 {
				t.Errorf("route %s was not asked about, yet has examples %q", rt.Name, rt.Examples)
			}
			continue
		}
		if !slices.Equal(rt.Examples[:min(len(before), len(rt.Examples))], before) {
			t.Errorf("route %s: examples %q do not start with its own %q", rt.Name, rt.Examples, before)
			continue
		}
		added := rt.Examples[len(before):]
		gained += len(added)
		t.Logf("route %s gained %d examples: %q", rt.Name, len(added), added)
		seen := map[string]bool{}
		for _, ex := range rt.Examples {
			key := strings.ToLower(strings.Join(strings.Fields(ex), " "))
			switch {
			case strings.TrimSpace(ex) == "":
				t.Errorf("route %s: an empty example", rt.Name)
			case utf8.RuneCountInString(ex) > 300:
				t.Errorf("route %s: an example of %d characters: %q", rt.Name, utf8.RuneCountInString(ex), ex)
			case seen[key]:
				t.Errorf("route %s: a repeated example %q", rt.Name, ex)
			}
			seen[key] = true
		}
	}
	if gained == 0 {
		t.Errorf("no route gained an example:\n%s", data)
	}
}
