// Package modeltest locates the installed embedding model for tests, in the
// spirit of net/http/httptest: test support, imported only by _test files.
//
// Tests that need the real model fail, rather than skip, when it is missing:
// a suite that passes by skipping its semantic tests proves nothing. The
// failure names the command that installs it.
package modeltest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-router/switchyard/embed/modelstore"
)

// Dir returns the directory of the installed all-MiniLM-L6-v2:
// $SWITCHYARD_MODEL_DIR if set, else the default models root
// ($SWITCHYARD_MODELS, $XDG_CACHE_HOME/switchyard/models, ~/.cache/…).
// It fails tb if the model's files are not there.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SWITCHYARD_MODEL_DIR")
	if dir == "" {
		root, err := modelstore.Root(os.Getenv)
		if err != nil {
			tb.Fatalf("locate the embedding model: %v; run bash scripts/fetch-model.sh", err)
		}
		dir = modelstore.MiniLM().Dir(root)
	}
	for _, f := range []string{"model.safetensors", "tokenizer.json", "config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			tb.Fatalf("the embedding model is not installed in %s (%v): run bash scripts/fetch-model.sh", dir, err)
		}
	}
	return dir
}
