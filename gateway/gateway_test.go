package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

// TestProblems: a reload's failure lists every problem config.Load found,
// one by one.
func TestProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("routing: {top_k: 0, turns: 0}\n"), 0o644)
	_, err := config.Load(path, nil, nil)
	if got := config.Problems(err); len(got) != 2 || !strings.HasPrefix(got[0], "routing.") {
		t.Errorf("problems = %q", got)
	}
	os.WriteFile(path, []byte("routing: {top_k: 0}\n"), 0o644)
	_, err = config.Load(path, nil, nil)
	if got := config.Problems(err); len(got) != 1 || !strings.Contains(got[0], "routing.top_k") {
		t.Errorf("problems = %q", got)
	}
}
