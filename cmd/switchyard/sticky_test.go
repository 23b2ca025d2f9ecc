package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/router"
)

// routing.sticky and routing.turn_decay reach the router: with the example
// config's routes and the real model, a follow-up stays on its
// conversation's route.
func TestStickyWiring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, config.Example(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func() []string {
		return []string{"SWITCHYARD_ROUTING__STICKY__ENABLED=true", "SWITCHYARD_ROUTING__TURNS=2"}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := testRuntime(t, cfg)

	text := func(role, s string) providers.Message {
		return providers.Message{Role: role, Parts: []providers.Part{{Type: "text", Text: s}}}
	}
	for _, step := range []struct {
		msgs      []providers.Message
		route, by string
	}{
		{[]providers.Message{text("user", "write a python function that reverses a list")}, "code", router.ByEmbedding},
		{[]providers.Message{
			text("user", "write a python function that reverses a list"),
			text("assistant", "def rev(xs): return xs[::-1]"),
			text("user", "make it shorter"),
		}, "code", ""},
	} {
		d, err := rt.Router.Decide(t.Context(), &providers.Request{Model: "auto", Messages: step.msgs, Session: "wiring"})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q → %s by %s (%s)", d.Text, d.Route, d.DecidedBy, d.Fallback)
		if d.Route != step.route || step.by != "" && d.DecidedBy != step.by {
			t.Errorf("%q: %s by %s, want %s", d.Text, d.Route, d.DecidedBy, step.route)
		}
		if d.Session == "" {
			t.Errorf("%q: no session key", d.Text)
		}
	}
}
