package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/spf13/pflag"
)

const testdata = "../testdata/config/"

// fieldPaths returns the paths of every *FieldError in err's tree, sorted.
func fieldPaths(t *testing.T, err error) []string {
	t.Helper()
	var out []string
	var walk func(error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe.Path)
			checkStyle(t, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

// checkStyle holds every problem to the house style: lower-case, no
// trailing punctuation.
func checkStyle(t *testing.T, fe *FieldError) {
	t.Helper()
	p := fe.Problem
	if p == "" {
		t.Errorf("%s: empty problem", fe.Path)
		return
	}
	if r := []rune(p)[0]; unicode.IsUpper(r) {
		t.Errorf("%q starts upper-case", fe)
	}
	if strings.ContainsAny(p[len(p)-1:], ".!:;,") {
		t.Errorf("%q ends in punctuation", fe)
	}
}

func envOf(kv ...string) func() []string {
	return func() []string { return kv }
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadKeepsDefaults(t *testing.T) {
	def := Default()
	tests := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"empty.yaml", func(t *testing.T, c *Config) {
			if !reflect.DeepEqual(c, def) {
				t.Errorf("empty file: got %+v, want Default()", c)
			}
		}},
		{"minimal.yaml", func(t *testing.T, c *Config) {
			if c.Routing.TopK != 3 {
				t.Errorf("routing.top_k = %d, want 3 from the file", c.Routing.TopK)
			}
			// The rest of a partly given section keeps its defaults.
			want := def.Routing
			want.TopK = 3
			if c.Routing != want {
				t.Errorf("routing = %+v, want %+v", c.Routing, want)
			}
			if c.Listen != def.Listen || c.Embedder != def.Embedder || c.Server != def.Server || c.Log != def.Log {
				t.Errorf("omitted sections lost their defaults: %+v", c)
			}
			if len(c.Routes) != 2 || c.Routes[0].Threshold != nil {
				t.Errorf("routes = %+v, want 2 with no threshold of their own", c.Routes)
			}
			if p := c.Providers[0]; p.Timeout != DefaultUpstreamTimeout || p.FirstByteTimeout != DefaultFirstByteTimeout || p.StreamIdleTimeout != DefaultStreamIdleTimeout {
				t.Errorf("provider bounds = %v, %v, %v; want the defaults (every upstream wait is bounded)", p.Timeout, p.FirstByteTimeout, p.StreamIdleTimeout)
			}
		}},
		{"minimal.json", func(t *testing.T, c *Config) {
			if c.Providers[0].Timeout != 90*time.Second || c.Log.Format != "console" || c.Log.Level != "info" {
				t.Errorf("json: got providers %+v log %+v", c.Providers, c.Log)
			}
			if c.Routing != def.Routing {
				t.Errorf("routing = %+v, want defaults", c.Routing)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(testdata+tt.file, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// TestOverrides checks file < environment < flags, and that only flags
// the user set count.
func TestOverrides(t *testing.T) {
	file := writeFile(t, "c.yaml", "listen: 127.0.0.1:1111\nrouting: {top_k: 7}\nlog: {level: warn}\n")
	type got struct {
		Listen string
		TopK   int
		Level  string
		Grace  time.Duration
		Model  string
	}
	base := got{"127.0.0.1:1111", 7, "warn", 30 * time.Second, "all-MiniLM-L6-v2"}
	tests := []struct {
		name    string
		environ []string
		args    []string // nil: no flag set at all
		want    got
	}{
		{"file only", nil, nil, base},
		{"env over file", []string{"SWITCHYARD_LISTEN=:2222", "SWITCHYARD_ROUTING__TOP_K=3", "SWITCHYARD_LOG__LEVEL=debug"}, nil,
			got{":2222", 3, "debug", 30 * time.Second, base.Model}},
		{"env sets an omitted key", []string{"SWITCHYARD_SERVER__SHUTDOWN_GRACE=5s", "SWITCHYARD_EMBEDDER__MODEL=other"}, nil,
			got{base.Listen, 7, "warn", 5 * time.Second, "other"}},
		{"flag over env", []string{"SWITCHYARD_LISTEN=:2222", "SWITCHYARD_ROUTING__TOP_K=3"}, []string{"--listen", ":3333", "--routing.top_k", "9"},
			got{":3333", 9, "warn", 30 * time.Second, base.Model}},
		{"unset flags do not override", []string{"SWITCHYARD_LISTEN=:2222"}, []string{},
			got{":2222", 7, "warn", 30 * time.Second, base.Model}},
		{"dashed flag names", nil, []string{"--log-level", "error", "--server-shutdown-grace", "1m"},
			got{base.Listen, 7, "error", time.Minute, base.Model}},
		{"unrelated flags and env are ignored", []string{"SWITCHYARD_CONFIG=/x.yaml", "SWITCHYARD_MODELS=/m", "SWITCHYARD_SIMD=avx2", "SWITCHYARD_PRECISION=int8", "HOME=/h"},
			[]string{"--config", "/y.yaml", "--models", "/m"}, base},
		{"an empty env value is ignored", []string{"SWITCHYARD_LISTEN="}, nil, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs *pflag.FlagSet
			if tt.args != nil {
				fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
				fs.String("listen", "0.0.0.0:9", "")
				fs.String("log-level", "trace", "")
				fs.Int("routing.top_k", 99, "")
				fs.Duration("server-shutdown-grace", time.Hour, "")
				fs.String("config", "", "")
				fs.String("models", "", "")
				if err := fs.Parse(tt.args); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(file, envOf(tt.environ...), fs)
			if err != nil {
				t.Fatal(err)
			}
			g := got{c.Listen, c.Routing.TopK, c.Log.Level, c.Server.ShutdownGrace, c.Embedder.Model}
			if g != tt.want {
				t.Errorf("got %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		environ []string
		want    []string
	}{
		{"misspelt env key", "", []string{"SWITCHYARD_ROUTING__TOPK=3"}, []string{"SWITCHYARD_ROUTING__TOPK"}},
		{"env names a section", "", []string{"SWITCHYARD_ROUTING=3"}, []string{"SWITCHYARD_ROUTING"}},
		{"env cannot set lists", "", []string{"SWITCHYARD_PROVIDERS__0__NAME=x", "SWITCHYARD_ALIASES=x"},
			[]string{"SWITCHYARD_ALIASES", "SWITCHYARD_PROVIDERS__0__NAME"}},
		{"env value of the wrong type", "", []string{"SWITCHYARD_ROUTING__TOP_K=many"}, []string{"routing.top_k"}},
		{"env duration without a unit", "", []string{"SWITCHYARD_SERVER__SHUTDOWN_GRACE=soon"}, []string{"server.shutdown_grace"}},
		{"a bare number is not a duration", "server: {read_header_timeout: 10}\n", nil, []string{"server.read_header_timeout"}},
		{"a list where a mapping belongs", "routing: [1, 2]\n", nil, []string{"routing"}},
		{"a decode failure does not hide validation", "routing: {top_k: abc, turns: 0}\n", nil,
			[]string{"routing.top_k", "routing.turns"}},
		{"remote embedder needs its own model", "embedder: {kind: ollama, url: 'http://127.0.0.1:11434'}\n", nil,
			[]string{"embedder.model"}},
		{"remote embedder from env needs a model too", "",
			[]string{"SWITCHYARD_EMBEDDER__KIND=openai", "SWITCHYARD_EMBEDDER__URL=https://api.openai.com/v1"},
			[]string{"embedder.model"}},
		{"non-string keys", "routing: {1: x}\n", nil, []string{"routing.1"}},
		{"dotted keys stay whole", "\"routing.top_k\": 3\n", nil, []string{"routing.top_k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "c.yaml", tt.body), envOf(tt.environ...), nil)
			if got := fieldPaths(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems at %q, want %q; error:\n%v", got, tt.want, err)
			}
		})
	}
}

func TestLoadRemoteEmbedder(t *testing.T) {
	c, err := Load(writeFile(t, "c.yaml", "embedder: {kind: ollama, url: 'http://127.0.0.1:11434', model: nomic-embed-text}\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedder.Model != "nomic-embed-text" || c.Embedder.CacheSize != 4096 {
		t.Errorf("embedder = %+v", c.Embedder)
	}
}

// TestLoadEmbedderPrecision: auto by default, the file's value, the
// environment's over it, and an unknown one refused.
func TestLoadEmbedderPrecision(t *testing.T) {
	c, err := Load(writeFile(t, "c.yaml", "listen: 127.0.0.1:1111\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedder.Precision != PrecisionAuto {
		t.Errorf("default embedder.precision = %q, want auto", c.Embedder.Precision)
	}
	c, err = Load(writeFile(t, "c.yaml", "embedder: {precision: fp32}\n"), envOf("SWITCHYARD_EMBEDDER__PRECISION=int8"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedder.Precision != PrecisionInt8 {
		t.Errorf("embedder.precision = %q with SWITCHYARD_EMBEDDER__PRECISION=int8, want int8", c.Embedder.Precision)
	}
	if _, err := Load(writeFile(t, "c.yaml", "embedder: {precision: int16}\n"), nil, nil); err == nil || !strings.Contains(err.Error(), "embedder.precision") {
		t.Errorf("precision int16: err = %v, want one naming embedder.precision", err)
	}
}

// TestLoadAnthropicProvider: kind anthropic may leave base_url out (it is
// Anthropic's API), or point it anywhere else.
func TestLoadAnthropicProvider(t *testing.T) {
	c, err := Load(writeFile(t, "c.yaml", `providers:
  - {name: claude, kind: anthropic, api_key_env: ANTHROPIC_API_KEY}
  - {name: relay, kind: anthropic, base_url: "http://127.0.0.1:9000"}
  - {name: openai, kind: openai, base_url: "https://api.openai.com/v1"}
routes:
  - {name: code, targets: [{provider: claude, model: claude-sonnet-4-5}]}
default_route: code
`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Providers[0].BaseURL, c.Providers[1].BaseURL}
	if got[0] != AnthropicBaseURL || got[1] != "http://127.0.0.1:9000" {
		t.Errorf("base urls = %q, want the default and the configured one", got)
	}
	// Other kinds still require it.
	_, err = Load(writeFile(t, "c.yaml", "providers: [{name: o, kind: openai}]\n"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "providers[0].base_url") {
		t.Errorf("openai without base_url: %v, want a base_url problem", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	_, err := Load(testdata+"typo.yaml", nil, nil)
	want := []string{
		"aliases[fast][0].wieght",
		"embedder.modle",
		"lisen",
		"providers[0].api_key",
		"routes[0].targets[0].model", // the misspelt model is also missing
		"routes[0].targets[0].modle",
		"routes[0].treshold",
		"routing.treshold",
	}
	if got := fieldPaths(t, err); !slices.Equal(got, want) {
		t.Errorf("problems at %q, want %q; error:\n%v", got, want, err)
	}
	if strings.Contains(err.Error(), "sk-not-allowed-here-1234") {
		t.Error("the error repeats a literal key")
	}
}

func TestSyntaxErrorsNameTheFile(t *testing.T) {
	tests := []struct{ file, want string }{
		{"bad.yaml", "line 2"},
		{"bad.json", "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(testdata+tt.file, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []string{tt.file, tt.want} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

// TestFlagNames checks that every scalar key has its own flag spelling.
func TestFlagNames(t *testing.T) {
	seen := map[string]string{}
	for key := range leafKeys() {
		n := flagName(key)
		if other, dup := seen[n]; dup {
			t.Errorf("keys %s and %s share the flag --%s", key, other, n)
		}
		seen[n] = key
	}
	for _, key := range []string{"listen", "default_route", "routing.top_k", "log.level", "embedder.cache_size", "server.max_body_bytes"} {
		if _, ok := seen[flagName(key)]; !ok {
			t.Errorf("%s is not settable by flag", key)
		}
	}
}
