package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFromAIProxyEnv(t *testing.T) {
	type prov struct {
		name, kind, url, keyEnv, key string
	}
	tests := []struct {
		name    string
		env     map[string]string
		listen  string
		timeout time.Duration
		want    []prov
		wantErr string
	}{
		{"target only, default key variable unset", map[string]string{"TARGET_OPENAI_URL": "http://127.0.0.1:9000/"},
			"127.0.0.1:8000", 60 * time.Second, []prov{{"127.0.0.1:9000", "openai", "http://127.0.0.1:9000", "", ""}}, ""},
		{"target with API_KEY, PORT and TIMEOUT", map[string]string{"TARGET_OPENAI_URL": "https://api.openai.com", "API_KEY": "sk-1", "PORT": "9100", "TIMEOUT": "2.5"},
			"127.0.0.1:9100", 2500 * time.Millisecond, []prov{{"api.openai.com", "openai", "https://api.openai.com", "API_KEY", ""}}, ""},
		{"ENDPOINTS object of URL to key", map[string]string{"ENDPOINTS": `{"https://b.example":"kb","https://a.example":""}`, "API_KEY": "sk-d"},
			"127.0.0.1:8000", 60 * time.Second, []prov{{"a.example", "openai", "https://a.example", "API_KEY", ""}, {"b.example", "openai", "https://b.example", "", "kb"}}, ""},
		{"ENDPOINTS comma list, one host twice", map[string]string{"ENDPOINTS": "http://h:1/v1, http://h:1/other,", "TARGET_OPENAI_URL": "http://ignored"},
			"127.0.0.1:8000", 60 * time.Second, []prov{{"h:1", "openai", "http://h:1/v1", "", ""}, {"h:1-2", "openai", "http://h:1/other", "", ""}}, ""},
		{"ENDPOINTS array with an ocf endpoint", map[string]string{"ENDPOINTS": `[{"url":"http://ocf:8092","type":"ocf","api_key":"ko"},{"url":"https://api.openai.com"}]`},
			"127.0.0.1:8000", 60 * time.Second, []prov{{"ocf:8092", "ocf", "http://ocf:8092", "", "ko"}, {"api.openai.com", "openai", "https://api.openai.com", "", ""}}, ""},
		{"bad type", map[string]string{"ENDPOINTS": `[{"url":"http://x","type":"grpc"}]`}, "", 0, nil, "type \"grpc\""},
		{"bad URL", map[string]string{"ENDPOINTS": "ftp://x"}, "", 0, nil, "not an http(s) URL"},
		{"empty list", map[string]string{"ENDPOINTS": " , "}, "", 0, nil, "no endpoint"},
		{"bad PORT", map[string]string{"TARGET_OPENAI_URL": "http://x", "PORT": "80a"}, "", 0, nil, "PORT"},
		{"bad TIMEOUT", map[string]string{"TARGET_OPENAI_URL": "http://x", "TIMEOUT": "-1"}, "", 0, nil, "TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			if !HasAIProxyEnv(getenv) {
				t.Fatal("HasAIProxyEnv = false")
			}
			cfg, err := FromAIProxyEnv(getenv, nil, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != tt.listen {
				t.Errorf("listen %q, want %q", cfg.Listen, tt.listen)
			}
			var got []prov
			for _, p := range cfg.Providers {
				got = append(got, prov{p.Name, p.Kind, p.BaseURL, p.APIKeyEnv, p.APIKey})
				if !p.Discover || p.Timeout != tt.timeout {
					t.Errorf("provider %s: discover %v, timeout %v; want true, %v", p.Name, p.Discover, p.Timeout, tt.timeout)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("providers\n got %v\nwant %v", got, tt.want)
			}
			if s := fmt.Sprintf("%+v", cfg.Providers); strings.Contains(s, "APIKey:kb") || strings.Contains(s, "APIKey:ko") {
				t.Errorf("a literal key is printed: %s", s)
			}
		})
	}
	if HasAIProxyEnv(func(k string) string { return map[string]string{"API_KEY": "x", "PORT": "1"}[k] }) {
		t.Error("API_KEY and PORT alone count as AI Proxy's configuration")
	}
}

// TestFromAIProxyEnvOverrides: SWITCHYARD_* overrides apply over the
// variables, as over a file.
func TestFromAIProxyEnvOverrides(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"TARGET_OPENAI_URL": "http://x:1"}[k] }
	cfg, err := FromAIProxyEnv(getenv, func() []string { return []string{"SWITCHYARD_LISTEN=0.0.0.0:8000"} }, nil)
	if err != nil || cfg.Listen != "0.0.0.0:8000" {
		t.Fatalf("listen %v, %v; want SWITCHYARD_LISTEN's", cfg, err)
	}
}

func FuzzParseAIProxyEndpoints(f *testing.F) {
	for _, s := range []string{`{"https://a":"k"}`, `[{"url":"http://o:8092","type":"ocf"}]`, "http://a,http://b", `[{"url":1}]`, `{`, ",,", "http://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		eps, err := ParseAIProxyEndpoints(v)
		if err != nil {
			return
		}
		if len(eps) == 0 {
			t.Fatal("no endpoints and no error")
		}
		for _, e := range eps {
			if (e.Type != ProviderOpenAI && e.Type != ProviderOCF) || !strings.HasPrefix(e.URL, "http") {
				t.Fatalf("accepted %+v from %q", e, v)
			}
		}
	})
}
