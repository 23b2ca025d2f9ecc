package config

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ChainRef names the chain of targets an edit concerns: a route, an
// alias, or (both empty) the default route.
type ChainRef struct {
	Route string
	Alias string
}

func (r ChainRef) String() string {
	switch {
	case r.Alias != "":
		return fmt.Sprintf("alias %q", r.Alias)
	case r.Route != "":
		return fmt.Sprintf("route %q", r.Route)
	}
	return "the default route"
}

// ChainTargets returns the targets of the chain ref names in cfg, and the
// route or alias name it resolved to.
func (c *Config) ChainTargets(ref ChainRef) ([]Target, string, error) {
	if ref.Alias != "" {
		ts, ok := c.Aliases[ref.Alias]
		if !ok {
			return nil, "", fmt.Errorf("no alias %q%s", ref.Alias, suggest(ref.Alias, keysOf(c.Aliases)))
		}
		return ts, ref.Alias, nil
	}
	name := ref.Route
	if name == "" {
		name = c.DefaultRoute
		if name == "" {
			return nil, "", errors.New("the config has no default route; name a route (--route) or an alias (--alias)")
		}
	}
	var names []string
	for _, r := range c.Routes {
		if r.Name == name {
			return r.Targets, name, nil
		}
		names = append(names, r.Name)
	}
	return nil, "", fmt.Errorf("no route %q%s", name, suggest(name, names))
}

// MoveTarget edits the YAML config file at path: the target named name
// ("provider/model", however the file writes it) of the chain ref names
// moves to position (1 = first), or, with position 0, is removed. Like
// PatchFile it keeps comments and layout (whole target items are moved,
// the comment lines above each travel with it), checks that the result
// loads, and replaces the file atomically; a running server reloads it.
func MoveTarget(path string, ref ChainRef, name string, position int) error {
	return editFile(path, "edit", func(data []byte) ([]byte, error) { return moveTarget(path, data, ref, name, position) })
}

