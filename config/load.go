package config

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	kjson "github.com/knadh/koanf/parsers/json"
)

// envPrefix starts every environment override.
const envPrefix = "SWITCHYARD_"

// envConfigPath names the config file (package workspace reads it); it
// is not an override.
const envConfigPath = envPrefix + "CONFIG"

// Load reads the config file at path and returns the validated config.
//
// Layers, each over the one before: Default(), then the file, then
// SWITCHYARD_* environment variables from environ, then the flags in flags
// that the user set. Keys a layer leaves out keep the value beneath.
//
// The file is YAML, or JSON when its name ends in .json. Unknown keys are
// errors, reported with their path. A MAS router file, recognised by its
// keys ({"baseURL", "apiKey", "models": [{"condition", "model"}]}), is
// accepted as it is: it becomes one openai-kind provider "mas" (base_url
// = baseURL; the literal apiKey goes to Provider.APIKey) and one route per
// entry, named after its model ("-2", "-3", … for a repeated model), with
// the entry's condition and the target {mas, model}; the first entry with
// an empty or missing condition, else the last entry, is default_route;
// listen is 127.0.0.1:8000, MAS's port (environment and flags override
// it as usual).
// A MAS file is as strict: any other key, at its top or in a model entry,
// is an error, with a hint when it is near a MAS key ("baseUrl").
//
// Environment: SWITCHYARD_ + the key path in upper case, with "__"
// between levels (keys themselves contain "_"):
//
//	SWITCHYARD_LISTEN=:9000                  listen
//	SWITCHYARD_DEFAULT_ROUTE=chat            default_route
//	SWITCHYARD_ROUTING__TOP_K=3              routing.top_k
//	SWITCHYARD_EMBEDDER__API_KEY_ENV=EMB_KEY embedder.api_key_env
//	SWITCHYARD_SERVER__SHUTDOWN_GRACE=5s     server.shutdown_grace
//
// Only scalar keys outside lists and maps can be set this way; providers,
// routes and aliases come from the file. An empty value is ignored.
// SWITCHYARD_CONFIG is the file's path, not an override, and other
// SWITCHYARD_ names without "__" (SWITCHYARD_MODELS, …) belong to other
// commands and are ignored; a name with "__" that is not a key is an
// error. A nil environ means an empty environment.
//
// Flags: a flag sets the scalar key whose path equals its name once "."
// and "_" are read as "-": --listen, --default-route, --log-level,
// --routing-top-k, --embedder-model (--routing.top_k works too). Flags
// the user did not set, and flags that name no key (--config, --help),
// are ignored. flags may be nil.
//
// Every problem found is reported at once, joined; each is a *FieldError
// when it has a path.
func Load(path string, environ func() []string, flags *pflag.FlagSet) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data, environ, flags)
}

// parse is Load without the file system, so that fuzzing can reach it.
func parse(name string, data []byte, environ func() []string, flags *pflag.FlagSet) (*Config, error) {
	raw, err := decodeFile(name, data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}

	var problems []error
	var masKey string
	if isMAS(raw) {
		var masProblems []error
		raw, masKey, masProblems = fromMAS(raw)
		if len(masProblems) > 0 {
			return nil, joinProblems(name, masProblems)
		}
	} else {
		problems = append(problems, unknownKeys(raw, reflect.TypeFor[Config](), "")...)
	}

	if environ == nil {
		environ = func() []string { return nil }
	}
	leaves := leafKeys()
	k := koanf.New(".") // fresh per load, never shared: loads stay independent
	if err := k.Load(mapProvider(raw), nil); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	envProblems := []error{}
	opt := env.Opt{Prefix: envPrefix, TransformFunc: envOverride(leaves, &envProblems), EnvironFunc: environ}
	if err := k.Load(env.Provider(".", opt), nil); err != nil {
		return nil, fmt.Errorf("config %s: environment: %w", name, err)
	}
	problems = append(problems, envProblems...)
	if flags != nil {
		if err := k.Load(posflag.ProviderWithFlag(flags, ".", nil, flagOverride(flags, leaves)), nil); err != nil {
			return nil, fmt.Errorf("config %s: flags: %w", name, err)
		}
	}

	cfg := Default()
	dc := &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(mapstructure.DecodeHookFuncType(durationHook), mapstructure.DecodeHookFuncType(thresholdHook)),
		WeaklyTypedInput: true, // environment values are strings
		TagName:          "koanf",
	}
	// A value that fails to decode keeps its default, so validation still
	// runs, to report every problem; it skips only what failed to decode.
	var failed []string
	if err := k.UnmarshalWithConf("", cfg, koanf.UnmarshalConf{DecoderConfig: dc}); err != nil {
		for _, e := range decodeProblems(err) {
			problems = append(problems, e)
			if fe, ok := e.(*FieldError); ok {
				failed = append(failed, fe.Path)
			}
		}
	}
	// The default model is the local embedder's; a remote embedder with no
	// model must fail validation rather than ask a server for MiniLM.
	if cfg.Embedder.Kind != EmbedderLocal && !k.Exists("embedder.model") {
		cfg.Embedder.Model = ""
	}
	// Anthropic has one public API root; a provider of that kind may leave
	// it out.
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if p.Kind == ProviderAnthropic && p.BaseURL == "" {
			p.BaseURL = AnthropicBaseURL
		}
		// An OCF node's models are known only from its node table.
		if p.Kind == ProviderOCF {
			p.Discover = true
		}
		// Every upstream wait is bounded, configured or not.
		p.Timeout = cmp.Or(p.Timeout, DefaultUpstreamTimeout)
		p.FirstByteTimeout = cmp.Or(p.FirstByteTimeout, DefaultFirstByteTimeout)
		p.StreamIdleTimeout = cmp.Or(p.StreamIdleTimeout, DefaultStreamIdleTimeout)
	}
	if masKey != "" {
		for i := range cfg.Providers {
			if cfg.Providers[i].Name == masProvider {
				cfg.Providers[i].APIKey = masKey
			}
		}
	}
	cfg.resolveTargets()
	if err := cfg.Validate(); err != nil {
		for _, e := range unjoin(err) {
			if fe, ok := e.(*FieldError); !ok || !within(fe.Path, failed) {
				problems = append(problems, e)
			}
		}
	}
	if len(problems) > 0 {
		return nil, joinProblems(name, problems)
	}
	return cfg, nil
}

