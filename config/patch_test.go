package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	want = replaceOnce(t, want, "\n  threshold: 0.25\n", "\n  threshold: 0.5\n")
	want = replaceOnce(t, want, "\n  aggregation: max\n", "\n  aggregation: mean\n")
	want = replaceOnce(t, want, "\n  top_k: 5\n", "\n  top_k: 3\n")
	want = replaceOnce(t, want, "\n  margin: 0\n", "\n  margin: 0.05\n")
	want = replaceOnce(t, want,
		"    threshold: 0.20                  # optional; default routing.threshold\n",
		"    threshold: 0.42                  # optional; default routing.threshold\n")
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
	if r.Threshold != 0.5 || r.Aggregation != AggregateMean || r.Margin != 0.05 || r.TopK != 3 {
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
