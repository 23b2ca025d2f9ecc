package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

// expandConfig has a block route with a comment and examples, a flow
// route, and a route with no condition; {{URL}} is the fake upstream.
const expandConfig = `# My routes.
providers:
  - {name: home, kind: openai, base_url: "{{URL}}"}
routes:
  # Programming questions go to the coder.
  - name: code
    condition: "programming, code examples, debugging"
    examples:
      - fix this stack trace   # from a real user
    targets: [{provider: home, model: coder}]
  - {name: travel, condition: "travel plans, flights, hotels", targets: [{provider: home, model: m}]}
  - name: chat
    targets: [{provider: home, model: m}]
default_route: chat
routing:
  threshold: 0.3
`

// modelReply is a weak model's answer: JSON in a fence, after a preamble.
func modelReply(t *testing.T, requests, near []string) providertest.Script {
	t.Helper()
	b, err := json.Marshal(map[string][]string{"requests": requests, "near_misses": near})
	if err != nil {
		t.Fatal(err)
	}
	return providertest.Script{Text: "Sure! Here you go:\n```json\n" + string(b) + "\n```\nHope this helps!"}
}

var (
	codeRequests = []string{
		"why does my Python script raise a KeyError",
		"write a Go function that reverses a slice",
		"how do I fix a segmentation fault in my C program",
		"Fix this stack trace",          // already an example
		"Certainly! Here is some code:", // an answer
	}
	codeNear       = []string{"what is the weather in Lisbon tomorrow"}
	travelRequests = []string{
		"find me a cheap flight from Berlin to Rome in May",
		"which hotels near the Louvre have free breakfast",
		"plan a three day trip to Kyoto for me",
	}
	travelNear = []string{"write a poem about the ocean at night"}
)

// runExpandCmd runs routes expand with a fixed clock.
func runExpandCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{
		getenv:  func(string) string { return "" },
		environ: func() []string { return nil },
		stdin:   strings.NewReader(""),
		stdout:  &out,
		stderr:  &errb,
	}
	now := func() time.Time { return time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC) }
	cmd := newRoutesExpandCmd(e, now)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	code := 0
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		errb.WriteString(err.Error())
		code = 1
	}
	return result{code, out.String(), errb.String()}
}

func writeExpandConfig(t *testing.T, name, url string) (path, body string) {
	t.Helper()
	body = strings.ReplaceAll(expandConfig, "{{URL}}", url)
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, body
}

