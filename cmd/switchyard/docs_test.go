package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The documentation a user reads first: README.md and every page of docs/.
// Their yaml examples are loaded by config's docs test; this one checks
// what only the command tree and the file tree can tell.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, "../../README.md")
	docs := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = string(b)
	}
	return docs
}

// TestDocsCommandLines: every "switchyard …" line in a sh, bash, console
// or shell block names a real subcommand and real flags.
func TestDocsCommandLines(t *testing.T) {
	root := commands(env{getenv: func(string) string { return "" }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	checked := 0
	for path, text := range docFiles(t) {
		for _, f := range fences(text) {
			if !shellLang[f.lang] {
				continue
			}
			for _, cl := range commandLines(f) {
				checked++
				if err := checkCommandLine(root, cl.args); err != nil {
					t.Errorf("%s:%d: %q: %v", rel(path), cl.line, strings.Join(cl.args, " "), err)
				}
			}
		}
	}
	t.Logf("%d command lines checked", checked)
	if checked < 20 {
		t.Errorf("only %d switchyard command lines found: is the parser broken?", checked)
	}
}

// TestDocsLinks: every relative link and image of README.md and docs/*.md
// points at an existing file, and its #anchor at a heading of that file.
func TestDocsLinks(t *testing.T) {
	docs := docFiles(t)
	checked := 0
	for path, text := range docs {
		for _, l := range links(text) {
			checked++
			if err := checkLink(path, l.target); err != nil {
				t.Errorf("%s:%d: link %q: %v", rel(path), l.line, l.target, err)
			}
		}
	}
	t.Logf("%d links checked", checked)
	if checked < 20 {
		t.Errorf("only %d links found: is the parser broken?", checked)
	}
}

// TestDocsJSON: every json block parses (one value, or several, one after
// another).
func TestDocsJSON(t *testing.T) {
	for path, text := range docFiles(t) {
		for _, f := range fences(text) {
			if f.lang == "json" {
				if err := checkJSON(f.body); err != nil {
					t.Errorf("%s:%d: json block: %v", rel(path), f.line, err)
				}
			}
		}
	}
}

// The checks must catch a stale example of each kind.
func TestDocsChecksCatchStaleExamples(t *testing.T) {
	root := commands(env{getenv: func(string) string { return "" }, environ: func() []string { return nil }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	cmdOK := []string{
		"switchyard route --explain --config config.yaml \"fix this\"",
		"bin/switchyard stats --days 7 --by model | head",
		"switchyard keys create dave --models code,chat --rpm 60   # prints it once",
		"switchyard eval --config=c.yaml --data corpus.jsonl [--judge]",
		"switchyard status -h",
		"echo hi && switchyard model verify",
	}
	for _, line := range cmdOK {
		cls := commandLines(fence{lang: "sh", body: line + "\n"})
		if len(cls) != 1 {
			t.Fatalf("%q: %d command lines", line, len(cls))
		}
		if err := checkCommandLine(root, cls[0].args); err != nil {
			t.Errorf("%q: a good command line failed: %v", line, err)
		}
	}
	cmdBad := []string{
		"switchyard evaluate --data corpus.jsonl",          // no such subcommand
		"switchyard eval --dataset corpus.jsonl",           // no such flag
		"switchyard routes groundd",                        // a typo in a nested subcommand
		"switchyard keys create dave --rpm 60 --budget 5",  // the flag is --budget-day
		"cat x | switchyard embed --jsonl",                 // after a pipe
		"switchyard stats \\\n  --days 7 \\\n  --heat-map", // continued lines
	}
	for _, line := range cmdBad {
		cls := commandLines(fence{lang: "sh", body: line + "\n"})
		if len(cls) != 1 {
			t.Fatalf("%q: %d command lines", line, len(cls))
		}
		if err := checkCommandLine(root, cls[0].args); err == nil {
			t.Errorf("%q: a stale command line passed", line)
		}
	}

	dir := t.TempDir()
	page := filepath.Join(dir, "page.md")
	other := filepath.Join(dir, "other.md")
	if err := os.WriteFile(other, []byte("# Other\n\n## `switchyard status` and GET /admin/x\n\n## Same\n\n## Same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for target, wantOK := range map[string]bool{
		"other.md": true,
		"other.md#switchyard-status-and-get-adminx": true,
		"other.md#same-1":          true,
		"#local":                   true,
		"other.md#no-such-heading": false,
		"missing.md":               false,
		"#nowhere":                 false,
		"https://example.com/x#y":  true,
	} {
		if err := os.WriteFile(page, []byte("## Local\n\n[x]("+target+")\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := checkLink(page, target)
		if (err == nil) != wantOK {
			t.Errorf("link %q: error %v, want ok=%v", target, err, wantOK)
		}
	}
	if got := links("see [a](b.md#c) and `[not](a link)` and ![img](d.png)\n```\n[in](code.md)\n```\n[ref]: e.md\n"); len(got) != 3 {
		t.Errorf("links: %+v, want b.md#c, d.png and e.md", got)
	}

	if err := checkJSON(`{"a": 1, "b": [1, 2]}` + "\n" + `{"c": null}`); err != nil {
		t.Errorf("good json: %v", err)
	}
	for _, bad := range []string{`{"a": 1,}`, `{"a": …}`, `{"a": [1, 2]`, ``} {
		if checkJSON(bad) == nil {
			t.Errorf("bad json %q passed", bad)
		}
	}
}

var shellLang = map[string]bool{"sh": true, "bash": true, "console": true, "shell": true}

func rel(path string) string { return strings.TrimPrefix(path, "../../") }

// commandLine is one switchyard invocation found in a shell block: its
// arguments after the program name.
type commandLine struct {
	line int
	args []string
}

// commandLines finds the switchyard invocations of a shell block: the
// program (switchyard, or a path ending in /switchyard) at the start of a
// command, after a prompt ("$ "), a pipe, && or ;. Continued lines are
// joined; arguments end at a comment, a redirection or the next command.
func commandLines(f fence) []commandLine {
	var out []commandLine
	lines := strings.Split(f.body, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		l := lines[i]
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + lines[i]
		}
		l = strings.TrimSpace(l)
		l = strings.TrimPrefix(l, "$ ")
		words := shellWords(l)
		atStart := true
		for j := 0; j < len(words); j++ {
			w := words[j]
			if w == "|" || w == "&&" || w == ";" || w == "||" {
				atStart = true
				continue
			}
			if atStart && (w == "switchyard" || strings.HasSuffix(w, "/switchyard")) {
				var args []string
				for j++; j < len(words) && !isShellOperator(words[j]); j++ {
					args = append(args, words[j])
				}
				j--
				out = append(out, commandLine{line: f.line + 1 + start, args: args})
				atStart = false
				continue
			}
			// "export X=1 switchyard" and "VAR=1 switchyard" keep the start.
			atStart = atStart && (strings.Contains(w, "=") && !strings.HasPrefix(w, "-") || w == "exec" || w == "sudo" || w == "time")
		}
	}
	return out
}

func isShellOperator(w string) bool {
	switch w {
	case "|", "&&", "||", ";", "&":
		return true
	}
	return strings.HasPrefix(w, ">") || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "2>") || strings.HasPrefix(w, "#")
}

// shellWords splits a command line as a shell would for the purpose here:
// quotes group words and are removed, a # at a word's start begins a
// comment (kept as one "#" word so that arguments end there).
func shellWords(l string) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for _, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '#' && !in:
			flush()
			return append(words, "#")
		case unicode.IsSpace(r):
			flush()
		case (r == '|' || r == ';') && !in:
			flush()
			words = append(words, string(r))
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	flush()
	return words
}

// checkCommandLine walks args down the command tree: a word where a
// subcommand may stand must be one, and every flag must be one of the
// command's own or inherited flags.
func checkCommandLine(root *cobra.Command, args []string) error {
	cmd, path := root, ""
	positional := false
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], "[]")
		if a == "" || a == "--" {
			continue
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			name, _, hasValue := strings.Cut(a, "=")
			if name == "--help" || name == "-h" {
				continue
			}
			f := lookupFlag(cmd, name)
			if f == nil {
				return fmt.Errorf("%s has no flag %s", describeCmd(cmd), name)
			}
			if !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
				i++ // the flag's value
			}
			continue
		}
		if positional || !cmd.HasSubCommands() {
			positional = true
			continue
		}
		next := subcommand(cmd, a)
		if next == nil {
			if cmd.Args != nil && cmd.Args(cmd, []string{a}) == nil && cmd.Runnable() {
				positional = true // a command with both subcommands and arguments
				continue
			}
			return fmt.Errorf("%s has no subcommand %q", describeCmd(cmd), a)
		}
		cmd, path = next, strings.TrimSpace(path+" "+next.Name())
	}
	return nil
}

