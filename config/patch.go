package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Patch is a set of routing values to write into a config file. A nil
// field, or a route missing from RouteThresholds, RouteExamples and
// RouteNegatives, is left as it is.
type Patch struct {
	Threshold   *float64 // routing.threshold
	Aggregation *string  // routing.aggregation
	Margin      *float64 // routing.margin
	TopK        *int     // routing.top_k
	// RouteThresholds sets routes[i].threshold, by route name. Every name
	// must be a route of the file.
	RouteThresholds map[string]float64
	// RouteExamples appends utterances to routes[i].examples, by route
	// name, after those the route has (adding the key when it has none).
	// Every name with items must be a route of the file; items must be
	// valid UTF-8.
	RouteExamples map[string][]string
	// RouteNegatives appends near misses to routes[i].negatives, as
	// RouteExamples does to examples.
	RouteNegatives map[string][]string
	// Comment, when set, is written as a comment line ("# " and Comment,
	// line breaks made spaces) just above the first item appended to each
	// list, saying where the items came from.
	Comment string
}

// PatchFile writes p into the YAML config file at path, keeping its
// comments and layout: a value that is there is replaced where it stands,
// and a missing key gets a line of its own next to its siblings (or is
// added to a flow mapping such as `- {name: code, ...}`), so every line
// the patch does not concern stays byte for byte as it was. The routing
// mapping is added at the end of the file when the file has none. Items
// appended to a list go one a line after its last item, in its style: a
// block list gets "- item" lines, a flow list (or a key added to a flow
// mapping) is continued over lines inside its brackets; each item is
// written plain when that reads back as the same string, else
// double-quoted.
//
// The result must load and validate as Load would (with no environment or
// flags), and must differ from the file only in the patched keys; it is
// checked before anything is written, and then replaces the file
// atomically (a temporary file in the same directory, renamed over it,
// with the original's permissions). On any error the file is unchanged.
//
// JSON files and MAS router files are refused: they cannot hold comments,
// so convert them to YAML first (switchyard config check prints the
// effective config as YAML).
func PatchFile(path string, p Patch) error {
	return editFile(path, "patch", func(data []byte) ([]byte, error) { return patchYAML(path, data, p) })
}

// editFile rewrites the YAML config at path (through a symbolic link, to
// the file it names) with change, the edit verb saying what for in
// errors: a JSON file is refused, the result must load, and it replaces
// the file atomically with the same permissions. On any error the file
// is unchanged.
func editFile(path, verb string, change func([]byte) ([]byte, error)) error {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return fmt.Errorf("config: %s %s: a JSON file cannot keep comments; convert it to YAML first (switchyard config check prints it as YAML)", verb, path)
	}
	target, err := filepath.EvalSymlinks(path) // rename must replace the file, not a link to it
	if err != nil {
		return fmt.Errorf("config: %s: %w", verb, err)
	}
	info, err := os.Stat(target)
	if err != nil {
		return fmt.Errorf("config: %s: %w", verb, err)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return fmt.Errorf("config: %s: %w", verb, err)
	}
	out, err := change(data)
	if err != nil {
		return fmt.Errorf("config: %s %s: %w", verb, path, err)
	}
	if _, err := parse(path, out, nil, nil); err != nil {
		return fmt.Errorf("config: %s %s: the result would not load, file left unchanged: %w", verb, path, err)
	}
	if err := writeAtomic(target, out, info.Mode().Perm()); err != nil {
		return fmt.Errorf("config: %s %s: %w", verb, path, err)
	}
	return nil
}

// writeAtomic replaces path with data through a temporary file in the same
// directory, so a reader sees the old file or the new one, never a part.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// edit replaces src[off:end] (an insertion when off == end).
type edit struct {
	off, end int
	text     string
}

// patcher edits a YAML document's bytes at positions the parsed node tree
// gives, rather than re-encoding the tree: yaml.v3's encoder would drop
// blank lines and re-indent, and so rewrite lines the patch never touched.
type patcher struct {
	src   []byte
	lines []int // byte offset of each line's start
	nl    string
	edits []edit
}

// want is one value the patch sets, for checking the result.
type want struct {
	path  []any // map keys (string) and list indices (int)
	value any   // float64, int, string, or a list's whole value ([]any)
}

