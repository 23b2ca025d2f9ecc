package config

import "strings"

// resolveTargets turns every target, and the judge, that leaves the
// provider out and writes its model as provider/model ("openai/gpt-4o")
// into provider openai, model gpt-4o. The name is cut at its first slash
// only, and only when the first half names a provider, so that
// "groq/meta-llama/Llama-3" is model meta-llama/Llama-3 at groq; a model
// whose first half names no provider is left for Validate to report.
func (c *Config) resolveTargets() {
	known := make(map[string]bool, len(c.Providers))
	for _, p := range c.Providers {
		known[p.Name] = true
	}
	resolve := func(provider, model *string) {
		if *provider != "" {
			return
		}
		if p, m, ok := strings.Cut(*model, "/"); ok && m != "" && known[p] {
			*provider, *model = p, m
		}
	}
	for i := range c.Routes {
		for j := range c.Routes[i].Targets {
			t := &c.Routes[i].Targets[j]
			resolve(&t.Provider, &t.Model)
		}
	}
	for _, ts := range c.Aliases {
		for j := range ts {
			resolve(&ts[j].Provider, &ts[j].Model)
		}
	}
	resolve(&c.Judge.Provider, &c.Judge.Model)
}
