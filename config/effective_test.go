package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load(writeFile(t, "example.yaml", string(Example())), nil, nil)
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	var names []string
	for _, r := range c.Routes {
		names = append(names, r.Name)
	}
	for _, want := range []string{"code", "math", "creative", "translation", "summarise", "chat"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("the example has no %s route (routes: %v)", want, names)
		}
	}
	if c.DefaultRoute != "chat" {
		t.Errorf("default_route = %q, want chat", c.DefaultRoute)
	}
}

// TestExampleMentionsEveryKey walks Config's keys, lists included, and
// wants each one in the example, set or in a comment.
func TestExampleMentionsEveryKey(t *testing.T) {
	ex := string(Example())
	var walk func(t reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || isDuration(rt) {
			return
		}
		for key, ft := range fields(rt) {
			if !strings.Contains(ex, key+":") {
				t.Errorf("the example does not mention %s", joinKey(path, key))
			}
			walk(ft, joinKey(path, key))
		}
	}
	walk(reflect.TypeFor[Config](), "")
}

// TestWriteFirstRun: the first config is written whole, directories
// created, and never over an existing file.
func TestWriteFirstRun(t *testing.T) {
	getenv := func(string) string { return "" }
	path := filepath.Join(t.TempDir(), "a", "b", "config.yaml")
	if err := WriteFirstRun(path, getenv); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, FirstRun(getenv)) {
		t.Error("the file differs from FirstRun()")
	}
	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFirstRun(path, getenv); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "mine" {
		t.Error("WriteFirstRun overwrote an existing file")
	}
}

// TestEffectiveRoundTrip: what config check prints loads back as the same
// config.
func TestEffectiveRoundTrip(t *testing.T) {
	for _, src := range []string{string(Example()), "", "routes: []\n"} {
		c, err := Load(writeFile(t, "in.yaml", src), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Effective()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Load(writeFile(t, "out.yaml", string(out)), nil, nil)
		if err != nil {
			t.Fatalf("Effective's output does not load: %v\n%s", err, out)
		}
		again, err := back.Effective()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, out) {
			t.Errorf("round trip changed the config:\n%s\n%s", out, again)
		}
		if src == string(Example()) && !reflect.DeepEqual(back, c) {
			t.Errorf("round trip changed the config:\n%+v\n%+v", c, back)
		}
	}
}

func TestEffectiveHidesSecrets(t *testing.T) {
	const key = "sk-test-0123456789abcdefWXYZ"
	c, err := Load(testdata+"mas.json", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Providers = append(c.Providers, Provider{Name: "env", Kind: ProviderOpenAI, BaseURL: "https://x/v1", APIKeyEnv: "OPENAI_API_KEY"})
	out, err := c.Effective()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`api_key: "****WXYZ"`, "api_key_env: OPENAI_API_KEY"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Effective lacks %q:\n%s", want, out)
		}
	}
	printed := map[string]string{"Effective": string(out)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		printed[verb] = fmt.Sprintf(verb, c)
		printed[verb+" providers"] = fmt.Sprintf(verb, c.Providers)
		printed[verb+" provider"] = fmt.Sprintf(verb, c.Providers[0])
	}
	for how, s := range printed {
		if strings.Contains(s, key) || strings.Contains(s, fmt.Sprintf("%x", key)) || strings.Contains(s, "0123456789abcdef") {
			t.Errorf("%s shows the literal key: %s", how, s)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"short", "****"},
		{"elevenchars", "****"},
		{"twelve-chars", "****hars"},
		{"sk-test-0123456789abcdefWXYZ", "****WXYZ"},
	}
	for _, tt := range tests {
		if got := mask(tt.in); got != tt.want {
			t.Errorf("mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