func patchYAML(name string, data []byte, p Patch) ([]byte, error) {
	raw, err := decodeFile(name, data)
	if err != nil {
		return nil, err
	}
	if isMAS(raw) {
		return nil, errors.New("a MAS router file cannot keep comments and switchyard keys; convert it to a switchyard YAML config first (switchyard config check prints it)")
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"routing.threshold", p.Threshold}, {"routing.margin", p.Margin}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			return nil, fmt.Errorf("%s: %v is not a finite number", f.name, *f.v)
		}
	}
	for name, v := range p.RouteThresholds {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("route %q: threshold %v is not a finite number", name, v)
		}
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	pt := &patcher{src: data, nl: "\n"}
	if bytes.Contains(data, []byte("\r\n")) {
		pt.nl = "\r\n"
	}
	pt.lines = append(pt.lines, 0)
	for i, b := range data {
		if b == '\n' {
			pt.lines = append(pt.lines, i+1)
		}
	}

	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	if root != nil && root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		root = nil // a file of comments only
	}
	if root != nil && (root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0) {
		return nil, errors.New("the top level is not a block mapping")
	}

	var wants []want
	var routing []kv
	addRouting := func(key string, text string, v any) {
		routing = append(routing, kv{key, text})
		wants = append(wants, want{[]any{"routing", key}, v})
	}
	if p.Threshold != nil {
		addRouting("threshold", formatFloat(*p.Threshold), *p.Threshold)
	}
	if p.Aggregation != nil {
		addRouting("aggregation", "", *p.Aggregation) // text depends on the style in place
	}
	if p.TopK != nil {
		addRouting("top_k", strconv.Itoa(*p.TopK), *p.TopK)
	}
	if p.Margin != nil {
		addRouting("margin", formatFloat(*p.Margin), *p.Margin)
	}
	if len(routing) > 0 {
		if err := pt.setRouting(root, routing, p.Aggregation); err != nil {
			return nil, err
		}
	}

	named := map[string]bool{}
	for name := range p.RouteThresholds {
		named[name] = true
	}
	for _, lists := range []map[string][]string{p.RouteExamples, p.RouteNegatives} {
		for name, items := range lists {
			if len(items) > 0 {
				named[name] = true
			}
			for _, it := range items {
				if !utf8.ValidString(it) {
					return nil, fmt.Errorf("route %q: item %q is not valid UTF-8", name, it)
				}
			}
		}
	}
	comment := strings.Join(strings.Fields(p.Comment), " ")

	if len(named) > 0 {
		var routes *yaml.Node
		if root != nil {
			routes = mappingValue(root, "routes")
		}
		found := map[string]bool{}
		if routes != nil && routes.Kind == yaml.SequenceNode {
			for i, r := range routes.Content {
				if r.Kind != yaml.MappingNode {
					continue
				}
				nameNode := mappingValue(r, "name")
				if nameNode == nil || nameNode.Kind != yaml.ScalarNode || !named[nameNode.Value] {
					continue
				}
				name := nameNode.Value
				found[name] = true
				at := "routes[" + strconv.Itoa(i) + "]"
				if v, ok := p.RouteThresholds[name]; ok {
					if err := pt.set(r, at, []kv{{"threshold", formatFloat(v)}}); err != nil {
						return nil, err
					}
					wants = append(wants, want{[]any{"routes", i, "threshold"}, v})
				}
				for _, l := range []struct {
					key   string
					items []string
				}{{"examples", p.RouteExamples[name]}, {"negatives", p.RouteNegatives[name]}} {
					if len(l.items) == 0 {
						continue
					}
					if err := pt.appendList(r, at, l.key, l.items, comment); err != nil {
						return nil, err
					}
					path := []any{"routes", i, l.key}
					var all []any
					if old, ok := lookup(raw, path); ok && old != nil {
						prev, ok := old.([]any)
						if !ok {
							return nil, fmt.Errorf("%s.%s: not a list; edit it by hand", at, l.key)
						}
						all = append(all, prev...)
					}
					for _, it := range l.items {
						all = append(all, it)
					}
					wants = append(wants, want{path, all})
				}
			}
		}
		var missing []string
		for name := range named {
			if !found[name] {
				missing = append(missing, strconv.Quote(name))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return nil, fmt.Errorf("no route named %s in the file", strings.Join(missing, ", "))
		}
	}

	out, err := pt.apply()
	if err == nil {
		err = checkPatched(name, raw, out, wants)
	}
	if err != nil {
		return nil, fmt.Errorf("the edit went wrong, file left unchanged: %w", err)
	}
	return out, nil
}

