package config

import (
	"math"
	"slices"
	"testing"
	"time"
)

// valid is a small config that passes Validate; each case breaks one rule.
func valid() *Config {
	c := Default()
	c.Providers = []Provider{
		{Name: "openai", Kind: ProviderOpenAI, BaseURL: "https://api.openai.com/v1", APIKeyEnv: "OPENAI_API_KEY", Timeout: 2 * time.Minute},
		{Name: "home", Kind: ProviderOllama, BaseURL: "http://127.0.0.1:11434"},
	}
	c.Routes = []Route{
		{Name: "code", Condition: "programming", Examples: []string{"fix this stack trace"}, Targets: []Target{{Provider: "openai", Model: "gpt-4o"}, {Provider: "home", Model: "qwen2.5-coder"}}},
		{Name: "chat", Targets: []Target{{Provider: "home", Model: "llama3.1"}}},
	}
	c.DefaultRoute = "chat"
	c.Aliases = map[string][]Target{"fast": {{Provider: "home", Model: "llama3.1"}}}
	return c
}

func TestValidate(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // paths of the problems, sorted; nil = valid
	}{
		{"valid", func(c *Config) {}, nil},
		{"listen on every interface", func(c *Config) { c.Listen = ":8080" }, nil},
		{"listen on ipv6, any port", func(c *Config) { c.Listen = "[::1]:0" }, nil},
		{"listen empty", func(c *Config) { c.Listen = "" }, []string{"listen"}},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, []string{"listen"}},
		{"listen named port", func(c *Config) { c.Listen = "localhost:http" }, []string{"listen"}},
		{"listen port too big", func(c *Config) { c.Listen = "localhost:70000" }, []string{"listen"}},

		{"embedder kind empty", func(c *Config) { c.Embedder.Kind = "" }, []string{"embedder.kind"}},
		{"embedder kind unknown", func(c *Config) { c.Embedder.Kind = "bert" }, []string{"embedder.kind"}},
		{"embedder local model empty", func(c *Config) { c.Embedder.Model = "" }, []string{"embedder.model"}},
		{"embedder local takes no url or key", func(c *Config) {
			c.Embedder.URL, c.Embedder.APIKeyEnv = "http://x", "KEY"
		}, []string{"embedder.api_key_env", "embedder.url"}},
		{"embedder ollama", func(c *Config) {
			c.Embedder = Embedder{Kind: "ollama", URL: "http://127.0.0.1:11434", Model: "nomic-embed-text"}
		}, nil},
		{"embedder ollama needs url and model", func(c *Config) { c.Embedder = Embedder{Kind: "ollama"} }, []string{"embedder.model", "embedder.url"}},
		{"embedder ollama takes no key", func(c *Config) {
			c.Embedder = Embedder{Kind: "ollama", URL: "http://h:1", Model: "m", APIKeyEnv: "K"}
		}, []string{"embedder.api_key_env"}},
		{"embedder openai", func(c *Config) {
			c.Embedder = Embedder{Kind: "openai", URL: "https://api.openai.com/v1", Model: "text-embedding-3-small", APIKeyEnv: "OPENAI_API_KEY"}
		}, nil},
		{"embedder openai bad url and key name", func(c *Config) {
			c.Embedder = Embedder{Kind: "openai", URL: "api.openai.com", Model: "m", APIKeyEnv: "sk-123"}
		}, []string{"embedder.api_key_env", "embedder.url"}},
		{"embedder negative timeout and cache", func(c *Config) { c.Embedder.Timeout, c.Embedder.CacheSize = -time.Second, -1 },
			[]string{"embedder.cache_size", "embedder.timeout"}},
		{"embedder cache disabled", func(c *Config) { c.Embedder.CacheSize = 0 }, nil},
		{"embedder precision int8", func(c *Config) { c.Embedder.Precision = PrecisionInt8 }, nil},
		{"embedder precision unknown", func(c *Config) { c.Embedder.Precision = "int4" }, []string{"embedder.precision"}},
		{"embedder precision on a remote kind", func(c *Config) {
			c.Embedder = Embedder{Kind: "ollama", URL: "http://127.0.0.1:11434", Model: "nomic-embed-text", Precision: PrecisionFP32}
		}, []string{"embedder.precision"}},

		{"provider name empty", func(c *Config) { c.Providers[1].Name = "" },
			[]string{"providers[1].name", "routes[0].targets[1].provider", "routes[1].targets[0].provider", "aliases[fast][0].provider"}},
		{"provider name duplicate", func(c *Config) { c.Providers[1].Name = "openai" }, []string{"providers[1].name",
			"routes[0].targets[1].provider", "routes[1].targets[0].provider", "aliases[fast][0].provider"}},
		{"provider kind empty", func(c *Config) { c.Providers[0].Kind = "" }, []string{"providers[0].kind"}},
		{"provider kind unknown", func(c *Config) { c.Providers[0].Kind = "claude" }, []string{"providers[0].kind"}},
		{"provider kind anthropic", func(c *Config) {
			c.Providers[0] = Provider{Name: "openai", Kind: ProviderAnthropic, BaseURL: AnthropicBaseURL, APIKeyEnv: "ANTHROPIC_API_KEY",
				Headers: map[string]string{"anthropic-version": "2023-06-01"}}
		}, nil},
		{"anthropic provider key name checked", func(c *Config) {
			c.Providers[0] = Provider{Name: "openai", Kind: ProviderAnthropic, BaseURL: "api.anthropic.com", APIKeyEnv: "sk-ant-123"}
		}, []string{"providers[0].api_key_env", "providers[0].base_url"}},
		{"provider base_url empty", func(c *Config) { c.Providers[0].BaseURL = "" }, []string{"providers[0].base_url"}},
		{"provider base_url not http", func(c *Config) { c.Providers[0].BaseURL = "ftp://example.com" }, []string{"providers[0].base_url"}},
		{"provider base_url relative", func(c *Config) { c.Providers[0].BaseURL = "/v1" }, []string{"providers[0].base_url"}},
		{"provider base_url unparsable", func(c *Config) { c.Providers[0].BaseURL = "http://[::1" }, []string{"providers[0].base_url"}},
		{"provider base_url with credentials", func(c *Config) { c.Providers[0].BaseURL = "https://u:p@example.com" }, []string{"providers[0].base_url"}},
		{"provider api_key_env holds a key", func(c *Config) { c.Providers[0].APIKeyEnv = "sk-proj-abc" }, []string{"providers[0].api_key_env"}},
		{"provider api_key_env starts with a digit", func(c *Config) { c.Providers[0].APIKeyEnv = "1KEY" }, []string{"providers[0].api_key_env"}},
		{"ollama provider takes no key", func(c *Config) { c.Providers[1].APIKeyEnv = "KEY" }, []string{"providers[1].api_key_env"}},
		{"admin token_env holds a token", func(c *Config) { c.Admin.TokenEnv = "s3cr3t-token!" }, []string{"admin.token_env"}},
		{"provider timeout negative", func(c *Config) { c.Providers[0].Timeout = -1 }, []string{"providers[0].timeout"}},
		{"provider models", func(c *Config) { c.Providers[0].Models = []string{"a", "", "a"} },
			[]string{"providers[0].models[1]", "providers[0].models[2]"}},
		{"provider headers", func(c *Config) {
			c.Providers[0].Headers = map[string]string{"X-Ok": "1", "Bad Name": "1", "Content-Length": "1", "X-Split": "a\r\nb: c"}
		}, []string{"providers[0].headers[Bad Name]", "providers[0].headers[Content-Length]", "providers[0].headers[X-Split]"}},
		{"provider headers_env", func(c *Config) {
			c.Providers[0].Headers = map[string]string{"X-Both": "1"}
			c.Providers[0].HeadersEnv = map[string]string{"X-Ok": "TOKEN", "X-Both": "TOKEN", "X-Empty": "", "X-Key": "sk-abc"}
		}, []string{"providers[0].headers_env[X-Both]", "providers[0].headers_env[X-Empty]", "providers[0].headers_env[X-Key]"}},

		{"route name empty", func(c *Config) { c.Routes[0].Name = "" }, []string{"routes[0].name"}},
		{"route name auto", func(c *Config) { c.Routes[0].Name = "auto" }, []string{"routes[0].name"}},
		{"route name Auto", func(c *Config) { c.Routes[0].Name = "Auto" }, []string{"routes[0].name"}},
		{"route name duplicate", func(c *Config) { c.Routes[1].Name = "code"; c.DefaultRoute = "code" }, []string{"routes[1].name"}},
		{"route name is an alias", func(c *Config) { c.Aliases["code"] = []Target{{Provider: "openai", Model: "gpt-4o"}} }, []string{"routes[0].name"}},
		{"route example empty", func(c *Config) { c.Routes[0].Examples = append(c.Routes[0].Examples, " ") }, []string{"routes[0].examples[1]"}},
		{"route threshold bounds", func(c *Config) { c.Routes[0].Threshold = f(-1); c.Routes[1].Threshold = f(1) }, nil},
		{"route threshold too high", func(c *Config) { c.Routes[0].Threshold = f(1.01) }, []string{"routes[0].threshold"}},
		{"route threshold too low", func(c *Config) { c.Routes[0].Threshold = f(-1.5) }, []string{"routes[0].threshold"}},
		{"route threshold NaN", func(c *Config) { c.Routes[0].Threshold = f(math.NaN()) }, []string{"routes[0].threshold"}},
		{"route without targets", func(c *Config) { c.Routes[0].Targets = nil }, []string{"routes[0].targets"}},
		{"target provider empty", func(c *Config) { c.Routes[0].Targets[1].Provider = "" }, []string{"routes[0].targets[1].provider"}},
		{"target provider unknown", func(c *Config) { c.Routes[0].Targets[0].Provider = "opnai" }, []string{"routes[0].targets[0].provider"}},
		{"target model empty", func(c *Config) { c.Routes[0].Targets[0].Model = "" }, []string{"routes[0].targets[0].model"}},
		{"route with neither condition nor examples", func(c *Config) { c.Routes[0].Condition, c.Routes[0].Examples = "", nil }, nil},

		{"default_route missing", func(c *Config) { c.DefaultRoute = "" }, []string{"default_route"}},
		{"default_route unknown", func(c *Config) { c.DefaultRoute = "chatt" }, []string{"default_route"}},
		{"no routes, no default_route", func(c *Config) { c.Routes, c.DefaultRoute = nil, "" }, nil},
		{"no routes, a default_route", func(c *Config) { c.Routes = nil }, []string{"default_route"}},

		{"alias auto", func(c *Config) { c.Aliases["auto"] = []Target{{Provider: "home", Model: "x"}} }, []string{"aliases[auto]"}},
		{"alias empty name", func(c *Config) { c.Aliases[""] = []Target{{Provider: "home", Model: "x"}} }, []string{"aliases[]"}},
		{"alias without targets", func(c *Config) { c.Aliases["fast"] = nil }, []string{"aliases[fast]"}},
		{"alias bad targets", func(c *Config) { c.Aliases["fast"] = []Target{{Provider: "nowhere", Model: ""}} },
			[]string{"aliases[fast][0].model", "aliases[fast][0].provider"}},

		{"routing threshold", func(c *Config) { c.Routing.Threshold = FixedThreshold(2) }, []string{"routing.threshold"}},
		{"routing aggregation mean", func(c *Config) { c.Routing.Aggregation = "mean" }, nil},
		{"routing aggregation unknown", func(c *Config) { c.Routing.Aggregation = "median" }, []string{"routing.aggregation"}},
		{"routing top_k", func(c *Config) { c.Routing.TopK = 0 }, []string{"routing.top_k"}},
		{"routing max_retries zero", func(c *Config) { c.Routing.MaxRetries = 0 }, nil},
		{"routing max_retries negative", func(c *Config) { c.Routing.MaxRetries = -1 }, []string{"routing.max_retries"}},
		{"routing turns", func(c *Config) { c.Routing.Turns = 0 }, []string{"routing.turns"}},

		{"server limits", func(c *Config) { c.Server = Server{} },
			[]string{"server.idle_timeout", "server.max_answer_bytes", "server.max_body_bytes", "server.max_event_bytes", "server.read_header_timeout", "server.read_timeout", "server.shutdown_grace", "server.write_timeout"}},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, []string{"log.level"}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"log console debug", func(c *Config) { c.Log = Log{Level: "debug", Format: "console"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(c)
			got := fieldPaths(t, c.Validate())
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems at %q, want %q; error:\n%v", got, want, c.Validate())
			}
		})
	}
}

