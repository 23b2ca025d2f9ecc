package classifier

import (
	"strings"
	"unicode"
)

// Facets splits a condition written as a list into its parts: pieces
// separated by commas, semicolons or line breaks, trimmed, with a leading
// "and" or "or" dropped, blanks and repeats skipped. A condition with
// fewer than two parts has no facets. New indexes the facets as utterances
// of the route, after the whole condition.
func Facets(condition string) []string {
	parts := strings.FieldsFunc(condition, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r' || r == '，' || r == '；' || r == '、'
	})
	var out []string
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimFunc(p, func(r rune) bool { return unicode.IsSpace(r) || r == '.' })
		for _, conj := range []string{"and ", "or "} {
			if len(p) > len(conj) && strings.EqualFold(p[:len(conj)], conj) {
				p = strings.TrimSpace(p[len(conj):])
			}
		}
		if p == "" || seen[strings.ToLower(p)] {
			continue
		}
		seen[strings.ToLower(p)] = true
		out = append(out, p)
	}
	if len(out) < 2 {
		return nil
	}
	return out
}