// kv is a key and the YAML text of its new value.
type kv struct{ key, text string }

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// setRouting sets keys of the routing mapping, adding it if needed.
func (pt *patcher) setRouting(root *yaml.Node, keys []kv, agg *string) error {
	var routing, routingKey *yaml.Node
	if root != nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "routing" {
				routingKey, routing = root.Content[i], root.Content[i+1]
			}
		}
	}
	// The aggregation's text keeps the quoting of the value it replaces.
	for i := range keys {
		if keys[i].key != "aggregation" {
			continue
		}
		style := yaml.Style(0)
		if routing != nil && routing.Kind == yaml.MappingNode {
			if old := mappingValue(routing, "aggregation"); old != nil && old.Kind == yaml.ScalarNode {
				style = old.Style
			}
		}
		keys[i].text = quoteString(*agg, style)
	}
	switch {
	case routing == nil:
		// Append a routing section at the end of the file.
		var b strings.Builder
		if len(pt.src) > 0 && pt.src[len(pt.src)-1] != '\n' {
			b.WriteString(pt.nl)
		}
		b.WriteString("routing:" + pt.nl)
		for _, k := range keys {
			b.WriteString("  " + k.key + ": " + k.text + pt.nl)
		}
		pt.edits = append(pt.edits, edit{len(pt.src), len(pt.src), b.String()})
		return nil
	case isEmptyNull(routing):
		// "routing:" with nothing after it: give it lines of its own.
		end := pt.lineEnd(pt.offset(routingKey.Line, routingKey.Column))
		indent := strings.Repeat(" ", routingKey.Column-1+2)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(pt.nl + indent + k.key + ": " + k.text)
		}
		pt.edits = append(pt.edits, edit{end, end, b.String()})
		return nil
	}
	return pt.set(routing, "routing", keys)
}

// set sets keys of the mapping m, found at path at.
func (pt *patcher) set(m *yaml.Node, at string, keys []kv) error {
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a mapping", at)
	}
	var add []kv
	for _, k := range keys {
		var key, val *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == k.key {
				key, val = m.Content[i], m.Content[i+1]
			}
		}
		if key == nil {
			add = append(add, k)
			continue
		}
		if err := pt.replace(key, val, m.Style&yaml.FlowStyle != 0, at+"."+k.key, k.text); err != nil {
			return err
		}
	}
	if len(add) == 0 {
		return nil
	}
	if m.Style&yaml.FlowStyle != 0 {
		return pt.addFlow(m, at, add)
	}
	return pt.addBlock(m, at, add)
}

// replace swaps the text of the scalar val, the value of key.
// flow says whether the mapping holding them is a flow mapping.
func (pt *patcher) replace(key, val *yaml.Node, flow bool, at, text string) error {
	if val.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: not a single value; edit it by hand", at)
	}
	if isEmptyNull(val) {
		// "key:" alone; the empty value's position is not reliable, so
		// insert after the key's colon.
		kEnd, ok := pt.scalarEnd(key, flow)
		if !ok {
			return fmt.Errorf("%s: cannot find the key's text; edit it by hand", at)
		}
		i := kEnd
		for i < len(pt.src) && (pt.src[i] == ' ' || pt.src[i] == '\t') {
			i++
		}
		if i >= len(pt.src) || pt.src[i] != ':' {
			return fmt.Errorf("%s: cannot find the key's colon; edit it by hand", at)
		}
		pt.edits = append(pt.edits, edit{i + 1, i + 1, " " + text})
		return nil
	}
	start := pt.skipProperties(pt.offset(val.Line, val.Column))
	end, ok := pt.scalarEnd(val, flow)
	if !ok {
		return fmt.Errorf("%s: the value spans lines or cannot be found; edit it by hand", at)
	}
	pt.edits = append(pt.edits, edit{start, end, text})
	return nil
}

