package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a config text, placed at its line when
// it can be (0 when it cannot).
type Problem struct {
	Line    int    `json:"line"`
	Path    string `json:"path,omitempty"` // the key, as Validate names it: routing.top_k, providers[2].kind
	Message string `json:"message"`
}

var (
	yamlLine = regexp.MustCompile(`line (\d+)`)
	keyPath  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\]|\.[A-Za-z_][A-Za-z0-9_]*)*)[: ]`)
)

// Problems lists an error's problems: Load joins every problem it finds,
// so the first joined error in the chain is the list; a lone problem is
// the innermost error (without the file's name in front).
func Problems(err error) []string {
	inner := err
	for e := err; e != nil; e = errors.Unwrap(e) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			var out []string
			for _, p := range j.Unwrap() {
				out = append(out, Problems(p)...)
			}
			return out
		}
		inner = e
	}
	return []string{inner.Error()}
}

// Place gives each problem (as Load reports them, one per line of its
// joined error) the line of text it concerns: the line a YAML syntax
// error names, or the line of the key a validation problem starts with.
func Place(text []byte, problems []string) []Problem {
	var doc yaml.Node
	parsed := yaml.Unmarshal(text, &doc) == nil
	out := make([]Problem, 0, len(problems))
	for _, p := range problems {
		pr := Problem{Message: p}
		if m := keyPath.FindStringSubmatch(p); m != nil {
			pr.Path = m[1]
			if parsed {
				pr.Line = lineOf(&doc, m[1])
			}
		}
		if pr.Line == 0 {
			if m := yamlLine.FindStringSubmatch(p); m != nil {
				pr.Line, _ = strconv.Atoi(m[1])
			}
		}
		out = append(out, pr)
	}
	return out
}

// lineOf finds path (a.b[2].c, or a list entry named in brackets:
// providers[openai]) in doc, and returns the line of the deepest part of
// it that exists; 0 when not even its first key does.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for part := range strings.SplitSeq(strings.ReplaceAll(path, "[", ".["), ".") {
		if part == "" {
			continue
		}
		switch {
		case strings.HasPrefix(part, "["):
			idx := strings.Trim(part, "[]")
			if n.Kind != yaml.SequenceNode {
				return line
			}
			var next *yaml.Node
			if i, err := strconv.Atoi(idx); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			} else {
				for _, item := range n.Content { // an entry named by its name
					if v := valueOf(item, "name"); v != nil && v.Value == idx {
						next = item
					}
				}
			}
			if next == nil {
				return line
			}
			n, line = next, next.Line
		default:
			v := valueOf(n, part)
			if v == nil {
				return line
			}
			line = keyLine(n, part)
			n = v
		}
	}
	return line
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}
