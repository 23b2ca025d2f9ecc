package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestMAS(t *testing.T) {
	c, err := Load(testdata+"mas.json", envOf("SWITCHYARD_LISTEN=:9000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProviders := []Provider{{Name: "mas", Kind: ProviderOpenAI, BaseURL: "https://api.example.com/v1", APIKey: "sk-test-0123456789abcdefWXYZ",
		Timeout: DefaultUpstreamTimeout, FirstByteTimeout: DefaultFirstByteTimeout, StreamIdleTimeout: DefaultStreamIdleTimeout}}
	if !reflect.DeepEqual(c.Providers, wantProviders) {
		t.Errorf("providers = %+v, want %+v", c.Providers, wantProviders)
	}
	wantRoutes := []Route{
		{Name: "gpt-4", Condition: "programming, code examples, debugging", Targets: []Target{{Provider: "mas", Model: "gpt-4"}}},
		{Name: "gpt-4o-mini", Targets: []Target{{Provider: "mas", Model: "gpt-4o-mini"}}},
		{Name: "gpt-4-2", Condition: "creative writing, poems", Targets: []Target{{Provider: "mas", Model: "gpt-4"}}},
	}
	if !reflect.DeepEqual(c.Routes, wantRoutes) {
		t.Errorf("routes = %+v, want %+v", c.Routes, wantRoutes)
	}
	if c.DefaultRoute != "gpt-4o-mini" {
		t.Errorf("default_route = %q, want the entry with no condition", c.DefaultRoute)
	}
	if c.Listen != ":9000" || c.Routing != Default().Routing {
		t.Errorf("env overrides and defaults must apply to MAS files too: listen %q routing %+v", c.Listen, c.Routing)
	}
}

// TestMASPort: a MAS file listens on MAS's port, 8000, not switchyard's
// 8080; a switchyard file keeps 8080.
func TestMASPort(t *testing.T) {
	c, err := Load(testdata+"mas.json", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8000" {
		t.Errorf("MAS file: listen %q, want 127.0.0.1:8000", c.Listen)
	}
	if d := Default().Listen; d != "127.0.0.1:8080" {
		t.Errorf("switchyard's default listen %q, want 127.0.0.1:8080", d)
	}
}

func TestMASConversion(t *testing.T) {
	tests := []struct {
		name        string
		file        string // under testdata, or body written as a .json file
		body        string
		wantRoutes  []string
		wantDefault string
		wantKey     string
	}{
		{"no empty condition: the last entry is default", "mas_no_default.json", "",
			[]string{"o3-mini", "gpt-4o-mini"}, "gpt-4o-mini", ""},
		{"missing condition counts as empty", "", `{"baseURL": "http://h/v1", "models": [{"model": "a"}, {"model": "b", "condition": "x"}]}`,
			[]string{"a", "b"}, "a", ""},
		{"the first empty condition is default", "", `{"baseURL": "http://h/v1", "models": [{"model": "a", "condition": "x"}, {"model": "b"}, {"model": "c", "condition": ""}]}`,
			[]string{"a", "b", "c"}, "b", ""},
		{"suffixes skip real model names", "", `{"baseURL": "http://h/v1", "apiKey": "k", "models": [{"model": "m", "condition": "x"}, {"model": "m", "condition": "y"}, {"model": "m-2", "condition": "z"}]}`,
			[]string{"m", "m-3", "m-2"}, "m-2", "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testdata + tt.file
			if tt.file == "" {
				path = writeFile(t, "mas.json", tt.body)
			}
			c, err := Load(path, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range c.Routes {
				names = append(names, r.Name)
			}
			if !slices.Equal(names, tt.wantRoutes) || c.DefaultRoute != tt.wantDefault || c.Providers[0].APIKey != tt.wantKey {
				t.Errorf("routes %q default %q key %q; want %q %q %q", names, c.DefaultRoute, c.Providers[0].APIKey,
					tt.wantRoutes, tt.wantDefault, tt.wantKey)
			}
		})
	}
}

