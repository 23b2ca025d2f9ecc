package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPlace: validation problems land on their key's line, syntax errors
// on the line YAML names.
func TestPlace(t *testing.T) {
	text := "listen: 127.0.0.1:8080\nrouting:\n  top_k: 0\nproviders:\n  - {name: a, kind: openai, base_url: http://x}\n  - name: b\n    kind: nope\n"
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	_, err := Load(path, nil, nil)
	if err == nil {
		t.Fatal("no problems found")
	}
	msgs := Problems(err)
	lines := map[string]int{}
	for _, p := range Place([]byte(text), msgs) {
		lines[p.Path] = p.Line
	}
	if lines["routing.top_k"] != 3 || lines["providers[1].kind"] != 7 {
		t.Errorf("placed %v from %q", lines, msgs)
	}
	if p := Place([]byte("a: [1\n"), []string{"yaml: line 2: did not find expected ',' or ']'"}); p[0].Line != 2 {
		t.Errorf("syntax error placed at %d", p[0].Line)
	}
}
