package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

// datasetLines renders {"text", "label"} pairs as JSON Lines.
func datasetLines(t *testing.T, pairs ...[2]string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range pairs {
		line, err := json.Marshal(map[string]string{"text": p[0], "label": p[1]})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// fromDataset runs routes from-dataset on data and loads what it printed.
func fromDataset(t *testing.T, data string, args ...string) (*config.Config, result) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(in, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "", append([]string{"routes", "from-dataset", in}, args...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(out, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(out, nil, nil)
	if err != nil {
		t.Fatalf("generated config does not load: %v\n%s", err, r.stdout)
	}
	return cfg, r
}

func routeNamed(t *testing.T, cfg *config.Config, name string) config.Route {
	t.Helper()
	for _, r := range cfg.Routes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no route %q in %v", name, cfg.Routes)
	return config.Route{}
}

var weatherAndFlights = [][2]string{
	{"what's the weather like today", "weather"},
	{"will it rain tomorrow", "weather"},
	{"weather forecast for the weekend", "weather"},
	{"is it going to be sunny on Saturday", "weather"},
	{"how do I bake sourdough bread", "weather"}, // the odd one out
	{"will it rain tomorrow", "weather"},         // repeated
	{"book a flight to Paris", "book_flight"},
	{"I need a plane ticket to Rome", "book_flight"},
	{"reserve two seats on a flight to Oslo", "book_flight"},
	{"tell me a joke", "oos"},
	{"what is the meaning of life", "oos"},
}

func TestFromDatasetPicksRepresentativeExamples(t *testing.T) {
	root := modelsRootOf(t)
	cfg, r := fromDataset(t, datasetLines(t, weatherAndFlights...), "--examples-per-route", "1", "--models", root)

	names := []string{}
	for _, rt := range cfg.Routes {
		names = append(names, rt.Name)
	}
	if want := []string{"weather", "book_flight", "fallback"}; !slices.Equal(names, want) {
		t.Fatalf("routes %v, want %v", names, want)
	}
	if cfg.DefaultRoute != "fallback" {
		t.Errorf("default_route %q, want fallback", cfg.DefaultRoute)
	}
	weather := routeNamed(t, cfg, "weather")
	if len(weather.Examples) != 1 || slices.Contains(weather.Examples, "how do I bake sourdough bread") {
		t.Errorf("weather examples %q: want a weather question, not the odd one out", weather.Examples)
	}
	if weather.Condition != "weather" || routeNamed(t, cfg, "book_flight").Condition != "book flight" {
		t.Errorf("conditions %q, %q", weather.Condition, routeNamed(t, cfg, "book_flight").Condition)
	}
	if got := routeNamed(t, cfg, "book_flight").Examples; len(got) != 1 {
		t.Errorf("book_flight examples %q, want 1", got)
	}
	fb := routeNamed(t, cfg, "fallback")
	if fb.Condition != "" || len(fb.Examples) != 0 {
		t.Errorf("fallback has utterances: %+v", fb)
	}
	if len(cfg.Providers) != 1 || cfg.Providers[0].Name != "upstream" || cfg.Providers[0].BaseURL != "http://127.0.0.1:8000/v1" {
		t.Errorf("providers %+v", cfg.Providers)
	}
	if tg := weather.Targets; len(tg) != 1 || tg[0] != (config.Target{Provider: "upstream", Model: "weather"}) {
		t.Errorf("weather targets %+v", tg)
	}
	for _, rt := range cfg.Routes {
		for _, ex := range rt.Examples {
			if ex == "tell me a joke" || ex == "what is the meaning of life" {
				t.Errorf("oos text %q in route %s", ex, rt.Name)
			}
		}
	}
	if !strings.Contains(r.stderr, "1 repeated texts dropped") || !strings.Contains(r.stderr, "2 oos skipped") {
		t.Errorf("stderr does not report what was dropped: %s", r.stderr)
	}

	// Two of each, and the same seed gives the same file.
	cfg, r = fromDataset(t, datasetLines(t, weatherAndFlights...), "--examples-per-route", "2", "--models", root, "--seed", "9")
	for _, name := range []string{"weather", "book_flight"} {
		if got := routeNamed(t, cfg, name).Examples; len(got) != 2 {
			t.Errorf("%s examples %q, want 2", name, got)
		}
	}
	_, again := fromDataset(t, datasetLines(t, weatherAndFlights...), "--examples-per-route", "2", "--models", root, "--seed", "9")
	// The first line names the (temporary) data file.
	_, a, _ := strings.Cut(r.stdout, "\n")
	_, b, _ := strings.Cut(again.stdout, "\n")
	if a != b {
		t.Errorf("two runs differ:\n%s\n---\n%s", r.stdout, again.stdout)
	}
}

func TestFromDatasetAllExamples(t *testing.T) {
	// Every example is kept, so no model is needed: --models points nowhere.
	empty := t.TempDir()
	for _, n := range []string{"all", "0"} {
		cfg, _ := fromDataset(t, datasetLines(t, weatherAndFlights...), "--examples-per-route", n, "--models", empty)
		weather := routeNamed(t, cfg, "weather")
		want := []string{"what's the weather like today", "will it rain tomorrow", "weather forecast for the weekend",
			"is it going to be sunny on Saturday", "how do I bake sourdough bread"}
		if !slices.Equal(weather.Examples, want) {
			t.Errorf("%s: weather examples %q, want every distinct one in order %q", n, weather.Examples, want)
		}
		if got := routeNamed(t, cfg, "book_flight").Examples; len(got) != 3 {
			t.Errorf("%s: book_flight examples %q, want 3", n, got)
		}
	}
	// More requested than there are: all of them, again without a model.
	cfg, _ := fromDataset(t, datasetLines(t, weatherAndFlights...), "--examples-per-route", "50", "--models", empty)
	if got := routeNamed(t, cfg, "weather").Examples; len(got) != 5 {
		t.Errorf("weather examples %q, want 5", got)
	}
}

func TestFromDatasetAwkwardLabels(t *testing.T) {
	labels := []string{`say: "hi"`, "it's # not a comment", "- dash", "null", "true", "42", "{braces}", "fallback", "café ☕", "multi_word-label"}
	var pairs [][2]string
	for i, l := range labels {
		pairs = append(pairs, [2]string{"text number " + strings.Repeat("x", i) + ": 'quoted' \"too\"", l})
	}
	cfg, _ := fromDataset(t, datasetLines(t, pairs...)+`{"text": "numeric label", "label": 7}`+"\n",
		"--examples-per-route", "all", "--models", t.TempDir(), "--provider", "my: provider", "--model", "m #1")
	for i, l := range labels {
		rt := routeNamed(t, cfg, l)
		if !slices.Equal(rt.Examples, []string{pairs[i][0]}) {
			t.Errorf("route %q examples %q, want %q", l, rt.Examples, pairs[i][0])
		}
		if rt.Targets[0] != (config.Target{Provider: "my: provider", Model: "m #1"}) {
			t.Errorf("route %q targets %+v", l, rt.Targets)
		}
	}
	routeNamed(t, cfg, "7")
	if cfg.DefaultRoute != "fallback-2" {
		t.Errorf("default_route %q, want fallback-2 (a label took fallback)", cfg.DefaultRoute)
	}
	if c := routeNamed(t, cfg, "multi_word-label").Condition; c != "multi word label" {
		t.Errorf("condition %q, want multi word label", c)
	}
}

func TestFromDatasetNoCondition(t *testing.T) {
	for _, flag := range [][]string{{"--no-condition"}, {"--condition-from", "none"}} {
		cfg, _ := fromDataset(t, datasetLines(t, weatherAndFlights...), append([]string{"--examples-per-route", "all", "--models", t.TempDir()}, flag...)...)
		for _, rt := range cfg.Routes {
			if rt.Condition != "" {
				t.Errorf("%v: route %s has condition %q", flag, rt.Name, rt.Condition)
			}
		}
	}
}

func TestFromDatasetRefuses(t *testing.T) {
	tests := []struct {
		name string
		data string
		args []string
		want string
	}{
		{"no count", datasetLines(t, [2]string{"a", "b"}), nil, "examples-per-route"},
		{"bad count", datasetLines(t, [2]string{"a", "b"}), []string{"--examples-per-route", "-1"}, "examples-per-route"},
		{"bad json", "{\"text\": \"a\", \"label\": \"b\"}\n{nope\n", []string{"--examples-per-route", "all"}, "line 2"},
		{"missing label", `{"text": "a"}` + "\n", []string{"--examples-per-route", "all"}, `line 1: missing "label"`},
		{"empty text", `{"text": " ", "label": "x"}` + "\n", []string{"--examples-per-route", "all"}, `line 1: empty "text"`},
		{"no text", `{"label": "x"}` + "\n", []string{"--examples-per-route", "all"}, `line 1: needs "text" or "messages"`},
		{"no user turn", `{"messages": [{"role": "system", "content": "be brief"}], "label": "x"}` + "\n", []string{"--examples-per-route", "all"}, `line 1: empty "text", or no user text in "messages"`},
		{"bad messages", `{"messages": [{"content": "hi"}], "label": "x"}` + "\n", []string{"--examples-per-route", "all"}, `line 1: message 0: missing "role"`},
		{"reserved label", datasetLines(t, [2]string{"a", "auto"}), []string{"--examples-per-route", "all"}, `"auto" is reserved`},
		{"only oos", datasetLines(t, [2]string{"a", "oos"}), []string{"--examples-per-route", "all"}, "no labelled texts"},
		{"bad base url", datasetLines(t, [2]string{"a", "b"}), []string{"--examples-per-route", "all", "--base-url", "ftp://x"}, "base_url"},
		{"bad condition source", datasetLines(t, [2]string{"a", "b"}), []string{"--examples-per-route", "all", "--condition-from", "texts"}, "condition-from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "data.jsonl")
			if err := os.WriteFile(in, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCmd(t, nil, "", append([]string{"routes", "from-dataset", in, "--models", t.TempDir()}, tt.args...)...)
			if r.code == 0 {
				t.Fatalf("exit 0, want failure; stdout:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not mention %s", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on failure: %q", r.stdout)
			}
		})
	}
}

func TestFromDatasetReadsStdin(t *testing.T) {
	r := runCmd(t, nil, datasetLines(t, weatherAndFlights...), "routes", "from-dataset", "-", "--examples-per-route", "all", "--models", t.TempDir())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "- name: book_flight") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// The project's own eval corpus mixes "text" rows and "messages" rows
// (conversations); a conversation contributes what it is routed on, its
// last user turn.
func TestFromDatasetReadsTheEvalCorpus(t *testing.T) {
	corpus := filepath.Join("..", "..", "testdata", "eval", "corpus.jsonl")
	r := runCmd(t, nil, "", "routes", "from-dataset", corpus, "--examples-per-route", "all", "--models", t.TempDir())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	cfg, err := config.Load(writeTemp(t, r.stdout), nil, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	code := routeNamed(t, cfg, "code")
	if !slices.Contains(code.Examples, "and in JavaScript?") {
		t.Errorf("code examples lack the conversation's last user turn: %q", code.Examples)
	}
}

func writeTemp(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