func TestMASProblems(t *testing.T) {
	tests := []struct {
		name, file, body string
		want             []string
	}{
		{"invalid file", "mas_invalid.json", "", []string{"apiKey", "baseURL", "listen", "models[0].model", "models[1]"}},
		{"no models", "", `{"baseURL": "http://h/v1", "apiKey": "k"}`, []string{"models"}},
		{"bad base url", "", `{"baseURL": "h/v1", "models": [{"model": "a"}]}`, []string{"providers[0].base_url"}},
		{"a model named auto", "", `{"baseURL": "http://h/v1", "models": [{"model": "auto"}]}`, []string{"routes[0].name"}},
		{"unknown keys at the top and in entries", "", `{"baseURL": "http://h/v1", "version": 2, "models": [{"model": "a", "condition": "", "notes": "n"}]}`,
			[]string{"models[0].notes", "version"}},
		{"a misspelt MAS key is not a missing one", "", `{"baseUrl": "http://h/v1", "models": [{"model": "a"}]}`,
			[]string{"baseURL", "baseUrl"}},
		{"every key misspelt", "", `{"baseurl": "http://h/v1", "apikey": "k", "Models": [{"model": "a"}]}`,
			[]string{"Models", "apikey", "baseURL", "baseurl", "models"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testdata + tt.file
			if tt.file == "" {
				path = writeFile(t, "mas.json", tt.body)
			}
			_, err := Load(path, nil, nil)
			if got := fieldPaths(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems at %q, want %q; error:\n%v", got, tt.want, err)
			}
		})
	}
}

// TestMASInYAML: detection is by keys, not by file name.
func TestMASInYAML(t *testing.T) {
	c, err := Load(writeFile(t, "mas.yaml", "baseURL: http://h/v1\nmodels:\n  - {model: a}\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultRoute != "a" || c.Providers[0].Name != "mas" {
		t.Errorf("got %+v", c)
	}
}

// TestMASTypoHints: a misspelt MAS key would be ignored by MAS and change
// the routing silently, so it is a problem, with the key it is near.
func TestMASTypoHints(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"condition", `{"baseURL": "http://h/v1", "models": [{"condtion": "code", "model": "a"}, {"model": "b"}]}`,
			[]string{"models[0].condtion: unknown key, did you mean condition"}},
		{"apiKey", `{"baseURL": "http://h/v1", "apikey": "sk-secret-value", "models": [{"model": "a"}]}`,
			[]string{"apikey: unknown key, did you mean apiKey"}},
		{"baseURL", `{"baseUrl": "http://h/v1", "models": [{"model": "a"}]}`,
			[]string{"baseUrl: unknown key, did you mean baseURL", "baseURL: required"}},
		{"model", `{"baseURL": "http://h/v1", "models": [{"Model": "a"}]}`,
			[]string{"models[0].Model: unknown key, did you mean model"}},
		{"no near key", `{"baseURL": "http://h/v1", "temperature": 0.2, "models": [{"model": "a", "weight": 2}]}`,
			[]string{"temperature: unknown key (a MAS file has only apiKey, baseURL, models)",
				"models[0].weight: unknown key (a model entry has only condition, model)"}},
		{"all misspelt, detected by case", `{"baseurl": "http://h/v1", "Models": [{"model": "a"}]}`,
			[]string{"baseurl: unknown key, did you mean baseURL", "Models: unknown key, did you mean models"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "mas.json", tt.body), nil, nil)
			if err == nil {
				t.Fatal("loaded a MAS file with a misspelt key")
			}
			fieldPaths(t, err) // holds the messages to the house style
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "sk-secret-value") {
				t.Errorf("error echoes the key:\n%v", err)
			}
		})
	}
}

// TestMASDetectionLeavesSwitchyardFilesAlone: a stray apiKey-like key in a
// switchyard file does not make it a MAS file; it gets switchyard's hint.
func TestMASDetectionLeavesSwitchyardFilesAlone(t *testing.T) {
	_, err := Load(writeFile(t, "c.yaml", "listen: ':8080'\napikey: sk-x\n"), nil, nil)
	if got := fieldPaths(t, err); !slices.Equal(got, []string{"apikey"}) {
		t.Fatalf("problems at %q, want [apikey]; error:\n%v", got, err)
	}
	if !strings.Contains(err.Error(), "api_key_env") {
		t.Errorf("want switchyard's api_key_env hint, got:\n%v", err)
	}
}
