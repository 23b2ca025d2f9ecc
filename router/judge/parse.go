package judge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-router/switchyard/providers"
)

// Parse reads the judge's answer from its reply, defensively, in order:
// the arguments of a tool call ({"route": …}); a JSON object with a
// "route" key anywhere in the text; the text being a bare name, or naming
// exactly one candidate (or None) as a word. The answer is returned as a
// candidate's configured name (names match case-insensitively), or None.
// Anything else is ErrInvalidAnswer, with the answer as read (or the reply
// cut to 200 bytes) for explanations.
func Parse(msg providers.Message, candidates []Candidate) (string, error) {
	if len(msg.ToolCalls) > 0 {
		if route, ok := toolRoute(msg.ToolCalls); ok {
			return valid(route, candidates)
		}
	}
	text := strings.TrimSpace(msg.Text())
	if route, ok := jsonRoute(text); ok {
		return valid(route, candidates)
	}
	if ans, ok := bareName(text, candidates); ok {
		return ans, nil
	}
	if text == "" && len(msg.ToolCalls) > 0 {
		text = string(msg.ToolCalls)
	}
	return clip(text), fmt.Errorf("%w: %q", ErrInvalidAnswer, clip(text))
}

// valid maps route to a candidate's own name, or None.
func valid(route string, candidates []Candidate) (string, error) {
	r := strings.TrimSpace(route)
	if strings.EqualFold(r, None) {
		return None, nil
	}
	for _, c := range candidates {
		if strings.EqualFold(r, c.Name) {
			return c.Name, nil
		}
	}
	return clip(route), fmt.Errorf("%w: %q is not a candidate", ErrInvalidAnswer, clip(route))
}

// toolRoute reads "route" from the first tool call whose arguments have
// it. Arguments are a JSON string (OpenAI) or, from lenient upstreams, an
// object.
func toolRoute(calls json.RawMessage) (string, bool) {
	var cs []struct {
		Function struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"function"`
	}
	if json.Unmarshal(calls, &cs) != nil {
		return "", false
	}
	for _, c := range cs {
		args := c.Function.Arguments
		var s string
		if json.Unmarshal(args, &s) == nil {
			args = json.RawMessage(s)
		}
		if route, ok := jsonRoute(string(args)); ok {
			return route, true
		}
	}
	return "", false
}

// jsonRoute finds the first JSON object in s with a string "route" (code
// fences and prose around it are skipped).
func jsonRoute(s string) (string, bool) {
	for i := strings.IndexByte(s, '{'); i >= 0; {
		var v struct {
			Route *string `json:"route"`
		}
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		if dec.Decode(&v) == nil && v.Route != nil {
			return *v.Route, true
		}
		next := strings.IndexByte(s[i+1:], '{')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return "", false
}

// bareName accepts a reply that is a name (quotes, backticks and a final
// full stop allowed), or prose that names exactly one of the candidates
// and None as a whole word.
func bareName(text string, candidates []Candidate) (string, bool) {
	t := strings.Trim(text, " \t\r\n\"'`.")
	if t == "" {
		return "", false
	}
	if ans, err := valid(t, candidates); err == nil {
		return ans, true
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_'
	}) {
		words[w] = true
	}
	found := ""
	for _, name := range append(names(candidates), None) {
		if words[strings.ToLower(name)] {
			if found != "" {
				return "", false // ambiguous
			}
			found = name
		}
	}
	return found, found != ""
}

func names(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain maps, slices and strings reach here
	}
	return bytes.TrimSpace(b)
}
