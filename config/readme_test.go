package config

import (
	"os"
	"strings"
	"testing"
)

// The README shows the example config in full; it must be the one serve
// writes.
func TestREADMEShowsTheExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "The reference, as `serve` writes it on first run:\n\n```yaml\n"
	readme := string(b)
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("README has no %q", marker)
	}
	block := readme[i+len(marker):]
	block = block[:strings.Index(block, "\n```\n")+1]
	if want := string(Example()); block != want {
		t.Errorf("README's example config differs from Example(); paste it again:\n%s", want)
	}
}
