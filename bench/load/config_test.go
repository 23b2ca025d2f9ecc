// Package load_test checks the switchyard configs of bench/load.sh: they
// load and validate once the script fills them in, and the auto-routed one
// keeps the routes of the config serve writes on a first run, as
// docs/LOAD.md says.
package load_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/config"
)

// load fills in name as bench/load.sh does and loads it.
func load(t *testing.T, name string) *config.Config {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("LISTEN", "127.0.0.1:1", "UPSTREAM", "http://127.0.0.1:2/v1").Replace(string(b))
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

func TestConfigs(t *testing.T) {
	if cfg := load(t, "switchyard.yaml"); len(cfg.Routes) != 0 {
		t.Errorf("switchyard.yaml: %d routes, want none (explicit model only)", len(cfg.Routes))
	}
	got := load(t, "switchyard-routed.yaml")
	path := filepath.Join(t.TempDir(), "first-run.yaml")
	if err := os.WriteFile(path, config.FirstRun(nil), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := config.Load(path, func() []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultRoute != want.DefaultRoute {
		t.Errorf("default_route %q, first run's %q", got.DefaultRoute, want.DefaultRoute)
	}
	if len(got.Routes) != len(want.Routes) {
		t.Fatalf("%d routes, first run's %d", len(got.Routes), len(want.Routes))
	}
	for i, w := range want.Routes {
		g := got.Routes[i]
		if g.Name != w.Name || g.Condition != w.Condition || !slices.Equal(g.Examples, w.Examples) {
			t.Errorf("route %d: %q %q %q, first run's %q %q %q", i, g.Name, g.Condition, g.Examples, w.Name, w.Condition, w.Examples)
		}
	}
	if got.Routing != want.Routing || got.Embedder != want.Embedder {
		t.Errorf("routing or embedder settings differ from the first run's:\n%+v\n%+v", got.Routing, want.Routing)
	}
}
