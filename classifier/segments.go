package classifier

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Instruction segments.
//
// A request that pastes a payload ("Summarize this article: <300 words>",
// "fix this:\n<stack trace>") embeds as the payload, not as what the user
// asks for: the article's topic outweighs "summarize". Segments finds the
// parts of a request that state the instruction, so that they can be
// scored apart from the whole text (Options.Segments). What counts as a
// payload:
//
//   - a fenced code block (``` or ~~~), and an indented or quoted ("> ")
//     block of lines;
//   - a stack trace or compiler output: lines that start with "at ",
//     "File \"", "Traceback", "goroutine ", or that look like code;
//   - whatever follows an introducing colon ("…the following:",
//     "Fix this:") when it is much longer than what precedes it.
//
// The instruction candidates are then: the text before the first payload
// (its first line, and its first sentence when that line is long), the
// text before an introducing colon, and a short last paragraph after a long
// payload ("<abstract>\n\nSummarize the passage above."). A short request
// on one line has no segments: it is its own instruction, and costs one
// embedding.

// Segment bounds.
const (
	// segmentMinText is the length under which a single-line request is
	// not split: it is all instruction.
	segmentMinText = 160
	// segmentMaxChars bounds a segment; a longer candidate is not an
	// instruction but more payload.
	segmentMaxChars = 300
	// maxSegments bounds how many segments one request adds to its
	// embedding batch.
	maxSegments = 3
)

// Segments returns the instruction segments of text, in order of
// appearance, at most 3, none equal to the whole (trimmed) text. A short
// single-line text has none.
func Segments(text string) []string {
	text = strings.TrimSpace(text)
	if text == "" || (len(text) < segmentMinText && !strings.ContainsAny(text, "\n`")) {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	kinds := classifyLines(lines)

	var cands []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		s = strings.TrimRight(s, " \t")
		if s == "" || len(s) > segmentMaxChars || s == text || words(s) < 2 {
			return
		}
		for _, c := range cands {
			if strings.EqualFold(c, s) {
				return
			}
		}
		cands = append(cands, s)
	}

	// Prose runs: consecutive prose lines, split at payload lines and
	// blank lines.
	type run struct {
		text       string
		start, end int // line indices, end exclusive
	}
	var runs []run
	var cur []string
	start := 0
	flush := func(end int) {
		if len(cur) > 0 {
			runs = append(runs, run{strings.Join(cur, " "), start, end})
			cur = nil
		}
	}
	for i, l := range lines {
		if kinds[i] != lineProse {
			flush(i)
			continue
		}
		if len(cur) == 0 {
			start = i
		}
		cur = append(cur, strings.TrimSpace(l))
	}
	flush(len(lines))
	if len(runs) == 0 {
		return nil
	}
	payload := 0 // characters outside the first run
	for i, l := range lines {
		if i < runs[0].start || i >= runs[0].end {
			payload += len(l)
		}
	}

	first := runs[0]
	// The first line or sentence of the opening prose, when something
	// follows it.
	if payload > 0 || len(first.text) > segmentMaxChars || len(runs) > 1 {
		line := strings.TrimSpace(lines[first.start])
		if len(line) <= segmentMaxChars {
			add(line)
		}
		if s := firstSentence(first.text); len(s) < len(first.text) {
			add(s)
		}
	}
	// The text before an introducing colon in the opening prose, when a
	// much longer payload follows it.
	if i := introColon(first.text, len(text)); i > 0 {
		add(first.text[:i+1])
	}
	// A short closing paragraph after something else: "<abstract>\n\n
	// Summarize the passage above."
	if last := runs[len(runs)-1]; len(runs) > 1 && len(last.text) <= segmentMaxChars {
		add(last.text)
	}
	if len(cands) > maxSegments {
		cands = cands[:maxSegments]
	}
	return cands
}

type lineKind int

const (
	lineProse lineKind = iota
	lineBlank
	linePayload
)

// classifyLines marks each line as prose, blank or payload.
func classifyLines(lines []string) []lineKind {
	kinds := make([]lineKind, len(lines))
	fence := ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case fence != "":
			kinds[i] = linePayload
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			kinds[i] = linePayload
			fence = t[:3]
		case t == "":
			kinds[i] = lineBlank
		case isPayloadLine(l, t):
			kinds[i] = linePayload
		default:
			kinds[i] = lineProse
		}
	}
	return kinds
}

// isPayloadLine reports a line that is pasted material rather than prose:
// quoted, indented code, a stack frame, or code by its punctuation.
func isPayloadLine(raw, t string) bool {
	if strings.HasPrefix(t, ">") || strings.HasPrefix(raw, "    ") || strings.HasPrefix(raw, "\t") {
		return true
	}
	for _, p := range []string{"at ", "File \"", "Traceback", "goroutine ", "panic:", "Caused by:", "Exception in thread", "$ ", "#include", "import ", "from ", "def ", "func ", "class ", "package ", "public ", "private ", "return ", "SELECT ", "select ", "//", "/*", "#!", "<?", "</", "<div", "fn ", "let ", "const ", "var "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	// Code: ends like a statement or block, or is mostly symbols.
	if strings.HasSuffix(t, ";") || strings.HasSuffix(t, "{") || t == "}" || strings.HasSuffix(t, "};") || strings.HasSuffix(t, ");") {
		return true
	}
	var sym, letters int
	for _, r := range t {
		switch {
		case unicode.IsLetter(r):
			letters++
		case strings.ContainsRune("{}[]()=<>;:+*/\\|&%$#@^~_", r):
			sym++
		}
	}
	return sym >= 4 && sym*3 >= letters
}

// introColon returns the index in prose of a colon that introduces a
// payload: within the first segmentMaxChars bytes, with at least twice as
// much of the whole text (total bytes long) after it as before it. -1 when
// there is none.
func introColon(prose string, total int) int {
	limit := min(len(prose), segmentMaxChars)
	i := strings.IndexByte(prose[:limit], ':')
	for i > 0 {
		before := prose[:i]
		rest := total - i - 1
		lower := strings.ToLower(before)
		// "https:" or "12:30" are not introductions; neither is a colon
		// after a single word ("Note: ...").
		if !strings.HasSuffix(lower, "http") && !strings.HasSuffix(lower, "https") &&
			(i+1 >= len(prose) || !isDigit(prose[i+1])) && words(before) >= 2 &&
			rest >= 2*len(before) && rest >= 40 {
			return i
		}
		j := strings.IndexByte(prose[i+1:limit], ':')
		if j < 0 {
			return -1
		}
		i += 1 + j
	}
	return -1
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// firstSentence returns text up to and including its first sentence end
// (". ", "? ", "! ", or a CJK full stop), or text when it has none.
func firstSentence(text string) string {
	for i, r := range text {
		switch r {
		case '。', '？', '！':
			return text[:i+utf8.RuneLen(r)]
		case '.', '?', '!':
			if i+1 < len(text) && text[i+1] == ' ' && i > 0 && !isDigit(text[i-1]) {
				return text[:i+1]
			}
		}
	}
	return text
}

// words counts the space-separated words of s; a text without spaces (CJK)
// counts one word per three bytes, roughly a character.
func words(s string) int {
	n := len(strings.Fields(s))
	if n < 2 && len(s) >= 6 && !strings.ContainsRune(s, ' ') && utf8.RuneCountInString(s) < len(s) {
		return utf8.RuneCountInString(s) / 2
	}
	return n
}
