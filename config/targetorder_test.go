package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const orderConfig = `# team config
providers:
  - {name: openai, kind: openai, base_url: http://127.0.0.1:1/v1}
  - {name: groq, kind: openai, base_url: http://127.0.0.1:2/v1}
  - {name: home, kind: ollama, base_url: http://127.0.0.1:11434}

routes:
  - name: code
    condition: programming
    targets:
      # the best coder
      - provider: openai
        model: gpt-4o
      - {model: groq/llama-3.3-70b}   # fast
      - {provider: home, model: qwen2.5-coder}

    fallback: priority
  - name: chat
    targets: [{provider: home, model: llama3.1}, {model: openai/gpt-4o-mini}]
default_route: code

aliases:
  fast:
    - {provider: groq, model: llama-3.1-8b}
    - {provider: home, model: llama3.1}
`

func TestMoveTarget(t *testing.T) {
	tests := []struct {
		name     string
		ref      ChainRef
		target   string
		position int
		want     []string // the chain's targets after
		wantText string   // a line the file must still hold, as it was
	}{
		{"first to last, comments travel", ChainRef{}, "openai/gpt-4o", 3, []string{"groq/llama-3.3-70b", "home/qwen2.5-coder", "openai/gpt-4o"}, "      # the best coder\n      - provider: openai\n        model: gpt-4o\n\n    fallback: priority"},
		{"last to first", ChainRef{Route: "code"}, "home/qwen2.5-coder", 1, []string{"home/qwen2.5-coder", "openai/gpt-4o", "groq/llama-3.3-70b"}, "- {model: groq/llama-3.3-70b}   # fast\n"},
		{"remove", ChainRef{}, "groq/llama-3.3-70b", 0, []string{"openai/gpt-4o", "home/qwen2.5-coder"}, "# team config"},
		{"flow list", ChainRef{Route: "chat"}, "openai/gpt-4o-mini", 1, []string{"openai/gpt-4o-mini", "home/llama3.1"}, "targets: [{model: openai/gpt-4o-mini}, {provider: home, model: llama3.1}]"},
		{"alias", ChainRef{Alias: "fast"}, "home/llama3.1", 1, []string{"home/llama3.1", "groq/llama-3.1-8b"}, "  fast:\n    - {provider: home, model: llama3.1}\n    - {provider: groq, model: llama-3.1-8b}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(path, []byte(orderConfig), 0o600)
			if err := MoveTarget(path, tt.ref, tt.target, tt.position); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			cfg, err := Load(path, nil, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			ts, _, err := cfg.ChainTargets(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.Provider+"/"+x.Model)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("targets %v, want %v\n%s", got, tt.want, data)
			}
			if !strings.Contains(string(data), tt.wantText) {
				t.Errorf("file lacks %q:\n%s", tt.wantText, data)
			}
		})
	}
}

func TestMoveTargetErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(orderConfig), 0o600)
	for _, tt := range []struct {
		ref      ChainRef
		target   string
		position int
		want     string
	}{
		{ChainRef{}, "openai/gpt4o", 1, `no target "openai/gpt4o", did you mean "openai/gpt-4o"`},
		{ChainRef{Route: "cod"}, "openai/gpt-4o", 1, `no route "cod", did you mean "code"`},
		{ChainRef{Alias: "fats"}, "x/y", 1, `no alias "fats", did you mean "fast"`},
		{ChainRef{}, "openai/gpt-4o", 4, "out of range"},
	} {
		err := MoveTarget(path, tt.ref, tt.target, tt.position)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v %s %d: err %v, want %q", tt.ref, tt.target, tt.position, err, tt.want)
		}
	}
	if data, _ := os.ReadFile(path); string(data) != orderConfig {
		t.Errorf("a failed edit changed the file:\n%s", data)
	}
}

// FuzzMoveTarget: whatever the file, an edit never panics, and an edit
// that succeeds leaves a file that loads with the target where asked.
func FuzzMoveTarget(f *testing.F) {
	f.Add(orderConfig, "openai/gpt-4o", 2)
	f.Add(orderConfig, "home/llama3.1", 0)
	f.Add(strings.ReplaceAll(orderConfig, "\n", "\r\n"), "groq/llama-3.3-70b", 1)
	f.Fuzz(func(t *testing.T, data, target string, position int) {
		out, err := moveTarget("f.yaml", []byte(data), ChainRef{}, target, position)
		if err != nil {
			return
		}
		cfg, err := parse("f.yaml", out, nil, nil)
		if err != nil {
			return // the caller checks this too, and refuses to write
		}
		ts, _, err := cfg.ChainTargets(ChainRef{})
		if err != nil {
			t.Fatalf("edited file lost its default route: %v", err)
		}
		if position > 0 && (position > len(ts) || ts[position-1].Provider+"/"+ts[position-1].Model != target) {
			t.Fatalf("target %s not at %d:\n%s", target, position, out)
		}
	})
}
