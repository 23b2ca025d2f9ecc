package expand

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parsed is what one reply held, after the text filters.
type parsed struct {
	requests, near []string
	dropped        map[string]int // reason → count
}

// jsonTries bounds the offsets parse tries to decode JSON at, so a long
// reply full of brackets costs little.
const jsonTries = 64

// minWords is the fewest words of a request: fewer is a topic, not a
// message.
const minWords = 3

// parse reads a model's reply, which should be {"requests": [...],
// "near_misses": [...]} but, from a weak model, may be anything: that
// object in a code fence or with prose around it (or nested in another),
// bare JSON arrays (after "Near misses:" headers for the second list),
// or numbered or bulleted lists with headers ("Requests:", "### Near
// misses") and preambles. Items lose list markers, labels ("Request 3:"),
// surrounding quotes and bold markers; lines of prose between list items
// are dropped. An item is then dropped when it is empty, is not a request
// (it reads as an answer, a preamble or an explanation), has fewer than 3
// words, is longer than maxChars characters, or repeats an item before it
// (up to case, spacing and final punctuation); a near miss repeating a
// request too. Every item returned is valid UTF-8, non-empty and at most
// maxChars characters long.
func parse(reply string, maxChars int) parsed {
	reply = strings.ToValidUTF8(reply, "")
	out := parsed{dropped: map[string]int{}}
	reqs, near, ok := fromJSON(reply)
	if !ok {
		var prose int
		reqs, near, prose = fromLines(reply)
		if prose > 0 {
			out.dropped[dropNotRequest] += prose
		}
	}
	seen := map[string]bool{}
	keep := func(raw []string) []string {
		var kept []string
		for _, s := range raw {
			s = clean(s)
			reason := check(s, maxChars)
			if reason == "" && seen[key(s)] {
				reason = dropDuplicate
			}
			if reason != "" {
				out.dropped[reason]++
				continue
			}
			seen[key(s)] = true
			kept = append(kept, s)
		}
		return kept
	}
	out.requests = keep(reqs)
	out.near = keep(near)
	return out
}

// check returns why s is not a usable request, or "".
func check(s string, maxChars int) string {
	switch {
	case key(s) == "":
		return dropEmpty
	case notRequest(s):
		return dropNotRequest
	case len(strings.Fields(s)) < minWords:
		return dropShort
	case utf8.RuneCountInString(s) > maxChars:
		return dropLong
	}
	return ""
}

// key is what two items must share to be the same: their words, lower
// case, without the punctuation and quotes around them.
func key(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSpace(r) || unicode.IsSymbol(r)
	})
}

// answerStarts begin what a model writes about its list, or instead of a
// request: an answer, a preamble, a sign-off. A request beginning "Here
// is my code" is a request, so "here" alone is not one of them.
var answerStarts = []string{
	"sure", "certainly", "of course", "absolutely", "okay,", "ok,", "great question",
	"here are", "here is a list", "here's a list", "here you go", "here they are",
	"as an ai", "as a language model", "as an assistant",
	"answer:", "explanation:", "note:", "output:", "response:", "assistant:", "solution:",
	"i hope", "hope this", "let me know", "feel free",
	"i'm sorry", "i am sorry", "i cannot", "i can't", "i can help", "i'd be happy", "i would be happy",
	"these requests", "these messages", "these near", "these examples", "the following", "below are",
}

