package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func ptr[T any](v T) *T { return &v }

// writeConfig writes body to a file named name in a fresh directory.
func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceOnce replaces old, which must occur exactly once, in s.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times, want 1", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

func TestPatchFileKeepsCommentsAndLayout(t *testing.T) {
	orig := string(Example())
	path := writeConfig(t, "config.yaml", orig)
	err := PatchFile(path, Patch{
		Threshold:       ptr(0.5),
		Aggregation:     ptr(AggregateMean),
		Margin:          ptr(0.05),
		TopK:            ptr(3),
		RouteThresholds: map[string]float64{"code": 0.42, "math": 0.6},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Every line but the patched ones is byte for byte the original.
	want := orig
	want = replaceOnce(t, want, "\n  threshold: 0.25                    # example value; default auto\n", "\n  threshold: 0.5                    # example value; default auto\n")
	want = replaceOnce(t, want, "\n  aggregation: max                   # example value; default auto\n", "\n  aggregation: mean                   # example value; default auto\n")
	want = replaceOnce(t, want, "\n  top_k: 5\n", "\n  top_k: 3\n")
	want = replaceOnce(t, want, "\n  margin: 0\n", "\n  margin: 0.05\n")
	want = replaceOnce(t, want,
		"    threshold: 0.20                  # example value; default routing.threshold\n",
		"    threshold: 0.42                  # example value; default routing.threshold\n")
	want = replaceOnce(t, want,
		"    condition: \"mathematics, equations, proofs, arithmetic, statistics\"\n",
		"    condition: \"mathematics, equations, proofs, arithmetic, statistics\"\n    threshold: 0.6\n")
	if got := readString(t, path); got != want {
		t.Fatalf("patched file differs from the expected edit:\n%s", lineDiff(want, got))
	}

	cfg, err := Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routing
	if r.Threshold != FixedThreshold(0.5) || r.Aggregation != AggregateMean || r.Margin != 0.05 || r.TopK != 3 {
		t.Errorf("routing = %+v", r)
	}
	for _, rt := range cfg.Routes {
		switch rt.Name {
		case "code":
			if rt.Threshold == nil || *rt.Threshold != 0.42 {
				t.Errorf("code threshold = %v", rt.Threshold)
			}
		case "math":
			if rt.Threshold == nil || *rt.Threshold != 0.6 {
				t.Errorf("math threshold = %v", rt.Threshold)
			}
		}
	}
}

// lineDiff shows the first differing line.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant " + wl + "\ngot  " + gl
		}
	}
	return "(same lines)"
}

const smallConfig = `# A small config.
providers:
  - name: p   # the provider
    kind: openai
    base_url: http://127.0.0.1:1/v1

routes:
  - name: a
    condition: alpha things
    targets: [{provider: p, model: m}]
  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}]}   # flow
  - {name: c, threshold: 0.2, targets: [{provider: p, model: m}]}
  - name: d

    targets:
      - {provider: p, model: m}

default_route: a
`