// TestValidateReportsEverything loads a file with a problem in nearly
// every section and expects each one, at once.
func TestValidateReportsEverything(t *testing.T) {
	_, err := Load(testdata+"invalid.yaml", nil, nil)
	want := []string{
		"aliases[fast][0].provider",
		"default_route",
		"embedder.model",
		"embedder.url",
		"listen",
		"log.format",
		"log.level",
		"providers[0].api_key_env",
		"providers[1].kind",
		"providers[1].name",
		"providers[2].base_url",
		"providers[2].name",
		"providers[2].timeout",
		"routes[0].targets[0].provider",
		"routes[0].threshold",
		"routes[1].name",
		"routes[1].targets",
		"routes[2].name",
		"routes[2].targets[0].model",
		"routes[3].name",
		"routing.aggregation",
		"routing.max_retries",
		"routing.threshold",
		"routing.top_k",
		"routing.turns",
		"server.max_body_bytes",
		"server.read_header_timeout",
		"server.shutdown_grace",
	}
	if got := fieldPaths(t, err); !slices.Equal(got, want) {
		t.Errorf("problems at\n%q\nwant\n%q\nerror:\n%v", got, want, err)
	}
}

func TestWarnings(t *testing.T) {
	set := func(vars ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == k {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name   string
		mutate func(c *Config)
		getenv func(string) string
		want   []string // warnings, in order; nil = none
	}{
		{"every variable set", func(c *Config) {}, set("OPENAI_API_KEY", "sk-secret"), nil},
		{"api_key_env unset", func(c *Config) {}, set(),
			[]string{`providers[0].api_key_env: OPENAI_API_KEY is unset or empty, so provider "openai" sends no API key`}},
		{"api_key_env empty", func(c *Config) {}, set("OPENAI_API_KEY", ""),
			[]string{`providers[0].api_key_env: OPENAI_API_KEY is unset or empty, so provider "openai" sends no API key`}},
		{"no api_key_env is no warning", func(c *Config) { c.Providers[0].APIKeyEnv = "" }, set(), nil},
		{"a MAS key needs no variable", func(c *Config) { c.Providers[0].APIKeyEnv, c.Providers[0].APIKey = "", "sk-mas" }, set(), nil},
		{"headers_env unset", func(c *Config) {
			c.Providers[1].HeadersEnv = map[string]string{"X-Token": "GW_TOKEN", "X-Org": "GW_ORG"}
		}, set("OPENAI_API_KEY", "sk-secret", "GW_ORG", "org"),
			[]string{`providers[1].headers_env[X-Token]: GW_TOKEN is unset or empty, so provider "home" sends no X-Token header`}},
		{"embedder api_key_env unset", func(c *Config) {
			c.Embedder = Embedder{Kind: EmbedderOpenAI, Model: "text-embedding-3-small", URL: "https://api.openai.com/v1", APIKeyEnv: "EMB_KEY"}
		}, set("OPENAI_API_KEY", "sk-secret"),
			[]string{"embedder.api_key_env: EMB_KEY is unset or empty, so the embedder sends no API key"}},
		{"admin token_env is serve's to report", func(c *Config) { c.Admin.TokenEnv = "ADMIN_TOKEN" }, set("OPENAI_API_KEY", "sk-secret"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("the case's config is invalid: %v", err)
			}
			if got := c.Warnings(tt.getenv); !slices.Equal(got, tt.want) {
				t.Errorf("warnings\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
