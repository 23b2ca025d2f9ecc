package router

import (
	"strings"
	"testing"
)

func TestSplitModel(t *testing.T) {
	tests := []struct{ in, provider, model string }{
		{"openai/gpt-4o", "openai", "gpt-4o"},
		{"groq/meta-llama/Llama-3", "groq", "meta-llama/Llama-3"},
		{"gpt-4o", "", ""},
		{"/gpt-4o", "", ""},
		{"openai/", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		p, m, ok := SplitModel(tt.in)
		if p != tt.provider || m != tt.model || ok != (tt.provider != "") {
			t.Errorf("SplitModel(%q) = %q, %q, %v", tt.in, p, m, ok)
		}
	}
}

func FuzzSplitModel(f *testing.F) {
	for _, s := range []string{"openai/gpt-4o", "a/b/c", "/", "x/", "/y", "", "ü/ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, m, ok := SplitModel(s)
		if !ok {
			if p != "" || m != "" {
				t.Fatalf("not ok but %q %q", p, m)
			}
			return
		}
		if p == "" || m == "" || strings.Contains(p, "/") || p+"/"+m != s {
			t.Fatalf("SplitModel(%q) = %q, %q", s, p, m)
		}
	})
}
