package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// masProvider is the name of the one provider a MAS file defines.
const masProvider = "mas"

// masListen is where a MAS file's server listens: MAS's default port,
// 8000, on the loopback like switchyard's own default. SWITCHYARD_LISTEN
// and --listen override it as for any config.
const masListen = "127.0.0.1:8000"

// The keys of a MAS file and of one entry of its models, as MAS's README
// documents them; MAS reads no others.
func masKeys() []string      { return []string{"apiKey", "baseURL", "models"} }
func masEntryKeys() []string { return []string{"condition", "model"} }

// isMAS reports whether a parsed file is a MAS router file: it has a MAS
// key (baseURL, apiKey, models; none is switchyard's), or it has no
// switchyard key and one that differs from a MAS key only in case
// ("baseUrl"), so that a misspelt MAS file gets MAS's hints, not
// switchyard's.
func isMAS(raw map[string]any) bool {
	for _, k := range masKeys() {
		if _, ok := raw[k]; ok {
			return true
		}
	}
	own := fields(reflect.TypeFor[Config]())
	folded := false
	for key := range raw {
		if _, ok := own[key]; ok {
			return false
		}
		for _, k := range masKeys() {
			folded = folded || strings.EqualFold(key, k)
		}
	}
	return folded
}

// unknownMASKey is the problem with a key that is not one of known, the
// keys a MAS file (or one of its model entries, what) may have.
func unknownMASKey(key string, known []string, what string) string {
	if c := closest(key, known); c != "" {
		return "unknown key, did you mean " + c
	}
	return "unknown key (" + what + " has only " + strings.Join(known, ", ") + ")"
}

// fromMAS converts a MAS router file, e.g.
//
//	{"baseURL": "https://api.example.com/v1", "apiKey": "sk-...",
//	 "models": [{"condition": "programming, code examples", "model": "gpt-4"},
//	            {"condition": "", "model": "gpt-4o-mini"}]}
//
// into switchyard's shape: one openai-kind provider named "mas" with that
// base URL, and one route per entry, named after its model (a repeated
// model gets "-2", "-3", …), with the entry's condition and the single
// target {mas, model}. The first entry with no condition, else the last
// entry, is default_route. The literal apiKey is returned apart, for
// Provider.APIKey, since no config key can hold it.
//
// A MAS file is checked as strictly as switchyard's own: any other key, at
// the top or in a model entry, is a problem, with a hint when it is near a
// MAS key ("condtion", "apikey", "baseUrl"), since MAS would ignore it and
// the routing would silently change. switchyard's own keys are refused
// too, since a file is one format or the other.
func fromMAS(raw map[string]any) (conf map[string]any, apiKey string, problems []error) {
	bad := func(path, format string, args ...any) {
		problems = append(problems, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	own := fields(reflect.TypeFor[Config]())
	for _, key := range keysOf(raw) {
		switch _, sy := own[key]; {
		case slices.Contains(masKeys(), key):
		case sy:
			bad(key, "a MAS file (baseURL, apiKey, models) cannot set switchyard keys")
		default:
			bad(key, "%s", unknownMASKey(key, masKeys(), "a MAS file"))
		}
	}
	str := func(m map[string]any, key, path string) string {
		v, ok := m[key]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			bad(path, "want a string, got %s", valueName(v))
		}
		return s
	}

	baseURL := str(raw, "baseURL", "baseURL")
	if baseURL == "" {
		bad("baseURL", "required")
	}
	apiKey = str(raw, "apiKey", "apiKey")

	entries, ok := raw["models"].([]any)
	if !ok || len(entries) == 0 {
		bad("models", "want a list of {condition, model}")
	}
	type entry struct{ model, condition string }
	var es []entry
	for i, e := range entries {
		path := "models[" + strconv.Itoa(i) + "]"
		m, ok := e.(map[string]any)
		if !ok {
			bad(path, "want a mapping with condition and model, got %s", valueName(e))
			continue
		}
		for _, key := range keysOf(m) {
			if !slices.Contains(masEntryKeys(), key) {
				bad(path+"."+key, "%s", unknownMASKey(key, masEntryKeys(), "a model entry"))
			}
		}
		model := str(m, "model", path+".model")
		if model == "" {
			bad(path+".model", "required")
			continue
		}
		es = append(es, entry{model: model, condition: str(m, "condition", path+".condition")})
	}
	if len(problems) > 0 {
		return nil, "", problems
	}

	taken := map[string]bool{}
	for _, e := range es {
		taken[e.model] = true
	}
	seen := map[string]bool{}
	routes := make([]any, 0, len(es))
	defaultRoute := ""
	for _, e := range es {
		name := e.model
		if seen[name] {
			for n := 2; ; n++ {
				if c := e.model + "-" + strconv.Itoa(n); !taken[c] {
					name = c
					break
				}
			}
			taken[name] = true
		}
		seen[name] = true
		routes = append(routes, map[string]any{
			"name":      name,
			"condition": e.condition,
			"targets":   []any{map[string]any{"provider": masProvider, "model": e.model}},
		})
		if e.condition == "" && defaultRoute == "" {
			defaultRoute = name
		}
	}
	if defaultRoute == "" {
		defaultRoute = routes[len(routes)-1].(map[string]any)["name"].(string)
	}
	return map[string]any{
		"providers":     []any{map[string]any{"name": masProvider, "kind": ProviderOpenAI, "base_url": baseURL}},
		"routes":        routes,
		"default_route": defaultRoute,
		"listen":        masListen,
	}, apiKey, nil
}