func describeCmd(c *cobra.Command) string {
	return strings.TrimSpace("switchyard " + strings.TrimPrefix(c.CommandPath(), c.Root().Name()))
}

func subcommand(c *cobra.Command, name string) *cobra.Command {
	for _, s := range c.Commands() {
		if s.Name() == name || s.HasAlias(name) {
			return s
		}
	}
	if name == "help" || name == "completion" { // cobra adds them at run time
		return &cobra.Command{Use: name}
	}
	return nil
}

// lookupFlag finds a flag (--name or -n) of c or of its parents'
// persistent flags.
func lookupFlag(c *cobra.Command, name string) *pflag.Flag {
	long := strings.HasPrefix(name, "--")
	name = strings.TrimLeft(name, "-")
	for cur := c; cur != nil; cur = cur.Parent() {
		sets := []*pflag.FlagSet{cur.PersistentFlags()}
		if cur == c {
			sets = append(sets, cur.Flags(), cur.LocalFlags())
		}
		for _, fs := range sets {
			var f *pflag.Flag
			if long {
				f = fs.Lookup(name)
			} else if len(name) == 1 {
				f = fs.ShorthandLookup(name)
			}
			if f != nil {
				return f
			}
		}
	}
	return nil
}

// link is a Markdown link or image target, outside code.
type link struct {
	line   int
	target string
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s*\[[^\]]+\]:\s+(\S+)`)
	inlineCode = regexp.MustCompile("`[^`]*`")
)

