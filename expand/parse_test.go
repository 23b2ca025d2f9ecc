package expand

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		requests []string
		near     []string
		dropped  map[string]int
	}{
		{
			name: "clean JSON",
			reply: `{"requests": ["how do I reverse a list in Python?", "why does my Go program deadlock"],
 "near_misses": ["write a poem about programming"]}`,
			requests: []string{"how do I reverse a list in Python?", "why does my Go program deadlock"},
			near:     []string{"write a poem about programming"},
			dropped:  map[string]int{},
		},
		{
			name: "fenced JSON after a preamble",
			reply: "Sure! Here are the requests:\n```json\n{\n  \"requests\": [\n    \"fix this null pointer exception in Java\",\n" +
				"    \"what is a closure in JavaScript\"\n  ],\n  \"near_misses\": [\"what is the history of Java island\"]\n}\n```",
			requests: []string{"fix this null pointer exception in Java", "what is a closure in JavaScript"},
			near:     []string{"what is the history of Java island"},
			dropped:  map[string]int{},
		},
		{
			name: "JSON with trailing prose and escapes",
			reply: `{"requests": ["explain the \"defer\" keyword in Go", "  write a   SQL query\nthat counts users  "], "near_misses": []}` +
				"\n\nI hope these help! Let me know if you want more {examples}.",
			requests: []string{`explain the "defer" keyword in Go`, "write a SQL query that counts users"},
			dropped:  map[string]int{},
		},
		{
			name:     "nested object and odd key names",
			reply:    `{"route": "code", "data": {"User Requests": ["debug my rust borrow checker error"], "Near-Misses": ["how do I check my car's oil"]}}`,
			requests: []string{"debug my rust borrow checker error"},
			near:     []string{"how do I check my car's oil"},
			dropped:  map[string]int{},
		},
		{
			name:     "bare JSON array",
			reply:    "Here you go:\n[\"convert a string to an int in C\", \"what does segfault mean\", \"ok\"]",
			requests: []string{"convert a string to an int in C", "what does segfault mean"},
			dropped:  map[string]int{dropShort: 1},
		},
		{
			name:     "two bare arrays under headers",
			reply:    "Requests:\n[\"sort a map by value in Go\"]\n\nNear misses:\n[\"sort my laundry by colour\"]",
			requests: []string{"sort a map by value in Go"},
			near:     []string{"sort my laundry by colour"},
			dropped:  map[string]int{},
		},
		{
			name: "numbered list with a near misses header",
			reply: "Here are 4 requests a user might send:\n\n" +
				"1. How do I center a div in CSS?\n" +
				"2) \"Why is my React component rendering twice\"\n" +
				"3. **Request:** write a bash script that renames files\n" +
				"This one is about scripting.\n" +
				"\n### Near misses:\n" +
				"- What is the capital of Peru?\n" +
				"* \"Write a limerick about a cat\",\n" +
				"• Tell me about the history of Python the snake\n",
			requests: []string{"How do I center a div in CSS?", "Why is my React component rendering twice", "write a bash script that renames files"},
			near:     []string{"What is the capital of Peru?", "Write a limerick about a cat", "Tell me about the history of Python the snake"},
			dropped:  map[string]int{dropNotRequest: 1},
		},
		{
			name: "answers mixed in",
			reply: "Requests\n" +
				"- Sure, here is a Python function that reverses a string: def rev(s): return s[::-1]\n" +
				"- Certainly! The answer is to use a mutex.\n" +
				"- As an AI language model, I cannot run code.\n" +
				"- Answer: use git rebase -i to squash commits\n" +
				"- Here is my stack trace, what is wrong with it\n" +
				"- Surely there is a faster way to parse JSON in Go?\n" +
				"- " + strings.Repeat("explain this in detail ", 20) + "\n" +
				"- help\n" +
				"- fix bug\n",
			requests: []string{"Here is my stack trace, what is wrong with it", "Surely there is a faster way to parse JSON in Go?"},
			dropped:  map[string]int{dropNotRequest: 4, dropLong: 1, dropShort: 2},
		},
		{
			name: "duplicates",
			reply: `{"requests": ["How do I reverse a list?", "how do i  reverse a LIST", "how do I reverse a list?", "how to merge two dicts"],` +
				` "near_misses": ["how to merge two dicts", "how to merge two companies"]}`,
			requests: []string{"How do I reverse a list?", "how to merge two dicts"},
			near:     []string{"how to merge two companies"},
			dropped:  map[string]int{dropDuplicate: 3},
		},
		{
			name: "JSON cut off by the token limit",
			reply: "{\"requests\": [\n  \"write a unit test for this function\",\n  \"how do I profile a slow query\",\n" +
				"  \"explain big O notation wi",
			requests: []string{"write a unit test for this function", "how do I profile a slow query"},
			dropped:  map[string]int{dropEmpty: 1},
		},
		{
			name: "JSON-looking lines that do not parse",
			reply: "{\n  requests: [\n    'refactor this class to use composition',\n    'what is dependency injection',\n  ],\n" +
				"  near_misses: [\n    'inject a vaccine safely at home',\n  ]\n}",
			requests: []string{"refactor this class to use composition", "what is dependency injection"},
			near:     []string{"inject a vaccine safely at home"},
			dropped:  map[string]int{},
		},
		{
			name:     "plain lines without markers",
			reply:    "how do I read a file in Rust\nwhat is a goroutine leak\n",
			requests: []string{"how do I read a file in Rust", "what is a goroutine leak"},
			dropped:  map[string]int{},
		},
		{
			name:    "nothing usable",
			reply:   "I'm sorry, I can't help with that.",
			dropped: map[string]int{dropNotRequest: 1},
		},
		{
			name:    "empty",
			reply:   "",
			dropped: map[string]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(tt.reply, 300)
			if !slices.Equal(got.requests, tt.requests) {
				t.Errorf("requests\n got %q\nwant %q", got.requests, tt.requests)
			}
			if !slices.Equal(got.near, tt.near) {
				t.Errorf("near misses\n got %q\nwant %q", got.near, tt.near)
			}
			if !maps.Equal(got.dropped, tt.dropped) {
				t.Errorf("dropped %v, want %v", got.dropped, tt.dropped)
			}
		})
	}
}