func TestPatchFileCreatesMissingKeys(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		patch Patch
		want  string
	}{
		{
			name:  "routing section appended",
			body:  smallConfig,
			patch: Patch{Threshold: ptr(0.3), TopK: ptr(2)},
			want:  smallConfig + "routing:\n  threshold: 0.3\n  top_k: 2\n",
		},
		{
			name:  "no final newline",
			body:  strings.TrimSuffix(smallConfig, "\n"),
			patch: Patch{Margin: ptr(0.1)},
			want:  smallConfig + "routing:\n  margin: 0.1\n",
		},
		{
			name:  "keys added to a routing section",
			body:  smallConfig + "routing:\n  # the default\n  threshold: 0.35   # keep me\n  turns: 1\n\n# the end\n",
			patch: Patch{Margin: ptr(0.1), Aggregation: ptr("mean"), Threshold: ptr(0.4)},
			want:  smallConfig + "routing:\n  # the default\n  threshold: 0.4   # keep me\n  turns: 1\n  aggregation: mean\n  margin: 0.1\n\n# the end\n",
		},
		{
			name:  "empty routing",
			body:  smallConfig + "routing:   # tuned below\nlog:\n  level: info\n",
			patch: Patch{Threshold: ptr(0.4)},
			want:  smallConfig + "routing:   # tuned below\n  threshold: 0.4\nlog:\n  level: info\n",
		},
		{
			name:  "empty value",
			body:  smallConfig + "routing:\n  threshold:\n  top_k: 4\n",
			patch: Patch{Threshold: ptr(0.4)},
			want:  smallConfig + "routing:\n  threshold: 0.4\n  top_k: 4\n",
		},
		{
			name:  "flow routing",
			body:  smallConfig + "routing: {threshold: 0.3}\n",
			patch: Patch{Threshold: ptr(0.4), Margin: ptr(0.02)},
			want:  smallConfig + "routing: {threshold: 0.4, margin: 0.02}\n",
		},
		{
			name:  "quoted aggregation keeps its quotes",
			body:  smallConfig + "routing:\n  aggregation: 'max'\n",
			patch: Patch{Aggregation: ptr("mean")},
			want:  smallConfig + "routing:\n  aggregation: 'mean'\n",
		},
		{
			name:  "crlf",
			body:  strings.ReplaceAll(smallConfig+"routing:\n  turns: 1\n", "\n", "\r\n"),
			patch: Patch{TopK: ptr(7)},
			want:  strings.ReplaceAll(smallConfig+"routing:\n  turns: 1\n  top_k: 7\n", "\n", "\r\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "c.yaml", tt.body)
			if err := PatchFile(path, tt.patch); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
			if _, err := Load(path, nil, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPatchFileRouteThresholds(t *testing.T) {
	path := writeConfig(t, "c.yml", smallConfig)
	err := PatchFile(path, Patch{RouteThresholds: map[string]float64{"a": 0.1, "b": 0.25, "c": -0.5, "d": 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := smallConfig
	want = replaceOnce(t, want, "    condition: alpha things\n", "    condition: alpha things\n    threshold: 0.1\n")
	want = replaceOnce(t, want,
		`  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}]}   # flow`,
		`  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}], threshold: 0.25}   # flow`)
	want = replaceOnce(t, want, "{name: c, threshold: 0.2,", "{name: c, threshold: -0.5,")
	want = replaceOnce(t, want, "  - name: d\n", "  - name: d\n    threshold: 1\n")
	if got := readString(t, path); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	cfg, err := Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{0.1, 0.25, -0.5, 1} {
		if th := cfg.Routes[i].Threshold; th == nil || *th != w {
			t.Errorf("routes[%d].threshold = %v, want %v", i, th, w)
		}
	}
}

func TestPatchFileFlowRouteList(t *testing.T) {
	body := "providers: [{name: p, kind: openai, base_url: \"http://h/v1\"}]\n" +
		"routes: [{name: x, condition: \"x, y\", targets: [{provider: p, model: m}]}, {name: y, targets: [{provider: p, model: m}] }]\n" +
		"default_route: y\n"
	path := writeConfig(t, "c.yaml", body)
	if err := PatchFile(path, Patch{RouteThresholds: map[string]float64{"x": 0.3, "y": 0.4}}); err != nil {
		t.Fatal(err)
	}
	want := "providers: [{name: p, kind: openai, base_url: \"http://h/v1\"}]\n" +
		"routes: [{name: x, condition: \"x, y\", targets: [{provider: p, model: m}], threshold: 0.3}, {name: y, targets: [{provider: p, model: m}], threshold: 0.4 }]\n" +
		"default_route: y\n"
	if got := readString(t, path); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// assertUnchanged checks that the file still holds body and that no
// temporary file was left beside it.
func assertUnchanged(t *testing.T, path, body string) {
	t.Helper()
	if got := readString(t, path); got != body {
		t.Fatalf("file changed on failure:\n%s", got)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only the config", names)
	}
}

func TestPatchFileRefuses(t *testing.T) {
	tests := []struct {
		name, file, body string
		patch            Patch
		wantErr          []string
	}{
		{"unknown route", "c.yaml", smallConfig,
			Patch{Threshold: ptr(0.3), RouteThresholds: map[string]float64{"a": 0.3, "nope": 0.3, "zilch": 0.1}},
			[]string{`"nope"`, `"zilch"`}},
		{"json", "c.json", `{"listen": "127.0.0.1:8080"}`, Patch{Threshold: ptr(0.3)},
			[]string{"JSON", "YAML"}},
		{"mas", "c.yaml", "baseURL: http://h/v1\napiKey: k\nmodels:\n  - {condition: '', model: m}\n", Patch{Threshold: ptr(0.3)},
			[]string{"MAS", "YAML"}},
		{"invalid result", "c.yaml", smallConfig, Patch{Threshold: ptr(1.5)},
			[]string{"routing.threshold", "unchanged"}},
		{"invalid route threshold", "c.yaml", smallConfig, Patch{RouteThresholds: map[string]float64{"b": -3}},
			[]string{"routes[1].threshold"}},
		{"bad aggregation", "c.yaml", smallConfig, Patch{Aggregation: ptr("median")},
			[]string{"routing.aggregation"}},
		{"routing not a mapping", "c.yaml", smallConfig + "routing: [1]\n", Patch{Threshold: ptr(0.3)},
			[]string{"routing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.file, tt.body)
			err := PatchFile(path, tt.patch)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			assertUnchanged(t, path, tt.body)
		})
	}
}

func TestPatchFileKeepsModeAndFollowsLinks(t *testing.T) {
	path := writeConfig(t, "real.yaml", smallConfig)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if err := PatchFile(link, Patch{TopK: ptr(9)}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got := readString(t, path); !strings.HasSuffix(got, "routing:\n  top_k: 9\n") {
		t.Errorf("target not patched:\n%s", got)
	}
}

func TestPatchFileOddValues(t *testing.T) {
	head := "providers: [{name: p, kind: openai, base_url: \"http://h/v1\"}]\ndefault_route: \"café ☕\"\n"
	tests := []struct {
		name, body, want string
		patch            Patch
	}{
		{"tagged", "routing:\n  threshold: !!float 0.3 # c\n", "routing:\n  threshold: !!float 0.4 # c\n", Patch{Threshold: ptr(0.4)}},
		{"anchored", "routing:\n  top_k: &k 3\n", "routing:\n  top_k: &k 4\n", Patch{TopK: ptr(4)}},
		{"double quoted", "routing:\n  aggregation: \"max\"\n", "routing:\n  aggregation: \"mean\"\n", Patch{Aggregation: ptr("mean")}},
		{"non-ascii before the value",
			"routes:\n  - {name: \"café ☕\", threshold: 0.2, targets: [{provider: p, model: m}]}\n",
			"routes:\n  - {name: \"café ☕\", threshold: 0.3, targets: [{provider: p, model: m}]}\n",
			Patch{RouteThresholds: map[string]float64{"café ☕": 0.3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "c.yaml", head+tt.body)
			if tt.patch.RouteThresholds == nil {
				path = writeConfig(t, "c.yaml", "routes: []\n"+tt.body)
			}
			body := readString(t, path)
			if err := PatchFile(path, tt.patch); err != nil {
				t.Fatal(err)
			}
			if got, want := readString(t, path), strings.Replace(body, tt.body, tt.want, 1); got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}

	// An alias is refused rather than edited through.
	body := "x: &t 0.3\nrouting:\n  threshold: *t\n"
	path := writeConfig(t, "c.yaml", body)
	if err := PatchFile(path, Patch{Threshold: ptr(0.4)}); err == nil || !strings.Contains(err.Error(), "routing.threshold") {
		t.Fatalf("alias: err = %v", err)
	}
	assertUnchanged(t, path, body)
}

// FuzzPatchYAML feeds the patcher arbitrary documents: it must never
// panic, and whatever it returns must hold the patched values and nothing
// else new (patchYAML checks that itself, so an error is the only other
// outcome).
func FuzzPatchYAML(f *testing.F) {
	f.Add(string(Example()))
	f.Add(smallConfig)
	f.Add(smallConfig + "routing: {threshold: 0.3}\n")
	f.Add(smallConfig + "routing:\n  threshold:\n  top_k: &k 4\n")
	f.Add("routes: [{name: a, threshold: !!float 1, targets: []}, {name: b}]\n")
	f.Add("routing:\r\n  aggregation: 'max' # c\r\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p := Patch{
			Threshold:       ptr(0.25),
			Aggregation:     ptr("mean"),
			TopK:            ptr(3),
			RouteThresholds: map[string]float64{"a": 0.5},
		}
		out, err := patchYAML("f.yaml", []byte(doc), p)
		if err != nil {
			return
		}
		raw, err := decodeFile("f.yaml", out)
		if err != nil {
			t.Fatalf("patched document does not parse: %v\n%s", err, out)
		}
		if r, _ := raw["routing"].(map[string]any); r == nil || r["aggregation"] != "mean" {
			t.Fatalf("routing not patched:\n%s", out)
		}
	})
}

const listConfig = `# Routes with examples.
providers:
  - name: p   # the provider
    kind: openai
    base_url: http://127.0.0.1:1/v1

routes:
  - name: a
    condition: alpha things   # a
    targets: [{provider: p, model: m}]
  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}]}   # flow
  - name: c
    condition: gamma
    examples:
      - first gamma   # the first
      - "second gamma"
    # after the examples
    targets:
      - {provider: p, model: m}
  - name: d
    examples: [one d, "two d"]  # inline
    targets: [{provider: p, model: m}]
  - name: e
    examples:   # none yet
    targets: [{provider: p, model: m}]

default_route: a
`

const expandComment = "written by qwen2.5-coder-0.5b via routes expand, 2026-12-06"

func TestPatchFileAppendsExamplesAndNegatives(t *testing.T) {
	path := writeConfig(t, "c.yaml", listConfig)
	err := PatchFile(path, Patch{
		RouteExamples: map[string][]string{
			"a": {"how do I sort a map by value?", "what is an alpha particle"},
			"b": {"explain beta decay"},
			"c": {"gamma rays and cancer"},
			"d": {"three d"},
			"e": {"an example for e"},
		},
		RouteNegatives: map[string][]string{
			"a": {"alpha male behaviour"},
			"c": {"gamma: the third letter"},
		},
		Comment: expandComment,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := "# " + expandComment
	want := listConfig
	want = replaceOnce(t, want, "    condition: alpha things   # a\n",
		"    condition: alpha things   # a\n"+
			"    examples:\n      "+c+"\n      - how do I sort a map by value?\n      - what is an alpha particle\n"+
			"    negatives:\n      "+c+"\n      - alpha male behaviour\n")
	want = replaceOnce(t, want,
		`  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}]}   # flow`,
		`  - {name: b, condition: "beta: things", targets: [{provider: p, model: m}],`+"\n"+
			"      examples: [\n        "+c+"\n        \"explain beta decay\"]}   # flow")
	want = replaceOnce(t, want, "      - \"second gamma\"\n",
		"      - \"second gamma\"\n      "+c+"\n      - gamma rays and cancer\n"+
			"    negatives:\n      "+c+"\n      - \"gamma: the third letter\"\n")
	want = replaceOnce(t, want, `    examples: [one d, "two d"]  # inline`,
		`    examples: [one d, "two d",`+"\n        "+c+"\n        \"three d\"]  # inline")
	want = replaceOnce(t, want, "    examples:   # none yet\n",
		"    examples:   # none yet\n      "+c+"\n      - an example for e\n")
	if got := readString(t, path); got != want {
		t.Fatalf("patched file differs from the expected edit:\n%s\n\ngot:\n%s", lineDiff(want, got), got)
	}

	cfg, err := Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantLists := map[string][2][]string{
		"a": {{"how do I sort a map by value?", "what is an alpha particle"}, {"alpha male behaviour"}},
		"b": {{"explain beta decay"}, nil},
		"c": {{"first gamma", "second gamma", "gamma rays and cancer"}, {"gamma: the third letter"}},
		"d": {{"one d", "two d", "three d"}, nil},
		"e": {{"an example for e"}, nil},
	}
	for _, r := range cfg.Routes {
		w := wantLists[r.Name]
		if !slices.Equal(r.Examples, w[0]) || !slices.Equal(r.Negatives, w[1]) {
			t.Errorf("route %s: examples %q negatives %q, want %q %q", r.Name, r.Examples, r.Negatives, w[0], w[1])
		}
	}
}

func TestPatchFileListStyles(t *testing.T) {
	head := "providers: [{name: p, kind: openai, base_url: \"http://h/v1\"}]\ndefault_route: r\n"
	add := Patch{RouteExamples: map[string][]string{"r": {"new one here"}}, RouteNegatives: map[string][]string{"r": {"not this one"}}}
	tests := []struct {
		name, body, want string
		patch            Patch
	}{
		{"indentless block list, no comment",
			"routes:\n- name: r\n  examples:\n  - old one\n  targets: [{provider: p, model: m}]\n",
			"routes:\n- name: r\n  examples:\n  - old one\n  - new one here\n  negatives:\n  - not this one\n  targets: [{provider: p, model: m}]\n",
			add},
		{"explicit null",
			"routes:\n  - name: r\n    examples: ~   # later\n    negatives: null\n    targets: [{provider: p, model: m}]\n",
			"routes:\n  - name: r\n    examples:   # later\n      - new one here\n    negatives:\n      - not this one\n    targets: [{provider: p, model: m}]\n",
			add},
		{"empty flow list",
			"routes:\n  - name: r\n    examples: []\n    targets: [{provider: p, model: m}]\n",
			"routes:\n  - name: r\n    examples: [\n        \"new one here\"]\n    targets: [{provider: p, model: m}]\n",
			Patch{RouteExamples: add.RouteExamples}},
		{"flow list with a trailing comma over lines",
			"routes:\n  - name: r\n    examples: [\n      a b c,   # first\n    ]\n    targets: [{provider: p, model: m}]\n",
			"routes:\n  - name: r\n    examples: [\n      a b c,   # first\n        \"new one here\"\n    ]\n    targets: [{provider: p, model: m}]\n",
			Patch{RouteExamples: add.RouteExamples}},
		{"flow route list with a threshold",
			"routes: [{name: r, targets: [{provider: p, model: m}]}]\n",
			"routes: [{name: r, targets: [{provider: p, model: m}], threshold: 0.4,\n    examples: [\n      # c\n      \"new one here\"],\n    negatives: [\n      # c\n      \"not this one\"]}]\n",
			Patch{RouteThresholds: map[string]float64{"r": 0.4}, RouteExamples: add.RouteExamples, RouteNegatives: add.RouteNegatives, Comment: "c"}},
		{"crlf",
			"routes:\r\n  - name: r\r\n    examples:\r\n      - old one\r\n    targets: [{provider: p, model: m}]\r\n",
			"routes:\r\n  - name: r\r\n    examples:\r\n      - old one\r\n      # c\r\n      - new one here\r\n    targets: [{provider: p, model: m}]\r\n",
			Patch{RouteExamples: add.RouteExamples, Comment: "c\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "c.yaml", head+tt.body)
			if err := PatchFile(path, tt.patch); err != nil {
				t.Fatal(err)
			}
			if got := readString(t, path); got != head+tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, head+tt.want)
			}
			if _, err := Load(path, nil, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPatchFileQuotesItems(t *testing.T) {
	tricky := []string{
		`say "hi": now`,
		"line one\nline two",
		"# not a comment",
		"- not a list",
		"it's a 'quote'",
		"yes",
		"null",
		"3.14",
		"a: b",
		"x #y",
		"tab\there",
		"trailing space ",
		" leading space",
		"émoji ☕ ok",
		"[brackets], {braces}",
		"50% off & *stars*",
		"!tag and &anchor",
		"back\\slash",
		"ctrl \x01 char",
	}
	for _, body := range []string{listConfig, smallConfig} {
		path := writeConfig(t, "c.yaml", body)
		err := PatchFile(path, Patch{
			RouteExamples:  map[string][]string{"a": tricky, "b": tricky},
			RouteNegatives: map[string][]string{"a": tricky, "b": tricky},
			Comment:        "odd: # items \"here\"",
		})
		if err != nil {
			t.Fatal(err)
		}
		got := readString(t, path)
		raw, err := decodeFile(path, []byte(got))
		if err != nil {
			t.Fatal(err)
		}
		routes := raw["routes"].([]any)
		for i := range 2 {
			r := routes[i].(map[string]any)
			for _, key := range []string{"examples", "negatives"} {
				var items []string
				for _, x := range r[key].([]any) {
					items = append(items, x.(string))
				}
				if !slices.Equal(items, tricky) {
					t.Errorf("routes[%d].%s reads back as %q, want %q\n%s", i, key, items, tricky, got)
				}
			}
		}
		if !strings.Contains(got, "      - it's a 'quote'\n") || !strings.Contains(got, "      - émoji ☕ ok\n") {
			t.Errorf("plain-safe items are quoted:\n%s", got)
		}
		if !strings.Contains(got, "      # odd: # items \"here\"\n") {
			t.Errorf("comment missing:\n%s", got)
		}
	}
}

func TestPatchFileListRefusals(t *testing.T) {
	tests := []struct {
		name, body string
		patch      Patch
		wantErr    []string
	}{
		{"unknown route", listConfig,
			Patch{RouteExamples: map[string][]string{"a": {"x y z"}, "nope": {"x y z"}}, RouteNegatives: map[string][]string{"zilch": {"q"}}},
			[]string{`"nope"`, `"zilch"`}},
		{"not UTF-8", listConfig,
			Patch{RouteExamples: map[string][]string{"a": {"bad \xff byte"}}},
			[]string{"UTF-8"}},
		{"examples not a list", strings.Replace(listConfig, "    examples:   # none yet\n", "    examples: just one\n", 1),
			Patch{RouteExamples: map[string][]string{"e": {"x y z"}}},
			[]string{"routes[4].examples", "not a list"}},
		{"last item spans lines", strings.Replace(listConfig, "      - \"second gamma\"\n", "      - >\n        folded\n        gamma\n", 1),
			Patch{RouteExamples: map[string][]string{"c": {"x y z"}}},
			[]string{"routes[2].examples", "by hand"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "c.yaml", tt.body)
			err := PatchFile(path, tt.patch)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			assertUnchanged(t, path, tt.body)
		})
	}

	// An empty list patches nothing, and names no route.
	path := writeConfig(t, "c.yaml", listConfig)
	if err := PatchFile(path, Patch{RouteExamples: map[string][]string{"nope": nil}, Comment: "x"}); err != nil {
		t.Fatal(err)
	}
	assertUnchanged(t, path, listConfig)
}

// FuzzPatchRouteLists appends to route "a" of arbitrary documents: the
// patcher must never panic, and whatever it returns must read back with
// the new items last in both lists (patchYAML checks that nothing else
// changed).
func FuzzPatchRouteLists(f *testing.F) {
	f.Add(listConfig, "x: y # z")
	f.Add(smallConfig, "")
	f.Add("routes: [{name: a, examples: [b, ], targets: []}]\n", "\"")
	f.Add("routes:\n- name: a\n  examples:\n  - {k: v}\n", "c")
	f.Add("routes:\r\n  - name: a\r\n    negatives: ~\r\n", "c")
	f.Fuzz(func(t *testing.T, doc, item string) {
		if !utf8.ValidString(item) {
			return
		}
		p := Patch{
			RouteExamples:  map[string][]string{"a": {item, "second item"}},
			RouteNegatives: map[string][]string{"a": {"a near miss"}},
			Comment:        "fuzz " + item,
		}
		out, err := patchYAML("f.yaml", []byte(doc), p)
		if err != nil {
			return
		}
		raw, err := decodeFile("f.yaml", out)
		if err != nil {
			t.Fatalf("patched document does not parse: %v\n%s", err, out)
		}
		routes, _ := raw["routes"].([]any)
		for _, r := range routes {
			m, _ := r.(map[string]any)
			if m == nil || m["name"] != "a" {
				continue
			}
			ex, _ := m["examples"].([]any)
			neg, _ := m["negatives"].([]any)
			if len(ex) < 2 || ex[len(ex)-2] != item || ex[len(ex)-1] != "second item" || len(neg) < 1 || neg[len(neg)-1] != "a near miss" {
				t.Fatalf("lists not appended: %v %v\n%s", ex, neg, out)
			}
			return
		}
		t.Fatalf("no route a in the result:\n%s", out)
	})
}