// notRequest reports whether s reads as something other than a message a
// user would send.
func notRequest(s string) bool {
	l := strings.ToLower(s)
	for _, p := range answerStarts {
		if !strings.HasPrefix(l, p) {
			continue
		}
		// A whole word: "sure" but not "surely".
		if r, _ := utf8.DecodeRuneInString(l[len(p):]); len(l) == len(p) || !unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// fromJSON finds the lists in the reply's JSON: the first object with a
// requests or near-misses key (at any depth), else bare arrays of strings
// that start a line, each going to the list the last header before it
// names. ok is false when the reply has neither.
func fromJSON(s string) (reqs, near []string, ok bool) {
	tries := 0
	inNear := false
	last := 0 // end of the last value decoded
	for i := 0; i < len(s) && tries < jsonTries; i++ {
		if s[i] != '{' && s[i] != '[' {
			continue
		}
		tries++
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		var v any
		if dec.Decode(&v) != nil {
			continue
		}
		end := i + int(dec.InputOffset())
		if r, n, found := listsIn(v, 0); found {
			return r, n, true
		}
		if arr, isArr := v.([]any); isArr && lineStart(s, i) {
			if items := texts(arr); len(items) > 0 {
				if h, isHeader := lastHeader(s[last:i]); isHeader {
					inNear = h
				}
				if inNear {
					near = append(near, items...)
				} else {
					reqs = append(reqs, items...)
				}
				ok = true
			}
		}
		last = end
		i = end - 1
	}
	return reqs, near, ok
}

// lineStart reports whether only blanks come before s[i] on its line.
func lineStart(s string, i int) bool {
	j := strings.LastIndexByte(s[:i], '\n')
	return strings.TrimSpace(s[j+1:i]) == ""
}

// lastHeader returns what the last header line of s names (true for near
// misses), and whether s has one.
func lastHeader(s string) (near, ok bool) {
	for _, line := range strings.Split(s, "\n") {
		if n, isHeader := header(strings.TrimSpace(line)); isHeader {
			near, ok = n, true
		}
	}
	return near, ok
}

// listsIn looks for the requests and near-misses keys in v, an object
// decoded from JSON, or in the objects it holds (to depth 3).
func listsIn(v any, depth int) (reqs, near []string, found bool) {
	m, isMap := v.(map[string]any)
	if !isMap || depth > 3 {
		return nil, nil, false
	}
	for k, x := range m {
		arr, isArr := x.([]any)
		if !isArr {
			continue
		}
		switch listKey(k) {
		case listNear:
			near, found = append(near, texts(arr)...), true
		case listRequests:
			reqs, found = append(reqs, texts(arr)...), true
		}
	}
	if found {
		return reqs, near, true
	}
	for _, x := range m {
		if r, n, ok := listsIn(x, depth+1); ok {
			return r, n, true
		}
	}
	return nil, nil, false
}

// Lists a key or a header may name.
const (
	listNone = iota
	listRequests
	listNear
)

// listKey says which list a JSON key or a header names: near misses
// first, since "requests that must not match" names them too.
func listKey(k string) int {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	n := b.String()
	for _, w := range []string{"near", "miss", "negativ", "nonmatch", "notmatch", "mustnot", "shouldnot", "notgo", "notbe", "outofscope", "counter"} {
		if strings.Contains(n, w) {
			return listNear
		}
	}
	for _, w := range []string{"request", "example", "positiv", "match", "message", "quer", "prompt", "utterance", "question"} {
		if strings.Contains(n, w) {
			return listRequests
		}
	}
	return listNone
}

// texts returns the strings of a JSON array; an object item gives its
// "text" (or "request", "message", "content", "prompt").
func texts(arr []any) []string {
	var out []string
	for _, x := range arr {
		switch x := x.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for _, k := range []string{"text", "request", "message", "content", "prompt"} {
				if s, ok := x[k].(string); ok {
					out = append(out, s)
					break
				}
			}
		}
	}
	return out
}

// marker is a list item's bullet or number.
var marker = regexp.MustCompile(`^(?:[-*•+–—]|\d{1,3}[.):\]]|\(\d{1,3}\)|#\d{1,3}[.:)]?)\s+`)

// fromLines reads the reply as lines: headers switch between the lists,
// code fences and lone brackets are skipped, and every other line is an
// item. When at least two lines are list items (a bullet, a number or
// quotes), the unmarked lines among them are prose, and counted rather
// than kept.
func fromLines(s string) (reqs, near []string, prose int) {
	type line struct {
		text   string
		near   bool
		marked bool
	}
	var lines []line
	inNear, marked := false, 0
	for _, raw := range strings.Split(s, "\n") {
		t := strings.TrimSpace(raw)
		if t == "" || strings.HasPrefix(t, "```") || strings.Trim(t, "{}[](),;:-*_=#`~ \t") == "" {
			continue
		}
		body := marker.ReplaceAllString(t, "")
		isMarked := body != t
		if !isMarked {
			if n, ok := header(t); ok {
				if n || listKey(t) == listRequests {
					inNear = n
				}
				continue
			}
			isMarked = strings.ContainsRune(`"'“‘«`, firstRune(t))
		}
		if isMarked {
			marked++
		}
		lines = append(lines, line{body, inNear, isMarked})
	}
	for _, l := range lines {
		switch {
		case marked >= 2 && !l.marked:
			prose++
		case l.near:
			near = append(near, l.text)
		default:
			reqs = append(reqs, l.text)
		}
	}
	return reqs, near, prose
}

// header reports whether the line t (trimmed, with no list marker) is a
// header or a preamble rather than an item: a markdown heading, a line in
// bold, a line ending in a colon (`"near_misses": [` included), or a
// list's bare name of one or two words. near says whether it names the near misses.
func header(t string) (near, ok bool) {
	h := strings.TrimRight(t, "[{ \t")
	h = strings.Trim(h, "*_`> \t")
	switch {
	case strings.HasPrefix(t, "#"),
		strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**"),
		strings.HasSuffix(h, ":"),
		len(strings.Fields(h)) <= 2 && listKey(h) != listNone:
		return listKey(h) == listNear, true
	}
	return false, false
}

// label is a name some models put before each item.
var label = regexp.MustCompile(`(?i)^(?:\*\*)?(?:request|example|near[ _-]?miss|message|query|user|prompt)\s*#?\d*(?:\*\*)?\s*[:.)-](?:\*\*)?\s+`)

// quotes pairs opening quotes with their closing ones.
var quotes = map[rune]rune{'"': '"', '\'': '\'', '“': '”', '‘': '’', '«': '»', '`': '`', '„': '“'}

// clean takes from an item what is not the user's message: control
// characters, runs of blanks, a list marker, a label, bold markers and
// quotes around it (a JSON string's escapes are undone). An item that
// opens a double quote it never closes was cut off, and comes back "".
func clean(s string) string {
	s = blanks(s)
	s = marker.ReplaceAllString(s, "")
	s = label.ReplaceAllString(s, "")
	for range 3 {
		before := s
		if len(s) >= 4 && strings.HasPrefix(s, "**") && strings.HasSuffix(s, "**") {
			s = strings.TrimSpace(s[2 : len(s)-2])
		}
		open := firstRune(s)
		if quotes[open] == 0 {
			break
		}
		t := strings.TrimRight(s, ",; ")
		closing, n := utf8.DecodeLastRuneInString(t)
		switch {
		case closing == quotes[open] && len(t) >= utf8.RuneLen(open)+n:
			var u string
			if open == '"' && json.Unmarshal([]byte(t), &u) == nil {
				s = blanks(u)
			} else {
				s = blanks(t[utf8.RuneLen(open) : len(t)-n])
			}
		case open == '"' && (strings.Count(s, `"`)-strings.Count(s, `\"`))%2 == 1:
			return "" // cut off: the answer ran out of tokens inside it
		}
		if s == before {
			break
		}
	}
	return s
}

// blanks turns control characters into spaces and runs of blanks into
// one space, and trims the ends.
func blanks(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