func links(text string) []link {
	var out []link
	fenced := false
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if m := refLink.FindStringSubmatch(l); m != nil {
			out = append(out, link{i + 1, m[1]})
			continue
		}
		l = inlineCode.ReplaceAllString(l, "")
		for _, m := range inlineLink.FindAllStringSubmatch(l, -1) {
			out = append(out, link{i + 1, m[1]})
		}
	}
	return out
}

// checkLink checks a link of the file at from: external links are not
// followed; a relative one must name an existing file, and its anchor a
// heading of that file.
func checkLink(from, target string) error {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return nil
	}
	file, anchor, _ := strings.Cut(target, "#")
	path := from
	if file != "" {
		path = filepath.Join(filepath.Dir(from), filepath.FromSlash(file))
		if _, err := os.Stat(path); err != nil {
			return errors.New("no such file")
		}
	}
	if anchor == "" {
		return nil
	}
	if !strings.HasSuffix(path, ".md") {
		return errors.New("an anchor into a file that is not Markdown")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, a := range headingAnchors(string(b)) {
		if a == anchor {
			return nil
		}
	}
	return fmt.Errorf("%s has no heading whose anchor is #%s", filepath.Base(path), anchor)
}

// headingAnchors returns the anchors GitHub gives a file's headings: lower
// case, punctuation but "-" and "_" dropped, spaces as "-", and "-1", "-2"
// after repeats.
func headingAnchors(text string) []string {
	var out []string
	seen := map[string]int{}
	fenced := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

func checkJSON(body string) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return errors.New("empty")
			}
			return nil
		}
		if err != nil {
			return err
		}
		n++
	}
}

// fence is one fenced code block of a Markdown file.
type fence struct {
	lang string // the info string's first word: sh, json, …
	body string // the lines between the fences, each ending in "\n"
	line int    // 1-based line of the opening fence
}

// fences returns the fenced blocks of a Markdown text (``` fences, at any
// indentation).
func fences(text string) []fence {
	lines := strings.Split(text, "\n")
	var out []fence
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(trimmed, "```") {
			continue
		}
		f := fence{line: i + 1}
		if w := strings.Fields(trimmed[3:]); len(w) > 0 {
			f.lang = w[0]
		}
		var body strings.Builder
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			body.WriteString(lines[j] + "\n")
		}
		f.body = body.String()
		out = append(out, f)
		i = j
	}
	return out
}
