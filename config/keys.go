package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The key set is read from Config's koanf tags each time it is needed, so
// that unknown-key checks, environment names and flag names cannot drift
// from the struct.

// fields maps a struct type's config keys to their types.
func fields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

// leafKeys is the set of scalar keys reachable through structs alone,
// as dotted paths: the keys the environment and flags may set.
func leafKeys() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for key, ft := range fields(t) {
			path := joinKey(prefix, key)
			switch {
			case ft.Kind() == reflect.Struct && !isDuration(ft) && ft != reflect.TypeFor[Threshold]():
				walk(ft, path)
			case ft.Kind() == reflect.Slice, ft.Kind() == reflect.Map:
			default:
				out[path] = true
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// sectionKeys maps each top-level key that is not a scalar to its kind
// (struct, slice or map).
func sectionKeys() map[string]reflect.Kind {
	out := map[string]reflect.Kind{}
	for key, ft := range fields(reflect.TypeFor[Config]()) {
		switch k := ft.Kind(); {
		case k == reflect.Struct && !isDuration(ft), k == reflect.Slice, k == reflect.Map:
			out[key] = k
		}
	}
	return out
}

// keysOf returns a set's members, sorted.
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// firstLeaf is the first scalar key under section, for examples.
func firstLeaf(leaves map[string]bool, section string) string {
	for _, k := range keysOf(leaves) {
		if strings.HasPrefix(k, section+".") {
			return k
		}
	}
	return section
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// unknownKeys reports every key in v (a parsed file) that t has no field
// for, with its path. Values of the wrong shape are left to the decoder.
func unknownKeys(v any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []error
	switch {
	case isDuration(t):
	case t.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fs := fields(t)
		for _, key := range keysOf(m) {
			p := joinKey(path, key)
			ft, ok := fs[key]
			if !ok {
				out = append(out, &FieldError{Path: p, Problem: unknownProblem(key, fs)})
				continue
			}
			out = append(out, unknownKeys(m[key], ft, p)...)
		}
	case t.Kind() == reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range l {
			out = append(out, unknownKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	case t.Kind() == reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, key := range keysOf(m) {
			out = append(out, unknownKeys(m[key], t.Elem(), path+"["+key+"]")...)
		}
	}
	return out
}

func unknownProblem(key string, siblings map[string]reflect.Type) string {
	if key == "api_key" || key == "apikey" || key == "apiKey" {
		return "unknown key: name the environment variable holding the key with api_key_env"
	}
	if s := closest(key, keysOf(siblings)); s != "" {
		return "unknown key, did you mean " + s
	}
	return "unknown key"
}

// suggest returns `, did you mean "x"` for the candidate nearest to s, or
// "" when none is near enough to be a typo.
func suggest(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return ", did you mean " + strconv.Quote(c)
	}
	return ""
}

// closest is the candidate within a typo's distance of s, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3 // more than 2 edits is not a typo
	for _, c := range candidates {
		if d := distance(s, c); d < bestD && d < len([]rune(c)) {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, case-insensitive.
func distance(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
