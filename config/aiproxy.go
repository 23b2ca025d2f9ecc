package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// AI Proxy's legacy environment variables, as its README documents them.
const (
	aiProxyTarget    = "TARGET_OPENAI_URL" // an OpenAI-compatible endpoint; default https://api.openai.com
	aiProxyKey       = "API_KEY"           // the key of the endpoints that name none
	aiProxyEndpoints = "ENDPOINTS"         // JSON or a comma-separated list of URLs
	aiProxyTimeout   = "TIMEOUT"           // seconds; default 60
	aiProxyPort      = "PORT"              // default 8000
)

// AI Proxy's defaults, kept when its variables configure switchyard.
const (
	aiProxyDefaultTarget  = "https://api.openai.com"
	aiProxyDefaultTimeout = 60 * time.Second
	aiProxyDefaultPort    = 8000
)

// AIProxyEnvSource names the configuration FromAIProxyEnv builds, in
// errors and logs.
const AIProxyEnvSource = "AI Proxy environment (TARGET_OPENAI_URL, ENDPOINTS)"

// HasAIProxyEnv reports whether AI Proxy's environment configuration is
// present: TARGET_OPENAI_URL or ENDPOINTS is set. API_KEY, TIMEOUT and
// PORT alone are too common to mean AI Proxy.
func HasAIProxyEnv(getenv func(string) string) bool {
	return getenv(aiProxyTarget) != "" || getenv(aiProxyEndpoints) != ""
}

// AIProxyEndpoint is one endpoint of AI Proxy's configuration: its
// config.py entries, and ENDPOINTS as a JSON array.
type AIProxyEndpoint struct {
	URL    string `json:"url"`
	Type   string `json:"type"` // "openai" (default) or "ocf"
	APIKey string `json:"api_key"`
}

// ParseAIProxyEndpoints reads ENDPOINTS in any of the forms AI Proxy
// users write it: a JSON object of URL to key
// ({"https://api.openai.com":"sk-…"}), a JSON array of endpoint objects
// ([{"url":…,"type":"ocf","api_key":…}]), or a comma-separated list of
// URLs (the endpoints' key is then API_KEY's, see FromAIProxyEnv). Every
// URL must be absolute http(s); an array entry's type must be openai or
// ocf (default openai).
func ParseAIProxyEndpoints(v string) ([]AIProxyEndpoint, error) {
	v = strings.TrimSpace(v)
	var eps []AIProxyEndpoint
	switch {
	case strings.HasPrefix(v, "{"):
		var m map[string]string
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("ENDPOINTS: want a JSON object of URL to API key: %w", err)
		}
		// Sorted, so provider names and order are the same at every start.
		for _, u := range slices.Sorted(maps.Keys(m)) {
			eps = append(eps, AIProxyEndpoint{URL: u, APIKey: m[u]})
		}
	case strings.HasPrefix(v, "["):
		if err := json.Unmarshal([]byte(v), &eps); err != nil {
			return nil, fmt.Errorf("ENDPOINTS: want a JSON array of {url, type, api_key}: %w", err)
		}
	default:
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				eps = append(eps, AIProxyEndpoint{URL: u})
			}
		}
	}
	if len(eps) == 0 {
		return nil, errors.New("ENDPOINTS: no endpoint")
	}
	for i := range eps {
		e := &eps[i]
		e.URL = strings.TrimRight(strings.TrimSpace(e.URL), "/")
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("ENDPOINTS[%d]: %q is not an http(s) URL", i, clip(e.URL))
		}
		switch e.Type {
		case "":
			e.Type = ProviderOpenAI
		case ProviderOpenAI, ProviderOCF:
		default:
			return nil, fmt.Errorf("ENDPOINTS[%d]: type %q (want openai or ocf)", i, clip(e.Type))
		}
	}
	return eps, nil
}

// FromAIProxyEnv builds a configuration from AI Proxy's environment
// variables, for a start with no config file (see HasAIProxyEnv):
//
//   - ENDPOINTS, when set, are the providers (ParseAIProxyEndpoints);
//     otherwise TARGET_OPENAI_URL (default https://api.openai.com) is the
//     one provider. Each is named after its URL's host (a repeated host
//     gets "-2", "-3", …), is of kind openai with discover on (its models
//     are those its GET /v1/models lists), or of kind ocf (its node
//     table's), as AI Proxy discovers them.
//   - API_KEY is the key of every endpoint that names none, read from the
//     variable (api_key_env: API_KEY) and never copied; a key written in
//     ENDPOINTS is kept as a MAS file's is (Provider.APIKey: never printed).
//   - TIMEOUT, in seconds, bounds each upstream call (default 60, as AI
//     Proxy's).
//   - PORT is the port switchyard listens on, on 127.0.0.1 as every
//     switchyard default is (default 8000, AI Proxy's); SWITCHYARD_LISTEN
//     (or --listen) chooses another address, 0.0.0.0:8000 in a container.
//
// There are no routes: a client names a model, as with AI Proxy, and the
// request goes to a provider that serves it. SWITCHYARD_* overrides and
// flags apply, and the result is validated as a file is.
func FromAIProxyEnv(getenv func(string) string, environ func() []string, flags *pflag.FlagSet) (*Config, error) {
	var eps []AIProxyEndpoint
	if v := getenv(aiProxyEndpoints); v != "" {
		var err error
		if eps, err = ParseAIProxyEndpoints(v); err != nil {
			return nil, fmt.Errorf("config %s: %w", AIProxyEnvSource, err)
		}
	} else {
		target := strings.TrimRight(getenv(aiProxyTarget), "/")
		if target == "" {
			target = aiProxyDefaultTarget
		}
		eps = []AIProxyEndpoint{{URL: target, Type: ProviderOpenAI}}
	}
	timeout := aiProxyDefaultTimeout
	if v := getenv(aiProxyTimeout); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 || s > 24*3600 {
			return nil, fmt.Errorf("config %s: TIMEOUT %q: want seconds, above 0 and at most 86400", AIProxyEnvSource, clip(v))
		}
		timeout = time.Duration(s * float64(time.Second))
	}
	port := aiProxyDefaultPort
	if v := getenv(aiProxyPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("config %s: PORT %q: want a port number, 1 to 65535", AIProxyEnvSource, clip(v))
		}
		port = p
	}

	providers := make([]any, 0, len(eps))
	keys := map[string]string{} // provider name → a key written in ENDPOINTS
	seen := map[string]int{}
	for _, e := range eps {
		u, _ := url.Parse(e.URL) // checked
		name := u.Host
		if seen[name]++; seen[name] > 1 {
			name += "-" + strconv.Itoa(seen[name])
		}
		p := map[string]any{"name": name, "kind": e.Type, "base_url": e.URL, "timeout": timeout.String(), "discover": true}
		switch {
		case e.APIKey != "":
			keys[name] = e.APIKey
		case getenv(aiProxyKey) != "":
			p["api_key_env"] = aiProxyKey
		}
		providers = append(providers, p)
	}
	raw := map[string]any{"listen": "127.0.0.1:" + strconv.Itoa(port), "providers": providers}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", AIProxyEnvSource, err)
	}
	cfg, err := parse(AIProxyEnvSource, data, environ, flags)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Providers {
		if k, ok := keys[cfg.Providers[i].Name]; ok && cfg.Providers[i].APIKeyEnv == "" {
			cfg.Providers[i].APIKey = k
		}
	}
	return cfg, nil
}