func TestParseMaxChars(t *testing.T) {
	got := parse(`["a request of exactly thirty c", "a request of thirty-one chars!!"]`, 30)
	if want := []string{"a request of exactly thirty c"}; !slices.Equal(got.requests, want) {
		t.Fatalf("requests %q, want %q", got.requests, want)
	}
	if got.dropped[dropLong] != 1 {
		t.Errorf("dropped %v, want one too long", got.dropped)
	}
}

// FuzzParse feeds the reply parser arbitrary text: it must never panic,
// and every item it keeps must be non-empty, valid UTF-8, of at least 3
// words and at most maxChars characters, with no repeats across the two
// lists.
func FuzzParse(f *testing.F) {
	f.Add(`{"requests": ["a b c"], "near_misses": ["d e f"]}`, 300)
	f.Add("Here are some:\n1. how do I fix this\n2. \"why is it slow\",\n### Near misses\n- what is a bug in biology", 20)
	f.Add("```json\n[\"x y z\", {\"text\": \"q r s\"}]\n```", 5)
	f.Add("{\"requests\": [\"cut off mid", 300)
	f.Add("\"\"\"\n'''\n** **\n\"\\\"\"", 300)
	f.Add("[[[[{{{{", 1)
	f.Fuzz(func(t *testing.T, reply string, maxChars int) {
		maxChars = 1 + abs(maxChars)%400
		got := parse(reply, maxChars)
		seen := map[string]bool{}
		for _, s := range slices.Concat(got.requests, got.near) {
			switch {
			case strings.TrimSpace(s) == "":
				t.Fatalf("empty item from %q", reply)
			case !utf8.ValidString(s):
				t.Fatalf("invalid UTF-8 item %q", s)
			case utf8.RuneCountInString(s) > maxChars:
				t.Fatalf("item of %d characters, over %d: %q", utf8.RuneCountInString(s), maxChars, s)
			case len(strings.Fields(s)) < minWords:
				t.Fatalf("item of under %d words: %q", minWords, s)
			case seen[key(s)]:
				t.Fatalf("item repeated: %q", s)
			}
			seen[key(s)] = true
		}
		for reason, n := range got.dropped {
			if n <= 0 {
				t.Fatalf("dropped[%q] = %d", reason, n)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
