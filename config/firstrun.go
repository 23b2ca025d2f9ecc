package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Provider keys FirstRun looks for: a variable that holds a value puts its
// provider in the first-run config.
const (
	OpenAIKeyEnv    = "OPENAI_API_KEY"
	AnthropicKeyEnv = "ANTHROPIC_API_KEY"
)

// firstRunRoute is one route of the first-run config and the model each
// provider serves it with.
type firstRunRoute struct {
	name, condition   string
	examples          []string
	openai, anthropic string
	isDefault         bool
}

var firstRunRoutes = []firstRunRoute{
	{name: "code", condition: "programming, code examples, debugging, software errors",
		examples: []string{"write a function that parses dates", "fix this stack trace", "why does my Go program deadlock"},
		openai:   "gpt-4o", anthropic: "claude-sonnet-4-5"},
	{name: "math", condition: "mathematics, equations, proofs, arithmetic, statistics",
		examples: []string{"solve for x in 3x + 7 = 22", "prove that the square root of 2 is irrational", "what is 17% of 240"},
		openai:   "o3-mini", anthropic: "claude-sonnet-4-5"},
	{name: "creative", condition: "creative writing, stories, poems, song lyrics, fiction",
		examples: []string{"write a haiku about autumn rain", "tell me a bedtime story about a brave turtle", "lyrics for a song about a broken truck"},
		openai:   "gpt-4o", anthropic: "claude-sonnet-4-5"},
	{name: "translation", condition: "translate text from one language to another",
		examples: []string{"translate this paragraph into French", "what is the Japanese word for umbrella", "traduce esto al inglés"},
		openai:   "gpt-4o-mini", anthropic: "claude-haiku-4-5"},
	{name: "summarise", condition: "summarise or shorten a long text, meeting notes, articles",
		examples: []string{"summarise this article in three bullet points", "give me a tl;dr of these meeting notes", "list the main takeaways from this paper"},
		openai:   "gpt-4o-mini", anthropic: "claude-haiku-4-5"},
	{name: "chat", isDefault: true, openai: "gpt-4o-mini", anthropic: "claude-haiku-4-5"},
}

// FirstRun returns the config serve writes when there is none: a few
// routes, served by the providers whose key getenv has (OpenAI's when
// OPENAI_API_KEY is set, Anthropic's when ANTHROPIC_API_KEY is), each route
// trying them in that order; with neither, by the echo provider, which
// calls no model and answers with the routing decision, so that the first
// request on a fresh machine gets an answer. The echo provider is there in
// both cases, as the model "echo". Routing keeps every default, and
// nothing is polled: no health checks, no model discovery. The file names
// the variables, never their values.
func FirstRun(getenv func(string) string) []byte {
	var useOpenAI, useAnthropic bool
	if getenv != nil {
		useOpenAI = getenv(OpenAIKeyEnv) != ""
		useAnthropic = getenv(AnthropicKeyEnv) != ""
	}
	var b strings.Builder
	b.WriteString(firstRunHead)
	switch {
	case useOpenAI || useAnthropic:
		var names []string
		if useOpenAI {
			names = append(names, OpenAIKeyEnv)
		}
		if useAnthropic {
			names = append(names, AnthropicKeyEnv)
		}
		if len(names) == 1 {
			fmt.Fprintf(&b, "# Written with %s set: its provider serves the routes below.\n", names[0])
		} else {
			fmt.Fprintf(&b, "# Written with %s set: their providers serve the routes below, in that order.\n", strings.Join(names, " and "))
		}
		b.WriteString("# Ask for model \"echo\" to see a routing decision without calling a model.\n")
	default:
		b.WriteString("# Written with no provider key in the environment (" + OpenAIKeyEnv + ", " + AnthropicKeyEnv + "):\n" +
			"# every route is served by the echo provider, which calls no model and\n" +
			"# answers with the routing decision and the request it would have sent.\n" +
			"# To get real answers, add a provider (or delete this file, export a key\n" +
			"# and run serve again) and put it in the routes' targets.\n")
	}
	b.WriteString("\nlisten: 127.0.0.1:8080\n\nproviders:\n")
	if useOpenAI {
		b.WriteString("  - name: openai\n    kind: openai\n    base_url: https://api.openai.com/v1\n    api_key_env: " + OpenAIKeyEnv + "\n")
	}
	if useAnthropic {
		b.WriteString("  - name: anthropic\n    kind: anthropic                  # base_url defaults to https://api.anthropic.com\n    api_key_env: " + AnthropicKeyEnv + "\n")
	}
	b.WriteString("  - name: echo\n    kind: echo                       # calls no model; needs no base_url or key\n    models: [echo]\n")
	b.WriteString(firstRunOllama)
	b.WriteString("\n# A request with no model (or \"auto\") goes to the route whose condition and\n" +
		"# examples best match it, else to default_route. A client may also name a\n" +
		"# route, or a model a provider serves.\nroutes:\n")
	def := ""
	for _, r := range firstRunRoutes {
		fmt.Fprintf(&b, "  - name: %s\n", r.name)
		if r.condition != "" {
			fmt.Fprintf(&b, "    condition: %q\n", r.condition)
		}
		if len(r.examples) > 0 {
			b.WriteString("    examples:\n")
			for _, e := range r.examples {
				fmt.Fprintf(&b, "      - %s\n", e)
			}
		}
		if r.isDefault {
			def = r.name
			b.WriteString("    # No condition: reached as default_route, or by name.\n")
		}
		b.WriteString("    targets:\n")
		if useOpenAI {
			fmt.Fprintf(&b, "      - {provider: openai, model: %s}\n", r.openai)
		}
		if useAnthropic {
			fmt.Fprintf(&b, "      - {provider: anthropic, model: %s}\n", r.anthropic)
		}
		if !useOpenAI && !useAnthropic {
			b.WriteString("      - {provider: echo, model: echo}\n")
		}
	}
	fmt.Fprintf(&b, "\ndefault_route: %s\n", def)
	return []byte(b.String())
}

const firstRunHead = `# switchyard configuration, written by "switchyard serve" on its first run.
#
# Every key left out keeps its default; the documentation's configuration
# reference shows them all ("switchyard config check" prints the effective
# config). Check an edited file with: switchyard config check --config FILE
# The file is reloaded when it changes.
`

const firstRunOllama = `  # A local Ollama, once it runs (then name it in a route's targets,
  # e.g. {provider: home, model: llama3.1}):
  # - name: home
  #   kind: ollama
  #   base_url: http://127.0.0.1:11434
`

// WriteFirstRun writes FirstRun(getenv) to path, creating its directory.
// It never overwrites: if path exists the error wraps fs.ErrExist.
func WriteFirstRun(path string, getenv func(string) string) error {
	return writeNew(path, FirstRun(getenv))
}

// writeNew writes data to a new file at path, creating its directory.
func writeNew(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	return nil
}