// addBlock adds keys to a block mapping, each on its own line after the
// last key whose value is a one-line scalar, at that key's indentation.
func (pt *patcher) addBlock(m *yaml.Node, at string, keys []kv) error {
	for i := len(m.Content) - 2; i >= 0; i -= 2 {
		key, val := m.Content[i], m.Content[i+1]
		if val.Kind != yaml.ScalarNode || key.Line != val.Line || isEmptyNull(val) {
			continue
		}
		end, ok := pt.scalarEnd(val, false)
		if !ok || pt.lineOf(end) != key.Line || !pt.onlyComment(end) {
			continue
		}
		eol := pt.lineEnd(end)
		indent := strings.Repeat(" ", key.Column-1)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(pt.nl + indent + k.key + ": " + k.text)
		}
		pt.edits = append(pt.edits, edit{eol, eol, b.String()})
		return nil
	}
	return fmt.Errorf("%s: no one-line key to add %s next to; add it by hand", at, keys[0].key)
}

// addFlow adds keys before the closing brace of a flow mapping.
func (pt *patcher) addFlow(m *yaml.Node, at string, keys []kv) error {
	open := pt.skipProperties(pt.offset(m.Line, m.Column))
	if open >= len(pt.src) || pt.src[open] != '{' {
		return fmt.Errorf("%s: cannot find the mapping's opening brace; edit it by hand", at)
	}
	closing, ok := flowClose(pt.src, open)
	if !ok {
		return fmt.Errorf("%s: cannot find the mapping's closing brace; edit it by hand", at)
	}
	// Insert right after the last non-blank character before the brace,
	// so `{a: 1 }` becomes `{a: 1, k: v }`.
	pos := closing
	for pos > open+1 && isSpace(pt.src[pos-1]) {
		pos--
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 || len(m.Content) > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.key + ": " + k.text)
	}
	pt.edits = append(pt.edits, edit{pos, pos, b.String()})
	return nil
}

// apply returns the edited document; edits at one offset keep their
// order.
func (pt *patcher) apply() ([]byte, error) {
	slices.SortStableFunc(pt.edits, func(a, b edit) int { return a.off - b.off })
	var out bytes.Buffer
	pos := 0
	for _, e := range pt.edits {
		if e.off < pos || e.end < e.off {
			return nil, errors.New("two edits overlap")
		}
		out.Write(pt.src[pos:e.off])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(pt.src[pos:])
	return out.Bytes(), nil
}

// offset turns yaml.v3's 1-based line and column (in characters) into a
// byte offset.
func (pt *patcher) offset(line, col int) int {
	if line < 1 || line > len(pt.lines) {
		return len(pt.src)
	}
	off := pt.lines[line-1]
	for c := 1; c < col && off < len(pt.src) && pt.src[off] != '\n'; c++ {
		_, w := utf8.DecodeRune(pt.src[off:])
		off += w
	}
	return off
}

// lineOf returns the 1-based line holding byte offset off.
func (pt *patcher) lineOf(off int) int {
	i, found := slices.BinarySearch(pt.lines, off)
	if found {
		return i + 1
	}
	return i
}

// lineEnd returns the offset of the end of off's line (before "\r\n" or
// "\n", or the end of the file).
func (pt *patcher) lineEnd(off int) int {
	i := bytes.IndexByte(pt.src[off:], '\n')
	if i < 0 {
		return len(pt.src)
	}
	end := off + i
	if end > 0 && pt.src[end-1] == '\r' {
		end--
	}
	return end
}

// onlyComment reports whether only blanks and a comment follow off on its
// line.
func (pt *patcher) onlyComment(off int) bool {
	rest := strings.TrimLeft(string(pt.src[off:pt.lineEnd(off)]), " \t")
	return rest == "" || rest[0] == '#'
}

// skipProperties steps over an anchor (&a) or tag (!!float) before a
// node's content.
func (pt *patcher) skipProperties(off int) int {
	for off < len(pt.src) && (pt.src[off] == '&' || pt.src[off] == '!') {
		for off < len(pt.src) && !isSpace(pt.src[off]) {
			off++
		}
		for off < len(pt.src) && (pt.src[off] == ' ' || pt.src[off] == '\t') {
			off++
		}
	}
	return off
}

// scalarEnd returns the offset just past the one-line scalar n's text,
// and false when n spans lines or its text is not where yaml.v3 says.
func (pt *patcher) scalarEnd(n *yaml.Node, flow bool) (int, bool) {
	start := pt.skipProperties(pt.offset(n.Line, n.Column))
	eol := pt.lineEnd(start)
	s := pt.src[start:eol]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if len(s) == 0 || s[0] != '"' {
			return 0, false
		}
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return start + i + 1, true
			}
		}
		return 0, false
	case n.Style&yaml.SingleQuotedStyle != 0:
		if len(s) == 0 || s[0] != '\'' {
			return 0, false
		}
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return start + i + 1, true
			}
		}
		return 0, false
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, false
	}
	// Plain: up to ": ", " #", a flow indicator in flow context, or the
	// end of the line.
	end := len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' && (i+1 == len(s) || isSpace(s[i+1]) || flow && strings.IndexByte(",[]{}", s[i+1]) >= 0) {
			end = i
			break
		}
		if c == '#' && i > 0 && isSpace(s[i-1]) {
			end = i
			break
		}
		if flow && strings.IndexByte(",[]{}", c) >= 0 {
			end = i
			break
		}
	}
	for end > 0 && isSpace(s[end-1]) {
		end--
	}
	// A plain scalar continued on the next line would not match its value.
	if string(s[:end]) != n.Value {
		return 0, false
	}
	return start + end, true
}

