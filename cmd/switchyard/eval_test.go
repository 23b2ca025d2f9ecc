package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const evalConfig = `
providers:
  - {name: home, kind: ollama, base_url: "http://127.0.0.1:1"}
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples: [fix this stack trace, write a function that parses dates, why does my Go program deadlock]
    targets: [{provider: home, model: m}]
  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples: [write a haiku about autumn rain, tell me a bedtime story about a brave turtle]
    targets: [{provider: home, model: m}]
  - name: translation
    condition: "translate text from one language to another"
    examples: [translate this paragraph into French, how do you say good morning in Japanese]
    targets: [{provider: home, model: m}]
  - name: chat
    targets: [{provider: home, model: m}]
default_route: chat
routing:
  threshold: 0.3
`

const evalCorpus = `{"text": "my Go program panics with a nil pointer dereference, here is the stack trace", "label": "code"}
{"text": "write a function that parses ISO dates in Python", "label": "code"}
{"text": "write a short poem about the autumn sea", "label": "creative"}
{"messages": [{"role": "system", "content": "you are helpful"}, {"role": "user", "content": [{"type": "text", "text": "translate this sentence into French: the cat is asleep"}]}], "label": "translation"}
{"text": "how do you say thank you in Japanese", "label": "translation"}
{"text": "hello there", "label": "chat"}
{"text": "zzz qqq", "label": "oos"}
`

func writeEvalFiles(t *testing.T) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	cfg, data = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "corpus.jsonl")
	if err := os.WriteFile(cfg, []byte(evalConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte(evalCorpus), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, data
}

func TestEvalEndToEnd(t *testing.T) {
	cfg, data := writeEvalFiles(t)
	models, cache := modelsRootOf(t), t.TempDir()
	html := filepath.Join(t.TempDir(), "report.html")
	args := []string{"eval", "--config", cfg, "--data", data, "--models", models, "--cache", cache}

	r := runCmd(t, nil, "", append(args, "--json", "--out", html)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", r.stdout)
	}
	for _, k := range []string{"n", "accuracy", "macro_f1", "oos", "per_route", "latency_ms", "confusion", "misrouted", "coverage"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if rep["n"].(float64) != 7 {
		t.Errorf("n = %v, want 7", rep["n"])
	}
	for _, k := range []string{"precision", "recall", "f1"} {
		if _, ok := rep["oos"].(map[string]any)[k]; !ok {
			t.Errorf("oos lacks %q", k)
		}
	}
	code, ok := rep["per_route"].(map[string]any)["code"].(map[string]any)
	if !ok || code["support"].(float64) != 2 {
		t.Errorf("per_route.code = %v", rep["per_route"])
	}
	lat := rep["latency_ms"].(map[string]any)
	if lat["p50"].(float64) <= 0 || lat["p99"].(float64) < lat["p50"].(float64) {
		t.Errorf("latency %v", lat)
	}
	// The clear-cut examples route right with the real model.
	if acc := rep["accuracy"].(float64); acc < 0.7 {
		t.Errorf("accuracy %v on a clear-cut corpus; stdout %s", acc, r.stdout)
	}
	if !strings.Contains(r.stderr, "embedded 7 texts") {
		t.Errorf("first run stderr %q: want 7 texts embedded", r.stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Fatalf("report: %v, has <svg>: %v", err, strings.Contains(string(page), "<svg"))
	}

	// A rerun is served from the disk cache; the human table names classes.
	r = runCmd(t, nil, "", append(args, "--latency-sample", "0")...)
	if r.code != 0 || strings.Contains(r.stderr, "embedded") {
		t.Fatalf("rerun: exit %d, stderr %q: want no embedding", r.code, r.stderr)
	}
	for _, want := range []string{"macro-F1", "translation", "oos", "confusion"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestEvalRejectsUnknownLabels(t *testing.T) {
	cfg, data := writeEvalFiles(t)
	if err := os.WriteFile(data, []byte(evalCorpus+`{"text": "bake bread", "label": "cooking"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "", "eval", "--config", cfg, "--data", data, "--models", t.TempDir(), "--cache", "off")
	if r.code == 0 || !strings.Contains(r.stderr, "cooking") {
		t.Fatalf("exit %d, stderr %q: want the unknown label named", r.code, r.stderr)
	}
}

func TestFitPrintsAndWritesAPatch(t *testing.T) {
	cfg, data := writeEvalFiles(t)
	args := []string{"fit", "--config", cfg, "--data", data, "--models", modelsRootOf(t), "--cache", t.TempDir(), "--seed", "3"}
	r := runCmd(t, nil, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"validation before", "validation after", "routing:\n  threshold:", "aggregation:", "margin:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runCmd(t, nil, "", append(args, "--write")...); r.code != 0 {
		t.Fatalf("--write: exit %d: %s", r.code, r.stderr)
	}
	if r := runCmd(t, nil, "", "config", "check", "--config", cfg); r.code != 0 {
		t.Fatalf("patched config does not check: %s", r.stderr)
	}
}