func TestRoutesExpandWritesThePatch(t *testing.T) {
	up := providertest.OpenAI(t, modelReply(t, codeRequests, codeNear), modelReply(t, travelRequests, travelNear))
	path, before := writeExpandConfig(t, "config.yaml", up.URL)

	r := runExpandCmd(t, "--config", path, "--models", modelsRootOf(t), "--provider", "home", "--model", "tiny-coder",
		"--n", "2", "--near-misses", "1", "--write")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}

	// One call per route, each naming the model and the route's condition.
	if up.Requests() != 2 {
		t.Fatalf("%d upstream requests, want 2 (one per route with a condition)", up.Requests())
	}
	for i, cond := range []string{"programming, code examples, debugging", "travel plans, flights, hotels"} {
		body := string(up.Bodies()[i])
		if !strings.Contains(body, `"model":"tiny-coder"`) || !strings.Contains(body, cond) || !strings.Contains(body, "Write 4 different messages") {
			t.Errorf("request %d does not name the model, the condition %q and the count:\n%s", i, cond, body)
		}
	}

	// The file: the original lines as they were, the new items appended
	// under the dated comment.
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const comment = "# written by tiny-coder via routes expand, 2026-12-06"
	if n := strings.Count(string(got), comment); n != 4 {
		t.Errorf("the comment appears %d times, want 4 (two lists of two routes):\n%s", n, got)
	}
	for _, line := range strings.Split(strings.TrimSuffix(before, "\n"), "\n") {
		if strings.HasPrefix(line, "  - {name: travel") {
			continue // continued over lines
		}
		if !strings.Contains(string(got), line+"\n") {
			t.Errorf("line %q was lost:\n%s", line, got)
		}
	}
	if !strings.Contains(string(got), "      - fix this stack trace   # from a real user\n      "+comment+"\n      - ") {
		t.Errorf("code examples not appended after the existing one:\n%s", got)
	}

	cfg, err := config.Load(path, nil, nil)
	if err != nil {
		t.Fatalf("patched config does not load: %v\n%s", err, got)
	}
	code, travel := routeNamed(t, cfg, "code"), routeNamed(t, cfg, "travel")
	if len(code.Examples) != 3 || code.Examples[0] != "fix this stack trace" {
		t.Errorf("code examples %q, want the old one and 2 new", code.Examples)
	}
	for _, ex := range code.Examples[1:] {
		if !slices.Contains(codeRequests[:3], ex) {
			t.Errorf("code example %q should not have been kept", ex)
		}
	}
	if !slices.Equal(code.Negatives, codeNear) {
		t.Errorf("code negatives %q, want %q", code.Negatives, codeNear)
	}
	if len(travel.Examples) != 2 || !slices.Equal(travel.Negatives, travelNear) {
		t.Errorf("travel examples %q negatives %q", travel.Examples, travel.Negatives)
	}
	if rt := routeNamed(t, cfg, "chat"); len(rt.Examples)+len(rt.Negatives) != 0 {
		t.Errorf("chat, which has no condition, got %q %q", rt.Examples, rt.Negatives)
	}

	// The report: the patch on stdout, what was kept and dropped on stderr.
	for _, want := range []string{comment, "routes:\n  - name: code\n    examples:\n", "    negatives:\n      - what is the weather in Lisbon tomorrow\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"code: kept 2 requests and 1 near misses from 1 calls", "1 already in the config", "1 not a request", "1 thinned", "appended 6 items to 2 routes"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRoutesExpandPrintsWithoutWrite(t *testing.T) {
	up := providertest.OpenAI(t, modelReply(t, travelRequests, travelNear))
	path, before := writeExpandConfig(t, "config.yaml", up.URL)
	r := runExpandCmd(t, "--config", path, "--models", modelsRootOf(t), "--provider", "home", "--model", "m",
		"--route", "travel", "--n", "5", "--near-misses", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(path); string(got) != before {
		t.Errorf("the config changed without --write:\n%s", got)
	}
	if up.Requests() != 3 {
		t.Errorf("%d calls, want 3: fewer than --n survive, so it asks again up to 3 times", up.Requests())
	}
	if strings.Contains(string(up.LastBody()), "near miss") {
		t.Errorf("near misses asked for with --near-misses 0: %s", up.LastBody())
	}
	if !strings.Contains(r.stdout, "  - name: travel\n    examples:\n      - find me a cheap flight") || strings.Contains(r.stdout, "negatives:") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "--write") {
		t.Errorf("stderr does not say how to apply the patch:\n%s", r.stderr)
	}
}

func TestRoutesExpandRefuses(t *testing.T) {
	up := providertest.OpenAI(t, modelReply(t, travelRequests, travelNear))
	yamlPath, _ := writeExpandConfig(t, "config.yaml", up.URL)
	jsonPath := filepath.Join(t.TempDir(), "mas.json")
	mas := `{"baseURL": "` + up.URL + `", "apiKey": "k", "models": [{"condition": "code", "model": "m"}, {"condition": "", "model": "m"}]}`
	if err := os.WriteFile(jsonPath, []byte(mas), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"JSON with --write", []string{"--config", jsonPath, "--provider", "mas", "--model", "m", "--write"}, []string{"JSON", "cannot be patched", "YAML"}},
		{"unknown provider", []string{"--config", yamlPath, "--provider", "nope", "--model", "m"}, []string{`"nope"`, "home"}},
		{"unknown route", []string{"--config", yamlPath, "--provider", "home", "--model", "m", "--route", "nope"}, []string{`"nope"`, "no such route"}},
		{"route without a condition", []string{"--config", yamlPath, "--provider", "home", "--model", "m", "--route", "chat"}, []string{`"chat"`, "no condition"}},
		{"no model", []string{"--config", yamlPath, "--provider", "home"}, []string{"model"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runExpandCmd(t, tt.args...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure: %s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not mention %s", r.stderr, w)
				}
			}
		})
	}
	if up.Requests() != 0 {
		t.Errorf("%d upstream calls for commands that should fail first", up.Requests())
	}
	// Registered under routes.
	if r := runCmd(t, nil, "", "routes", "expand", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--near-misses") {
		t.Errorf("routes expand --help: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