// within reports whether path is one of roots or below one.
func within(path string, roots []string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// decodeFile parses a file's bytes into a map: JSON for .json, YAML
// otherwise. An empty file is an empty map.
func decodeFile(name string, data []byte) (map[string]any, error) {
	var (
		raw map[string]any
		err error
	)
	if strings.EqualFold(filepath.Ext(name), ".json") {
		raw, err = kjson.Parser().Unmarshal(data)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, fmt.Errorf("parse json: line %d, column %d: %w", line, col, err)
		}
		if err != nil {
			return nil, fmt.Errorf("parse json: %w", err)
		}
	} else {
		raw, err = yaml.Parser().Unmarshal(data)
		if err != nil {
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	maps.IntfaceKeysToStrings(raw) // YAML allows non-string keys
	return raw, nil
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// mapProvider feeds an already parsed map to koanf.
type mapProvider map[string]any

func (m mapProvider) ReadBytes() ([]byte, error) { return nil, errors.New("not supported") }
func (m mapProvider) Read() (map[string]any, error) {
	return m, nil
}

// envOverride maps SWITCHYARD_A__B_C to a.b_c when that is a scalar key,
// and records names that look like overrides but name no such key.
func envOverride(leaves map[string]bool, problems *[]error) func(string, string) (string, any) {
	sections := sectionKeys()
	return func(name, val string) (string, any) {
		if name == envConfigPath || val == "" {
			return "", nil
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix), "__", "."))
		if leaves[key] {
			return key, val
		}
		root, _, nested := strings.Cut(key, ".")
		switch kind, ok := sections[root]; {
		case ok && kind == reflect.Struct && !nested:
			*problems = append(*problems, &FieldError{Path: name, Problem: "names a section, not a key: set e.g. " + envName(firstLeaf(leaves, root))})
		case ok && kind != reflect.Struct:
			*problems = append(*problems, &FieldError{Path: name, Problem: root + " cannot be set from the environment"})
		case nested:
			msg := "no config key " + key
			if c := closest(key, keysOf(leaves)); c != "" {
				msg += ", did you mean " + envName(c)
			}
			*problems = append(*problems, &FieldError{Path: name, Problem: msg})
		}
		return "", nil
	}
}

// envName is the environment variable that overrides key.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// flagOverride maps a set flag to the scalar key it names; "" skips it.
func flagOverride(fs *pflag.FlagSet, leaves map[string]bool) func(*pflag.Flag) (string, any) {
	byFlag := make(map[string]string, len(leaves))
	for key := range leaves {
		byFlag[flagName(key)] = key
	}
	return func(f *pflag.Flag) (string, any) {
		key, ok := byFlag[flagName(f.Name)]
		if !ok {
			return "", nil
		}
		return key, posflag.FlagVal(fs, f)
	}
}

// flagName is the canonical flag spelling of a key or flag name.
func flagName(s string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(strings.ToLower(s))
}

// isDuration reports whether t is time.Duration.
func isDuration(t reflect.Type) bool { return t == reflect.TypeFor[time.Duration]() }

// durationHook accepts durations only as strings with a unit ("120s"),
// or 0: a bare 120 would otherwise decode as 120 nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if !isDuration(to) || isDuration(from) {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		s := strings.TrimSpace(data.(string))
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("want a duration like \"30s\", got %q", clip(s))
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("want a duration with a unit, like \"%vs\"", data)
	}
	return data, nil
}

// decodeProblems turns mapstructure's error tree into path-prefixed
// problems.
func decodeProblems(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if de, ok := e.(*mapstructure.DecodeError); ok {
			inner := de.Unwrap()
			if _, nested := inner.(*mapstructure.DecodeError); nested {
				walk(inner)
				return
			}
			out = append(out, &FieldError{Path: de.Name(), Problem: describe(inner)})
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
				return
			}
			out = append(out, e)
		default:
			out = append(out, e)
		}
	}
	walk(err)
	return out
}

// describe says what a value should have been, in config terms.
func describe(err error) string {
	var pe *mapstructure.ParseError
	var ue *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(err, &pe):
		return "want " + typeName(pe.Expected.Type()) + ", got " + valueName(pe.Value)
	case errors.As(err, &ue):
		return "want " + typeName(ue.Expected.Type()) + ", got " + valueName(ue.Value)
	}
	return err.Error()
}

func typeName(t reflect.Type) string {
	if isDuration(t) {
		return `a duration like "30s"`
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func valueName(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", clip(v))
	case nil:
		return "nothing"
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return clip(fmt.Sprint(v))
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// unjoin flattens errors.Join's result.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// joinProblems prefixes a load's problems with the file name.
func joinProblems(name string, problems []error) error {
	if len(problems) == 1 {
		return fmt.Errorf("config %s: %w", name, problems[0])
	}
	return fmt.Errorf("config %s: %d problems:\n%w", name, len(problems), errors.Join(problems...))
}
