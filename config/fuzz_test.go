package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes, as YAML and as JSON (MAS included), to
// the loader: config files are user input. Whatever it accepts must be
// valid and must print without its literal key.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(testdata + "*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(Example())
	f.Add([]byte(`{"baseURL": "http://h/v1", "apiKey": "sk-0123456789abcdef", "models": [{"model": "a"}]}`))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.yaml", "fuzz.json"} {
			c, err := parse(name, data, nil, nil)
			if err != nil {
				if c != nil {
					t.Fatalf("%s: a config and an error", name)
				}
				continue
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("%s: Load accepted an invalid config: %v", name, err)
			}
			out, err := c.Effective()
			if err != nil {
				t.Fatalf("%s: Effective: %v", name, err)
			}
			for i, p := range c.Providers {
				if len(p.APIKey) < 8 {
					continue
				}
				// Count the key in the output with and without it set, so
				// that a key repeated elsewhere in the file is no failure.
				bare := *c
				bare.Providers = append([]Provider(nil), c.Providers...)
				bare.Providers[i].APIKey = ""
				ref, err := bare.Effective()
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Count(out, []byte(p.APIKey)) > bytes.Count(ref, []byte(p.APIKey)) {
					t.Fatalf("%s: Effective shows the literal key:\n%s", name, out)
				}
			}
		}
	})
}
