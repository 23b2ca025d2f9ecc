package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Appending to a route's examples and negatives, block or flow style
// (Patch.RouteExamples, Patch.RouteNegatives).

// appendList appends items to the list under key in the route mapping m,
// found at path at, adding the key when m has none. comment, when set,
// goes on a line of its own just above the first new item.
func (pt *patcher) appendList(m *yaml.Node, at, key string, items []string, comment string) error {
	var k, v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			k, v = m.Content[i], m.Content[i+1]
		}
	}
	flowMap := m.Style&yaml.FlowStyle != 0
	at += "." + key
	switch {
	case k == nil && flowMap:
		return pt.addFlowList(m, at, key, items, comment)
	case k == nil:
		return pt.addBlockList(m, at, key, items, comment)
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null" && !flowMap:
		return pt.fillNull(k, v, at, items, comment, listIndent(m))
	case v.Kind != yaml.SequenceNode:
		return fmt.Errorf("%s: not a list; edit it by hand", at)
	case v.Style&yaml.FlowStyle != 0:
		return pt.appendFlowSeq(v, at, items, comment)
	}
	return pt.appendBlockSeq(v, at, items, comment)
}

// blockItems renders items as "- item" lines at indent, the comment
// first, each line led by a line break.
func (pt *patcher) blockItems(indent string, items []string, comment string) string {
	var b strings.Builder
	if comment != "" {
		b.WriteString(pt.nl + indent + "# " + comment)
	}
	for _, it := range items {
		b.WriteString(pt.nl + indent + "- " + quoteItem(it))
	}
	return b.String()
}

// flowItems renders items as the continuation of a flow list: one a line
// at indent, separated by commas, the comment first, each line led by a
// line break. The closing bracket is the caller's.
func (pt *patcher) flowItems(indent string, items []string, comment string) string {
	var b strings.Builder
	if comment != "" {
		b.WriteString(pt.nl + indent + "# " + comment)
	}
	for i, it := range items {
		b.WriteString(pt.nl + indent + strconv.Quote(it))
		if i < len(items)-1 {
			b.WriteByte(',')
		}
	}
	return b.String()
}

// appendBlockSeq adds items after the last item of the block list seq,
// which must be a one-line scalar.
func (pt *patcher) appendBlockSeq(seq *yaml.Node, at string, items []string, comment string) error {
	last := seq.Content[len(seq.Content)-1] // a block list has an item
	end, ok := 0, false
	if last.Kind == yaml.ScalarNode {
		end, ok = pt.scalarEnd(last, false)
	}
	if !ok || !pt.onlyComment(end) {
		return fmt.Errorf("%s: its last item is not a one-line value; add the items by hand", at)
	}
	eol := pt.lineEnd(end)
	indent := strings.Repeat(" ", seq.Column-1) // the column of the dashes
	pt.edits = append(pt.edits, edit{eol, eol, pt.blockItems(indent, items, comment)})
	return nil
}

// appendFlowSeq adds items before the closing bracket of the flow list
// seq, one a line, indented past the line the list opens on.
func (pt *patcher) appendFlowSeq(seq *yaml.Node, at string, items []string, comment string) error {
	open, closing, err := pt.flowBounds(seq, at, '[', "list's", "bracket")
	if err != nil {
		return err
	}
	last, at2, sep := pt.flowTail(open, closing)
	indent := strings.Repeat(" ", pt.indentOf(open)+4)
	pt.continueFlow(last, at2, sep, pt.flowItems(indent, items, comment))
	return nil
}

// addFlowList adds key with items to the flow mapping m, before its
// closing brace, continued over lines.
func (pt *patcher) addFlowList(m *yaml.Node, at, key string, items []string, comment string) error {
	open, closing, err := pt.flowBounds(m, at, '{', "mapping's", "brace")
	if err != nil {
		return err
	}
	last, at2, sep := pt.flowTail(open, closing)
	indent := strings.Repeat(" ", pt.indentOf(open)+4)
	pt.continueFlow(last, at2, sep, pt.nl+indent+key+": ["+pt.flowItems(indent+"  ", items, comment)+"]")
	return nil
}

// flowBounds returns the offsets of the opening (want) and closing
// delimiters of the flow collection n.
func (pt *patcher) flowBounds(n *yaml.Node, at string, want byte, whose, delim string) (open, closing int, err error) {
	open = pt.skipProperties(pt.offset(n.Line, n.Column))
	if open >= len(pt.src) || pt.src[open] != want {
		return 0, 0, fmt.Errorf("%s: cannot find the %s opening %s; edit it by hand", at, whose, delim)
	}
	closing, ok := flowClose(pt.src, open)
	if !ok {
		return 0, 0, fmt.Errorf("%s: cannot find the %s closing %s; edit it by hand", at, whose, delim)
	}
	return open, closing, nil
}