func moveTarget(name string, data []byte, ref ChainRef, target string, position int) ([]byte, error) {
	cfg, err := parse(name, data, nil, nil)
	if err != nil {
		return nil, err
	}
	raw, err := decodeFile(name, data)
	if err != nil {
		return nil, err
	}
	if isMAS(raw) {
		return nil, errors.New("a MAS router file has no target lists to edit; convert it to a switchyard YAML config first (switchyard config check prints it)")
	}
	ts, chain, err := cfg.ChainTargets(ref)
	if err != nil {
		return nil, err
	}
	from := slices.IndexFunc(ts, func(t Target) bool { return t.Provider+"/"+t.Model == target })
	if from < 0 {
		var names []string
		for _, t := range ts {
			names = append(names, t.Provider+"/"+t.Model)
		}
		return nil, fmt.Errorf("%s has no target %q%s (it has %s)", ref, target, suggest(target, names), strings.Join(names, ", "))
	}
	if position < 0 || position > len(ts) {
		return nil, fmt.Errorf("position %d is out of range: %s has %d targets", position, ref, len(ts))
	}
	if position == 0 && len(ts) == 1 {
		return nil, fmt.Errorf("%s has only %s: a chain needs at least one target", ref, target)
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	seq := targetsNode(&doc, ref, chain)
	if seq == nil || seq.Kind != yaml.SequenceNode || len(seq.Content) != len(ts) {
		return nil, fmt.Errorf("cannot find the targets of %s in the file", ref)
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
	order := make([]int, 0, len(ts))
	for i := range ts {
		if i != from {
			order = append(order, i)
		}
	}
	if position > 0 {
		order = slices.Insert(order, position-1, from)
	}
	if seq.Style&yaml.FlowStyle != 0 {
		return pt.reorderFlow(seq, order)
	}
	return pt.reorderBlock(seq, order)
}

// targetsNode finds the sequence of targets of the named route or alias.
func targetsNode(doc *yaml.Node, ref ChainRef, chain string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	get := func(m *yaml.Node, key string) *yaml.Node {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		return nil
	}
	root := doc.Content[0]
	if ref.Alias != "" {
		return get(get(root, "aliases"), chain)
	}
	routes := get(root, "routes")
	if routes == nil || routes.Kind != yaml.SequenceNode {
		return nil
	}
	for _, r := range routes.Content {
		if n := get(r, "name"); n != nil && n.Value == chain {
			return get(r, "targets")
		}
	}
	return nil
}

// reorderFlow rewrites a flow sequence of targets ([{…}, {…}]) with its
// items in order, each item's text as it was, joined by ", ".
func (pt *patcher) reorderFlow(seq *yaml.Node, order []int) ([]byte, error) {
	spans := make([][2]int, len(seq.Content))
	for i, it := range seq.Content {
		start := pt.offset(it.Line, it.Column)
		end, ok := pt.itemEnd(it, start)
		if !ok {
			return nil, errors.New("cannot edit this flow list of targets; write it one target a line")
		}
		spans[i] = [2]int{start, end}
	}
	var items []string
	for _, i := range order {
		items = append(items, string(pt.src[spans[i][0]:spans[i][1]]))
	}
	pt.edits = append(pt.edits, edit{off: spans[0][0], end: spans[len(spans)-1][1], text: strings.Join(items, ", ")})
	return pt.apply()
}

// itemEnd is the offset just past a flow item: its closing brace, or the
// end of a plain scalar.
func (pt *patcher) itemEnd(it *yaml.Node, start int) (int, bool) {
	if it.Kind == yaml.MappingNode || it.Kind == yaml.SequenceNode {
		if start >= len(pt.src) || (pt.src[start] != '{' && pt.src[start] != '[') {
			return 0, false
		}
		end, ok := flowClose(pt.src, start)
		return end + 1, ok
	}
	return 0, false
}

// reorderBlock moves whole items of a block sequence: each item is its
// lines from its dash (with the comment lines just above it) to the
// next item, the last one to the first line indented no deeper than its
// dash.
func (pt *patcher) reorderBlock(seq *yaml.Node, order []int) ([]byte, error) {
	n := len(seq.Content)
	starts := make([]int, n+1)
	for i, it := range seq.Content {
		line := it.Line
		off := pt.lines[line-1]
		dash := bytes.LastIndexByte(pt.src[off:pt.offset(it.Line, it.Column)], '-')
		if dash < 0 {
			return nil, errors.New("cannot find a target's dash; write the targets one a line")
		}
		indent := dash
		// Comment lines just above the item, at its indentation, travel
		// with it.
		for line > 1 {
			prev := pt.lines[line-2]
			text := strings.TrimRight(string(pt.src[prev:pt.lineEnd(prev)]), " \t")
			trimmed := strings.TrimLeft(text, " \t")
			if !strings.HasPrefix(trimmed, "#") || len(text)-len(trimmed) != indent {
				break
			}
			line--
		}
		if i > 0 && pt.lines[line-1] < starts[i-1] {
			return nil, errors.New("two targets share a line; write them one a line")
		}
		starts[i] = pt.lines[line-1]
	}
	// The last item ends before the first later line that is indented no
	// deeper than the dashes and is not blank.
	last := seq.Content[n-1]
	lastOff := pt.lines[last.Line-1]
	indent := bytes.LastIndexByte(pt.src[lastOff:pt.offset(last.Line, last.Column)], '-')
	end := len(pt.src)
	for l := last.Line; l < len(pt.lines); l++ {
		off := pt.lines[l]
		text := string(pt.src[off:pt.lineEnd(off)])
		trimmed := strings.TrimLeft(text, " \t")
		if strings.TrimSpace(trimmed) == "" || len(text)-len(trimmed) > indent {
			continue
		}
		end = off
		break
	}
	// Blank lines at the end belong to what follows.
	if l, ok := slices.BinarySearch(pt.lines, end); ok { // end starts line l+1
		for ; l-1 >= last.Line; l-- {
			prev := pt.lines[l-1]
			if strings.TrimSpace(string(pt.src[prev:pt.lineEnd(prev)])) != "" {
				break
			}
			end = prev
		}
	}
	starts[n] = end
	var b strings.Builder
	for _, i := range order {
		item := string(pt.src[starts[i]:starts[i+1]])
		if !strings.HasSuffix(item, "\n") {
			item += pt.nl // the file's last item had no line break
		}
		b.WriteString(item)
	}
	text := b.String()
	if !bytes.HasSuffix(pt.src[starts[0]:end], []byte("\n")) {
		text = strings.TrimSuffix(text, pt.nl)
	}
	pt.edits = append(pt.edits, edit{off: starts[0], end: end, text: text})
	return pt.apply()
}
