package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knadh/koanf/parsers/yaml"
)

// The configuration reference shows the example config in full; it must be
// the one serve writes.
func TestDocsShowTheExample(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "\n## The reference\n"
	page := string(b)
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("docs/configuration.md has no %q", marker)
	}
	var block string
	for _, f := range fences(page[i:]) {
		if f.lang == "yaml" {
			block = f.body
			break
		}
	}
	if want := string(Example()); block != want {
		t.Errorf("docs/configuration.md's example config differs from Example(); paste it again:\n%s", want)
	}
}

// TestDocsYAMLExamples loads every ```yaml block of README.md and docs/*.md
// as a switchyard config, so that an example a reader copies cannot have
// gone stale. The conventions, written as an HTML comment on the line
// before the block:
//
//   - none: the block is a fragment. It is laid over the example config
//     (Example(): maps merge key by key; lists of named entries, such as
//     providers, routes and api_keys, merge by name, a fragment's entry
//     replacing the example's of that name; any other value replaces), so
//     it may name the example's providers and routes, and the result must
//     load and validate as serve would load it.
//   - <!-- standalone -->: the block is a whole config and must load alone.
//   - <!-- syntax-only -->: not a switchyard config (compose files, …),
//     or a sketch with placeholders (PORT, ...); only its YAML syntax is
//     checked.
func TestDocsYAMLExamples(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"../README.md"}, files...)
	checked := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fences(string(b)) {
			if f.lang != "yaml" {
				continue
			}
			checked++
			if err := checkYAMLExample(f); err != nil {
				t.Errorf("%s:%d: a yaml example does not load (%s): %v", strings.TrimPrefix(file, "../"), f.line, f.mark, err)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d yaml blocks found: is the fence parser broken?", checked)
	}
}

// A stale example must fail the check, in each of its forms.
func TestDocsYAMLExamplesCatchStaleOnes(t *testing.T) {
	bad := []struct{ name, doc string }{
		{"unknown key", "```yaml\nrouting:\n  treshold: 0.3\n```\n"},
		{"wrong type", "```yaml\nrouting:\n  top_k: many\n```\n"},
		{"invalid value", "```yaml\nproviders:\n  - {name: x, kind: nosuchkind, base_url: http://127.0.0.1:1}\n```\n"},
		{"unknown provider in a route", "```yaml\njudge:\n  provider: nobody\n  model: m\n```\n"},
		{"standalone missing what the example had", "<!-- standalone -->\n```yaml\ndefault_route: chat\n```\n"},
		{"syntax-only with broken YAML", "<!-- syntax-only -->\n```yaml\nservices: [\n```\n"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fs := fences(tt.doc)
			if len(fs) != 1 {
				t.Fatalf("%d fences in %q", len(fs), tt.doc)
			}
			if err := checkYAMLExample(fs[0]); err == nil {
				t.Errorf("a stale example passed: %q", tt.doc)
			}
		})
	}
	good := fences("Some text.\n\n```yaml\nrouting:\n  top_k: 3\n```\n\n<!-- syntax-only -->\n```yaml\nservices: {a: 1}\n```\n")
	for _, f := range good {
		if err := checkYAMLExample(f); err != nil {
			t.Errorf("a good example failed (%s): %v", f.mark, err)
		}
	}
}

func checkYAMLExample(f fence) error {
	switch f.mark {
	case "syntax-only":
		_, err := yaml.Parser().Unmarshal([]byte(f.body))
		return err
	case "standalone":
		_, err := parse("example.yaml", []byte(f.body), nil, nil)
		return err
	case "":
		base, err := decodeFile("example.yaml", Example())
		if err != nil {
			return err
		}
		frag, err := decodeFile("fragment.yaml", []byte(f.body))
		if err != nil {
			return err
		}
		merged, err := yaml.Parser().Marshal(overlay(base, frag))
		if err != nil {
			return err
		}
		_, err = parse("example.yaml", merged, nil, nil)
		return err
	default:
		return errors.New("unknown mark <!-- " + f.mark + " -->")
	}
}

// overlay lays over on base: maps merge key by key, lists of named entries
// merge by name, anything else replaces.
func overlay(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = overlay(bm, om)
			continue
		}
		bl, ok1 := out[k].([]any)
		ol, ok2 := v.([]any)
		if ok1 && ok2 && named(bl) && named(ol) {
			out[k] = mergeNamed(bl, ol)
			continue
		}
		out[k] = v
	}
	return out
}

// named reports whether every entry of l is a map with a string name.
func named(l []any) bool {
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return true
}

// mergeNamed returns base with over's entries in place of base's of the
// same name, and over's others appended.
func mergeNamed(base, over []any) []any {
	out := append([]any(nil), base...)
	for _, o := range over {
		name := o.(map[string]any)["name"]
		replaced := false
		for i, b := range out {
			if b.(map[string]any)["name"] == name {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// fence is one fenced code block of a Markdown file.
type fence struct {
	lang string // the info string's first word: yaml, sh, json, …
	body string // the lines between the fences, each ending in "\n"
	line int    // 1-based line of the opening fence
	mark string // "x" when the line before the block (blanks skipped) is <!-- x -->
}

// fences returns the fenced blocks of a Markdown text (``` fences, at any
// indentation, which is removed from the body).
func fences(text string) []fence {
	lines := strings.Split(text, "\n")
	var out []fence
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(trimmed, "```") {
			continue
		}
		indent := len(lines[i]) - len(trimmed)
		f := fence{lang: strings.Fields(trimmed[3:] + " x")[0], line: i + 1}
		if f.lang == "x" {
			f.lang = ""
		}
		for j := i - 1; j >= 0; j-- {
			if p := strings.TrimSpace(lines[j]); p != "" {
				if strings.HasPrefix(p, "<!--") && strings.HasSuffix(p, "-->") {
					f.mark = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(p, "<!--"), "-->"))
				}
				break
			}
		}
		var body strings.Builder
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			l := lines[j]
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body.WriteString(l + "\n")
		}
		f.body = body.String()
		out = append(out, f)
		i = j
	}
	return out
}
