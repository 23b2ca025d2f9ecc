package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFirstRunConfig(t *testing.T) {
	const secret = "sk-test-0123456789abcdef"
	tests := []struct {
		name      string
		env       map[string]string
		providers []string // configured, in order
		targets   []string // every route's target providers, in order
	}{
		{"no key: echo serves every route", nil, []string{"echo"}, []string{"echo"}},
		{"openai key", map[string]string{OpenAIKeyEnv: secret}, []string{"openai", "echo"}, []string{"openai"}},
		{"anthropic key", map[string]string{AnthropicKeyEnv: secret}, []string{"anthropic", "echo"}, []string{"anthropic"}},
		{"both keys", map[string]string{OpenAIKeyEnv: secret, AnthropicKeyEnv: secret},
			[]string{"openai", "anthropic", "echo"}, []string{"openai", "anthropic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := string(FirstRun(func(k string) string { return tt.env[k] }))
			if strings.Contains(text, secret) {
				t.Fatal("the first-run config holds a key's value")
			}
			c, err := Load(writeFile(t, "config.yaml", text), nil, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			var names []string
			for _, p := range c.Providers {
				names = append(names, p.Name)
				// The first run polls nothing.
				if p.HealthCheckPeriod != 0 || p.Discover {
					t.Errorf("provider %s polls (health_check_period %v, discover %v)", p.Name, p.HealthCheckPeriod, p.Discover)
				}
				if p.Kind == ProviderEcho && !slices.Contains(p.Models, "echo") {
					t.Errorf("echo provider does not serve the model echo: %v", p.Models)
				}
			}
			if !slices.Equal(names, tt.providers) {
				t.Errorf("providers %v, want %v", names, tt.providers)
			}
			if len(c.Routes) < 2 || c.DefaultRoute == "" {
				t.Fatalf("routes %d, default %q", len(c.Routes), c.DefaultRoute)
			}
			for _, r := range c.Routes {
				var got []string
				for _, tg := range r.Targets {
					got = append(got, tg.Provider)
				}
				if !slices.Equal(got, tt.targets) {
					t.Errorf("route %s targets %v, want %v", r.Name, got, tt.targets)
				}
			}
			// Routing is left to its defaults.
			if c.Routing != Default().Routing {
				t.Errorf("routing %+v differs from the defaults", c.Routing)
			}
		})
	}
}

func TestWriteFirstRunNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.yaml")
	if err := WriteFirstRun(path, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteFirstRun(path, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: %v, want fs.ErrExist", err)
	}
}

func TestEchoProviderNeedsNoURLOrKey(t *testing.T) {
	ok := "providers: [{name: demo, kind: echo}]\nroutes: [{name: chat, targets: [{provider: demo, model: anything}]}]\ndefault_route: chat\n"
	if _, err := Load(writeFile(t, "ok.yaml", ok), nil, nil); err != nil {
		t.Fatalf("a bare echo provider: %v", err)
	}
	bad := "providers: [{name: demo, kind: echo, base_url: 'http://x', api_key_env: KEY}]\nroutes: [{name: chat, targets: [{provider: demo, model: m}]}]\ndefault_route: chat\n"
	_, err := Load(writeFile(t, "bad.yaml", bad), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "providers[0].base_url: not used by kind echo") ||
		!strings.Contains(err.Error(), "providers[0].api_key_env: not used by kind echo") {
		t.Fatalf("echo with a URL and a key: %v", err)
	}
}