// flowClose returns the offset of the bracket closing the one at open.
func flowClose(src []byte, open int) (int, bool) {
	depth := 0
	tokenStart := true
	for i := open; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '#' && i > 0 && isSpace(src[i-1]):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			tokenStart = true
			continue
		case (c == '"' || c == '\'') && tokenStart:
			i = skipQuoted(src, i)
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i, true
			}
		}
		tokenStart = isSpace(c) || c == '[' || c == '{' || c == ',' || c == ':'
	}
	return 0, false
}

// skipQuoted returns the offset of the quote closing the one at i.
func skipQuoted(src []byte, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case q == '"' && src[j] == '\\':
			j++
		case src[j] == q && q == '\'' && j+1 < len(src) && src[j+1] == '\'':
			j++
		case src[j] == q:
			return j
		}
	}
	return len(src) - 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isEmptyNull reports whether n is a value left empty ("key:").
func isEmptyNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == ""
}

// quoteString renders s as a YAML scalar: in the given quote style, else
// plain when that reads back as the same string, else double-quoted.
func quoteString(s string, style yaml.Style) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0 && !strings.ContainsAny(s, "\n\r"):
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0:
		return strconv.Quote(s)
	}
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' && s[0] != '-') {
			plain = false
		}
	}
	if plain {
		var v any
		if yaml.Unmarshal([]byte(s), &v) != nil || v != s {
			plain = false
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}

// quoteItem renders s as a block list item: plain when "- s" reads back
// as s, else double-quoted.
func quoteItem(s string) string {
	plain := s != "" && strings.TrimSpace(s) == s
	for _, r := range s {
		if !unicode.IsPrint(r) {
			plain = false
		}
	}
	if plain {
		var v []any
		if yaml.Unmarshal([]byte("- "+s), &v) != nil || len(v) != 1 || v[0] != s {
			plain = false
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}

// checkPatched parses the edited document and compares it with the
// original: it must hold each wanted value, and nothing else may differ.
func checkPatched(name string, before map[string]any, out []byte, wants []want) error {
	after, err := decodeFile(name, out)
	if err != nil {
		return err
	}
	for _, w := range wants {
		got, ok := lookup(after, w.path)
		if !ok || !sameValue(got, w.value) {
			return fmt.Errorf("%s reads back as %v, want %v", pathString(w.path), got, w.value)
		}
		if !put(before, w.path, got) {
			return fmt.Errorf("%s: cannot compare with the original", pathString(w.path))
		}
	}
	if !reflect.DeepEqual(before, after) {
		return errors.New("keys other than the patched ones changed")
	}
	return nil
}

func lookup(v any, path []any) (any, bool) {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[p]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return nil, false
			}
			v = l[p]
		}
	}
	return v, true
}

// put sets path in v to x, making maps on the way as a "key:" with no
// value leaves nil.
func put(v any, path []any, x any) bool {
	for i, p := range path {
		last := i == len(path)-1
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if last {
				m[p] = x
				return true
			}
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return false
			}
			if last {
				l[p] = x
				return true
			}
			v = l[p]
		}
	}
	return false
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case []any:
		return reflect.DeepEqual(got, w)
	case string:
		return got == w
	case int:
		return toFloat(got) == float64(w)
	case float64:
		return toFloat(got) == w
	}
	return false
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			b.WriteString("[" + strconv.Itoa(p) + "]")
		}
	}
	return b.String()
}