// flowTail returns where to continue the flow collection that opens at
// open and closes at closing: just past its last entry, and the comma
// that must come first ("" after the opening bracket or a trailing
// comma). at is where the new entries go: the end of the last entry, or,
// when a comment follows it, the end of the comment's line.
func (pt *patcher) flowTail(open, closing int) (last, at int, sep string) {
	pos := closing
	at = -1
	for {
		for pos > open+1 && isSpace(pt.src[pos-1]) {
			pos--
		}
		c := pt.commentStart(max(pt.lines[pt.lineOf(pos)-1], open+1), pos)
		if c < 0 {
			break
		}
		if at < 0 {
			at = pos
		}
		pos = c
	}
	if at < 0 {
		at = pos
	}
	switch pt.src[pos-1] {
	case '[', '{', ',':
		return pos, at, ""
	}
	return pos, at, ","
}

// continueFlow adds text (led by a line break) to a flow collection whose
// last entry ends at last, at the offset at, with sep after that entry.
func (pt *patcher) continueFlow(last, at int, sep, text string) {
	if at != last && sep != "" {
		pt.edits = append(pt.edits, edit{last, last, sep})
		sep = ""
	}
	pt.edits = append(pt.edits, edit{at, at, sep + text})
}

// commentStart returns the offset of a comment's '#' in src[from:to], a
// part of one line in flow context, or -1.
func (pt *patcher) commentStart(from, to int) int {
	for i := from; i < to; i++ {
		switch c := pt.src[i]; {
		case (c == '"' || c == '\'') && (i == from || isSpace(pt.src[i-1]) || strings.IndexByte("[{,:", pt.src[i-1]) >= 0):
			i = skipQuoted(pt.src, i)
		case c == '#' && (i == 0 || isSpace(pt.src[i-1])):
			return i
		}
	}
	return -1
}

// indentOf returns the indentation of off's line, in spaces.
func (pt *patcher) indentOf(off int) int {
	start := pt.lines[pt.lineOf(off)-1]
	n := 0
	for start+n < len(pt.src) && pt.src[start+n] == ' ' {
		n++
	}
	return n
}

// addBlockList adds key with items as a block list to the block mapping
// m: after the route's examples when key is negatives and the examples
// are a block list, else after the last key whose value is a one-line
// scalar, at that key's indentation.
func (pt *patcher) addBlockList(m *yaml.Node, at, key string, items []string, comment string) error {
	add := func(off int, col int) {
		indent := strings.Repeat(" ", col-1)
		text := pt.nl + indent + key + ":" + pt.blockItems(indent+strings.Repeat(" ", listIndent(m)), items, comment)
		pt.edits = append(pt.edits, edit{off, off, text})
	}
	if key == "negatives" {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Value != "examples" || v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 {
				continue
			}
			last := v.Content[len(v.Content)-1]
			if last.Kind != yaml.ScalarNode {
				continue
			}
			if end, ok := pt.scalarEnd(last, false); ok && pt.onlyComment(end) {
				add(pt.lineEnd(end), k.Column)
				return nil
			}
		}
	}
	for i := len(m.Content) - 2; i >= 0; i -= 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.ScalarNode || k.Line != v.Line || isEmptyNull(v) {
			continue
		}
		end, ok := pt.scalarEnd(v, false)
		if !ok || pt.lineOf(end) != k.Line || !pt.onlyComment(end) {
			continue
		}
		add(pt.lineEnd(end), k.Column)
		return nil
	}
	return fmt.Errorf("%s: no one-line key to add it next to; add it by hand", at)
}

// fillNull gives the key k of a block mapping, whose value v is null
// ("examples:", "examples: ~"), a block list of items.
func (pt *patcher) fillNull(k, v *yaml.Node, at string, items []string, comment string, step int) error {
	kEnd, ok := pt.scalarEnd(k, false)
	if !ok {
		return fmt.Errorf("%s: cannot find the key's text; edit it by hand", at)
	}
	eol := pt.lineEnd(kEnd)
	if !isEmptyNull(v) {
		// An explicit null: take its text out, and the blanks before it.
		start := pt.skipProperties(pt.offset(v.Line, v.Column))
		end, ok := pt.scalarEnd(v, false)
		if !ok || v.Line != k.Line || !pt.onlyComment(end) || v.Anchor != "" {
			return fmt.Errorf("%s: not an empty value on the key's line; edit it by hand", at)
		}
		for start > kEnd && (pt.src[start-1] == ' ' || pt.src[start-1] == '\t') {
			start--
		}
		pt.edits = append(pt.edits, edit{start, end, ""})
		eol = pt.lineEnd(end)
	} else if !pt.onlyComment(kEnd + 1) {
		return fmt.Errorf("%s: not an empty value on the key's line; edit it by hand", at)
	}
	indent := strings.Repeat(" ", k.Column-1+step)
	pt.edits = append(pt.edits, edit{eol, eol, pt.blockItems(indent, items, comment)})
	return nil
}

// listIndent returns how far the block lists of the block mapping m are
// indented past its keys, so that a list added follows the file's style:
// 0 for "key:\n- item", else 2.
func listIndent(m *yaml.Node) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && v.Line > k.Line && v.Column == k.Column {
			return 0
		}
	}
	return 2
}
